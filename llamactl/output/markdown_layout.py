"""Markdown text to terminal rows, fed piece by piece (the design: output/markdown.py).

Pure: no I/O. `MarkdownLayout.feed(text)` returns the rows that became final and the rows
still open; `close()` the last final rows.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from llamactl.output.markdown_append import UNKNOWN, Appendable, appendable
from llamactl.output.rows import row_text, trimmed

if TYPE_CHECKING:
    from rich.console import Console
    from rich.style import Style

    from llamactl.output.markdown_code import CodeBlock
    from llamactl.output.rows import Row

CODE_THEME = "monokai"
CUT_EVERY = 4  # try to cut the open block once this many more of its rows are committed
MAX_OPEN_CHARS = 4000  # an open block that could not be cut is cut anyway at this size

FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)[^`]*$")
# A heading line, or a list item whose text is a heading (`- # x`): Rich centres it.
HEADING = re.compile(r"^\s*(?:(?:[-*+]|\d{1,9}[.)])\s+)*#{1,6}(\s|$)")
THEMATIC_BREAK = re.compile(r"^ {0,3}([-*_])(\s*\1){2,}\s*$")
# A partial line of nothing but block marks yet: shown once it has a character more.
MARKS_ONLY = re.compile(r"^\s*(?:[-=*_+`~#>|:]+|\d{1,9}[.)]?)?\s*$")
WORD = re.compile(r"\S+")


def close_inline(text: str) -> str:
    """`text` with an unclosed code span or `**` closed, so a run renders as it will end
    (before any spaces and newlines at the end, where a closer would not close)."""
    if text.count("`") % 2:
        closer = "`"
    elif re.sub(r"`[^`]*`", "", text).count("**") % 2:
        closer = "**"
    else:
        return text
    body = text.rstrip(" \n")
    return body + closer + text[len(body) :]


class MarkdownLayout:
    """Markdown text to terminal rows, fed piece by piece. Text must already be safe for a
    terminal, with `\\n` line endings. `fast = False` renders every update in full (what
    the fast paths are checked against)."""

    fast = True

    def __init__(self, console: Console, width: int, code_theme: str = CODE_THEME):
        self.console = console
        self.options = console.options.update(width=width, height=None)
        self.width = width
        self.code_theme = code_theme
        self.live_limit = max(1, console.height - 2)
        self.partial = ""  # the line being written
        self.continued = False  # `partial` continues a line whose head was cut off
        # the open text block
        self.block = ""  # its complete lines, each ending in a newline
        self.block_committed = 0  # its rows already committed
        self.next_cut = CUT_EVERY
        self.rendered = ""  # the source of `rows`, its last rendering
        self.rows: list[Row] = []
        self.tail: Appendable | None = None  # how text may be appended to `rows` unrendered
        self.base: Style | None = UNKNOWN  # the plain style of the line being written, once known
        self.marks = {name: console.get_style(f"markdown.{name}") for name in ("strong", "em", "code")}
        # the open code block
        self.fence: str | None = None
        self.code: CodeBlock | None = None
        self.any_block = False  # some block has rows: the next one starts after a gap
        self.started = False  # the open block has rows (its gap is written)

    # feeding

    def feed(self, text: str) -> tuple[list[Row], list[Row]]:
        if self.tail is not None and self.fast and "\n" not in text:
            row = self.tail.append(text)
            if row is not None:
                self.partial += text
                self.rendered += text
                self.rows[-1] = row
                return [], self.rows[self.block_committed :]
        self.base = self.tail.base if self.tail is not None and "\n" not in text else UNKNOWN
        committed: list[Row] = []
        *lines, self.partial = (self.partial + text).split("\n")
        for line in lines:
            committed += self._line(line)
            self.continued = False
        if self.code is not None:
            return committed, self._live_code()
        more, live = self._text_rows()
        return committed + more, live

    def close(self) -> list[Row]:
        """Everything left, final: an open fence is closed, a partial line finished."""
        if self.code is not None:
            rows = self.code.line(self.partial) if self.partial else []
            self.partial = ""
            return rows + self._end_code()
        if self.partial:
            self.block += self.partial
        self.partial = ""
        return self._end_text_block()

    def _line(self, line: str) -> list[Row]:
        """One complete line: where it goes, and the rows it finishes."""
        if self.code is not None:
            if _closes(line, self.fence or "```"):
                return self._end_code()
            return self.code.line(line)
        if not self.continued:
            opened = FENCE_OPEN.match(line)
            if opened:
                from llamactl.output.markdown_code import CodeBlock

                rows = self._end_text_block()
                self.fence = opened.group(1)
                self.code = CodeBlock(self.console, self.width, opened.group(2) or "text", self.code_theme)
                return rows + self._gap() + [self.code.padding()]
            if not line.strip():
                return self._end_text_block()
        self.block += line + "\n"
        if not self.continued and (
            HEADING.match(line) or (THEMATIC_BREAK.match(line) and self.block == line + "\n")
        ):
            return self._end_text_block()
        return []

    def _gap(self) -> list[Row]:
        """The blank row before a block's first rows (none before the first block)."""
        if self.started:
            return []
        self.started = True
        if self.any_block:
            return [[]]
        self.any_block = True
        return []

    # text blocks

    def _held(self) -> bool:
        """The partial line is only block marks so far (it waits for a character more)."""
        return not self.continued and bool(MARKS_ONLY.match(self.partial) or FENCE_OPEN.match(self.partial))

    def _text_rows(self) -> tuple[list[Row], list[Row]]:
        """Rows of the open text block: those that became final, and the live ones."""
        self.tail = None
        held = self._held()
        source = self.block + ("" if held else self.partial)
        if not source.strip():
            return [], []
        table = _is_table(source)
        if table and not self.continued and self.partial and not held:
            rows = self._rendered(self.block) + _raw_rows(self.partial, self.width)
        else:
            rows = self._rendered(source)
        if not rows:
            return [], []
        lead = self._gap()
        heading = not self.continued and HEADING.match(self.partial)  # may be boxed: all rows change
        hold = len(rows) if heading or table else 1
        final = max(self.block_committed, len(rows) - hold, len(rows) - self.live_limit)
        committed = lead + rows[self.block_committed : final]
        self.block_committed = max(self.block_committed, final)
        live = rows[self.block_committed :]
        if self.block_committed >= self.next_cut or len(source) > MAX_OPEN_CHARS:
            self._cut(source, rows)
        elif not (heading or table) and self.fast and self.block_committed < len(rows):
            room = MAX_OPEN_CHARS - len(source)
            self.tail = appendable(source, rows[-1], self.partial, self.width, room, self.base, self.marks)
        return committed, live

    def _rendered(self, source: str) -> list[Row]:
        """The rows of `source`, from the last rendering when that was of the same text (a
        newline at the end changes nothing)."""
        if not self.fast or (source != self.rendered and source != self.rendered + "\n"):
            self.rows = self.render(source)
        self.rendered = source
        return self.rows

    def _end_text_block(self) -> list[Row]:
        source = self.block
        self.block, self.tail = "", None
        committed, self.block_committed, self.next_cut = self.block_committed, 0, CUT_EVERY
        if not source.strip():
            self.started = False
            return []
        rows = self._rendered(source)
        self.rendered, self.rows = "", []
        lead = self._gap() if rows else []
        self.started = False
        return lead + rows[committed:]

    def render(self, source: str) -> list[Row]:
        """A text block's rows: Rich's Markdown, trimmed, without blank rows around it."""
        markdown = self._markdown(close_inline(source))
        for token in markdown.parsed:  # a model's single newline is a line break (a poem, an address)
            for child in token.children or ():
                if child.type == "softbreak":
                    child.type = "hardbreak"
        rows = [trimmed(row) for row in self.console.render_lines(markdown, self.options, pad=False)]
        while rows and not rows[0]:
            rows.pop(0)
        while rows and not rows[-1]:
            rows.pop()
        return rows

    def _markdown(self, source: str) -> Any:
        """Rich's Markdown of `source`, parsed by the one markdown-it parser of the process
        (Rich builds a parser per document, which costs more than most parses)."""
        import copy

        from llamactl.output.markdown import markdown_parser

        template, parser = markdown_parser(self.code_theme)
        markdown = copy.copy(template)
        markdown.markup, markdown.parsed = source, parser.parse(source)
        return markdown

    def _cut(self, source: str, rows: list[Row]) -> None:
        """Drop the open block's committed head from its source, when the rows of head and
        tail rendered apart are exactly the rows of the whole (else try again later)."""
        self.next_cut = self.block_committed + CUT_EVERY
        for cut in self._cut_candidates(source, rows):
            head, tail = source[:cut], source[cut:]
            if not tail.strip():
                continue
            head_rows = self.render(head)
            if 0 < len(head_rows) <= self.block_committed:
                tail_rows = self.render(tail)
                if head_rows + tail_rows == rows:
                    self._drop_head(cut, len(head_rows))
                    self.rendered, self.rows = tail, tail_rows
                    return
        if len(source) > MAX_OPEN_CHARS:  # no clean cut: keep the cost bounded regardless
            candidates = self._cut_candidates(source, rows)
            if candidates:
                self._drop_head(candidates[0], self.block_committed)
                self.rendered, self.rows = "", []

    def _cut_candidates(self, source: str, rows: list[Row]) -> list[int]:
        """Where in the source the committed rows most likely end: at the word that starts
        the first live row (counting words, and by that word's text), or at a line start."""
        committed = self.block_committed
        words_before = sum(len(row_text(row).split()) for row in rows[:committed])
        starts = [match.start() for match in WORD.finditer(source)]
        found: list[int] = []
        if words_before < len(starts):
            found.append(starts[words_before])
            if committed < len(rows):
                first = row_text(rows[committed]).split()
                if first:
                    near = starts[max(0, words_before - 3) : words_before + 4]
                    found += [start for start in near if source.startswith(first[0], start)]
        lines = [index + 1 for index, char in enumerate(source) if char == "\n"]
        if lines and words_before < len(starts):
            before = [line for line in lines if line <= starts[words_before]]
            found += before[-2:]
        unique = []
        for cut in found:
            if 0 < cut < len(source) and cut not in unique:
                unique.append(cut)
        return unique[:4]

    def _drop_head(self, cut: int, head_rows: int) -> None:
        if cut <= len(self.block):
            self.block = self.block[cut:]
        else:
            self.partial = self.partial[cut - len(self.block) :]
            self.block = ""
            self.continued = True
        self.block_committed -= head_rows
        self.next_cut = self.block_committed + CUT_EVERY

    # code blocks

    def _live_code(self) -> list[Row]:
        if self.code is None or not self.partial or _closes(self.partial, self.fence or "```", partial=True):
            return []
        return self.code.live(self.partial)

    def _end_code(self) -> list[Row]:
        rows = [self.code.padding()] if self.code is not None else []
        self.fence, self.code, self.started = None, None, False
        return rows


def _closes(line: str, fence: str, partial: bool = False) -> bool:
    """The line closes a fence opened with `fence` (or, `partial`, may still become that)."""
    stripped = line.strip()
    if len(line) - len(line.lstrip(" ")) > 3 or not stripped or set(stripped) != {fence[0]}:
        return False
    return partial or len(stripped) >= len(fence)


def _is_table(source: str) -> bool:
    return source.lstrip(" ").startswith("|") or "\n" in source and "|" in source.split("\n", 1)[0]


def _raw_rows(line: str, width: int) -> list[Row]:
    """A table's unfinished row as its text, folded to the width: rendering the whole table
    again for every token would cost more than everything else; its newline renders it."""
    from rich.cells import chop_cells
    from rich.segment import Segment

    return [trimmed([Segment(piece)]) for piece in chop_cells(line, width)]
