"""The SQLite file itself: created private to the user, opened read-only or in WAL mode,
written in `BEGIN IMMEDIATE` transactions, each connection waiting up to the busy timeout
for another process's lock; its schema version, and the migrations that bring it up to
date (loaded only when there is one to run).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from llamactl.env import ensure_private_file
from llamactl.errors import LocalFailure

BUSY_TIMEOUT_SECONDS = 5.0
# A test knob, not in --help: a test of a locked database sets it low instead of waiting 5 s.
BUSY_TIMEOUT_VARIABLE = "LLAMACTL_HISTORY_TIMEOUT"


def busy_timeout() -> float:
    """Seconds to wait for another process's lock: LLAMACTL_HISTORY_TIMEOUT when it is a
    number from 0 to 3600, else BUSY_TIMEOUT_SECONDS (read at each call: tests lower it)."""
    try:
        seconds = float(os.environ.get(BUSY_TIMEOUT_VARIABLE) or "nan")
    except ValueError:
        seconds = float("nan")
    return seconds if 0 <= seconds <= 3600 else BUSY_TIMEOUT_SECONDS  # NaN fails this too


class HistoryUnavailable(LocalFailure):
    """The history database cannot be opened, read or written (damaged, locked for too
    long, on a full or read-only disk): the machine's trouble, exit 6."""


def create_private_file(path: Path) -> None:
    """Create the database file 0600 before SQLite would create it by the umask; SQLite
    gives its -wal and -shm files the same permissions. The file and those two must be
    this user's own regular files: a link planted there would receive every prompt."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600))
    except FileExistsError:
        pass
    for name in (path.name, f"{path.name}-wal", f"{path.name}-shm"):
        ensure_private_file(path.with_name(name))


@contextmanager
def write_transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


# len(migrations.MIGRATIONS), so that opening a database already up to date loads no
# migration (0.6 M instructions of a request's start-up); tests/test_history_store.py
# keeps the two equal.
SCHEMA_VERSION = 14


def migrate(db: sqlite3.Connection) -> None:
    """Apply the migrations this database has not had yet. The version is read again
    under the write lock: another process may have migrated in the meantime."""
    if schema_version(db) >= SCHEMA_VERSION:
        return
    from llamactl.history.migrations import MIGRATIONS

    with write_transaction(db):
        for step in MIGRATIONS[schema_version(db) :]:
            step(db)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def schema_version(db: sqlite3.Connection) -> int:
    return db.execute("PRAGMA user_version").fetchone()[0]


def refuse_newer_schema(db: sqlite3.Connection, path: Path) -> None:
    """A database a newer llamactl has migrated may hold what this one would break: never
    write to it (reading it may still work)."""
    version = schema_version(db)
    if version > SCHEMA_VERSION:
        raise HistoryUnavailable(
            f"{path} is from a newer llamactl (schema version {version}; this one knows up to"
            f" {SCHEMA_VERSION}), so it is not written to",
            hint="upgrade llamactl, or set LLAMACTL_HOME to another directory",
        )


def connect_read_only(path: Path, timeout: float) -> sqlite3.Connection:
    """SQLite's read-only mode; on a read-only disk where a WAL database has no -shm file
    (the last writer removed it), the file as immutable: nothing can change it there."""
    uri = path.absolute().as_uri()
    try:
        db = sqlite3.connect(f"{uri}?mode=ro", timeout=timeout, isolation_level=None, uri=True)
        db.execute("PRAGMA user_version").fetchone()
        return db
    except sqlite3.OperationalError:
        if os.access(path.parent, os.W_OK):
            raise
    return sqlite3.connect(f"{uri}?mode=ro&immutable=1", timeout=timeout, isolation_level=None, uri=True)


def use_wal(db: sqlite3.Connection, timeout: float) -> None:
    """Switch the file to WAL mode. The switch needs the file to itself, and SQLite reports
    `database is locked` at once there instead of waiting: processes that open a brand-new
    database together retry here. WAL mode is persistent, so later opens only check it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
