"""Text from the API made safe for a terminal: its control characters shown, never obeyed.

A reply (or an error message, a model description, a request id) may carry ESC/CSI/OSC
sequences that would set the window title, write the clipboard (OSC 52), clear the screen
or make the terminal type into stdin (CSI 6n). On a terminal every C0 control but newline
and tab, DEL and every C1 control is shown in caret notation (ESC is `^[`, a C1 control its
7-bit form `^[` + letter, as `cat -v` does), so nothing the server sent drives the terminal
while the text stays readable. Pipes and files get the exact bytes; llamactl's own styling
is added by Rich after this, so it is untouched. Linear: one str.translate per string.
"""

from __future__ import annotations

KEPT = {"\n", "\t"}


def _caret(code: int) -> str:
    if code == 0x7F:
        return "^?"
    if code >= 0x80:  # C1: ESC followed by the character 64 places down
        return "^[" + chr(code - 0x40)
    return "^" + chr(code + 0x40)


CONTROLS = {code: _caret(code) for code in (*range(0x20), 0x7F, *range(0x80, 0xA0)) if chr(code) not in KEPT}


def visible(text: str) -> str:
    """`text` with every control character but newline and tab in caret notation."""
    return text.translate(CONTROLS)
