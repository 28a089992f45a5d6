"""Tables that fit the terminal the way `gh`'s do: one line per row, whatever the width.

Each column says what it may give up when the terminal is narrow. The identifying column
(a model name, a request id, a version hash) is never dropped or cut: it is what a user
copies. Figures (prices, token counts, times) are never cut either, only shortened to a
compact form when they have one, or dropped. Free text (notes, prompts) shrinks to a
minimum with an ellipsis, and is dropped first. Columns go in their `drop` order, lowest
first, until the rest fits.

Every cell is passed through `visible_inline()`, so a server-supplied string (a model name, a
prompt, an error) never drives the terminal, and is measured as it will be shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum
from typing import TYPE_CHECKING

from llamactl.output.sanitize import visible_inline

if TYPE_CHECKING:
    from rich.text import Text

GAP = 2  # spaces between two columns
MIN_TEXT_WIDTH = 12


class Role(Enum):
    KEY = "key"  # identifies the row: never dropped, never cut
    FIGURE = "figure"  # never cut; its compact form, then dropped
    TEXT = "text"  # shrinks with an ellipsis down to its minimum, then dropped


@dataclass
class Column:
    header: str
    cells: list[str]
    role: Role = Role.TEXT
    right: bool = False  # right-aligned, as figures are
    drop: int = 0  # among the columns that may go, the lowest goes first
    min_width: int = MIN_TEXT_WIDTH  # TEXT only: what it keeps before it is dropped
    compact: list[str] | None = None  # FIGURE only: shorter cells, tried before dropping
    styles: list[str] = field(default_factory=list)  # a Rich style per cell ('' for none)
    footer: str | None = None

    def __post_init__(self) -> None:
        self.cells = [visible_inline(cell) for cell in self.cells]
        if self.compact is not None:
            self.compact = [visible_inline(cell) for cell in self.compact]

    def natural(self) -> int:
        from rich.cells import cell_len

        return max(cell_len(text) for text in [self.header, self.footer or "", *self.cells])

    def least(self) -> int:
        """The narrowest this column can be shown."""
        if self.role is Role.TEXT:
            from rich.cells import cell_len

            return min(self.natural(), max(cell_len(self.header), self.min_width))
        return self.natural()


def fit(columns: list[Column], width: int) -> list[tuple[Column, int]]:
    """The columns that fit in `width` cells, in their order, each with its width.

    Columns that may go are compacted or dropped in `drop` order until the rest fits at
    its narrowest; what is left over then widens the text columns, shared evenly. The key
    columns alone may be wider than the terminal: then the line is longer, never cut."""
    shown = list(columns)

    def narrowest() -> int:
        return sum(column.least() for column in shown) + GAP * (len(shown) - 1)

    for column in sorted((c for c in columns if c.role is not Role.KEY), key=lambda c: c.drop):
        if narrowest() <= width:
            break
        position = next(index for index, candidate in enumerate(shown) if candidate is column)
        if column.compact is not None:
            shown[position] = replace(column, cells=column.compact, compact=None)
            if narrowest() <= width:
                break
        del shown[position]
    widths = {id(column): column.least() for column in shown}
    spare = width - narrowest()
    growing = sorted((c for c in shown if c.role is Role.TEXT), key=lambda c: c.natural() - c.least())
    for position, column in enumerate(growing):
        share = max(0, spare // (len(growing) - position))
        extra = min(share, column.natural() - column.least())
        widths[id(column)] += extra
        spare -= extra
    return [(column, widths[id(column)]) for column in shown]


def render(columns: list[Column], width: int) -> Text:
    """The table as Rich text: a bold underlined header, one line per row, a bold footer
    when a column has one; no trailing spaces, no borders (so it copies cleanly)."""
    from rich.text import Text

    layout = fit(columns, width)
    rows = len(columns[0].cells) if columns else 0
    lines = [_line([(Text(column.header, style="bold underline"), column, size) for column, size in layout])]
    for row in range(rows):
        lines.append(
            _line(
                [
                    (Text(column.cells[row], style=_style(column, row)), column, size)
                    for column, size in layout
                ]
            )
        )
    if any(column.footer is not None for column, _ in layout):
        lines.append(
            _line([(Text(column.footer or "", style="bold"), column, size) for column, size in layout])
        )
    return Text("\n").join(lines)


def _style(column: Column, row: int) -> str:
    return column.styles[row] if row < len(column.styles) else ""


def _line(cells: list[tuple[Text, Column, int]]) -> Text:
    from rich.text import Text

    parts = []
    for text, column, size in cells:
        text.truncate(size, overflow="ellipsis")
        padding = Text(" " * (size - text.cell_len))
        parts.append(Text.assemble(padding, text) if column.right else Text.assemble(text, padding))
    line = Text(" " * GAP).join(parts)
    line.rstrip()
    return line
