"""Llama 2's chat prompt format, for `infer --chat`.

The native endpoint takes the raw prompt: a chat model given plain text continues it
rather than answering it. `--chat` wraps the prompt the way Meta's reference code does
(meta-llama/llama, generation.py); the tokenizer adds the leading <s> itself.
"""

from __future__ import annotations

B_INST, E_INST = "[INST]", "[/INST]"
B_SYS, E_SYS = "<<SYS>>\n", "\n<</SYS>>\n\n"


def is_llama2_chat(prompt: str) -> bool:
    """Whether the prompt already is in the chat format (a conversation written out, or a
    prompt from another tool): wrapping it again would nest the turns."""
    return prompt.lstrip().removeprefix("<s>").lstrip().startswith(B_INST)


def llama2_chat_prompt(prompt: str, system: str | None = None) -> str:
    """One user turn, with an optional system prompt folded into it; a prompt already in
    the format is left as it is."""
    if is_llama2_chat(prompt):
        return prompt
    content = prompt.strip()
    if system and system.strip():
        content = B_SYS + system.strip() + E_SYS + content
    return f"{B_INST} {content} {E_INST}"
