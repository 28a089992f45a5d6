"""How history is printed: Rich tables and panels on a terminal, tab-separated lines in a
pipe (one record or one group a line, ready for cut/awk), and JSON for --json."""

from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING, Any

from llamactl.history.queries import StatsRow
from llamactl.history.records import HistoryRecord
from llamactl.output.format import cost_text
from llamactl.output.sanitize import visible, visible_inline
from llamactl.output.sink import Output

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

PREVIEW_WIDTH = 80
MIN_FLEXIBLE = 12
STATUS_STYLES = {"ok": "green", "error": "red", "incomplete": "yellow", "interrupted": "yellow", "queued": "cyan"}


def number_text(value: int | None) -> str:
    return "-" if value is None else str(value)


def one_line(text: str, width: int = PREVIEW_WIDTH) -> str:
    """Text on one line (whitespace collapsed, control characters shown), cut to `width` characters."""
    flat = " ".join(visible(text).split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def short_time(iso_time: str) -> str:
    """`11-27 17:21` this year, `2023-11-27` before, as `ls -l` shortens dates."""
    if iso_time[:4] == str(date.today().year):
        return iso_time[5:16].replace("T", " ")
    return iso_time[:10]


def field_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


# list and search

def print_records(out: Output, records: list[HistoryRecord]) -> None:
    out.show(lambda: records_lines(records), lambda console: records_table(records, console))


def records_lines(records: list[HistoryRecord]) -> str:
    """One tab-separated line a record."""
    lines = []
    for record in records:
        columns = (record.id, record.time, visible_inline(record.target_label), record.status, number_text(record.tokens_in),
                   number_text(record.tokens_out), cost_text(record.cost, record.cost_estimated),
                   one_line(record.prompt))
        lines.append("\t".join(str(column) for column in columns) + "\n")
    return "".join(lines)


def records_table(records: list[HistoryRecord], console: Console) -> RenderableType:
    from rich.markup import escape
    from rich.table import Table

    table = Table(box=None, padding=(0, 1), pad_edge=False, header_style="bold underline")
    figures = [
        (str(record.id), short_time(record.time), record.status,
         f"{number_text(record.tokens_in)}/{number_text(record.tokens_out)}",
         cost_text(record.cost, record.cost_estimated))
        for record in records
    ]
    # The figures keep their width; the model and the prompt share what is left of the
    # terminal's (columns are 2 apart), the prompt keeping at least MIN_FLEXIBLE.
    headers = ("ID", "Time", "Status", "Tokens", "Cost")
    fixed = sum(max(len(header), *(len(row[index]) for row in figures)) for index, header in enumerate(headers))
    rest = console.width - fixed - 2 * (len(headers) + 1)
    widest_model = max(len(record.target_label) for record in records)
    model_width = max(MIN_FLEXIBLE, min(widest_model, rest - MIN_FLEXIBLE))
    prompt_width = max(MIN_FLEXIBLE, rest - model_width)
    table.add_column("ID", justify="right", no_wrap=True)
    table.add_column("Time", no_wrap=True)
    table.add_column("Model", no_wrap=True, overflow="ellipsis", max_width=model_width)
    table.add_column("Status", no_wrap=True)
    table.add_column("Tokens", justify="right", no_wrap=True)
    table.add_column("Cost", justify="right", no_wrap=True)
    table.add_column("Prompt", no_wrap=True, overflow="ellipsis", max_width=prompt_width)
    for (request_id, time, status, tokens, cost), record in zip(figures, records):
        table.add_row(request_id, time, escape(visible_inline(record.target_label)), f"[{STATUS_STYLES.get(status, '')}]{status}[/]",
                      tokens, cost, escape(one_line(record.prompt, prompt_width)))
    return table


# show

def figures(record: HistoryRecord) -> list[tuple[str, str]]:
    """The labelled facts of one record, in the order `show` prints them."""
    rows = [("id", str(record.id)), ("time", record.time), ("model", record.target_label),
            ("api host", record.api_host), ("status", record.status)]
    if record.error:
        rows.append(("error", record.error))
    cost = cost_text(record.cost, record.cost_estimated)
    if record.cost is not None:
        cost += " (estimated from pricing)" if record.cost_estimated else " (reported by the API)"
    rows += [
        ("request id", record.request_id or "-"),
        ("streamed", "yes" if record.streamed else "no"),
        *([("batch", record.batch_id)] if record.batch_id else []),
        ("tokens", f"{number_text(record.tokens_in)} in / {number_text(record.tokens_out)} out"),
        ("cost", cost),
        ("runtime", "-" if record.runtime_ms is None else f"{record.runtime_ms} ms"),
        ("wall time", "-" if record.wall_seconds is None else f"{record.wall_seconds:.2f} s"),
    ]
    rows += [("-i", f"{key}={field_text(value)}") for key, value in record.fields.items() if key != "input"]
    rows += [("-i", f"{name}=@{upload['filename']} ({upload['size']} bytes, {upload['content_type']})")
             for name, upload in record.uploads.items()]
    return [(label, visible_inline(value)) for label, value in rows]


def sections(record: HistoryRecord) -> list[tuple[str, str]]:
    """The long texts: the prompt, then every result."""
    count = len(record.results)
    return [("input", record.prompt)] + [
        (f"result {index} of {count}" if count > 1 else "result", text)
        for index, text in enumerate(record.results, 1)
    ]


def print_record(out: Output, record: HistoryRecord) -> None:
    out.show(lambda: record_text(record), lambda console: record_panels(record))


def record_text(record: HistoryRecord) -> str:
    lines = [f"{label + ':':<12}{value}" for label, value in figures(record)]
    for title, text in sections(record):
        lines += ["", f"== {title} ==", text]
    return "\n".join(lines) + "\n"


def record_panels(record: HistoryRecord) -> RenderableType:
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    for label, value in figures(record):
        grid.add_row(label, Text(value, style=STATUS_STYLES.get(value, "") if label == "status" else ""))
    panels = [Panel(Text(visible(text)), title=title, title_align="left") for title, text in sections(record)]
    return Group(grid, *panels)


# stats

def stats_total(rows: list[StatsRow]) -> StatsRow:
    costs = [row.cost for row in rows if row.cost is not None]
    return StatsRow("total", sum(row.requests for row in rows), sum(row.tokens_in for row in rows),
                    sum(row.tokens_out for row in rows), sum(costs) if costs else None,
                    sum(row.estimated_cost for row in rows))


def stats_json(rows: list[StatsRow], by: str, since: str | None) -> dict[str, Any]:
    total = stats_total(rows).to_json(by)
    del total[by]
    return {"by": by, "since": since, "groups": [row.to_json(by) for row in rows], "total": total}


def stats_cost(row: StatsRow) -> str:
    """A total cost, with `~` when part of it is an estimate, `-` when none is known."""
    return cost_text(row.cost, row.estimated_cost > 0)


def print_stats(out: Output, rows: list[StatsRow], by: str) -> None:
    out.show(lambda: stats_lines(rows), lambda console: stats_table(rows, by))


def stats_lines(rows: list[StatsRow]) -> str:
    return "".join("\t".join(str(column) for column in (visible_inline(row.key), row.requests, row.tokens_in, row.tokens_out,
                                                         stats_cost(row))) + "\n" for row in rows)


def stats_table(rows: list[StatsRow], by: str) -> RenderableType:
    from rich.markup import escape
    from rich.table import Table

    total = stats_total(rows)
    table = Table(box=None, padding=(0, 1), pad_edge=False, header_style="bold underline",
                  footer_style="bold", show_footer=len(rows) > 1)
    table.add_column(by.capitalize(), footer="total", overflow="fold")
    table.add_column("Requests", justify="right", footer=str(total.requests))
    table.add_column("Tokens in", justify="right", footer=str(total.tokens_in))
    table.add_column("Tokens out", justify="right", footer=str(total.tokens_out))
    table.add_column("Cost", justify="right", footer=stats_cost(total))
    for row in rows:
        table.add_row(escape(visible_inline(row.key)), str(row.requests), str(row.tokens_in), str(row.tokens_out), stats_cost(row))
    return table
