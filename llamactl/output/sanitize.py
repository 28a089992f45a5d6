"""Text from the API made safe for a terminal: its control characters shown, never obeyed.

A reply (or an error message, a model description, a request id) may carry ESC/CSI/OSC
sequences that would set the window title, write the clipboard (OSC 52), clear the screen
or make the terminal type into stdin (CSI 6n). On a terminal every C0 control but newline
and tab, DEL and every C1 control is shown in caret notation (ESC is `^[`, a C1 control its
7-bit form `^[` + letter, as `cat -v` does), so nothing the server sent drives the terminal
while the text stays readable. A CRLF is a line ending: shown as the newline a terminal
makes of it anyway, only a lone CR is `^M`.
Pipes and files get the exact bytes; llamactl's own styling is added by Rich after this, so
it is untouched. Linear: one str.translate per string.
"""

from __future__ import annotations

from typing import Any

KEPT = {"\n", "\t"}
CRLF = "\r\n"


def _caret(code: int) -> str:
    if code == 0x7F:
        return "^?"
    if code >= 0x80:  # C1: ESC followed by the character 64 places down
        return "^[" + chr(code - 0x40)
    return "^" + chr(code + 0x40)


CONTROL_CODES = (*range(0x20), 0x7F, *range(0x80, 0xA0))
CONTROLS = {code: _caret(code) for code in CONTROL_CODES if chr(code) not in KEPT}
# A table cell or a `key: value` line is one line: its tabs and newlines are shown too.
INLINE_CONTROLS = {code: _caret(code) for code in CONTROL_CODES}
# JSON escapes C0 controls itself; DEL and C1 controls it leaves raw inside strings.
JSON_ESCAPES = {code: f"\\u{code:04x}" for code in (0x7F, *range(0x80, 0xA0))}


def visible(text: str) -> str:
    """`text` with every control character but newline and tab in caret notation, and each
    CRLF a newline."""
    if "\r" not in text:
        return text.translate(CONTROLS)
    return "\n".join(part.translate(CONTROLS) for part in text.split(CRLF))


def visible_inline(text: str) -> str:
    """`text` for a table cell or a one-line field: every control character shown,
    newline and tab included, so a server's string cannot start a row or a column."""
    return text.translate(INLINE_CONTROLS)


def json_visible(text: str) -> str:
    """A JSON document for a terminal: the controls JSON leaves raw escaped as `\\uXXXX`,
    so it shows nothing but stays the same JSON (they can only be inside strings)."""
    return text.translate(JSON_ESCAPES)


class VisibleRendering:
    """A Rich render hook (`Console.push_render_hook`): whatever a console prints has the
    control characters in its text shown, the last guard behind the cell builders. Rich's
    own styles and cursor moves are not text (styles and control segments), so they stay."""

    def process_renderables(self, renderables: list[Any]) -> list[Any]:
        return [_Visible(renderable) for renderable in renderables]


class _Visible:
    def __init__(self, renderable: Any):
        self.renderable = renderable

    def __rich_console__(self, console: Any, options: Any) -> Any:
        from rich.segment import Segment

        for segment in console.render(self.renderable, options):
            if segment.control or not segment.text:
                yield segment
            else:
                yield Segment(visible(segment.text), segment.style)
