"""Llama 2's chat prompt format, for `infer --chat`.

The native endpoint takes the raw prompt: a chat model given plain text continues it
rather than answering it. `--chat` wraps the prompt the way Meta's reference code does
(meta-llama/llama, generation.py); the tokenizer adds the leading <s> itself.
"""

from __future__ import annotations

B_INST, E_INST = "[INST]", "[/INST]"
B_SYS, E_SYS = "<<SYS>>\n", "\n<</SYS>>\n\n"


def llama2_chat_prompt(prompt: str, system: str | None = None) -> str:
    """One user turn, with an optional system prompt folded into it."""
    content = prompt.strip()
    if system and system.strip():
        content = B_SYS + system.strip() + E_SYS + content
    return f"{B_INST} {content} {E_INST}"
