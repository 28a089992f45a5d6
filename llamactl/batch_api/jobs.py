"""The jobs `llamactl batch` submitted, kept in the history database (migration
`add_batch_jobs`) so that `list`, `status`, `wait` and `results` work from any shell and
after a reboot. A job is one input sent as one or more batches; its id is its first
batch's id, and any of its batch ids names it too."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from llamactl.errors import UsageError

DONE = ("completed", "failed", "expired", "cancelled")  # a batch's final statuses
# Job's fields from id to parts, as batch_jobs stores them (metadata on is decoded)
JobColumns = tuple[str, float, str, str, str, "str | None", str, int, int]


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

    @property
    def done(self) -> bool:
        return len(self.batches) == self.parts and all(batch.get("status") in DONE for batch in self.batches)

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


class JobStore:
    """Reads and writes jobs on an open history connection."""

    def __init__(self, db):
        self.db = db

    def add_job(
        self,
        batch: dict,
        *,
        api_host: str,
        model: str,
        endpoint: str,
        input_path: str | None,
        input_sha256: str,
        lines: int,
        parts: int,
        metadata: dict | None,
        custom_ids: Iterable[tuple[int, str, int, int]],
    ) -> str:
        """Record a job at its first batch, with every line's (line, custom_id, part, position)."""
        from llamactl.history.store import write_transaction

        job_id = batch["id"]
        with write_transaction(self.db):
            self.db.execute(
                "INSERT INTO batch_jobs (id, created_at, api_host, model, endpoint, input_path, input_sha256,"
                " lines, parts, metadata, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job_id,
                    time.time(),
                    api_host,
                    model,
                    endpoint,
                    input_path,
                    input_sha256,
                    lines,
                    parts,
                    json.dumps(metadata) if metadata else None,
                    job_status([batch], parts),
                ),
            )
            self._add_part(job_id, 1, batch)
            self.db.executemany(
                "INSERT INTO batch_lines (job, line, custom_id, part, position) VALUES (?, ?, ?, ?, ?)",
                ((job_id, line, custom_id, part, position) for line, custom_id, part, position in custom_ids),
            )
        return job_id

    def add_part(self, job_id: str, part: int, batch: dict) -> None:
        from llamactl.history.store import write_transaction

        with write_transaction(self.db):
            self._add_part(job_id, part, batch)

    def _add_part(self, job_id: str, part: int, batch: dict) -> None:
        self.db.execute(
            "INSERT INTO batch_parts (job, part, batch_id, input_file_id, object) VALUES (?, ?, ?, ?, ?)",
            (job_id, part, batch["id"], batch.get("input_file_id") or "", json.dumps(batch)),
        )

    def update(self, job: Job, batch: dict) -> None:
        """Keep the newest object of one of the job's batches, and the job's status."""
        for index, known in enumerate(job.batches):
            if known.get("id") == batch.get("id"):
                job.batches[index] = batch
        job.status = job_status(job.batches, job.parts)
        self.db.execute(
            "UPDATE batch_parts SET object = ? WHERE batch_id = ?", (json.dumps(batch), batch["id"])
        )
        self.db.execute("UPDATE batch_jobs SET status = ? WHERE id = ?", (job.status, job.id))

    def find(self, name: str) -> Job:
        """The job with this id, or the job one of whose batches has it (UsageError if none)."""
        row = self.db.execute(
            "SELECT job FROM batch_parts WHERE batch_id = ? UNION SELECT id FROM batch_jobs WHERE id = ?",
            (name, name),
        ).fetchone()
        if row is None:
            raise UsageError(
                f"no batch job {name!r} was submitted from this machine",
                hint="'llamactl batch list' shows the jobs this machine knows",
            )
        return self._job(row[0])

    def jobs(self, limit: int | None = None) -> list[Job]:
        ids = [row[0] for row in self.db.execute("SELECT id FROM batch_jobs ORDER BY created_at DESC, id")]
        return [self._job(job_id) for job_id in ids[:limit]]

    def _job(self, job_id: str) -> Job:
        row = self.db.execute(
            "SELECT id, created_at, api_host, model, endpoint, input_path, input_sha256, lines, parts,"
            " metadata, status, results_recorded FROM batch_jobs WHERE id = ?",
            (job_id,),
        ).fetchone()
        batches = [
            json.loads(text)
            for (text,) in self.db.execute(
                "SELECT object FROM batch_parts WHERE job = ? ORDER BY part", (job_id,)
            )
        ]
        columns: JobColumns = row[:9]
        return Job(*columns, json.loads(row[9]) if row[9] else None, row[10], bool(row[11]), batches)

    def lines(self, job_id: str) -> Iterator[tuple[int, str, int, int, str | None]]:
        """(line, custom_id, part, position, status) of every line, in input order."""
        yield from self.db.execute(
            "SELECT line, custom_id, part, position, status FROM batch_lines WHERE job = ? ORDER BY line",
            (job_id,),
        )

    def line_at(self, job_id: str, part: int, position: int) -> int | None:
        row = self.db.execute(
            "SELECT line FROM batch_lines WHERE job = ? AND part = ? AND position = ?",
            (job_id, part, position),
        ).fetchone()
        return row[0] if row else None

    def set_line_statuses(self, job_id: str, lines: Sequence[int], statuses: Sequence[str]) -> None:
        """Each line's status: the commonest one set on the whole job at once, then the
        lines that differ one by one (a 50,000-line job is mostly `ok`)."""
        from collections import Counter

        from llamactl.history.store import write_transaction

        common = Counter(statuses).most_common(1)[0][0] if statuses else None
        with write_transaction(self.db):
            self.db.execute("UPDATE batch_lines SET status = ? WHERE job = ?", (common, job_id))
            self.db.executemany(
                "UPDATE batch_lines SET status = ? WHERE job = ? AND line = ?",
                (
                    (status, job_id, line)
                    for line, status in zip(lines, statuses, strict=True)
                    if status != common
                ),
            )

    def mark_recorded(self, job_id: str) -> None:
        self.db.execute("UPDATE batch_jobs SET results_recorded = 1 WHERE id = ?", (job_id,))


def job_json(job: Job) -> dict[str, Any]:
    """What `--json` shows of a job: our tracking, and the API's batch objects."""
    return {
        "id": job.id,
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
