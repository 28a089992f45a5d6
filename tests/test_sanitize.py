"""The one function that makes API text safe for a terminal (output/sanitize.py)."""

from __future__ import annotations

from hypothesis import given, strategies as st

from llamactl.output.sanitize import visible


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
