"""How `models list` and `models versions` print: a Rich table on a terminal, one
tab-separated line per model or version in a pipe (ready for cut/awk), `-` for a blank."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from llamactl.catalogue.cache import CatalogueEntry
from llamactl.catalogue.pricing import price_texts
from llamactl.output.sanitize import visible_inline
from llamactl.output.sink import Output

if TYPE_CHECKING:
    from rich.table import Table

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


def tab_separated(rows: list[tuple[str, ...]]) -> str:
    return "".join("\t".join(row) + "\n" for row in rows)


def print_models(out: Output, entries: list[CatalogueEntry]) -> None:
    """Sorted by type then name, as deepctl sorts its list."""
    ordered = sorted(entries, key=lambda entry: (entry.type, entry.name))
    rows = [model_row(entry) for entry in ordered]
    out.show(lambda: tab_separated(rows), lambda console: models_table(ordered, rows))


def models_table(ordered: list[CatalogueEntry], rows: list[tuple[str, ...]]) -> Table:
    from rich.markup import escape
    from rich.table import Table

    table = Table(box=None, padding=(0, 1), pad_edge=False, header_style="bold underline")
    table.add_column("Model", no_wrap=True)
    table.add_column("Type", no_wrap=True)
    table.add_column("Input", justify="right", no_wrap=True)
    table.add_column("Output", justify="right", no_wrap=True)
    table.add_column("Context", justify="right", no_wrap=True)
    table.add_column("Notes", overflow="fold")
    for entry, row in zip(ordered, rows):
        cells = [escape(cell) for cell in row]
        if cells[5] == BLANK:
            cells[5] = ""
        elif entry.deprecated or entry.replaced_by:
            cells[0] = f"[dim]{cells[0]}[/]"
            cells[5] = f"[yellow]{cells[5]}[/]"
        table.add_row(*cells)
    return table


def version_rows(items: list[Any], warn: Callable[[str], None]) -> list[tuple[str, str]]:
    """(version, uploaded_at) of each ModelVersionOut; one without a version is skipped."""
    rows = []
    for position, item in enumerate(items, 1):
        if not isinstance(item, dict) or not isinstance(item.get("version"), str):
            warn(f"skipped entry {position} of the version list: it has no version")
            continue
        uploaded = item.get("uploaded_at")
        rows.append((visible_inline(item["version"]), visible_inline(uploaded) if isinstance(uploaded, str) and uploaded else BLANK))
    return rows


def print_versions(out: Output, rows: list[tuple[str, str]]) -> None:
    """Newest first, as the API lists them."""
    out.show(lambda: tab_separated(rows), lambda console: versions_table(rows))


def versions_table(rows: list[tuple[str, str]]) -> Table:
    from rich.markup import escape
    from rich.table import Table

    table = Table(box=None, padding=(0, 1), pad_edge=False, header_style="bold underline")
    table.add_column("Version", no_wrap=True)
    table.add_column("Uploaded", no_wrap=True)
    for version, uploaded in rows:
        table.add_row(escape(version), escape(uploaded))
    return table
