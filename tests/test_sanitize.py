"""The one function that makes API text safe for a terminal (output/sanitize.py)."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from llamactl.output.sanitize import json_visible, visible, visible_inline


def test_escape_sequences_are_shown_not_obeyed():
    assert visible("\x1b]0;owned\x07") == "^[]0;owned^G"  # OSC 0: the window title
    assert visible("\x1b]52;c;aGk=\x07") == "^[]52;c;aGk=^G"  # OSC 52: the clipboard
    assert visible("\x1b[2J\x1b[6n") == "^[[2J^[[6n"  # clear the screen; report the cursor
    assert visible("\x9b31m") == "^[[31m"  # a C1 CSI is shown as its 7-bit form
    assert visible("a\x7fb\x00c\rd") == "a^?b^@c^Md"


def test_newlines_tabs_and_printable_text_stay_as_they_are():
    text = "Un café 🦙\n\tindented — ok\n"
    assert visible(text) == text


@given(st.text())
def test_nothing_that_reaches_the_terminal_is_a_control_but_newline_and_tab(text):
    shown = visible(text)
    assert all(ch in "\n\t" or not (ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0) for ch in shown)
    assert visible(shown) == shown  # caret notation is plain text


def test_a_crlf_is_a_line_ending_and_a_lone_cr_is_shown():
    assert visible("one\r\ntwo\rthree\r") == "one\ntwo^Mthree^M"


def test_a_cell_shows_its_newlines_and_tabs_too():
    assert visible_inline("a\tb\nc\x1b[2J") == "a^Ib^Jc^[[2J"


@given(st.text())
def test_a_cell_has_no_control_character_at_all(text):
    assert not any(ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in visible_inline(text))


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
        max_leaves=10,
    )
)
def test_json_for_a_terminal_is_the_same_json_with_nothing_raw(value):
    text = json_visible(json.dumps(value, ensure_ascii=False, indent=2))
    assert json.loads(text) == value
    assert all(ch == "\n" or not (ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0) for ch in text)
