"""A collected job's records, kept beside its downloaded files: they are what those files
(which never change once downloaded) always give, so a later `batch results` copies them
instead of reading every row again, as fast as the bytes move. Each file is written
atomically and their counts last, so records with counts beside them are whole. The
folder is one collection's at a time (`collecting`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, Any, Protocol

RECORDS, FAILED, COUNTS = "records.jsonl", "failed.jsonl", "counts.json"  # all; those not ok; tally
LOCK = "collecting.lock"  # locked by the process downloading into the folder and recording the job
STATUSES = ("ok", "error", "not_run")
CHUNK = 1 << 20
TEE_LINES = 256


class TextSink(Protocol):
    def write(self, text: str) -> Any: ...


class Tee:
    """Text written to each of several files (None: not there), TEE_LINES writes gathered
    into one: a write to each file every so many records, not one a record. `flush` at the end."""

    def __init__(self, *files: TextSink | None):
        self.files = [file for file in files if file is not None]
        self.pending: list[str] = []

    def write(self, text: str) -> None:
        self.pending.append(text)
        if len(self.pending) >= TEE_LINES:
            self.flush()

    def flush(self) -> None:
        text, self.pending = "".join(self.pending), []
        if text:
            for file in self.files:
                file.write(text)


def counts(directory: Path) -> dict[str, int] | None:
    """How many lines were ok, error and not_run, when the job's records are kept; else None."""
    import json

    try:
        found = json.loads((directory / COUNTS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(found, dict) or not all((directory / name).is_file() for name in (RECORDS, FAILED)):
        return None
    return {status: int(found.get(status, 0)) for status in STATUSES}


def copy(directory: Path, out: TextSink | None, errors: TextSink | None) -> None:
    """The kept records to `out` and the failed ones to `errors` (each if given), a chunk
    at a time: as bytes into a file, as text to stdout."""
    import shutil

    for name, target in ((RECORDS, out), (FAILED, errors)):
        binary = getattr(target, "buffer", None)
        if binary is not None:
            target.flush()  # type: ignore[union-attr]  # a text file: its bytes go below it
            with (directory / name).open("rb") as source:
                shutil.copyfileobj(source, binary, CHUNK)
        elif target is not None:
            with (directory / name).open(encoding="utf-8", newline="") as source:
                while chunk := source.read(CHUNK):
                    target.write(chunk)


@contextmanager
def keeping(directory: Path) -> Iterator[tuple[IO[str], IO[str]]]:
    """(records, failed) files to write the records into; kept when the block succeeds."""
    from llamactl.files import PRIVATE, atomic_writer

    with ExitStack() as stack:
        yield (
            stack.enter_context(atomic_writer(directory / RECORDS, PRIVATE)),
            stack.enter_context(atomic_writer(directory / FAILED, PRIVATE)),
        )


def keep_counts(directory: Path, counts: dict[str, int]) -> None:
    """Written last: the kept records are whole once this file is there."""
    import json

    from llamactl.files import write_atomically

    write_atomically(directory / COUNTS, json.dumps(counts))


@contextmanager
def collecting(directory: Path, waiting: Callable[[], None] | None = None) -> Iterator[None]:
    """The job's folder to this process alone while the block runs: one collection at a
    time downloads into it and records the job's lines in history, and the next finds
    them recorded. A folder another process holds is waited for, `waiting` told first;
    with no `waiting`, BlockingIOError. The lock ends with the process, however it ends
    (Ctrl-C, kill -9); a file system without locks goes on unlocked."""
    import fcntl
    import os

    descriptor = os.open(directory / LOCK, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting is None:
                raise
            waiting()
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        except OSError:
            pass  # no locks here (some network file systems): as before they existed
        yield
    finally:
        os.close(descriptor)
