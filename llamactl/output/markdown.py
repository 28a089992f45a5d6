"""Markdown on a terminal as it streams: linear, every token shown at once, no line twice.

Re-rendering the whole answer on every token is quadratic and, once the answer is taller
than the terminal, prints lines twice (the top has scrolled out of reach). Instead:

* **Blocks.** The text is cut into blocks as it arrives, line by line: a blank line outside
  a fence, a fence's opening and closing lines and an ATX heading end a block. A finished
  block is rendered once with Rich's Markdown and committed to scrollback; blocks are one
  blank row apart. Fenced code is not given to Rich's Markdown: each finished line is
  highlighted with Rich's Syntax (the fence's language, the few lines before it as context,
  so a multi-line string stays a string) and committed as soon as its newline arrives; the
  unfinished line is highlighted alone, which is cheap enough for every token.
* **The open block** (the one still being written) is re-rendered when text arrives, and
  only its last rows are live: the rows above its last one are committed as they fill,
  since words only ever join the last row (an unclosed `**` or backtick is closed for the
  rendering, so a bold run does not change its rows when it closes). A table stays live
  whole, because a later row may widen its columns, up to the terminal's height; so does a
  heading until its line ends (Rich may draw it in a box). An open
  code block keeps only its last, unfinished line live.
* **Bounded cost.** Re-rendering the open block is cheap only while it is short, so once
  several of its rows are committed the block is cut: its committed head is dropped from
  the source, if rendering head and tail apart gives exactly the rows of the whole (checked,
  so a cut never changes what is on screen). A block that cannot be cut (a quote, a table)
  is cut regardless at MAX_OPEN_CHARS. Each update costs the size of the open block plus
  the new text, never the answer so far.
* **The screen** is output/live.LiveRegion: it writes only the cells that change, so a
  committed row is written once and a growing row costs just its new text.

Text is made safe before Markdown sees it (output/sanitize.visible: no ESC/CSI/OSC, no other
C0/C1 control but newline and tab; CRLF is a newline), and neither Markdown nor Syntax reads
Rich markup, so `[bold]` in an answer is literal. Links show their address after the text
(no OSC 8 hyperlinks from the server's URLs). The width is fixed when a stream starts, so a
resize between answers is respected. A single newline breaks the line, as a model means it
(a haiku, an address), where strict Markdown would join the lines. A line holding only block marks so far (`-`, `1.`,
a fence's backticks) waits for its next character: it would render as something else.

`MarkdownStream` is the entry point for anything that shows a stream (infer, history rerun,
chat); `markdown_rows` / `RenderedMarkdown` render a whole text the same way (history show,
several results in panels).
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions
    from rich.segment import Segment

    Row = list[Segment]

CODE_THEME = "monokai"
CONTEXT_LINES = 8  # code lines before the new ones given to the highlighter as context
CUT_EVERY = 4  # try to cut the open block once this many more of its rows are committed
MAX_OPEN_CHARS = 4000  # an open block that could not be cut is cut anyway at this size

FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)[^`]*$")
HEADING = re.compile(r"^ {0,3}#{1,6}(\s|$)")
THEMATIC_BREAK = re.compile(r"^ {0,3}([-*_])(\s*\1){2,}\s*$")
# A partial line of nothing but block marks yet: shown once it has a character more.
MARKS_ONLY = re.compile(r"^\s*(?:[-=*_+`~#>|:]+|\d{1,9}[.)]?)?\s*$")
WORD = re.compile(r"\S+")


def close_inline(text: str) -> str:
    """`text` with an unclosed code span or `**` closed, so a run renders as it will end."""
    if text.count("`") % 2:
        return text + "`"
    if re.sub(r"`[^`]*`", "", text).count("**") % 2:
        return text + "**"
    return text


def trimmed(row: Iterable[Segment], keep_background: bool = False) -> Row:
    """A rendered row without the spaces Rich pads it with (unless they carry a background)."""
    from rich.segment import Segment

    segments = list(Segment.simplify(segment for segment in row if segment.text))
    while segments:
        last = segments[-1]
        if keep_background and last.style is not None and last.style.bgcolor is not None:
            break
        text = last.text.rstrip(" ")
        if text:
            segments[-1] = Segment(text, last.style)
            break
        segments.pop()
    return segments


class MarkdownLayout:
    """Markdown text to terminal rows, fed piece by piece; pure (no I/O).

    `feed(text)` returns the rows that became final and the rows still open; `close()` the
    last final rows. Text must already be safe for a terminal, with `\\n` line endings."""

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
        # the open code block
        self.fence: str | None = None
        self.language = "text"
        self.context: deque[str] = deque(maxlen=CONTEXT_LINES)
        self.lexer: tuple[str, Any, Any, Any] | None = None  # the language's lexer, theme, background
        self.code_lines: list[str] = []  # finished, not yet rendered
        self.any_block = False  # some block has rows: the next one starts after a gap
        self.started = False  # the open block has rows (its gap is written)

    # feeding

    def feed(self, text: str) -> tuple[list[Row], list[Row]]:
        committed: list[Row] = []
        *lines, self.partial = (self.partial + text).split("\n")
        for line in lines:
            committed += self._line(line)
            self.continued = False
        if self.fence is not None:
            committed += self._code_rows()
            return committed, self._live_code()
        more, live = self._text_rows()
        return committed + more, live

    def close(self) -> list[Row]:
        """Everything left, final: an open fence is closed, a partial line finished."""
        rows: list[Row] = []
        if self.fence is not None:
            if self.partial:
                self.code_lines.append(self.partial)
            self.partial = ""
            rows += self._code_rows() + [self._code_padding()]
            self.fence, self.started = None, False
        else:
            if self.partial:
                self.block += self.partial
            self.partial = ""
            rows += self._end_text_block()
        return rows

    def _line(self, line: str) -> list[Row]:
        """One complete line: where it goes, and the rows it finishes."""
        if self.fence is not None:
            if _closes(line, self.fence):
                rows = self._code_rows() + [self._code_padding()]
                self.fence, self.started = None, False
                return rows
            self.code_lines.append(line)
            return []
        if not self.continued:
            opened = FENCE_OPEN.match(line)
            if opened:
                rows = self._end_text_block()
                self.fence, self.language = opened.group(1), opened.group(2) or "text"
                self.context.clear()
                return rows + self._gap() + [self._code_padding()]
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

    def _source(self) -> str:
        held = MARKS_ONLY.match(self.partial) or FENCE_OPEN.match(self.partial)
        return self.block + (self.partial if self.continued or not held else "")

    def _text_rows(self) -> tuple[list[Row], list[Row]]:
        """Rows of the open text block: those that became final, and the live ones."""
        source = self._source()
        if not source.strip():
            return [], []
        rows = self.render(source)
        if not rows:
            return [], []
        lead = self._gap()
        heading = not self.continued and HEADING.match(self.partial)  # may be boxed: all rows change
        hold = len(rows) if heading or _is_table(source) else 1
        final = max(self.block_committed, len(rows) - hold, len(rows) - self.live_limit)
        committed = lead + rows[self.block_committed : final]
        self.block_committed = max(self.block_committed, final)
        live = rows[self.block_committed :]
        if self.block_committed >= self.next_cut or len(source) > MAX_OPEN_CHARS:
            self._cut(source, rows)
        return committed, live

    def _end_text_block(self) -> list[Row]:
        source = self.block
        self.block = ""
        committed, self.block_committed, self.next_cut = self.block_committed, 0, CUT_EVERY
        if not source.strip():
            self.started = False
            return []
        rows = self.render(source)
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
            if 0 < len(head_rows) <= self.block_committed and head_rows + self.render(tail) == rows:
                self._drop_head(cut, len(head_rows))
                return
        if len(source) > MAX_OPEN_CHARS:  # no clean cut: keep the cost bounded regardless
            candidates = self._cut_candidates(source, rows)
            if candidates:
                self._drop_head(candidates[0], self.block_committed)

    def _cut_candidates(self, source: str, rows: list[Row]) -> list[int]:
        """Where in the source the committed rows most likely end: at the word that starts
        the first live row (counting words, and by that word's text), or at a line start."""
        committed = self.block_committed
        words_before = sum(len("".join(s.text for s in row).split()) for row in rows[:committed])
        starts = [match.start() for match in WORD.finditer(source)]
        found: list[int] = []
        if words_before < len(starts):
            found.append(starts[words_before])
            if committed < len(rows):
                first = "".join(s.text for s in rows[committed]).split()
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

    def _syntax(self, lines: list[str], context: Iterable[str], background: bool = True) -> list[Row]:
        """Code lines as rows: highlighted by the fence's lexer after `context` (which is
        lexed, not shown), on the theme's background with a cell of padding each side, long
        lines wrapped, as Rich's Syntax draws them (without its per-call lexer lookups)."""
        from rich.segment import Segment
        from rich.text import Text

        lexer, theme, base = self._highlighter()
        before = list(context)
        texts = [Text(style=base)]
        for token_type, value in lexer.get_tokens("\n".join(before + lines)):
            style = theme.get_style_for_token(token_type)
            first, *rest = value.split("\n")
            texts[-1].append(first, style)
            for piece in rest:
                texts.append(Text(piece, style=base))
        inner = max(1, self.width - 2)
        pad = Segment(" ", base)
        rows: list[Row] = []
        for text in texts[len(before) : len(before) + len(lines)]:
            text.expand_tabs(4)
            for wrapped in text.wrap(self.console, inner, overflow="fold") or [Text()]:
                segments = [pad, *wrapped.render(self.console)]
                segments.append(Segment(" " * (inner - wrapped.cell_len) + " ", base))
                rows.append(trimmed(segments, keep_background=background))
        return rows

    def _highlighter(self) -> tuple[Any, Any, Any]:
        """The open fence's lexer (plain text for a language Pygments does not know), the
        theme and its background style, looked up once per block."""
        if self.lexer is None or self.lexer[0] != self.language:
            from pygments.lexers import get_lexer_by_name
            from pygments.util import ClassNotFound
            from rich.syntax import Syntax

            try:
                lexer = get_lexer_by_name(self.language, stripnl=False, ensurenl=False)
            except ClassNotFound:
                lexer = get_lexer_by_name("text", stripnl=False, ensurenl=False)
            theme = Syntax.get_theme(self.code_theme)
            self.lexer = (self.language, lexer, theme, theme.get_background_style())
        return self.lexer[1:]

    def _code_rows(self) -> list[Row]:
        """The finished code lines not yet rendered, highlighted with the lines before."""
        if not self.code_lines:
            return []
        rows = self._syntax(self.code_lines, self.context)
        self.context.extend(self.code_lines)
        self.code_lines = []
        return rows

    def _live_code(self) -> list[Row]:
        if not self.partial or _closes(self.partial, self.fence or "```", partial=True):
            return []
        return self._syntax([self.partial], (), background=False)  # alone: cheap on every token

    def _code_padding(self) -> Row:
        """The blank row with the code's background above and below a code block."""
        return self._syntax([""], [])[0]


def _closes(line: str, fence: str, partial: bool = False) -> bool:
    """The line closes a fence opened with `fence` (or, `partial`, may still become that)."""
    stripped = line.strip()
    if len(line) - len(line.lstrip(" ")) > 3 or not stripped or set(stripped) != {fence[0]}:
        return False
    return partial or len(stripped) >= len(fence)


def _is_table(source: str) -> bool:
    return source.lstrip(" ").startswith("|") or "\n" in source and "|" in source.split("\n", 1)[0]


def markdown_rows(text: str, console: Console, width: int) -> list[Row]:
    """A whole text rendered exactly as the stream shows it."""
    layout = MarkdownLayout(console, width)
    committed, live = layout.feed(text)
    return committed + layout.close()


class RenderedMarkdown:
    """A Rich renderable of a whole text in the stream's Markdown, fitted to the space given
    (a panel's inside too)."""

    def __init__(self, text: str):
        self.text = text

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Any:
        from rich.segment import Segment

        for row in markdown_rows(self.text, console, options.max_width):
            yield from row
            yield Segment.line()


_warming: threading.Thread | None = None
_parsers: dict[str, tuple[Any, Any]] = {}
_parsers_lock = threading.Lock()


def markdown_parser(code_theme: str) -> tuple[Any, Any]:
    """A Rich Markdown to copy for each document, and a markdown-it parser set up as Rich's."""
    with _parsers_lock:
        if code_theme not in _parsers:
            from markdown_it import MarkdownIt
            from rich.markdown import Markdown

            template = Markdown("", code_theme=code_theme, hyperlinks=False)
            _parsers[code_theme] = (template, MarkdownIt().enable("strikethrough").enable("table"))
        return _parsers[code_theme]


def warm_up() -> None:
    """Load and compile what the first render needs (markdown-it's rules, Rich's Markdown,
    the Python lexer's regular expressions: a quarter of a second on a slow machine) in the
    background, while the request waits for its first token, so that token is not held."""
    global _warming
    if _warming is None:
        _warming = threading.Thread(target=_render_sample, name="llamactl-markdown-warm-up", daemon=True)
        _warming.start()


def _render_sample() -> None:
    import io

    from rich.console import Console

    console = Console(file=io.StringIO(), force_terminal=True, width=40)
    markdown_rows("# a\n\n**b** `c`\n\n- d\n\n| e |\n|---|\n| f |\n\n```python\ng = 1\n```\n", console, 40)


class MarkdownStream:
    """Streamed Markdown on a terminal: `feed(text)` as text arrives, `flush()` before waiting
    for more (what arrived is on screen after it), `close()` at the end (or on Ctrl-C: what
    arrived stays, the cursor on a fresh line). `write` receives terminal-ready text."""

    def __init__(self, console: Console, write: Callable[[str], None], width: int | None = None):
        from llamactl.output.live import LiveRegion

        warm_up()
        self.layout = MarkdownLayout(console, width or console.width)
        self.region = LiveRegion(console, write)
        self.pending: list[str] = []
        self.closed = False

    def feed(self, text: str) -> None:
        self.pending.append(text)

    def flush(self, final: bool = False) -> None:
        from llamactl.output.sanitize import visible

        if not self.pending:
            return
        text = "".join(self.pending)
        self.pending.clear()
        if text.endswith("\r") and not final:  # a CRLF split between two reads
            text = text[:-1]
            self.pending.append("\r")
        if text:
            self.region.update(*self.layout.feed(visible(text)))

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            if not self.region.drawing:
                self.flush(final=True)
                self.region.update(self.layout.close(), [])
        finally:
            self.region.close()

    @property
    def bytes_written(self) -> int:
        return self.region.bytes_written
