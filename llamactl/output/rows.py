"""Terminal rows as the Markdown renderer passes them around: lists of Rich segments, one a
row, without the padding Rich adds to fill the width."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.segment import Segment

    Row = list[Segment]


def trimmed(row: Iterable[Segment], keep_background: bool = False) -> Row:
    """A rendered row without the spaces Rich pads it with (unless they carry a background),
    a null style as none."""
    from rich.segment import Segment

    segments = list(  # a null style as no style: rows compare equal however they were made
        Segment.simplify(
            segment if segment.style is None or segment.style else Segment(segment.text)
            for segment in row
            if segment.text
        )
    )
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


def row_text(row: Row) -> str:
    return "".join(segment.text for segment in row)
