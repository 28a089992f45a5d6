"""Server-sent events from the OpenAI-compatible chat API, turned into the same typed
StreamEvents as the native stream (api/native_stream.py), and a non-streamed chat
completion read into the same figures.

The SSE framing, the byte reader and `[DONE]` are native_stream's (`iter_events` with this
module's `parse_chunk`). DeepInfra puts `usage` (with `estimated_cost`) on the chunk whose
`finish_reason` is set (deepinfra-api.md §5.3, §10.6); OpenAI and vLLM send it on a chunk
of its own with `choices: []` after the finish chunk, when `stream_options.include_usage`
asks for it: both are read. The stream is complete once a choice has finished.
"""

from __future__ import annotations

import json
from typing import Any

from llamactl.api.native_stream import KeptText, StreamEvent, error_message_of
from llamactl.plain import field, record

# The Llama 2 end-of-sequence token leaks into DeepInfra's older chat streams as a chunk
# of its own (§2.2, §5.3): it is not part of the answer.
LEAKED_EOS = "</s>"


class ChatStreamEvent(StreamEvent):
    """A chat chunk: a StreamEvent, and the finish reason of its choice when it has one."""

    __slots__ = ("finish_reason",)

    def __init__(self, *event: Any, finish_reason: str | None = None, **given: Any) -> None:
        super().__init__(*event, **given)
        self.finish_reason = finish_reason


def parse_chunk(payload: str) -> ChatStreamEvent | None:
    """Interpret one chunk; None for data that is not a JSON object (ignored).

    `final` marks the chunk after which nothing more is worth reading: the one carrying
    `usage` once a choice has finished (DeepInfra's finish chunk, or OpenAI's usage chunk).
    Lean on purpose: it runs once per token (bench/streaming.py, openai section)."""
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    if data.__class__ is not dict:
        return None
    choices = data.get("choices")
    if not choices:  # OpenAI's usage chunk (`choices: []`), or an error object
        message = error_message_of(data) if choices is None else None
        if message is not None:
            return ChatStreamEvent(data, error=message)
        return ChatStreamEvent(data, final=data.get("usage").__class__ is dict)
    choice = choices[0] if choices.__class__ is list else None
    if choice.__class__ is not dict:
        return ChatStreamEvent(data)
    delta = choice.get("delta")
    text = delta.get("content") if delta.__class__ is dict else choice.get("text")
    if text.__class__ is not str:
        text = ""
    finish = choice.get("finish_reason")
    return ChatStreamEvent(
        data,
        text=text,
        special=text == LEAKED_EOS,
        final=finish is not None and data.get("usage").__class__ is dict,
        finish_reason=None if finish is None else str(finish),
    )


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


@record
class Usage:
    """The figures of an OpenAI `usage` object (DeepInfra adds `estimated_cost`, in USD)."""

    tokens_in: int | None = None
    tokens_out: int | None = None
    cost: float | None = None

    @classmethod
    def of(cls, usage: Any) -> Usage:
        if not isinstance(usage, dict):
            return cls()
        return cls(
            _int(usage.get("prompt_tokens")),
            _int(usage.get("completion_tokens")),
            _number(usage.get("estimated_cost")),
        )


@record
class ChatStreamAccumulator(KeptText):
    """Collects the text and figures of a chat stream; the same interface as the native
    StreamAccumulator, so one consume loop serves both APIs."""

    tokens_received: int = 0
    finish_reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    request_id: str | None = None

    def add(self, event: StreamEvent) -> None:
        if event.error is not None:
            return
        if event.text:
            self.tokens_received += 1
            if not event.special:
                self.keep(event.text)
        finish = getattr(event, "finish_reason", None)
        if finish is not None:
            self.finish_reason = finish
        if event.final:
            self.usage = Usage.of(event.data.get("usage"))
        if self.request_id is None and isinstance(event.data.get("id"), str):
            self.request_id = event.data["id"]

    @property
    def complete(self) -> bool:
        return self.finish_reason is not None

    @property
    def tokens_in(self) -> int | None:
        return self.usage.tokens_in

    @property
    def tokens_out(self) -> int | None:
        counted = self.usage.tokens_out
        return counted if counted is not None else self.tokens_received

    @property
    def cost(self) -> float | None:
        return self.usage.cost


def completion_texts(data: dict[str, Any]) -> list[str] | None:
    """The texts of a non-streamed chat completion (`choices[].message.content`), in order."""
    choices = data.get("choices")
    if not isinstance(choices, list):
        return None
    texts = []
    for choice in choices:
        if not isinstance(choice, dict):
            continue
        message = choice.get("message")
        content = message.get("content") if isinstance(message, dict) else choice.get("text")
        texts.append(content if isinstance(content, str) else "")
    return texts
