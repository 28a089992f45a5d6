"""Bytes onto a stream: UTF-8 whatever the locale, written to the byte buffer when there is one.

The sink (output/sink.py) is the only caller; nothing else writes to stdout or stderr.
A write that fails for a local reason (a full disk, an I/O error) is exit 6; a closed
pipe stays a BrokenPipeError, which ends the run quietly.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from llamactl.errors import local_failure


def write_text(stream: IO, text: str) -> None:
    """Write UTF-8 text to the stream's byte buffer (whatever the locale's encoding)."""
    buffer = getattr(stream, "buffer", None)
    with failures_are_local(stream):
        if buffer is not None:
            buffer.write(utf8(text))
        else:
            stream.write(text)


def utf8(text: str) -> bytes:
    """The text as UTF-8, each lone surrogate (an answer's `\\ud800` escape) as U+FFFD, the
    replacement character, which is how history keeps it (docs/history.md)."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        from llamactl.inference.inputs import well_formed

        return well_formed(text).encode("utf-8")


def flush_stream(stream: IO) -> None:
    with failures_are_local(stream):
        (getattr(stream, "buffer", None) or stream).flush()


@contextmanager
def failures_are_local(stream: IO) -> Iterator[None]:
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as exc:
        name = str(getattr(stream, "name", "the output")).strip("<>")
        raise local_failure(f"write to {name}", exc) from None
