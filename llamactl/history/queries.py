"""The SQL that reads history, as (sql, parameters) pairs, and the parsing of what users
type into it (`--since`, search text).

Every query is shaped to touch only what it returns: listings walk the id order (or an
index) newest first and stop after N rows, search asks the full-text index, and stats
aggregate in SQL over the covering time index without reading the rows themselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from llamactl.errors import UsageError
from llamactl.history.records import COLUMNS, INSERT_COLUMNS
from llamactl.output.format import round_cost

Query = tuple[str, tuple[Any, ...]]

RECORD_COLUMNS = ", ".join(COLUMNS)
INSERT_RECORD = (f"INSERT INTO requests ({', '.join(INSERT_COLUMNS)})"
                 f" VALUES ({', '.join('?' * len(INSERT_COLUMNS))})")
STATS_KEYS = {
    "model": "coalesce(model, 'deploy:' || deploy_id)",
    "day": "date(created_at, 'unixepoch', 'localtime')",
    "batch": "coalesce(batch_id, '-')",
}
DURATION_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


@dataclass
class StatsRow:
    """Totals for one model or one day. `cost` is None when no request in the group has a
    known cost; `estimated_cost` is the part of it estimated from pricing."""

    key: str
    requests: int
    tokens_in: int
    tokens_out: int
    cost: float | None
    estimated_cost: float

    def to_json(self, by: str) -> dict[str, Any]:
        return {by: self.key, "requests": self.requests, "tokens_in": self.tokens_in,
                "tokens_out": self.tokens_out, "cost": round_cost(self.cost),
                "estimated_cost": round_cost(self.estimated_cost)}


def placeholders(count: int) -> str:
    return ", ".join("?" * count)


def recent(limit: int, model: str | None, status: str | None, batch: str | None = None) -> Query:
    conditions, params = [], []
    if batch:
        conditions.append("batch_id = ?")
        params.append(batch)
    if model:
        conditions.append("model = ?")
        params.append(model)
    if status:
        conditions.append("status = ?")
        params.append(status)
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    return f"SELECT {RECORD_COLUMNS} FROM requests{where} ORDER BY id DESC LIMIT ?", (*params, limit)


def by_ids(ids: list[int]) -> Query:
    return f"SELECT {RECORD_COLUMNS} FROM requests WHERE id IN ({placeholders(len(ids))}) ORDER BY id", tuple(ids)


def results_of(ids: list[int]) -> Query:
    return (f"SELECT request, text FROM results WHERE request IN ({placeholders(len(ids))})"
            " ORDER BY request, position", tuple(ids))


def search(text: str, limit: int) -> Query:
    """Newest first among the requests whose prompt or output match every word of `text`."""
    return (f"SELECT {RECORD_COLUMNS} FROM requests WHERE id IN ("
            "SELECT rowid FROM requests_search WHERE requests_search MATCH ? ORDER BY rowid DESC LIMIT ?"
            ") ORDER BY id DESC", (match_expression(text), limit))


def since(timestamp: float | None, after_id: int, limit: int) -> Query:
    return (f"SELECT {RECORD_COLUMNS} FROM requests WHERE id > ? AND created_at >= ? ORDER BY id LIMIT ?",
            (after_id, timestamp or 0, limit))


def stats(timestamp: float | None, by: str, batch: str | None = None) -> Query:
    key = STATS_KEYS[by]
    in_batch = " AND batch_id = ?" if batch else ""
    return (f"SELECT {key} AS key, count(*), coalesce(sum(tokens_in), 0), coalesce(sum(tokens_out), 0),"
            " sum(cost), total(CASE WHEN cost_estimated THEN cost END)"
            f" FROM requests WHERE created_at >= ?{in_batch} GROUP BY key ORDER BY key",
            (timestamp or 0, *([batch] if batch else [])))


def match_expression(text: str) -> str:
    """Search text as an FTS5 query: each word a quoted prefix term, all required. Quoting
    makes FTS5's own syntax (AND, NEAR, quotes, colons) plain text; a NUL would end it."""
    words = text.replace("\0", " ").split()
    if not words:
        raise UsageError("search needs at least one word")
    return " ".join('"' + word.replace('"', '""') + '"*' for word in words)


def parse_since(text: str, now: float) -> float:
    """`--since`: a date (2024-05-01), a local date and time (2024-05-01T14:30), or a
    duration back from now (30m, 12h, 7d, 2w). Returns a Unix time."""
    value = text.strip()
    duration = re.fullmatch(r"(\d+)\s*([mhdw])", value)
    if duration:
        return now - int(duration.group(1)) * DURATION_UNITS[duration.group(2)]
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"--since: expected a date such as 2024-05-01, a time such as 2024-05-01T14:30 "
            f"or a duration such as 7d, got {text!r}"
        ) from None
    return moment.timestamp()
