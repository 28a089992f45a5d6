"""The one output sink of a run: every byte llamactl writes to stdout or stderr goes through it.

Whether each stream is a terminal is decided once, in the Environment; the sink turns that
into a mode (Rich on a terminal, exact text in a pipe or file) and keeps one Rich console
per stream for the whole run, created on first use. Commands hand it results: text, JSON,
tables (as a plain and a Rich form, of which it picks one), messages and progress. Rich
is imported only when a terminal is actually rendered to.

Text that came from the API never drives a terminal (output/sanitize.py): what reaches a
terminal's stdout has its control characters shown, and so has every stderr line, on a
terminal or in a CI log (llamactl's own messages have none, so that changes only the
server's text).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from functools import cached_property
from typing import TYPE_CHECKING, Any

from llamactl.output.sanitize import VisibleRendering, json_visible, visible
from llamactl.output.streams import flush_stream, write_text

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

    from llamactl.env import Environment
    from llamactl.output.spinner import Spinner

TracerFn = Callable[[str], None]


class Output:
    """stdout for results, stderr for messages; one instance per run (`env.output`)."""

    def __init__(self, env: Environment):
        self.env = env
        self.quiet = False  # -q: no info lines (warnings and errors still show)
        self.stdout_mid_line = False  # the last text written to stdout did not end a line
        self.stdout_used = False  # some text was written to stdout (an interrupted run says so)
        self.spinner: Spinner | None = None  # the wait before an answer, on stderr
        self.stderr_line_clean = False  # the spinner's line was just erased: nothing to end
        self.warned: set[str] = set()  # warn_once's lines so far

    # modes

    @property
    def rich_stdout(self) -> bool:
        return bool(self.env.stdout_isatty)

    @property
    def rich_stderr(self) -> bool:
        return bool(self.env.stderr_isatty)

    @property
    def moves_cursor(self) -> bool:
        """stdout is a terminal that can redraw a line (not TERM=dumb): live rendering works."""
        return self.rich_stdout and self.env.environ.get("TERM") != "dumb"

    @property
    def shares_screen(self) -> bool:
        """stdout is a pipe (`| tee`) whose text may end on stderr's screen mid-line."""
        return self.rich_stderr and not self.rich_stdout

    @cached_property
    def stdout_console(self) -> Console:
        return self._console(self.env.stdout)

    @cached_property
    def stderr_console(self) -> Console:
        return self._console(self.env.stderr)

    def _console(self, stream: Any) -> Console:
        from rich.console import Console

        console = Console(
            file=stream,
            force_terminal=True,
            no_color=bool(self.env.no_color),
            highlight=False,
            soft_wrap=True,
            width=self.env.width,
        )
        console.push_render_hook(VisibleRendering())  # type: ignore[arg-type]  # a duck-typed RenderHook: sanitize stays free of rich
        return console

    # stdout

    def write(self, text: str) -> None:
        """Text to stdout, unflushed (a stream flushes once per network read): as it is in a
        pipe or file, its control characters shown on a terminal."""
        if text:  # the flag first: a signal may land once the bytes are out (PYTHONUNBUFFERED)
            if self.spinner is not None:
                self.stop_spinner()
            self.stderr_line_clean = False
            self.stdout_mid_line = not text.endswith("\n")
            self.stdout_used = True
            write_text(self.env.stdout, visible(text) if self.rich_stdout else text)

    def draw(self, text: str) -> None:
        """Terminal bytes a renderer built for stdout (output/markdown.py): its text already
        made visible, its escape sequences our own, so written as they are, unflushed."""
        if text:
            if self.spinner is not None:
                self.stop_spinner()
            self.stderr_line_clean = False
            self.stdout_mid_line = not text.endswith("\n")
            self.stdout_used = True
            write_text(self.env.stdout, text)

    def flush(self) -> None:
        flush_stream(self.env.stdout)

    def text(self, text: str) -> None:
        """Text to stdout, flushed at once."""
        self.write(text)
        self.flush()

    def json(self, value: Any) -> None:
        """A JSON document as deepctl prints it: indented, UTF-8."""
        self.text(self._json_text(json.dumps(value, indent=2, ensure_ascii=False)) + "\n")

    def json_line(self, value: Any, flush: bool = True) -> None:
        """One compact JSON value on one line (NDJSON)."""
        self.write(self._json_text(json.dumps(value, ensure_ascii=False, separators=(",", ":"))) + "\n")
        if flush:
            self.flush()

    def _json_text(self, text: str) -> str:
        """On a terminal the same JSON with nothing raw to obey; in a pipe the exact text."""
        return json_visible(text) if self.rich_stdout else text

    def show(
        self, plain: Callable[[], str], rich: Callable[[Console], RenderableType], paged: bool = False
    ) -> None:
        """A result with two forms: `rich` builds a renderable for the terminal's console
        (its width is known there), `plain` the exact text for a pipe or file. `paged`: on
        a terminal, a result taller than the screen goes through the pager, if there is one."""
        if not self.rich_stdout:
            self.text(plain())
            return
        console = self.stdout_console
        if not (paged and self.env.pager):
            console.print(rich(console))
            return
        with console.capture() as captured:
            console.print(rich(console))
        rendered = captured.get()
        if rendered.count("\n") > console.height:
            from llamactl.output.pager import page

            self.flush()
            if page(
                self.env.pager,
                rendered,
                self.env.environ,
                getattr(self.env.stdout, "encoding", None) or "utf-8",
            ):
                return
        write_text(self.env.stdout, rendered)  # already rendered, sanitized, for this terminal
        self.flush()

    # stderr

    def _message(self, line: str, style: str | None) -> None:
        line = visible(line)
        if self.stdout_mid_line and self.shares_screen:
            self._stderr_text("\n")  # start below the unfinished line of text
            self.stdout_mid_line = False
        if self.rich_stderr and style and not self.env.no_color:
            from rich.text import Text

            self.stderr_line_clean = False
            with self._spinner_paused():
                self.stderr_console.print(Text(line, style=style))
        else:
            self._stderr_text(line + "\n")

    def _stderr_text(self, text: str) -> None:
        self.stderr_line_clean = False
        with self._spinner_paused():
            self._write_stderr(text)

    def _spinner_paused(self) -> AbstractContextManager[None]:
        """The spinner erased (and held) while a message is written; it redraws below."""
        return self.spinner.paused() if self.spinner is not None else nullcontext()

    def _write_stderr(self, text: str) -> None:
        write_text(self.env.stderr, text)
        flush_stream(self.env.stderr)

    def start_spinner(self, label: str) -> None:
        """A spinner on stderr (a real terminal only, not with -q) until the answer starts."""
        if self.env.spinner and not self.quiet and self.spinner is None:
            from llamactl.output.spinner import Spinner

            self.spinner = Spinner(self._write_stderr, label)
            self.spinner.start()

    def stop_spinner(self) -> None:
        spinner, self.spinner = self.spinner, None
        if spinner is not None and spinner.stop():
            self.stderr_line_clean = True

    def info(self, line: str) -> None:
        """A notice or summary line (dim on a terminal); none with -q."""
        if not self.quiet:
            self._message(line, "dim")

    def answer(self, line: str) -> None:
        """A line the user asked for (chat's /help, /cost) or an error's hint: as `info`,
        but -q keeps it."""
        self._message(line, "dim")

    def warn(self, line: str) -> None:
        self._message(f"warning: {line}", "yellow")

    def warn_once(self, line: str) -> None:
        """`warn`, but a line already warned of in this run is not repeated (a chat's turns)."""
        if line not in self.warned:
            self.warned.add(line)
            self.warn(line)

    def error(self, line: str) -> None:
        self._message(line, "red")

    def end_line_on_stderr(self) -> None:
        """Move past a prompt's line (after Ctrl-C at a question) before a message; not
        needed where the spinner's line was just erased (with the `^C` echoed on it)."""
        if not self.stderr_line_clean:
            self._stderr_text("\n")

    @property
    def tracer(self) -> TracerFn | None:
        """With --debug, a writer of `debug:` lines to stderr; None otherwise, so callers
        skip building trace text at all."""
        if not self.env.debug:
            return None
        return lambda line: self._stderr_text(f"debug: {visible(line)}\n")

    def traceback(self, text: str) -> None:
        self._stderr_text(visible(text))
