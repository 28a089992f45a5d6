"""Markdown on a terminal as it streams: linear, every token shown at once, no line twice.

Re-rendering the whole answer on every token is quadratic and, once the answer is taller
than the terminal, prints lines twice (the top has scrolled out of reach). Instead:

* **Blocks.** The text is cut into blocks as it arrives, line by line: a blank line outside
  a fence, a fence's opening and closing lines and an ATX heading end a block. A finished
  block is rendered once with Rich's Markdown and committed to scrollback; blocks are one
  blank row apart. Fenced code is not given to Rich's Markdown (output/markdown_code.py):
  each finished line is highlighted once by the fence's lexer, its state carried from the
  line before (a multi-line string stays a string), and committed as soon as its newline
  arrives; the unfinished line is shown in the code's plain colours until then.
* **The open block** (the one still being written) is re-rendered when text arrives, and
  only its last rows are live: the rows above its last one are committed as they fill,
  since words only ever join the last row (an unclosed `**` or backtick is closed for the
  rendering, so a bold run does not change its rows when it closes). A table stays live
  whole, because a later row may widen its columns, up to the terminal's height, and is
  rendered again only when a row's newline arrives (the unfinished row is shown as its
  text meanwhile); a heading stays live until its line ends (Rich may draw it in a box).
  An open code block keeps only its last, unfinished line live.
* **The fast path** (output/markdown_append.py): most tokens add a plain word to the open
  paragraph's last row; when nothing about them can change the block's structure, their
  style or its wrapping, the word is appended to that row without rendering anything, and
  a newline that ends a line already rendered reuses its rows. Checked: every append is
  what a full rendering would have drawn (tests/test_markdown.py).
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

The layout (block cutting, rendering, cuts) is output/markdown_layout.MarkdownLayout.
`MarkdownStream` is the entry point for anything that shows a stream (infer, history rerun,
chat); `markdown_rows` / `RenderedMarkdown` render a whole text the same way (history show,
several results in panels).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from llamactl.output.markdown_layout import MarkdownLayout

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions

    from llamactl.output.rows import Row


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
