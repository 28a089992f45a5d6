"""A bounded, linear line splitter in front of sseclient-py.

sseclient-py stays the event parser (the `data` field with or without its space, several
data lines joined, events without data skipped), but its own framing appends each line to
a bytes buffer until a blank line: quadratic for a long line that arrives in many reads
and for a flood of comment lines, and unbounded in memory. Here each read is cut into
whole lines once, in C (line ends \\n, \\r\\n or \\r, even split across reads), lines
llamactl has no use for are dropped in bulk (comments, `event:`, `id:`, `retry:`, unknown
fields, empty data lines), and each event is handed over as one chunk of \\n-ended lines.

Bounded: a line, an event, or whatever arrives between two events llamactl can use is at
most MAX_UNUSED bytes, and an event at most MAX_EVENT_LINES lines (sseclient's work on one
event grows with lines × bytes). Bytes that are not UTF-8 are replaced (U+FFFD), as the
SSE standard decodes a stream.
"""

from __future__ import annotations

import re
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
        self._lines: list[bytes] = []  # the data lines of the event being received

    def used(self) -> None:
        self.unused = 0

    def events(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        partial = bytearray()  # the line being received, without its end
        after_cr = False  # the previous read ended in \r: a \n starting this one belongs to it
        for chunk in chunks:
            if after_cr and chunk[:1] == b"\n":
                chunk = chunk[1:]
            self.unused += len(chunk)
            last = max(chunk.rfind(b"\n"), chunk.rfind(b"\r"))
            if last < 0:
                partial += chunk
                self._check(len(partial))
                continue
            after_cr = last == len(chunk) - 1 and chunk[last:] == b"\r"
            whole = bytes(partial) + chunk[: last + 1] if partial else chunk[: last + 1]
            partial = bytearray(chunk[last + 1 :])
            self._check(len(partial))
            yield from self._whole_lines(whole)
            self._check(len(partial))
        if partial:
            yield from self._whole_lines(bytes(partial) + b"\n")
        yield from self._dispatch()

    def _check(self, line_length: int) -> None:
        if line_length > self.max_unused:
            raise StreamUnbounded(
                f"the stream sent a line longer than {size_text(self.max_unused)}; the output is incomplete"
            )
        if self.unused > self.max_unused:
            raise StreamUnbounded(
                f"the stream sent {size_text(self.max_unused)} without an event llamactl could read; "
                "the output is incomplete"
            )

    def _whole_lines(self, data: bytes) -> Iterator[bytes]:
        """Events from whole lines (`data` ends with a line end)."""
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if b"data:" not in data:  # comments, keep-alives, other fields: only a blank line counts
            if data[:1] == b"\n" or b"\n\n" in data:
                yield from self._dispatch()
            return
        data = _BLANKS.sub(b"\n\n", _UNUSED_LINE.sub(b"", data))
        if data[:1] == b"\n":  # a blank line first: it ends the event begun in earlier reads
            yield from self._dispatch()
            data = data[1:]
        *ended, rest = data.split(b"\n\n")
        for lines in ended:
            self._add(lines)
            yield from self._dispatch()
        self._add(rest.rstrip(b"\n"))

    def _add(self, lines: bytes) -> None:
        if lines:
            self._lines.extend(lines.split(b"\n"))
            if len(self._lines) > self.max_lines:
                raise StreamUnbounded(
                    f"the stream sent an event of more than {self.max_lines} lines; the output is incomplete"
                )

    def _dispatch(self) -> Iterator[bytes]:
        if self._lines:
            event = b"\n".join(self._lines) + b"\n\n"
            self._lines.clear()
            yield event if event.isascii() else _valid_utf8(event)


# Any line but a blank one and a `data:` line with a value: none of them can change what
# llamactl reads from an event (it uses only the data), so they go before any Python loop.
_UNUSED_LINE = re.compile(rb"^(?!data:(?! ?\n))[^\n]+\n", re.M)
_BLANKS = re.compile(rb"\n\n+")


def _valid_utf8(event: bytes) -> bytes:
    try:
        event.decode("utf-8")
        return event
    except UnicodeDecodeError:
        return event.decode("utf-8", errors="replace").encode("utf-8")
