"""Chat templates for the native endpoint, which takes the raw prompt: a chat model given
plain text continues it rather than answering it. A conversation (a list of
`{"role", "content"}` messages) is folded into its model family's prompt format the way
Meta's reference code does (meta-llama/llama and llama3, generation.py / tokenizer.py);
the tokenizer adds the leading BOS token itself, so it is never written here.

The OpenAI-compatible endpoint applies the template server-side, so a model of a family
not listed here needs that API (`--api openai`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from llamactl.errors import UsageError

B_INST, E_INST = "[INST]", "[/INST]"
B_SYS, E_SYS = "<<SYS>>\n", "\n<</SYS>>\n\n"
LLAMA2_TURN_END = " </s><s>"  # EOS closes a completed exchange, BOS opens the next

Message = dict[str, str]


class UnknownChatFamily(UsageError):
    """No chat template is known for the model: exit 2 before anything is sent."""


def is_llama2_chat(prompt: str) -> bool:
    """Whether the prompt already is in the chat format (a conversation written out, or a
    prompt from another tool): wrapping it again would nest the turns."""
    return prompt.lstrip().removeprefix("<s>").lstrip().startswith(B_INST)


def llama2_chat_prompt(prompt: str, system: str | None = None) -> str:
    """One user turn, with an optional system prompt folded into it; a prompt already in
    the format is left as it is."""
    if is_llama2_chat(prompt):
        return prompt
    return llama2_prompt(with_system([{"role": "user", "content": prompt}], system))


def with_system(messages: list[Message], system: str | None) -> list[Message]:
    """The messages after a system message, unless the system prompt is blank."""
    if system and system.strip():
        return [{"role": "system", "content": system}, *messages]
    return messages


def llama2_prompt(messages: list[Message]) -> str:
    """`[INST] user [/INST] answer </s><s>` per exchange, the last user turn open; the system
    prompt folded into the first user message inside `<<SYS>>`."""
    system = ""
    parts: list[str] = []
    user: str | None = None
    for message in messages:
        role, content = message["role"], message["content"].strip()
        if role == "system":
            system = content
        elif role == "user":
            if system and not parts and user is None:
                content = B_SYS + system + E_SYS + content
            user = content
        elif role == "assistant" and user is not None:
            parts.append(f"{B_INST} {user} {E_INST} {content}{LLAMA2_TURN_END}")
            user = None
    if user is not None:
        parts.append(f"{B_INST} {user} {E_INST}")
    return "".join(parts).removesuffix(LLAMA2_TURN_END)


def llama3_prompt(messages: list[Message]) -> str:
    """Llama 3's header format: each message `<|start_header_id|>ROLE<|end_header_id|>\\n\\n
    TEXT<|eot_id|>`, then an open assistant header for the answer."""
    parts = [
        f"<|start_header_id|>{message['role']}<|end_header_id|>\n\n{message['content'].strip()}<|eot_id|>"
        for message in messages
    ]
    return "".join(parts) + "<|start_header_id|>assistant<|end_header_id|>\n\n"


# A family's name pattern (searched in the lower-cased model name) and its template.
FAMILIES: tuple[tuple[str, str, Callable[[list[Message]], str]], ...] = (
    ("Llama 2", r"llama-?2", llama2_prompt),
    ("Llama 3", r"llama-?3", llama3_prompt),
)


def template_for(model: str | None) -> Callable[[list[Message]], str]:
    """The chat template of the model's family; UnknownChatFamily when there is none."""
    name = (model or "").rsplit("/", 1)[-1].lower()
    for _family, pattern, template in FAMILIES:
        if re.search(pattern, name):
            return template
    known = " and ".join(family for family, _pattern, _template in FAMILIES)
    raise UnknownChatFamily(
        f"no chat template is known for {model or 'a deployment'} on the native API (only {known})",
        hint="use --api openai, where the server applies the model's own template",
    )


def fold(model: str | None, messages: list[Message]) -> str:
    """The conversation as one native prompt in the model family's format. A single user
    message already written in Llama 2's format is sent as it is."""
    template = template_for(model)
    if template is llama2_prompt and [m["role"] for m in messages] == ["user"]:
        if is_llama2_chat(messages[0]["content"]):
            return messages[0]["content"]
    return template(messages)
