"""Llama 2's chat format, as Meta's reference code builds one user turn."""

from hypothesis import given
from hypothesis import strategies as st

from llamactl.inference.chat_template import is_llama2_chat, llama2_chat_prompt


def test_a_plain_turn():
    assert llama2_chat_prompt("Write a haiku\n") == "[INST] Write a haiku [/INST]"


def test_the_system_prompt_is_folded_into_the_first_turn():
    assert llama2_chat_prompt("Hello!", system="You are terse.") == (
        "[INST] <<SYS>>\nYou are terse.\n<</SYS>>\n\nHello! [/INST]"
    )


def test_a_blank_system_prompt_is_no_system_prompt():
    assert llama2_chat_prompt("Hi", system="  ") == "[INST] Hi [/INST]"


def test_a_prompt_already_in_the_format_is_not_wrapped_again():
    assert llama2_chat_prompt("[INST]") == "[INST]"  # found by the property below, before its filter
    assert llama2_chat_prompt(" <s>[INST] hi [/INST]") == " <s>[INST] hi [/INST]"


@given(st.text(min_size=1).filter(lambda t: t.strip() and not is_llama2_chat(t)))
def test_the_prompt_is_kept_inside_one_instruction(text):
    wrapped = llama2_chat_prompt(text)
    assert wrapped.startswith("[INST] ") and wrapped.endswith(" [/INST]")
    assert text.strip() in wrapped
