"""Bytes onto a stream: UTF-8 whatever the locale, written to the byte buffer when there is one.

The sink (output/sink.py) is the only caller; nothing else writes to stdout or stderr.
"""

from __future__ import annotations

from typing import IO


def write_text(stream: IO, text: str) -> None:
    """Write UTF-8 text to the stream's byte buffer (whatever the locale's encoding)."""
    buffer = getattr(stream, "buffer", None)
    if buffer is not None:
        buffer.write(text.encode("utf-8", errors="replace"))
    else:
        stream.write(text)


def flush_stream(stream: IO) -> None:
    (getattr(stream, "buffer", None) or stream).flush()
