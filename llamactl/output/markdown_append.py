"""The fast path of streamed Markdown: a token that only adds plain words to the end of the
open paragraph (or list item) is drawn by appending its text to the last row, in the style
the text before it has, without rendering the block again.

That is exactly what rendering would draw when all of these hold (tests/test_markdown.py
checks every append against a full rendering): the text before ends in a plain character,
in no open emphasis or code span and in no construct that a later character can change
(a link `[`, an entity `&`, HTML `<`, a table `|`, a quote `>`, an indented code line); the
line already has a letter, so its block kind is settled (`1` may still become `1.`); the
new text has no newline and no character that can open or close markup; and the words fit
on the row, so nothing wraps. Anything else is rendered as before.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

from llamactl.output.rows import row_text

if TYPE_CHECKING:
    from llamactl.output.rows import Row

UNSAFE_ASCII = re.compile(r"[^A-Za-z0-9 .,:;!?'\"()\-/%+=@$^{}]")
SAFE_CATEGORIES = frozenset({"So", "Sc", "Sm", "Pd", "Po", "Pi", "Pf", "Ps", "Pe"})
LETTER = re.compile(r"[^\W\d_]")
CHANGED_LATER = re.compile(r"[\[<&|>\t]|(?:^|\n)    ")  # what a later character may change


def plain(text: str) -> bool:
    """`text` has no character that can open, close or change Markdown inline or at a line's
    end: letters, digits, spaces, harmless punctuation and symbols (emoji)."""
    for match in UNSAFE_ASCII.finditer(text):
        char = match.group()
        if char < "\x80" or not (char.isalnum() or unicodedata.category(char) in SAFE_CATEGORIES):
            return False
    return True


class Appendable:
    """The last row of an open block and how much may still be appended to it."""

    def __init__(self, row: Row, pending: str, width: int, room: int):
        from rich.cells import cell_len

        self.row = row
        self.cells = cell_len(row_text(row))
        self.pending = pending  # spaces at the end of the source: drawn once a word follows
        self.width = width
        self.room = room  # characters before the block is long enough to be cut

    def append(self, text: str) -> Row | None:
        """The last row with `text` appended, or None: the block must be rendered."""
        from rich.cells import cell_len
        from rich.segment import Segment

        if len(text) > self.room or not plain(text):
            return None
        tail = self.pending + text
        shown = tail.rstrip(" ")
        if shown:
            cells = cell_len(shown)
            if self.cells + cells > self.width:
                return None
            last = self.row[-1]
            self.row = [*self.row[:-1], Segment(last.text + shown, last.style)]
            self.cells += cells
        self.pending = tail[len(shown) :]
        self.room -= len(text)
        return self.row


def appendable(source: str, row: Row, line: str, width: int, room: int) -> Appendable | None:
    """An Appendable for the last row of `source` rendered (`line`: the source's last,
    unfinished line), or None when appending plain text might change more than that row."""
    from llamactl.output.markdown_layout import close_inline

    stripped = source.rstrip(" ")
    if not row or not stripped or room <= 0 or not LETTER.search(line):
        return None
    if not plain(stripped[-1]) or CHANGED_LATER.search(source) or close_inline(source) != source:
        return None
    start = len(stripped)
    while start > 0 and stripped[start - 1] != " " and plain(stripped[start - 1]):
        start -= 1
    if not row_text(row).endswith(stripped[start:]):  # the source's end is what the row ends in
        return None
    return Appendable(row, source[len(stripped) :], width, room)
