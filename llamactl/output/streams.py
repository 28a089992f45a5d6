"""Where bytes are written: generated text to stdout, one-line messages to stderr.

On a terminal the text is rendered with Rich as it arrives; in a pipe or file it is
written exactly as generated, with no colour codes. Pipe output is flushed whenever the
stream is about to wait for the network (see stream.iter_byte_chunks), so every token is
on the pipe as soon as its bytes arrived, and tokens that arrived together cost one write.
Rich is imported only when a terminal is being rendered to.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from typing import IO, Any, Iterator

from llamactl.env import Environment
from llamactl.errors import local_failure


def write_text(stream: IO, text: str) -> None:
    """Write UTF-8 text to the stream's byte buffer (whatever the locale's encoding)."""
    buffer = getattr(stream, "buffer", None)
    with failures_are_local(stream):
        if buffer is not None:
            buffer.write(text.encode("utf-8", errors="replace"))
        else:
            stream.write(text)


def flush_stream(stream: IO) -> None:
    with failures_are_local(stream):
        (getattr(stream, "buffer", None) or stream).flush()


@contextmanager
def failures_are_local(stream: IO) -> Iterator[None]:
    """A write that fails (full disk, I/O error) is the machine's failure, exit 6; a
    closed pipe stays a BrokenPipeError, which ends the run quietly."""
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as exc:
        name = str(getattr(stream, "name", "the output")).strip("<>")
        raise local_failure(f"write to {name}", exc) from None


def write_flushed(stream: IO, text: str) -> None:
    """Write UTF-8 text and flush at once."""
    write_text(stream, text)
    flush_stream(stream)


def format_dollars(amount: float) -> str:
    """Dollars with as many decimals as a tiny per-request cost needs ($0.0000436)."""
    return "$" + (f"{amount:.8f}".rstrip("0").rstrip(".") or "0")


def make_console(stream: IO, env: Environment):
    from rich.console import Console

    return Console(
        file=stream,
        force_terminal=True,
        no_color=env.no_color,
        highlight=False,
        soft_wrap=True,
    )


class PlainText:
    """Generated text exactly as it arrives; several results separated by a blank line."""

    def __init__(self, stream: IO):
        self.stream = stream

    def token(self, text: str) -> None:
        write_text(self.stream, text)

    def flush(self) -> None:
        flush_stream(self.stream)

    def results(self, texts: list[str]) -> None:
        write_flushed(self.stream, "\n\n".join(texts))

    def end(self) -> None:
        self.flush()


class RichText:
    """Generated text on a terminal: streamed as plain Rich text (linear, no re-rendering),
    several results as labelled panels, and a final newline so the prompt starts clean."""

    def __init__(self, stream: IO, env: Environment):
        self.console = make_console(stream, env)
        self.pending: list[str] = []
        self.at_line_start = True

    def token(self, text: str) -> None:
        self.pending.append(text)

    def flush(self) -> None:
        """Render what arrived since the last network read: console.out writes text as-is
        (no markup, no re-layout of earlier output), so the cost stays linear."""
        if self.pending:
            text = "".join(self.pending)
            self.pending.clear()
            self.console.out(text, end="", highlight=False)
            self.at_line_start = text.endswith("\n")

    def results(self, texts: list[str]) -> None:
        if len(texts) == 1:
            self.token(texts[0])
            self.flush()
            return
        from rich.panel import Panel
        from rich.text import Text

        for index, text in enumerate(texts, 1):
            self.console.print(Panel(Text(text), title=f"result {index} of {len(texts)}", title_align="left"),
                               soft_wrap=False)  # wrap inside the panel, never crop
        self.at_line_start = True

    def end(self) -> None:
        self.flush()
        if not self.at_line_start:
            self.console.file.write("\n")
            self.console.file.flush()
            self.at_line_start = True


def text_renderer(env: Environment):
    return RichText(env.stdout, env) if env.stdout_isatty else PlainText(env.stdout)


def print_json(stream: IO, value: Any) -> None:
    """The API's response as deepctl prints it: pretty JSON."""
    write_flushed(stream, json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def print_json_line(stream: IO, value: Any) -> None:
    """One stream event as one NDJSON line (flushed with the stream's other output)."""
    write_text(stream, json.dumps(value, ensure_ascii=False, separators=(",", ":")) + "\n")


class Messages:
    """One-line notices on stderr: the summary, warnings, errors. Dim on a terminal."""

    def __init__(self, env: Environment, quiet: bool = False):
        self.env = env
        self.quiet = quiet

    def _write(self, line: str, style: str | None) -> None:
        if self.env.stderr_pretty and style:
            from rich.markup import escape

            make_console(self.env.stderr, self.env).print(f"[{style}]{escape(line)}[/]")
        else:
            write_flushed(self.env.stderr, line + "\n")

    def info(self, line: str) -> None:
        if not self.quiet:
            self._write(line, "dim")

    def warn(self, line: str) -> None:
        self._write(f"warning: {line}", "yellow")

    def error(self, line: str) -> None:
        self._write(line, "red")


def debug_trace(env: Environment):
    """With --debug, a writer of HTTP trace lines to stderr (the client redacts the token)."""
    if not env.debug:
        return None
    return lambda line: write_flushed(env.stderr, f"debug: {line}\n")
