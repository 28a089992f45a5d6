"""A bounded, linear line splitter in front of sseclient-py.

sseclient-py stays the event parser (fields, `data:` with or without its space, several
data lines joined), but its own framing appends each line to a bytes buffer until a blank
line: quadratic for a long line that arrives in many reads, and for a flood of comment
lines, and unbounded in memory. Here lines are split once, in C (`bytes.splitlines`: only
\\n, \\r\\n and \\r, even split across reads), comments are dropped, and each complete event
is handed over as one chunk whose lines end in \\n. Bounded: a line, an event, or whatever
arrives between two events llamactl can use is at most MAX_UNUSED bytes, and an event at
most MAX_EVENT_LINES lines (sseclient's work on one event grows with lines × bytes).

Bytes that are not UTF-8 are replaced (U+FFFD), as the SSE standard decodes a stream.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from llamactl.api.body import size_text
from llamactl.errors import StreamIncomplete

MAX_UNUSED = 16 * 1024 * 1024  # docs/troubleshooting.md
MAX_EVENT_LINES = 64


class StreamUnbounded(StreamIncomplete):
    """The stream broke a bound: a line, an event or a run of unusable bytes too long."""


class BoundedFramer:
    """Whole SSE events from byte chunks. The consumer calls `used()` after each event it
    could use, which starts the count of unused bytes again."""

    def __init__(self, max_unused: int = MAX_UNUSED, max_lines: int = MAX_EVENT_LINES):
        self.max_unused = max_unused
        self.max_lines = max_lines
        self.unused = 0
        self._lines: list[bytes] = []

    def used(self) -> None:
        self.unused = 0

    def events(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        partial = bytearray()  # the line being received, without its end
        after_cr = False  # the previous read ended in \r: a \n starting this one belongs to it
        for chunk in chunks:
            if after_cr and chunk[:1] == b"\n":
                chunk = chunk[1:]
            after_cr = False
            for piece in chunk.splitlines(True):
                if piece[-1:] not in (b"\n", b"\r"):  # only ever the last piece of a read
                    partial += piece
                    self._count(len(piece), len(partial))
                    break
                after_cr = piece[-1:] == b"\r"
                line = (bytes(partial) + piece if partial else piece).rstrip(b"\r\n")
                self._count(len(piece), len(partial) + len(piece))
                partial.clear()
                yield from self._line(line)
        if partial:
            yield from self._line(bytes(partial))
        yield from self._line(b"")

    def _count(self, added: int, line_length: int) -> None:
        self.unused += added
        if line_length > self.max_unused:
            raise StreamUnbounded(
                f"the stream sent a line longer than {size_text(self.max_unused)}; the output is incomplete"
            )
        if self.unused > self.max_unused:
            raise StreamUnbounded(
                f"the stream sent {size_text(self.max_unused)} without an event llamactl could read; "
                "the output is incomplete"
            )

    def _line(self, line: bytes) -> Iterator[bytes]:
        if not line:  # a blank line ends the event
            if self._lines:
                event = b"\n".join(self._lines) + b"\n\n"
                self._lines.clear()
                yield event if event.isascii() else _valid_utf8(event)
            return
        if line[:1] == b":":  # a comment (a keep-alive)
            return
        self._lines.append(line)
        if len(self._lines) > self.max_lines:
            raise StreamUnbounded(
                f"the stream sent an event of more than {self.max_lines} lines; the output is incomplete"
            )


def _valid_utf8(event: bytes) -> bytes:
    try:
        event.decode("utf-8")
        return event
    except UnicodeDecodeError:
        return event.decode("utf-8", errors="replace").encode("utf-8")
