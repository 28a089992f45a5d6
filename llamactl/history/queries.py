"""The SQL that reads history, as (sql, parameters) pairs, and the parsing of what users
type into it (`--since`, search text).

Every query is shaped to touch only what it returns: listings walk the id order (or an
index) newest first and stop after N rows, search asks the full-text index, and stats
aggregate in SQL over the covering time index without reading the rows themselves.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from llamactl.errors import UsageError
from llamactl.history.records import COLUMNS
from llamactl.output.format import round_cost
from llamactl.plain import record, replace

Query = tuple[str, tuple[Any, ...]]

RECORD_COLUMNS = ", ".join(COLUMNS)
STATS_KEYS = {
    "model": "coalesce(model, 'deploy:' || deploy_id)",
    "day": "date(created_at, 'unixepoch', 'localtime')",
    "batch": "coalesce(batch_id, '-')",
}
DURATION_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


@record
class StatsRow:
    """Totals for one model, day or batch. `tokens_in`/`tokens_out` sum the requests whose
    count is known, and `*_unknown` counts those whose is not (a stream cut before its usage
    came); `cost` is None when no request in the group has a known cost; `estimated_cost`
    is the part of it estimated from pricing. `api_host` is a batch's (by batch only): two
    hosts may give the same batch id, and their jobs are not one."""

    key: str
    requests: int
    tokens_in: int
    tokens_out: int
    cost: float | None
    estimated_cost: float
    tokens_in_unknown: int = 0
    tokens_out_unknown: int = 0
    api_host: str | None = None

    def to_json(self, by: str) -> dict[str, Any]:
        return {
            by: self.key,
            **({"api_host": self.api_host} if by == "batch" else {}),
            "requests": self.requests,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "tokens_in_unknown": self.tokens_in_unknown,
            "tokens_out_unknown": self.tokens_out_unknown,
            "cost": round_cost(self.cost),
            "estimated_cost": round_cost(self.estimated_cost),
        }


LARGEST_ID = 2**63 - 1  # SQLite's largest integer: no row has an id beyond, no LIMIT goes past


def storable_id(value: int) -> bool:
    """An id SQLite can hold; no row has one beyond, so such an id is simply not found."""
    return -LARGEST_ID <= value <= LARGEST_ID


def row_limit(limit: int) -> int:
    """`-n N` as SQLite can take it (a number beyond 64 bits asks for every row anyway)."""
    return min(limit, LARGEST_ID)


def placeholders(count: int) -> str:
    return ", ".join("?" * count)


@record(frozen=True)
class Filters:
    """What `list`, `search`, `stats` and `export` narrow their requests to; None is no
    filter. `models` are exact names: the ones a `--model` prefix matched (models_starting)."""

    models: tuple[str, ...] | None = None
    status: str | None = None
    since: float | None = None  # a Unix time
    batch: str | None = None
    conversation: int | None = None
    api_host: str | None = None  # beside batch only: of an id two hosts gave, the current host's

    def conditions(self) -> tuple[list[str], list[Any]]:
        """SQL conditions, each on an indexed column (api_host, never alone, beside batch_id's),
        and their parameters."""
        models = self.models or ()
        # One model walks its index in id order; several merge their index walks.
        model = "model = ?" if len(models) == 1 else f"model IN ({placeholders(len(models))})"
        wanted: tuple[tuple[str, Any], ...] = (
            ("conversation_id = ?", self.conversation),
            ("batch_id = ?", self.batch),
            ("api_host = ?", self.api_host),
            (model, self.models),
            ("status = ?", self.status),
            ("created_at >= ?", self.since),
        )
        conditions: list[str] = []
        params: list[Any] = []
        for condition, value in wanted:
            if value is not None:
                conditions.append(condition)
                params.extend(value if isinstance(value, tuple) else (value,))
        return conditions, params


NO_FILTERS = Filters()


def where(filters: Filters, *more: str) -> tuple[str, list[Any]]:
    """A WHERE clause of `more` and the filters' conditions; `more` come first, so their
    parameters go before the filters'."""
    conditions, params = filters.conditions()
    conditions = [*more, *conditions]
    return (f" WHERE {' AND '.join(conditions)}" if conditions else ""), params


def batch_job(batch: str) -> Query:
    """The id of the newest `batch` job that has this id or a batch of this id (of any
    host): its requests are recorded under the job's id."""
    return (
        "SELECT id FROM batch_jobs WHERE id = ? OR key IN (SELECT job FROM batch_parts WHERE batch_id = ?)"
        " ORDER BY created_at DESC LIMIT 1",
        (batch, batch),
    )


def batch_hosts(batch: str) -> Query:
    """(API host, requests) of a batch id, most requests first: the Batch API's ids are
    each host's own, so two hosts may have given the same one."""
    return (
        "SELECT api_host, count(*) FROM requests WHERE batch_id = ?"
        " GROUP BY api_host ORDER BY count(*) DESC, api_host",
        (batch,),
    )


def models_starting(prefix: str) -> Query:
    """The distinct model names that start with `prefix`, each found by one step down the
    model index (a skip scan), however many requests each has."""
    upper = prefix_upper_bound(prefix)
    return (
        "WITH RECURSIVE found(name) AS ("
        " SELECT min(model) FROM requests WHERE model >= ?1 AND model < ?2"
        " UNION ALL SELECT (SELECT min(model) FROM requests WHERE model > found.name AND model < ?2)"
        " FROM found WHERE found.name IS NOT NULL"
        ") SELECT name FROM found WHERE name IS NOT NULL",
        (prefix, upper),
    )


def prefix_upper_bound(prefix: str) -> str:
    """The least string above every string that starts with `prefix`, in SQLite's binary
    order (code point order): the prefix with its last character incremented. (U+10FFFF,
    a noncharacter, is where it stops; no typed name ends in it.)"""
    if not prefix:
        return chr(0x10FFFF)
    return prefix[:-1] + chr(min(ord(prefix[-1]) + 1, 0x10FFFF))


def recent(limit: int, filters: Filters = NO_FILTERS) -> Query:
    clause, params = where(filters)
    return f"SELECT {RECORD_COLUMNS} FROM requests{clause} ORDER BY id DESC LIMIT ?", (
        *params,
        row_limit(limit),
    )


def by_ids(ids: list[int]) -> Query:
    """The requests with these ids; an id SQLite cannot hold is simply not found."""
    ids = [request_id for request_id in ids if storable_id(request_id)]
    return f"SELECT {RECORD_COLUMNS} FROM requests WHERE id IN ({placeholders(len(ids))}) ORDER BY id", tuple(
        ids
    )


def results_of(ids: list[int]) -> Query:
    return (
        f"SELECT request, text FROM results WHERE request IN ({placeholders(len(ids))})"
        " ORDER BY request, position",
        tuple(ids),
    )


def messages_of(ids: list[int]) -> Query:
    return (
        f"SELECT request, role, content FROM messages WHERE request IN ({placeholders(len(ids))})"
        " ORDER BY request, position",
        tuple(ids),
    )


def turns_of(conversation: int, after_id: int = 0, before_id: int | None = None) -> Query:
    """A conversation's turns in the order they were recorded (an index walk): all, those
    after a turn already known (a session catching up), or those before one (`show`)."""
    before = "" if before_id is None else " AND id < ?"
    return (
        f"SELECT {RECORD_COLUMNS} FROM requests WHERE conversation_id = ? AND id > ?{before} ORDER BY id",
        (conversation, after_id, *(() if before_id is None else (before_id,))),
    )


def search(text: str, limit: int, filters: Filters = NO_FILTERS) -> Query:
    """Newest first among the requests whose prompt or output match every word of `text`.
    Unfiltered, the index itself stops after `limit` matches; filtered, every match is
    checked against the filters, newest first, until `limit` pass."""
    if filters == NO_FILTERS:
        return (
            f"SELECT {RECORD_COLUMNS} FROM requests WHERE id IN ("
            "SELECT rowid FROM requests_search WHERE requests_search MATCH ? ORDER BY rowid DESC LIMIT ?"
            ") ORDER BY id DESC",
            (match_expression(text), row_limit(limit)),
        )
    clause, params = where(filters, "id IN (SELECT rowid FROM requests_search WHERE requests_search MATCH ?)")
    return (
        f"SELECT {RECORD_COLUMNS} FROM requests{clause} ORDER BY id DESC LIMIT ?",
        (match_expression(text), *params, row_limit(limit)),
    )


def export_page(after_id: int, limit: int, filters: Filters = NO_FILTERS) -> Query:
    """The next `limit` requests after `after_id`, oldest first (an export, page by page)."""
    clause, params = where(filters, "id > ?")
    return f"SELECT {RECORD_COLUMNS} FROM requests{clause} ORDER BY id LIMIT ?", (after_id, *params, limit)


def stats(by: str, filters: Filters = NO_FILTERS) -> Query:
    """Totals in SQL. A time condition is always given (from 0 when there is no --since),
    so that without other filters only the covering time index is read."""
    clause, params = where(replace(filters, since=filters.since or 0))
    host = "CASE WHEN batch_id IS NULL THEN NULL ELSE api_host END" if by == "batch" else "NULL"
    return (
        f"SELECT {STATS_KEYS[by]} AS key, count(*), coalesce(sum(tokens_in), 0), coalesce(sum(tokens_out), 0),"
        " sum(cost), total(CASE WHEN cost_estimated THEN cost END),"
        " sum(tokens_in IS NULL AND status != 'error'), sum(tokens_out IS NULL AND status != 'error'),"
        f" {host} AS host"
        f" FROM requests{clause} GROUP BY key, host ORDER BY key, host",
        tuple(params),
    )


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
