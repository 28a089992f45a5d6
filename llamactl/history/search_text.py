"""What `history search` finds a request by: every text it sent, whichever API it went to.

One function, used both when a request is recorded and by the migration that re-indexed
the older ones, so the full-text index (which keeps no copy of the texts) is always told
the same texts when a request is added and when it is removed.
"""

from __future__ import annotations

from typing import Any


def message_text(content: Any) -> str:
    """A message's text: its content, or the text parts of a list of parts (images and
    other parts have none)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            part["text"] for part in content if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""


def search_input(fields: dict[str, Any], messages: list[dict[str, Any]]) -> str:
    """The texts a request sent, in order: a chat turn's own messages (its system prompt and
    user message; the earlier turns are rows of their own), else the native `input` and
    every message of an OpenAI request (system, user and assistant alike)."""
    if messages:
        return "\n\n".join(message_text(message.get("content")) for message in messages)
    texts = [fields["input"]] if isinstance(fields.get("input"), str) else []
    sent = fields.get("messages")
    texts += (
        [message_text(message.get("content")) for message in sent if isinstance(message, dict)]
        if isinstance(sent, list)
        else []
    )
    return "\n\n".join(text for text in texts if text)
