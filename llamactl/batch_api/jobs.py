"""The jobs `llamactl batch` submitted, kept in the history database (migrations
`add_batch_jobs`, `key_batch_jobs_locally`) so that `list`, `status`, `wait` and `results`
work from any shell and after a reboot. A job is one input sent as one or more batches;
its id is its first batch's id, and any of its batch ids names it too, at the API host it
was sent to (two hosts may give the same id: this machine keys a job by a number of its own)."""

from __future__ import annotations

import json
import sys
import time
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import chain, repeat
from typing import Any

from llamactl.errors import UsageError

DONE = ("completed", "failed", "expired", "cancelled")  # a batch's final statuses
# Job's fields from id to parts, as batch_jobs stores them (metadata on is decoded)
JobColumns = tuple[str, float, str, str, str, "str | None", str, int, int]
JOB_COLUMNS = (
    "id, created_at, api_host, model, endpoint, input_path, input_sha256, lines, parts,"
    " metadata, status, results_recorded, key, directory"
)


@dataclass
class Job:
    id: str
    created_at: float
    api_host: str
    model: str
    endpoint: str
    input_path: str | None
    input_sha256: str
    lines: int
    parts: int  # planned; fewer batches exist when a submit was interrupted
    metadata: dict | None
    status: str
    results_recorded: bool
    batches: list[dict]  # the last batch object seen of each part, in part order
    key: int = 0  # this machine's (0: not stored): the id is the API's, and another API may give the same one
    directory: str = ""  # where its downloads are kept, under batch-jobs/

    @property
    def done(self) -> bool:
        return len(self.batches) == self.parts and all(batch.get("status") in DONE for batch in self.batches)

    @property
    def ended_early(self) -> bool:
        """Some batch expired or was cancelled: the API then counts the rows that never ran
        as failed, where `results` lists them as not_run."""
        return any(batch.get("status") in ("expired", "cancelled") for batch in self.batches)

    def counts(self) -> dict[str, int]:
        """completed/failed/total over the job's batches (0 where the API has none yet)."""
        totals = {"total": 0, "completed": 0, "failed": 0}
        for batch in self.batches:
            for name, value in (batch.get("request_counts") or {}).items():
                if name in totals and isinstance(value, int):
                    totals[name] += value
        if not totals["total"]:
            totals["total"] = self.lines
        return totals


def job_status(batches: list[dict], parts: int) -> str:
    """One word for the whole job: the least advanced of its batches' statuses."""
    if len(batches) < parts:
        return "submitting"
    order = (
        "validating",
        "in_progress",
        "finalizing",
        "cancelling",
        "failed",
        "expired",
        "cancelled",
        "completed",
    )
    statuses = [batch.get("status") for batch in batches]
    for status in order:
        if status in statuses:
            return status
    return str(statuses[0]) if statuses else "unknown"


@dataclass
class LineMap:
    """Where every converted line went: `numbers` holds the input line of each, in order;
    the first `part_lines[0]` of them went to part 1, the next to part 2, and so on."""

    numbers: array
    part_lines: list[int]

    @classmethod
    def load(cls, blob: bytes, part_lines: list[int]) -> LineMap:
        numbers = array("q")
        numbers.frombytes(blob)
        if sys.byteorder != "little":
            numbers.byteswap()
        return cls(numbers, part_lines)

    def blob(self) -> bytes:
        """The line numbers as int64s, little endian (one copy in C, whatever the count)."""
        if sys.byteorder == "little":
            return self.numbers.tobytes()
        swapped = array("q", self.numbers)
        swapped.byteswap()
        return swapped.tobytes()

    def places(self) -> Iterator[tuple[int, int, int]]:
        """(line, part, position within the part) of every line, zipped in C."""
        return zip(self.numbers, *self.parts_and_positions(), strict=True)

    def parts_and_positions(self) -> tuple[Iterator[int], Iterator[int]]:
        """The part of every line, and its position within the part, in line order."""
        parts = chain.from_iterable(repeat(part, count) for part, count in enumerate(self.part_lines, 1))
        return parts, chain.from_iterable(map(range, self.part_lines))

    def line_at(self, part: int, position: int) -> int | None:
        """The input line at a 0-based position of a part (None outside the job)."""
        if not 1 <= part <= len(self.part_lines) or not 0 <= position < self.part_lines[part - 1]:
            return None
        return self.numbers[sum(self.part_lines[: part - 1]) + position]


class JobStore:
    """Reads and writes jobs on an open history connection; `api_host`'s jobs are the ones
    found by id and listed (another host's batch ids mean nothing to this one)."""

    def __init__(self, db, api_host: str):
        self.db, self.api_host = db, api_host

    def add_job(
        self,
        batch: dict,
        *,
        model: str,
        endpoint: str,
        input_path: str | None,
        input_sha256: str,
        lines: int,
        parts: int,
        metadata: dict | None,
        numbers: array,
        part_lines: list[int],
        custom_ids: list[str] | None,
    ) -> int:
        """Record a job at its first batch, with where each line went: the input line of
        every converted line in order (`numbers`), the lines of each part, and their
        custom_ids (None: each is `line-N`, and the mapping takes three columns, not a row a
        line). Returns the job's key."""
        from llamactl.history.database import write_transaction

        compact = LineMap(numbers, part_lines) if custom_ids is None else None
        with write_transaction(self.db):
            job_key = self.db.execute(
                "INSERT INTO batch_jobs (id, created_at, api_host, model, endpoint, input_path, input_sha256,"
                " lines, parts, metadata, status, line_numbers, part_lines, directory)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '')",
                (
                    batch["id"],
                    time.time(),
                    self.api_host,
                    model,
                    endpoint,
                    input_path,
                    input_sha256,
                    lines,
                    parts,
                    json.dumps(metadata) if metadata else None,
                    job_status([batch], parts),
                    compact.blob() if compact else None,
                    json.dumps(part_lines) if compact else None,
                ),
            ).lastrowid
            self.db.execute("UPDATE batch_jobs SET directory = 'job-' || key WHERE key = ?", (job_key,))
            self._add_part(job_key, 1, batch)
            if custom_ids is not None:
                places = LineMap(numbers, part_lines).places()
                self.db.executemany(
                    "INSERT INTO batch_lines (job, line, custom_id, part, position) VALUES (?, ?, ?, ?, ?)",
                    (
                        (job_key, line, custom_id, part, position)
                        for (line, part, position), custom_id in zip(places, custom_ids, strict=True)
                    ),
                )
        return job_key

    def add_part(self, job_key: int, part: int, batch: dict) -> None:
        from llamactl.history.database import write_transaction

        with write_transaction(self.db):
            self._add_part(job_key, part, batch)

    def _add_part(self, job_key: int, part: int, batch: dict) -> None:
        self.db.execute(
            "INSERT INTO batch_parts (job, part, batch_id, input_file_id, object) VALUES (?, ?, ?, ?, ?)",
            (job_key, part, batch["id"], batch.get("input_file_id") or "", json.dumps(batch)),
        )

    def update(self, job: Job, batch: dict) -> None:
        """Keep the newest object of one of the job's batches, and the job's status."""
        for index, known in enumerate(job.batches):
            if known.get("id") == batch.get("id"):
                job.batches[index] = batch
        job.status = job_status(job.batches, job.parts)
        self.db.execute(
            "UPDATE batch_parts SET object = ? WHERE job = ? AND batch_id = ?",
            (json.dumps(batch), job.key, batch["id"]),
        )
        self.db.execute("UPDATE batch_jobs SET status = ? WHERE key = ?", (job.status, job.key))

    def find(self, name: str) -> Job:
        """This host's newest job with this id, or one of whose batches has it (UsageError
        if none)."""
        row = self.db.execute(
            "SELECT key FROM batch_jobs WHERE api_host = ? AND (id = ? OR key IN"
            " (SELECT job FROM batch_parts WHERE batch_id = ?)) ORDER BY created_at DESC, key DESC",
            (self.api_host, name, name),
        ).fetchone()
        if row is not None:
            return self.job(row[0])
        elsewhere = self.db.execute(
            "SELECT api_host FROM batch_jobs WHERE id = ? OR key IN"
            " (SELECT job FROM batch_parts WHERE batch_id = ?) ORDER BY created_at DESC",
            (name, name),
        ).fetchone()
        if elsewhere is not None:
            raise UsageError(
                f"batch job {name!r} was submitted to {elsewhere[0]}, not to {self.api_host}",
                hint="point llamactl at that API (--api-url or DEEPINFRA_HOST) to follow it",
            )
        raise UsageError(
            f"no batch job {name!r} was submitted from this machine to {self.api_host}",
            hint="'llamactl batch list' shows the jobs this machine knows",
        )

    def jobs(self, limit: int | None = None) -> list[Job]:
        """This host's jobs, newest first."""
        keys = [
            row[0]
            for row in self.db.execute(
                "SELECT key FROM batch_jobs WHERE api_host = ? ORDER BY created_at DESC, key DESC",
                (self.api_host,),
            )
        ]
        return [self.job(key) for key in keys[:limit]]

    def elsewhere(self) -> list[tuple[str, int]]:
        """(host, jobs) of the other API hosts this machine sent jobs to, most jobs first."""
        return self.db.execute(
            "SELECT api_host, count(*) FROM batch_jobs WHERE api_host != ?"
            " GROUP BY api_host ORDER BY count(*) DESC, api_host",
            (self.api_host,),
        ).fetchall()

    def job(self, job_key: int) -> Job:
        row = self.db.execute(f"SELECT {JOB_COLUMNS} FROM batch_jobs WHERE key = ?", (job_key,)).fetchone()
        batches = [
            json.loads(text)
            for (text,) in self.db.execute(
                "SELECT object FROM batch_parts WHERE job = ? ORDER BY part", (job_key,)
            )
        ]
        columns: JobColumns = row[:9]
        metadata = json.loads(row[9]) if row[9] else None
        return Job(*columns, metadata, row[10], bool(row[11]), batches, key=row[12], directory=row[13])

    def lines(self, job_key: int) -> Iterator[tuple[int, str, int, int, str | None]]:
        """(line, custom_id, part, position, status) of every line, in input order."""
        mapped = self._line_map(job_key)
        if mapped is None:
            yield from self.db.execute(
                "SELECT line, custom_id, part, position, status FROM batch_lines WHERE job = ? ORDER BY line",
                (job_key,),
            )
            return
        mapping, common = mapped
        differing = dict(self.db.execute("SELECT line, status FROM batch_lines WHERE job = ?", (job_key,)))
        numbers = mapping.numbers
        statuses = map(differing.get, numbers, repeat(common)) if differing else repeat(common)
        yield from zip(
            numbers, map("line-{}".format, numbers), *mapping.parts_and_positions(), statuses, strict=False
        )  # statuses may repeat for ever; the others have a line each

    def line_at(self, job_key: int, part: int, position: int) -> int | None:
        mapped = self._line_map(job_key)
        if mapped is not None:
            return mapped[0].line_at(part, position)
        row = self.db.execute(
            "SELECT line FROM batch_lines WHERE job = ? AND part = ? AND position = ?",
            (job_key, part, position),
        ).fetchone()
        return row[0] if row else None

    def set_line_statuses(self, job_key: int, lines: Sequence[int], statuses: Sequence[str]) -> None:
        """Each line's status: the commonest one set on the whole job at once, then the
        lines that differ one by one (a 50,000-line job is mostly `ok`)."""
        from collections import Counter

        from llamactl.history.database import write_transaction

        common = Counter(statuses).most_common(1)[0][0] if statuses else None
        mapped = self._line_map(job_key)
        with write_transaction(self.db):
            if mapped is not None:  # the common status on the job, a row for each other line
                differing = {
                    line: status for line, status in zip(lines, statuses, strict=True) if status != common
                }
                self.db.execute("UPDATE batch_jobs SET line_status = ? WHERE key = ?", (common, job_key))
                self.db.execute("DELETE FROM batch_lines WHERE job = ?", (job_key,))
                self.db.executemany(
                    "INSERT INTO batch_lines (job, line, custom_id, part, position, status) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        (job_key, line, f"line-{line}", part, position, differing[line])
                        for line, part, position in mapped[0].places()
                        if line in differing
                    ),
                )
                return
            self.db.execute("UPDATE batch_lines SET status = ? WHERE job = ?", (common, job_key))
            self.db.executemany(
                "UPDATE batch_lines SET status = ? WHERE job = ? AND line = ?",
                (
                    (status, job_key, line)
                    for line, status in zip(lines, statuses, strict=True)
                    if status != common
                ),
            )

    def _line_map(self, job_key: int) -> tuple[LineMap, str | None] | None:
        """A line-N job's mapping and its lines' common status; None for a job whose every
        line has a batch_lines row (custom_ids of its own, or submitted before the columns)."""
        row = self.db.execute(
            "SELECT line_numbers, part_lines, line_status FROM batch_jobs WHERE key = ?", (job_key,)
        ).fetchone()
        if row is None or row[0] is None:
            return None
        return LineMap.load(row[0], json.loads(row[1])), row[2]

    def mark_recorded(self, job_key: int) -> None:
        self.db.execute("UPDATE batch_jobs SET results_recorded = 1 WHERE key = ?", (job_key,))


def job_folder(env, job: Job):
    """Where a job's downloads and kept records live (a Path under the data directory)."""
    return env.data_dir / "batch-jobs" / job.directory


def job_json(job: Job) -> dict[str, Any]:
    """What `--json` shows of a job: our tracking, and the API's batch objects."""
    return {
        "id": job.id,
        "api_host": job.api_host,
        "status": job.status,
        "model": job.model,
        "endpoint": job.endpoint,
        "input": job.input_path,
        "input_sha256": job.input_sha256,
        "lines": job.lines,
        "request_counts": job.counts(),
        "metadata": job.metadata,
        "created_at": job.created_at,
        "batches": job.batches,
    }
