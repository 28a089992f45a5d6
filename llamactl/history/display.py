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
    from rich.console import RenderableType

PREVIEW_WIDTH = 80
STATUS_STYLES = {
    "ok": "green",
    "error": "red",
    "incomplete": "yellow",
    "interrupted": "yellow",
    "queued": "cyan",
}


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
    out.show(lambda: records_lines(records), lambda console: records_table(records, console.width))


def records_lines(records: list[HistoryRecord]) -> str:
    """One tab-separated line a record."""
    lines = []
    for record in records:
        columns = (
            record.id,
            record.time,
            visible_inline(record.target_label),
            record.status,
            number_text(record.tokens_in),
            number_text(record.tokens_out),
            cost_text(record.cost, record.cost_estimated),
            one_line(record.prompt),
        )
        lines.append("\t".join(str(column) for column in columns) + "\n")
    return "".join(lines)


def records_table(records: list[HistoryRecord], width: int) -> RenderableType:
    """The id is the row's key (what `show` and `rerun` take); time, status, tokens and
    cost are figures, never cut; the model and the prompt shrink, and go first."""
    from llamactl.output.tables import Column, Role, render

    statuses = [record.status for record in records]
    return render(
        [
            Column("ID", [str(record.id) for record in records], Role.KEY, right=True),
            Column("Time", [short_time(record.time) for record in records], Role.FIGURE, drop=4),
            Column("Model", [record.target_label for record in records], Role.TEXT, drop=1),
            Column(
                "Status",
                statuses,
                Role.FIGURE,
                drop=6,
                styles=[STATUS_STYLES.get(status, "") for status in statuses],
            ),
            Column(
                "Tokens",
                [f"{number_text(record.tokens_in)}/{number_text(record.tokens_out)}" for record in records],
                Role.FIGURE,
                right=True,
                drop=3,
            ),
            Column(
                "Cost",
                [cost_text(record.cost, record.cost_estimated) for record in records],
                Role.FIGURE,
                right=True,
                drop=5,
            ),
            Column("Prompt", [one_line(record.prompt) for record in records], Role.TEXT, drop=2),
        ],
        width,
    )


# show


def figures(record: HistoryRecord) -> list[tuple[str, str]]:
    """The labelled facts of one record, in the order `show` prints them."""
    rows = [
        ("id", str(record.id)),
        ("time", record.time),
        ("model", record.target_label),
        ("api host", record.api_host),
        ("status", record.status),
    ]
    if record.finish_reason:
        rows.append(("finish", finish_text(record)))
    if record.error:
        rows.append(("error", record.error))
    cost = cost_text(record.cost, record.cost_estimated)
    if record.cost is not None:
        cost += " (estimated from pricing)" if record.cost_estimated else " (reported by the API)"
    rows += [
        ("request id", record.request_id or "-"),
        ("streamed", "yes" if record.streamed else "no"),
        *([("batch", record.batch_id)] if record.batch_id else []),
        *([("chat", f"conversation {record.conversation_id}")] if record.conversation_id else []),
        *([("retry of", str(record.retry_of))] if record.retry_of else []),
        ("tokens", f"{number_text(record.tokens_in)} in / {number_text(record.tokens_out)} out"),
        ("cost", cost),
        ("runtime", "-" if record.runtime_ms is None else f"{record.runtime_ms} ms"),
        ("wall time", "-" if record.wall_seconds is None else f"{record.wall_seconds:.2f} s"),
    ]
    rows += [("-i", f"{key}={field_text(value)}") for key, value in record.fields.items() if key != "input"]
    rows += [("system", message["content"]) for message in record.messages if message["role"] == "system"]
    rows += [
        ("-i", f"{name}=@{upload['filename']} ({upload['size']} bytes, {upload['content_type']})")
        for name, upload in record.uploads.items()
    ]
    return [(label, visible_inline(value)) for label, value in rows]


def finish_text(record: HistoryRecord) -> str:
    """The finish reason as recorded, and what it meant as the summary said it."""
    from llamactl.output.format import stop_text

    stopped = stop_text(record.finish_reason, record.fields)
    return f"{record.finish_reason} ({stopped})" if stopped else str(record.finish_reason)


def cut_mark(status: str) -> str:
    """How an answer that did not end is marked: it stays in its conversation as it was."""
    return f" ({status})" if status in ("interrupted", "incomplete") else ""


def sections(record: HistoryRecord, earlier: list[tuple[str, str]] | None = None) -> list[tuple[str, str]]:
    """The long texts: a chat turn's conversation before it, the prompt, then every result."""
    count = len(record.results)
    mark = cut_mark(record.status) if record.conversation_id else ""
    return [*(earlier or []), ("input", record.prompt)] + [
        (f"result {index} of {count}" if count > 1 else f"result{mark}", text)
        for index, text in enumerate(record.results, 1)
    ]


def conversation_before(conversation: Any, record: HistoryRecord, earlier: list[HistoryRecord]):
    """The conversation as the turn `record` continued it, and the turn itself."""
    from llamactl.chat.conversation import Conversation, Turn

    return Conversation(conversation, [Turn.from_record(turn) for turn in earlier]), Turn.from_record(record)


def earlier_sections(
    conversation: Any, record: HistoryRecord, earlier: list[HistoryRecord]
) -> list[tuple[str, str]]:
    """The conversation up to a turn, as sections: its system prompt, then each earlier
    exchange the turn was sent with (a cut-short answer marked)."""
    if conversation is None:
        return []
    before, this = conversation_before(conversation, record, earlier)
    system = (this.system or None) if this.system is not None else before.system
    texts = [("system", system)] if system else []
    for turn in before.context(before=this):
        texts += [
            (f"turn {turn.id}: user", turn.user),
            (f"turn {turn.id}: answer{cut_mark(turn.status)}", turn.answer),
        ]
    return texts


def with_conversation(
    data: dict[str, Any], record: HistoryRecord, conversation: Any, earlier: list[HistoryRecord]
) -> dict[str, Any]:
    """`show --json` of a chat turn: its conversation, with the message list up to the turn
    and its answer."""
    if conversation is None:
        return data
    before, this = conversation_before(conversation, record, earlier)
    messages = [*before.messages(this), {"role": "assistant", "content": this.answer}]
    return {**data, "conversation": {**conversation.to_json(), "messages": messages}}


def print_record(
    out: Output, record: HistoryRecord, conversation: Any = None, earlier: list[HistoryRecord] | None = None
) -> None:
    texts = sections(record, earlier_sections(conversation, record, earlier or []))
    out.show(lambda: record_text(record, texts), lambda console: record_panels(record, texts), paged=True)


def record_text(record: HistoryRecord, texts: list[tuple[str, str]]) -> str:
    lines = [f"{label + ':':<12}{value}" for label, value in figures(record)]
    for title, text in texts:
        lines += ["", f"== {title} ==", text]
    return "\n".join(lines) + "\n"


def record_panels(record: HistoryRecord, texts: list[tuple[str, str]]) -> RenderableType:
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    from llamactl.output.markdown import RenderedMarkdown

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    for label, value in figures(record):
        grid.add_row(label, Text(value, style=STATUS_STYLES.get(value, "") if label == "status" else ""))
    panels = [
        Panel(
            Text(visible(text))
            if title == "input" or title.endswith(": user") or title == "system"
            else RenderedMarkdown(visible(text)),
            title=title,
            title_align="left",
        )
        for title, text in texts
    ]  # what the user typed as typed, the answers as Markdown, rendered as infer streams them
    return Group(grid, *panels)


# stats


def stats_total(rows: list[StatsRow]) -> StatsRow:
    costs = [row.cost for row in rows if row.cost is not None]
    return StatsRow(
        "total",
        sum(row.requests for row in rows),
        sum(row.tokens_in for row in rows),
        sum(row.tokens_out for row in rows),
        sum(costs) if costs else None,
        sum(row.estimated_cost for row in rows),
        sum(row.tokens_in_unknown for row in rows),
        sum(row.tokens_out_unknown for row in rows),
    )


def stats_json(rows: list[StatsRow], by: str, since: str | None) -> dict[str, Any]:
    total = stats_total(rows).to_json(by)
    del total[by]
    total.pop("api_host", None)
    return {"by": by, "since": since, "groups": [row.to_json(by) for row in rows], "total": total}


def stats_cost(row: StatsRow) -> str:
    """A total cost, with `~` when part of it is an estimate, `-` when none is known."""
    return cost_text(row.cost, row.estimated_cost > 0)


def stats_tokens(row: StatsRow, side: str) -> str:
    """A token total as `list` shows a count: `-` when no request in it has one, and a `+`
    (at least) when some have none."""
    known, unknown = getattr(row, f"tokens_{side}"), getattr(row, f"tokens_{side}_unknown")
    if unknown and unknown == row.requests:
        return "-"
    return f"{known}+" if unknown else str(known)


def stats_keys(rows: list[StatsRow]) -> list[str]:
    """Each row's key as shown: a batch id two API hosts gave is shown with its host, since
    those are two jobs."""
    from collections import Counter

    seen = Counter(row.key for row in rows)
    return [f"{row.key} ({row.api_host})" if seen[row.key] > 1 and row.api_host else row.key for row in rows]


def print_stats(out: Output, rows: list[StatsRow], by: str) -> None:
    out.show(lambda: stats_lines(rows), lambda console: stats_table(rows, by, console.width))


def stats_lines(rows: list[StatsRow]) -> str:
    return "".join(
        "\t".join(
            (
                visible_inline(key),
                str(row.requests),
                stats_tokens(row, "in"),
                stats_tokens(row, "out"),
                stats_cost(row),
            )
        )
        + "\n"
        for key, row in zip(stats_keys(rows), rows, strict=True)
    )


# The counted columns of `stats`: header, the figure of a row, and the order they drop in.
STATS_COUNTS = (
    ("Requests", lambda row: str(row.requests), 3),
    ("Tokens in", lambda row: stats_tokens(row, "in"), 1),
    ("Tokens out", lambda row: stats_tokens(row, "out"), 2),
)


def stats_table(rows: list[StatsRow], by: str, width: int) -> RenderableType:
    """The model, day or batch is the row's key; the figures go from the left, cost last;
    the totals are a footer when there is more than one group."""
    from llamactl.output.tables import Column, Role, render

    total = stats_total(rows)
    footers = (
        (total.key, *(shown(total) for _, shown, _ in STATS_COUNTS), stats_cost(total))
        if len(rows) > 1
        else (None,) * 5
    )
    return render(
        [
            Column(by.capitalize(), stats_keys(rows), Role.KEY, footer=footers[0]),
            *(
                Column(
                    header,
                    [shown(row) for row in rows],
                    Role.FIGURE,
                    right=True,
                    drop=drop,
                    footer=footer,
                )
                for (header, shown, drop), footer in zip(STATS_COUNTS, footers[1:4], strict=True)
            ),
            Column(
                "Cost", [stats_cost(row) for row in rows], Role.FIGURE, right=True, drop=4, footer=footers[4]
            ),
        ],
        width,
    )
