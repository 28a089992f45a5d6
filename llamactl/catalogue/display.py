"""How `models list` and `models versions` print: a Rich table on a terminal, one
tab-separated line per model or version in a pipe (ready for cut/awk), `-` for a blank."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from llamactl.catalogue.cache import CatalogueEntry
from llamactl.catalogue.pricing import price_texts
from llamactl.output.sanitize import visible_inline
from llamactl.output.sink import Output

if TYPE_CHECKING:
    from rich.text import Text

BLANK = "-"


def notes(entry: CatalogueEntry) -> str | None:
    """`private`, `deprecated`, `replaced by NAME`, as they apply."""
    marks = ["private"] if entry.private else []
    if entry.deprecated:
        marks.append("deprecated")
    if entry.replaced_by:
        marks.append(f"replaced by {entry.replaced_by}")
    return ", ".join(marks) or None


def model_row(entry: CatalogueEntry) -> tuple[str, ...]:
    """model, type, input price, output price, context length, notes."""
    input_price, output_price = price_texts(entry.pricing)
    context = str(entry.context_length) if entry.context_length else None
    cells = (entry.name, entry.type, input_price, output_price, context, notes(entry))
    return tuple(visible_inline(cell) if cell else BLANK for cell in cells)


def tab_separated(rows: Sequence[tuple[str, ...]]) -> str:
    return "".join("\t".join(row) + "\n" for row in rows)


def print_models(out: Output, entries: list[CatalogueEntry]) -> None:
    """Sorted by type then name, as deepctl sorts its list."""
    ordered = sorted(entries, key=lambda entry: (entry.type, entry.name))
    rows = [model_row(entry) for entry in ordered]
    out.show(lambda: tab_separated(rows), lambda console: models_table(ordered, rows, console.width))


def models_table(ordered: list[CatalogueEntry], rows: list[tuple[str, ...]], width: int) -> Text:
    """The model is the row's key; prices and context are figures, never cut; the type
    shrinks, and the notes go first. A replaced or deprecated model is dimmed."""
    from llamactl.output.tables import Column, Role, render

    names, types, inputs, outputs, contexts, marks = (
        (list(cells) for cells in zip(*rows, strict=True)) if rows else ([],) * 6
    )
    retired = ["dim" if entry.deprecated or entry.replaced_by else "" for entry in ordered]
    return render(
        [
            Column("Model", names, Role.KEY, styles=retired),
            Column("Type", types, Role.TEXT, drop=2, min_width=len("text-generation")),
            Column("Input", inputs, Role.FIGURE, right=True, drop=5),
            Column("Output", outputs, Role.FIGURE, right=True, drop=4),
            Column("Context", contexts, Role.FIGURE, right=True, drop=3),
            Column(
                "Notes",
                ["" if mark == BLANK else mark for mark in marks],
                Role.TEXT,
                drop=1,
                styles=["yellow" if style else "" for style in retired],
            ),
        ],
        width,
    )


def version_rows(items: list[Any], warn: Callable[[str], None]) -> list[tuple[str, str]]:
    """(version, uploaded_at) of each ModelVersionOut; one without a version is skipped."""
    rows = []
    for position, item in enumerate(items, 1):
        if not isinstance(item, dict) or not isinstance(item.get("version"), str):
            warn(f"skipped entry {position} of the version list: it has no version")
            continue
        uploaded = item.get("uploaded_at")
        rows.append(
            (
                visible_inline(item["version"]),
                visible_inline(uploaded) if isinstance(uploaded, str) and uploaded else BLANK,
            )
        )
    return rows


def print_versions(out: Output, rows: list[tuple[str, str]]) -> None:
    """Newest first, as the API lists them."""
    out.show(lambda: tab_separated(rows), lambda console: versions_table(rows, console.width))


def versions_table(rows: list[tuple[str, str]], width: int) -> Text:
    """The version is what a user copies: always whole. The upload time shortens to its
    date, then goes."""
    from llamactl.output.tables import Column, Role, render

    uploaded = [time for _, time in rows]
    return render(
        [
            Column("Version", [version for version, _ in rows], Role.KEY),
            Column("Uploaded", uploaded, Role.FIGURE, compact=[time[:10] for time in uploaded]),
        ],
        width,
    )


def print_aliases(out: Output, aliases: dict[str, str]) -> None:
    """`models alias`: alias and model, by alias; both whole (either is what a user copies)."""
    rows = [(visible_inline(short), visible_inline(model)) for short, model in sorted(aliases.items())]
    out.show(lambda: tab_separated(rows), lambda console: aliases_table(rows, console.width))


def aliases_table(rows: list[tuple[str, str]], width: int) -> Text:
    from llamactl.output.tables import Column, Role, render

    return render(
        [
            Column("Alias", [short for short, _ in rows], Role.KEY),
            Column("Model", [model for _, model in rows], Role.KEY),
        ],
        width,
    )
