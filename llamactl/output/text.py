"""Generated text as it streams in: exact bytes in a pipe or file, Rich on a terminal.

Pipe output is flushed whenever the stream is about to wait for the network (see
api/body.iter_body), so every token is on the pipe as soon as its bytes
arrived, and tokens that arrived together cost one write.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llamactl.output.sanitize import visible
from llamactl.output.sink import Output

if TYPE_CHECKING:
    from rich.console import Console, RenderableType


class PlainText:
    """Generated text exactly as it arrives; several results separated by a blank line, and
    a final newline when the text does not end with one, so files, `wc -l` and `while read`
    see whole lines (history keeps the exact text)."""

    def __init__(self, out: Output):
        self.out = out

    def token(self, text: str) -> None:
        self.out.write(text)

    def flush(self) -> None:
        self.out.flush()

    def results(self, texts: list[str]) -> None:
        self.out.text("\n\n".join(texts))

    def end(self) -> None:
        if self.out.stdout_mid_line:
            self.out.write("\n")
        self.flush()


class RichText:
    """Generated text on a terminal: streamed as plain Rich text (linear, no re-rendering),
    several results as labelled panels, and a final newline so the prompt starts clean.
    Control characters in the text are shown, never obeyed (output/sanitize.py)."""

    def __init__(self, out: Output):
        self.console = out.stdout_console
        self.pending: list[str] = []
        self.at_line_start = True

    def token(self, text: str) -> None:
        self.pending.append(text)

    def flush(self, final: bool = False) -> None:
        """Render what arrived since the last network read: console.out writes text as-is
        (no markup, no re-layout of earlier output), so the cost stays linear. A CR that
        ends the text waits for the next text: with a newline after it, it is a line ending."""
        if self.pending:
            text = "".join(self.pending)
            self.pending.clear()
            if text.endswith("\r") and not final:
                text = text[:-1]
                self.pending.append("\r")
            if text:
                self.console.out(visible(text), end="", highlight=False)
                self.at_line_start = text.endswith("\n")

    def results(self, texts: list[str]) -> None:
        if len(texts) != 1:
            from rich.text import Text

            result_panels(self.console, [Text(visible(text)) for text in texts], soft_wrap=False)
            self.at_line_start = True  # wrapped inside each panel, never cropped
            return
        self.token(texts[0])
        self.flush()

    def end(self) -> None:
        self.flush(final=True)
        if not self.at_line_start:
            self.console.file.write("\n")
            self.console.file.flush()
            self.at_line_start = True


class MarkdownText:
    """Generated text on a terminal as Markdown, rendered as it streams (output/markdown.py);
    several results as labelled panels rendered the same way."""

    def __init__(self, out: Output):
        from llamactl.output.markdown import MarkdownStream

        self.out = out
        self.stream = MarkdownStream(out.stdout_console, out.draw)

    def token(self, text: str) -> None:
        self.stream.feed(text)

    def flush(self) -> None:
        """Lay out and draw what arrived, with Ctrl-C held until both are done: cut midway,
        the layout would have dropped a line it had not drawn yet, and close() would
        commit the block without it."""
        from llamactl.signals import HeldSignals

        held = HeldSignals()
        held.start()
        try:
            with held:
                self.stream.flush()
                self.out.flush()
        finally:
            held.stop()

    def results(self, texts: list[str]) -> None:
        if len(texts) == 1:
            self.token(texts[0])
            self.flush()
            return
        from llamactl.output.markdown import RenderedMarkdown
        from llamactl.output.sanitize import visible

        result_panels(self.out.stdout_console, [RenderedMarkdown(visible(text)) for text in texts])

    def end(self) -> None:
        self.stream.close()
        self.out.flush()


def result_panels(console: Console, bodies: list[RenderableType], soft_wrap: bool | None = None) -> None:
    """Several results on a terminal, each in a panel titled `result N of M` (`soft_wrap`
    as Console.print takes it: None is the console's own)."""
    from rich.panel import Panel

    for index, body in enumerate(bodies, 1):
        console.print(
            Panel(body, title=f"result {index} of {len(bodies)}", title_align="left"), soft_wrap=soft_wrap
        )


def text_renderer(out: Output, markdown: bool = True) -> PlainText | RichText | MarkdownText:
    """Exact text in a pipe or file; on a terminal Markdown, or plain text with --no-md (and
    on a terminal that cannot move its cursor, TERM=dumb)."""
    if not out.rich_stdout:
        return PlainText(out)
    return MarkdownText(out) if markdown and out.moves_cursor else RichText(out)
