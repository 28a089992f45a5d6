"""A collected job's records, kept beside its downloaded files: they are what those files
(which never change once downloaded) always give, so a later `batch results` copies them
instead of reading every row again, as fast as the bytes move. Written atomically with
the lines' statuses already stored, so a copy present is a whole one."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, Any, Protocol

from llamactl.batch_api.jobs import JobStore

RECORDS, FAILED = "records.jsonl", "failed.jsonl"  # every line's record; those not ok
CHUNK = 1 << 20


class TextSink(Protocol):
    def write(self, text: str) -> Any: ...


class Tee:
    """Text written to each of several files (None: not there)."""

    def __init__(self, *files: TextSink | None):
        self.files = [file for file in files if file is not None]

    def write(self, text: str) -> None:
        for file in self.files:
            file.write(text)


def counts(store: JobStore, job_id: str, directory: Path) -> dict[str, int] | None:
    """How many lines are ok, error and not_run, when the job's records are kept; else None."""
    if not all((directory / name).is_file() for name in (RECORDS, FAILED)):
        return None
    found = store.status_counts(job_id)
    if not found or None in found:
        return None
    return {status: found.get(status, 0) for status in ("ok", "error", "not_run")}


def copy(directory: Path, out: TextSink | None, errors: TextSink | None) -> None:
    """The kept records to `out` and the failed ones to `errors` (each if given), a chunk
    at a time."""
    for name, target in ((RECORDS, out), (FAILED, errors)):
        if target is not None:
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
