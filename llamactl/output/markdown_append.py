"""The fast path of streamed Markdown: a token that only adds words to the end of the open
paragraph (or list item) is drawn by appending them to the last row, in the styles a
rendering would give them, without rendering the block again.

That is exactly what rendering would draw when all of these hold (tests/test_markdown.py
checks every append against a full rendering): the text before is in no construct that a
later character can change (a link `[`, an entity `&`, HTML `<`, a table `|`, a quote `>`,
an indented code line, an open `*`); the line already has a letter, so its block kind is
settled (`1` may still become `1.`); the new text has no newline, its words fit on the row
(nothing wraps), and its marks are of the few kinds whose meaning the text itself settles:
a whole code span, a whole `*emphasis*` or `**strong**` run opened after a space, the
close of a `**` run the text before opened. Anything else is rendered as before.

A run's style is the line's plain style (its last plain word's, or the one before a run)
plus Rich's `markdown.strong` / `markdown.em` / `markdown.code`, as Rich's Markdown
stacks them.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING, Any

from llamactl.output.rows import row_text

if TYPE_CHECKING:
    from rich.style import Style

    from llamactl.output.rows import Row

UNSAFE_ASCII = re.compile(r"[^A-Za-z0-9 .,:;!?'\"()\-/%+=@$^{}]")
SAFE_CATEGORIES = frozenset({"So", "Sc", "Sm", "Pd", "Po", "Pi", "Pf", "Ps", "Pe"})
LETTER = re.compile(r"[^\W\d_]")
CHANGED_LATER = re.compile(r"[\[<&|>\t_~]|(?:^|\n)    ")  # what a later character may change
MARKS = re.compile(r"\*\*|\*|`")
CODE_SPANS = re.compile(r"`[^`]*`")
CODE_SPAN = re.compile(r"`([^`\s](?:[^`\n\t]*[^`\s])?)`")
PLAIN, STRONG, EM = "plain", "strong", "em"
UNKNOWN: Any = object()  # a line whose plain style no row has shown yet


def plain(text: str) -> bool:
    """`text` has no character that can open, close or change Markdown inline or at a line's
    end: letters, digits, spaces, harmless punctuation and symbols (emoji)."""
    for match in UNSAFE_ASCII.finditer(text):
        char = match.group()
        if char < "\x80" or not (char.isalnum() or unicodedata.category(char) in SAFE_CATEGORIES):
            return False
    return True


def code_text(text: str) -> bool:
    """A code span's content that shows as it is: printable, no backslash surprises needed."""
    return all(" " <= char < "\x7f" for char in text) or all(
        " " <= char < "\x7f" or plain(char) for char in text
    )


class Appendable:
    """The last row of an open block, the inline state at its end, and how much may still
    be appended to it. `state`: plain, or inside a `**` run the text before opened."""

    def __init__(
        self, row: Row, pending: str, width: int, room: int, base: Style | None, state: str, marks: dict
    ):
        from rich.cells import cell_len

        self.row = row
        self.cells = cell_len(row_text(row))
        self.pending = pending  # spaces at the end of the source: drawn once a word follows
        self.width = width
        self.room = room  # characters before the block is long enough to be cut
        self.base = base  # the line's plain style
        self.state = state
        self.styles = {PLAIN: base, **{name: _plus(base, style) for name, style in marks.items()}}

    def append(self, text: str) -> Row | None:
        """The last row with `text` appended, or None: the block must be rendered."""
        from rich.cells import cell_len
        from rich.segment import Segment

        if len(text) > self.room or "\n" in text:
            return None
        tail = self.pending + text
        shown = tail.rstrip(" ")
        pieces = self._pieces(shown) if shown else ([], self.state)
        if pieces is None:
            return None
        runs, state = pieces
        cells = sum(cell_len(run) for run, _ in runs)
        if self.cells + cells > self.width:
            return None
        row = list(self.row)
        for run, name in runs:
            style = self.styles[name]
            if row and row[-1].style == style:
                row[-1] = Segment(row[-1].text + run, style)
            else:
                row.append(Segment(run, style))
        self.row, self.cells, self.state = row, self.cells + cells, state
        self.pending = tail[len(shown) :]
        self.room -= len(text)
        return row

    def _pieces(self, text: str) -> tuple[list[tuple[str, str]], str] | None:
        """`text` as (run, style name) pieces and the state after it, or None where its
        marks are not of the kinds whose rendering is certain."""
        runs: list[tuple[str, str]] = []
        state, at = self.state, 0
        for mark in MARKS.finditer(text):
            start, end = mark.span()
            if start < at:
                continue  # inside a code span already taken
            if not plain(text[at:start]):
                return None
            if start > at:
                runs.append((text[at:start], state))
            before, after = text[start - 1 : start], text[end : end + 1]
            kind = STRONG if mark.group() == "**" else EM
            if mark.group() == "`":
                span = CODE_SPAN.match(text, start)
                if state != PLAIN or span is None or not code_text(span.group(1)):
                    return None
                runs.append((span.group(1), "code"))
                at = span.end()
                continue
            if after == "*" or before == "*":
                return None
            if state == PLAIN and before == " " and after.isalnum():
                state = kind  # an opener: after a space, before a word
            elif state == kind and before.isalnum():
                state = PLAIN  # a closer: right after a word
            else:
                return None
            at = end
        if not plain(text[at:]):
            return None
        if at < len(text):
            runs.append((text[at:], state))
        if state == EM:  # an open `*` is not closed for the rendering: it would show
            return None
        return [(run, name) for run, name in runs if run], state


def appendable(
    source: str, row: Row, line: str, width: int, room: int, base: Any, marks: dict[str, Any]
) -> Appendable | None:
    """An Appendable for the last row of `source` rendered (`line`: the source's last,
    unfinished line; `base`: the line's plain style, if known already), or None when
    appending might change more than that row."""
    from llamactl.output.markdown_layout import close_inline

    stripped = source.rstrip(" ")
    if not row or not stripped or room <= 0 or not LETTER.search(line) or "``" in source:
        return None
    if CHANGED_LATER.search(CODE_SPANS.sub("", source)):
        return None
    if "`" in CODE_SPANS.sub("", line):
        return None  # a backtick this line leaves open: its pair, on an earlier line or yet to come, decides
    closed = close_inline(source)
    state = PLAIN if closed == source else STRONG if closed.rstrip(" ").endswith("**") else None
    end = stripped.rstrip("*`")
    start = len(end)
    while start > 0 and end[start - 1] != " " and plain(end[start - 1]):
        start -= 1
    if state is None or start == len(end) or not row_text(row).endswith(end[start:]):
        return None  # the source's end is not what the row ends in
    last = row[-1].style
    if state == PLAIN and end == stripped and plain(stripped[-1]):
        base = last  # the source ends in a plain word: the row's last style is the line's
    elif base is UNKNOWN or last != (_plus(base, marks[STRONG]) if state == STRONG else last):
        return None
    if state == PLAIN and end != stripped and not (stripped[-1] == "`" or end[-1].isalnum()):
        return None  # a `*` closer not right after a word may change with the next character
    return Appendable(row, source[len(stripped) :], width, room, base, state, marks)


def _plus(base: Style | None, style: Style) -> Style:
    return style if base is None else base + style
