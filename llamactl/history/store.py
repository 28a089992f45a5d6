"""The history database: one SQLite file under the data directory, private to the user.

Many llamactl processes may write at once (CI jobs, `xargs -P`): the database runs in WAL
mode so readers never block writers, every connection waits up to BUSY_TIMEOUT_SECONDS for
a lock, and every write is one `BEGIN IMMEDIATE` transaction (`database.py`), which takes the write lock
up front instead of failing half-way when another process got it first.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from llamactl.env import Environment, check_directory_path, ensure_private_dir, ensure_private_file
from llamactl.errors import local_errno_hint
from llamactl.history.database import (
    SCHEMA_VERSION,
    HistoryUnavailable,
    busy_timeout,
    connect_read_only,
    create_private_file,
    migrate,
    refuse_newer_schema,
    schema_version,
    use_wal,
    write_transaction,
)
from llamactl.history.records import INSERT_COLUMNS, INSERT_RECORD, HistoryRecord

if TYPE_CHECKING:
    from llamactl.history.conversations import ConversationRow
    from llamactl.history.queries import Filters, Query, StatsRow

# The queries that read (history.queries) and the conversations' SQL are imported where they
# are used: a request that only records loads neither (2.4 M instructions of its start-up).

HISTORY_FILENAME = "history.db"
EXPORT_BATCH = 500
INSERT_RESULT = "INSERT INTO results (request, position, text) VALUES (?, ?, ?)"
INSERT_SEARCH = "INSERT INTO requests_search (rowid, input, output) VALUES (?, ?, ?)"


def history_path(env: Environment) -> Path:
    return env.data_dir / HISTORY_FILENAME


class HistoryStore:
    """Adds, reads and removes history records. Use as a context manager: it closes the
    connection, which lets the last process out fold the WAL back into the database."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    @classmethod
    def open(cls, path: Path, timeout: float | None = None) -> HistoryStore:
        """Open (creating and migrating) the database; `timeout` is how long to wait for a
        lock, busy_timeout() unless given."""
        timeout = busy_timeout() if timeout is None else timeout
        ensure_private_dir(path.parent)
        create_private_file(path)
        db = sqlite3.connect(path, timeout=timeout, isolation_level=None)
        try:
            refuse_newer_schema(db, path)
            use_wal(db, timeout)
            db.execute("PRAGMA synchronous = NORMAL")
            migrate(db)
        except BaseException:
            db.close()
            raise
        return cls(db)

    @classmethod
    def open_for_reading(cls, path: Path, timeout: float | None = None) -> HistoryStore:
        """Open the database to read only, writing nothing: no directory or file created, no
        migration, no journal-mode switch, so a read-only disk still lists its history and
        a newer llamactl's database can be read. No file yet is an empty history; a file
        that needs migrating is opened as `open` does (a read could not use it as it is)."""
        timeout = busy_timeout() if timeout is None else timeout
        check_directory_path(path.parent)
        if not os.path.lexists(path):
            db = sqlite3.connect(":memory:", isolation_level=None)
            migrate(db)
            return cls(db)
        ensure_private_file(path, tighten=False)
        db = connect_read_only(path, timeout)
        try:
            if schema_version(db) < SCHEMA_VERSION:
                db.close()
                return cls.open(path, timeout)
        except BaseException:
            db.close()
            raise
        return cls(db)

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc) -> None:
        self.db.close()

    # writing

    def add_all(self, records: Iterable[HistoryRecord]) -> list[int]:
        """Insert records in one transaction; returns their new ids."""
        records = list(records)
        try:
            with write_transaction(self.db):
                return [self._insert(record) for record in records]
        except UnicodeEncodeError:  # a lone surrogate: kept as U+FFFD (see well_formed_record)
            with write_transaction(self.db):
                return [self._insert(well_formed_record(record)) for record in records]

    def add_rows(
        self, rows: Sequence[tuple[tuple[Any, ...], list[str], str]], columns: Sequence[str] = INSERT_COLUMNS
    ) -> range:
        """add_all for records without messages (a batch's lines) given as (a row of these
        columns, as to_row gives them; those left out are NULL, results, search_input of
        its fields): a statement a table, not three a record. The ids are consecutive
        (AUTOINCREMENT inserts under the write lock), so they are counted back from the last."""
        if not set(columns) <= set(INSERT_COLUMNS):
            raise ValueError(f"not columns of a history row: {sorted(set(columns) - set(INSERT_COLUMNS))}")
        try:
            return self._add_rows(rows, columns)
        except UnicodeEncodeError:  # a lone surrogate: kept as U+FFFD (see well_formed_record)
            from llamactl.inference.inputs import well_formed

            return self._add_rows(well_formed(rows), columns)

    def _add_rows(
        self, rows: Sequence[tuple[tuple[Any, ...], list[str], str]], columns: Sequence[str]
    ) -> range:
        insert = f"INSERT INTO requests ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        with write_transaction(self.db):
            self.db.executemany(insert, [row for row, _, _ in rows])
            last = self.db.execute("SELECT last_insert_rowid()").fetchone()[0]
            pairs = list(zip(range(last - len(rows) + 1, last + 1), rows, strict=True))
            results = [(i, n, text) for i, (_, texts, _) in pairs for n, text in enumerate(texts)]
            self.db.executemany(INSERT_RESULT, results)
            searched = [(i, search, search_output(texts)) for i, (_, texts, search) in pairs]
            self.db.executemany(INSERT_SEARCH, searched)
        return range(last - len(rows) + 1, last + 1) if rows else range(0)

    def add_turn(self, record: HistoryRecord, conversation: ConversationRow) -> int:
        """Insert a chat turn in one transaction, creating its conversation first when it
        is new (so no conversation exists without a turn); both get their ids."""
        new = conversation.id is None
        try:
            turn_id = self._add_turn(record, conversation)
        except UnicodeEncodeError:  # a lone surrogate: kept as U+FFFD (see well_formed_record)
            from llamactl.inference.inputs import well_formed

            if new:
                conversation.id = None  # its row was rolled back with the turn's
            conversation.system = well_formed(conversation.system)
            turn_id = self._add_turn(well_formed_record(record), conversation)
        record.conversation_id = conversation.id
        record.id = turn_id
        return turn_id

    def _add_turn(self, record: HistoryRecord, conversation: ConversationRow) -> int:
        from llamactl.history.conversations import INSERT_CONVERSATION

        with write_transaction(self.db):
            if conversation.id is None:
                conversation.id = self.db.execute(INSERT_CONVERSATION, conversation.values()).lastrowid
            record.conversation_id = conversation.id
            return self._insert(record)

    def _insert(self, record: HistoryRecord) -> int:
        row_id = cast(int, self.db.execute(INSERT_RECORD, record.to_row()).lastrowid)  # set by INSERT
        self.db.executemany(
            INSERT_RESULT, [(row_id, position, text) for position, text in enumerate(record.results)]
        )
        if record.messages:
            self.db.executemany(
                "INSERT INTO messages (request, position, role, content) VALUES (?, ?, ?, ?)",
                [
                    (row_id, position, message["role"], message["content"])
                    for position, message in enumerate(record.messages)
                ],
            )
        self.db.execute(INSERT_SEARCH, (row_id, *search_texts(record)))
        return row_id

    def remove(self, ids: list[int]) -> list[int]:
        """Remove the requests with these ids, all or none: returns the ids not found."""
        from llamactl.history import queries

        with write_transaction(self.db):
            records = self._records(queries.by_ids(ids))
            found = {record.id for record in records}
            missing = [request_id for request_id in ids if request_id not in found]
            if not missing:
                self._delete(records)
        return missing

    def forget_batch_rows(self, batch_id: str, api_host: str, created_at: float) -> int:
        """Remove the rows tagged with this batch job's id, host and time (what a first
        `batch results` cut between two of its commits left: collecting again records every
        line anew, once). Returns how many there were."""
        ids = [
            row[0]
            for row in self.db.execute(
                "SELECT id FROM requests WHERE batch_id = ? AND api_host = ? AND created_at = ?",
                (batch_id, api_host, created_at),
            )
        ]
        for start in range(0, len(ids), 500):  # the records are read to unindex them: a page at a time
            self.remove(ids[start : start + 500])
        return len(ids)

    def clear(self) -> int:
        """Remove every request; returns how many there were."""
        with write_transaction(self.db):
            count = self.count()
            self.db.execute("DELETE FROM results")
            self.db.execute("DELETE FROM messages")
            self.db.execute("DELETE FROM conversations")
            self.db.execute("INSERT INTO requests_search (requests_search) VALUES ('delete-all')")
            self.db.execute("DELETE FROM requests")
        return count

    def _delete(self, records: list[HistoryRecord]) -> None:
        """The search index keeps no texts, so it is told which texts to forget."""
        from llamactl.history import queries

        ids = [record.id for record in records]
        marks = queries.placeholders(len(ids))
        self.db.executemany(
            "INSERT INTO requests_search (requests_search, rowid, input, output) VALUES ('delete', ?, ?, ?)",
            [(record.id, *search_texts(record)) for record in records],
        )
        self.db.execute(f"DELETE FROM results WHERE request IN ({marks})", ids)
        self.db.execute(f"DELETE FROM messages WHERE request IN ({marks})", ids)
        self.db.execute(f"DELETE FROM requests WHERE id IN ({marks})", ids)

    # reading

    def count(self) -> int:
        return self.db.execute("SELECT count(*) FROM requests").fetchone()[0]

    def get(self, request_id: int) -> HistoryRecord | None:
        from llamactl.history import queries

        records = self._records(queries.by_ids([request_id]))
        return records[0] if records else None

    def filters(
        self,
        model: str | None = None,
        status: str | None = None,
        since: float | None = None,
        batch: str | None = None,
        conversation: int | None = None,
        api_host: str | None = None,
    ) -> Filters:
        """The filters of `history list/search/stats/export`, with a `--model` prefix
        resolved to the recorded model names it matches."""
        from llamactl.history import queries

        models = (
            None
            if model is None
            else tuple(name for (name,) in self.db.execute(*queries.models_starting(model)))
        )
        return queries.Filters(models, status, since, batch, conversation, api_host)

    def batch_hosts(self, batch: str) -> list[tuple[str, int]]:
        from llamactl.history import queries

        return self.db.execute(*queries.batch_hosts(batch)).fetchall()

    def batch_job(self, batch: str) -> str | None:
        from llamactl.history import queries

        row = self.db.execute(*queries.batch_job(batch)).fetchone()
        return None if row is None else row[0]

    def recent(self, limit: int, filters: Filters | None = None) -> list[HistoryRecord]:
        from llamactl.history import queries

        return self._records(queries.recent(limit, filters or queries.NO_FILTERS))

    def search(self, text: str, limit: int, filters: Filters | None = None) -> list[HistoryRecord]:
        from llamactl.history import queries

        return self._records(queries.search(text, limit, filters or queries.NO_FILTERS))

    def stats(self, by: str, filters: Filters | None = None) -> list[StatsRow]:
        from llamactl.history import queries

        sql, params = queries.stats(by, filters or queries.NO_FILTERS)
        return [queries.StatsRow(*row) for row in self.db.execute(sql, params)]

    def export(self, filters: Filters | None = None) -> Iterator[HistoryRecord]:
        """Every record the filters pass, oldest first, read in batches so that an export
        of a large history starts at once and stays small in memory."""
        from llamactl.history import queries

        after_id = 0
        while True:
            batch = self._records(queries.export_page(after_id, EXPORT_BATCH, filters or queries.NO_FILTERS))
            yield from batch
            if len(batch) < EXPORT_BATCH:
                return
            after_id = cast(int, batch[-1].id)  # read from the database: never None

    def conversation(self, conversation_id: int) -> ConversationRow | None:
        from llamactl.history.conversations import SELECT_CONVERSATION, ConversationRow
        from llamactl.history.queries import storable_id

        if not storable_id(conversation_id):
            return None
        row = self.db.execute(SELECT_CONVERSATION, (conversation_id,)).fetchone()
        return None if row is None else ConversationRow(*row)

    def latest_conversation(self) -> ConversationRow | None:
        """The conversation of the most recent chat turn (`-c`)."""
        from llamactl.history.conversations import LATEST_CONVERSATION

        row = self.db.execute(LATEST_CONVERSATION).fetchone()
        return None if row is None else self.conversation(row[0])

    def turns(
        self, conversation_id: int, after_id: int = 0, before_id: int | None = None
    ) -> list[HistoryRecord]:
        """A conversation's turns, oldest first, with their messages and results."""
        from llamactl.history import queries

        return self._records(queries.turns_of(conversation_id, after_id, before_id))

    def _records(self, query: Query) -> list[HistoryRecord]:
        from llamactl.history import queries

        records = [HistoryRecord.from_row(row) for row in self.db.execute(*query)]
        if records:
            by_id = {cast(int, record.id): record for record in records}
            ids = list(by_id)
            for request_id, text in self.db.execute(*queries.results_of(ids)):
                by_id[request_id].results.append(text)
            if any(record.conversation_id is not None for record in records):
                for request_id, role, content in self.db.execute(*queries.messages_of(ids)):
                    by_id[request_id].messages.append({"role": role, "content": content})
        return records


def well_formed_record(record: HistoryRecord) -> HistoryRecord:
    """The record with each lone surrogate in its texts (an answer's `\\ud800` escape, a
    request that carried one back) as U+FFFD, which the database can hold: SQLite's
    text is UTF-8, and binding a lone surrogate raises. Tried only when that happened,
    so the common record pays nothing."""
    from llamactl.inference.inputs import well_formed
    from llamactl.plain import as_dict

    return HistoryRecord(**well_formed(as_dict(record)))


def search_texts(record: HistoryRecord) -> tuple[str, str]:
    """What the search index holds for a record: every text it sent, and its results together."""
    from llamactl.history.search_text import search_input

    return search_input(record.fields, record.messages), search_output(record.results)


def search_output(results: list[str]) -> str:
    return "\n\n".join(results)


@contextmanager
def open_history(env: Environment, writing: bool = False) -> Iterator[HistoryStore]:
    """The store for a `history` command, opened to read only unless it is `writing`: any
    database failure becomes one error that names the file, never a traceback."""
    path = history_path(env)
    try:
        store = HistoryStore.open(path) if writing else HistoryStore.open_for_reading(path)
    except (sqlite3.Error, OSError) as exc:
        raise unavailable(path, exc) from None
    try:
        with store:
            yield store
    except sqlite3.Error as exc:
        raise unavailable(path, exc) from None


def unavailable(path: Path, exc: Exception) -> HistoryUnavailable:
    reason = getattr(exc, "strerror", None) or str(exc)
    # A plain DatabaseError (not one of its subclasses) means the file itself is damaged.
    if type(exc) is sqlite3.DatabaseError:
        return HistoryUnavailable(
            f"the history database {path} is damaged: {reason}",
            hint=f"move it aside to start a new history: mv '{path}' '{path}.broken'",
        )
    hint: str | None
    if getattr(exc, "sqlite_errorname", None) in ("SQLITE_BUSY", "SQLITE_LOCKED"):  # Python 3.11+
        hint = "another process is holding it: try again when that one is done"
    else:
        hint = local_errno_hint(exc) if isinstance(exc, OSError) else None
    return HistoryUnavailable(f"cannot use the history database {path}: {reason}", hint=hint)
