"""The bottom of a terminal as a small live region: rows committed to scrollback once, the
last few redrawn in place, with the fewest bytes that turn what is shown into what should be.

The region starts at the start of a row. `update(committed, live)` is given the rows that
become final and the rows still open; it finds the first cell where the screen and the new
rows differ and writes from there only: appending to the last row is just the new text; a
word that wraps moves the cursor back over that word (never over a whole line) and erases to
the end of the screen; rows that did not change are never written again. Committed rows are
forgotten at once, so the cursor never moves above the live rows, which the caller keeps
shorter than the terminal: nothing can scroll out of reach and be printed twice. A redraw
that moves the cursor is one write inside the terminal's synchronized-output brackets
(DEC mode 2026; terminals without it ignore them), so it never shows half done.

Rows are lists of Rich segments whose text is already safe (output/sanitize.py); the only
control sequences written are ours: styles, cursor moves, erase, synchronized output.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llamactl.output.streams import utf8

if TYPE_CHECKING:
    from rich.console import Console
    from rich.segment import Segment

    Row = list[Segment]

SYNC_START, SYNC_END = "\x1b[?2026h", "\x1b[?2026l"
ERASE_DOWN = "\x1b[J"
RESET = "\x1b[0m"


class LiveRegion:
    """Turns (committed rows, live rows) updates into terminal bytes, via `write`."""

    def __init__(self, console: Console, write):
        from rich.console import COLOR_SYSTEMS

        self.write = write
        self.no_color = console.no_color
        self.color_system = None if console.color_system is None else COLOR_SYSTEMS[console.color_system]
        self.shown: list[Row] = []  # the live rows on screen; the cursor ends the last one
        self.owes_newline = False  # the cursor ends a committed row: a newline comes first
        self.bytes_written = 0
        self.drawing = False  # a write was under way (an interrupt may have cut it)

    def update(self, committed: list[Row], live: list[Row]) -> None:
        target = committed + live
        if self.no_color:  # rows are compared as shown: ones that differ only in colour are equal
            from rich.segment import Segment

            target = [list(Segment.simplify(Segment.remove_color(row))) for row in target]
            live = target[len(committed) :]
        if not target and not self.shown:
            return
        text = self._diff(target)
        self.shown = live
        if live:
            self.owes_newline = False
        elif committed:
            self.owes_newline = True
        if text:
            self.drawing = True
            self.write(text)
            self.drawing = False
            self.bytes_written += len(utf8(text))

    def close(self) -> None:
        """Leave the cursor at the start of a fresh row (after an interrupted write too, with
        the styles reset and synchronized output ended)."""
        text = RESET + SYNC_END if self.drawing else ""
        if self.shown or self.owes_newline:
            text += "\n"
        self.shown, self.owes_newline, self.drawing = [], False, False
        if text:
            self.write(text)

    def _diff(self, target: list[Row]) -> str:
        old = self.shown
        same = 0
        while same < len(old) and same < len(target) and old[same] == target[same]:
            same += 1
        if same == len(old):  # everything shown stays: only new rows below
            lead = "\n" if (old or self.owes_newline) and len(target) > same else ""
            return lead + "\n".join(self._ansi(row) for row in target[same:])
        if same < len(target):
            cells, rest = common_prefix(old[same], target[same])
            if same == len(old) - 1 and cells == cell_length(old[same]):  # the last row grows
                return self._ansi(rest) + "".join("\n" + self._ansi(row) for row in target[same + 1 :])
            rows_after = [rest, *target[same + 1 :]]
        elif same == 0:  # every live row is gone
            cells, rows_after = 0, []
        else:  # rows vanish below an unchanged one: redraw that one from its start
            same -= 1
            cells, rows_after = 0, [target[same]]
        up = len(old) - 1 - same
        move = "\r" + (f"\x1b[{up}A" if up else "") + (f"\x1b[{cells}C" if cells else "")
        body = self._ansi(rows_after[0]) + "".join("\n" + self._ansi(row) for row in rows_after[1:])
        return SYNC_START + move + ERASE_DOWN + body + SYNC_END

    def _ansi(self, row: Row) -> str:
        parts = []
        for segment in row:
            if segment.style and self.color_system is not None:
                parts.append(segment.style.render(segment.text, color_system=self.color_system))
            else:
                parts.append(segment.text)
        return "".join(parts)


def cell_length(row: Row) -> int:
    return sum(segment.cell_length for segment in row)


def common_prefix(old: Row, new: Row) -> tuple[int, Row]:
    """The cells `new` shares with `old` from the left, and the rest of `new` after them."""
    from rich.cells import cell_len
    from rich.segment import Segment

    cells = 0
    for index, segment in enumerate(new):
        if index < len(old) and old[index] == segment:
            cells += segment.cell_length
            continue
        shared = 0
        if index < len(old) and old[index].style == segment.style:
            before = old[index].text
            while (
                shared < len(before) and shared < len(segment.text) and before[shared] == segment.text[shared]
            ):
                shared += 1
        cells += cell_len(segment.text[:shared])
        rest = [Segment(segment.text[shared:], segment.style)] if shared < len(segment.text) else []
        return cells, rest + list(new[index + 1 :])
    return cells, []
