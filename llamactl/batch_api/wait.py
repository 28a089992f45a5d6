"""`batch wait`: poll a job's batches until each has ended, with a growing interval (the
client's retries already honour 429s and Retry-After), a progress bar on a terminal's
stderr and a plain line now and then in a log. Ctrl-C stops the waiting, never the batch.

Polling is cheap: one request per unfinished batch per interval, and the bar is redrawn
only after a poll (no refresh thread), so an hour of waiting costs well under a second of
CPU (bench/batch_api_bench.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from llamactl.batch_api.jobs import DONE, Job, JobStore
from llamactl.errors import ApiRejected, LlamactlError, RequestFailed

FIRST_INTERVAL = 5.0  # seconds; grows by half each poll up to MAX_INTERVAL
MAX_INTERVAL = 60.0
LOG_EVERY = 60.0  # seconds between plain progress lines when stderr is not a terminal


def poll_once(api, store: JobStore, job: Job) -> None:
    """Retrieve every batch of the job that has not ended, and keep what the API said."""
    for batch in list(job.batches):
        if batch.get("status") not in DONE:
            store.update(job, api.retrieve(batch["id"]))


def wait(
    api,
    store: JobStore,
    job: Job,
    *,
    timeout: float | None,
    interval: float | None,
    show: Callable[[Job], None],
    sleep: Callable[[float], None] = time.sleep,
) -> Job:
    """Poll until every batch of the job has ended (or `timeout` seconds passed: exit 5)."""
    started = time.monotonic()
    pause = FIRST_INTERVAL if interval is None else interval
    while True:
        poll_once(api, store, job)
        show(job)
        if job.done:
            return job
        waited = time.monotonic() - started
        if timeout is not None and waited + pause > timeout:
            raise RequestFailed(
                f"batch job {job.id} is still {job.status} after {timeout:g} s; it goes on without us",
                hint=f"wait again later: llamactl batch wait {job.id}",
            )
        sleep(pause)
        if interval is None:
            pause = min(pause * 1.5, MAX_INTERVAL)


def not_run_rows(api, job: Job, directory: Path) -> int:
    """The rows of the job's error files that never ran (their code in results'
    NOT_RUN_CODES), downloaded into the job's folder, where `results` then finds them."""
    import json

    from llamactl.batch_api.results import NOT_RUN_CODES

    count = 0
    for file_id in filter(None, (batch.get("error_file_id") for batch in job.batches)):
        with api.download(file_id, directory / f"{file_id}.jsonl").open("rb") as rows:
            for raw in rows:
                try:
                    error = json.loads(raw).get("error")
                except (ValueError, AttributeError, RecursionError):
                    continue
                count += isinstance(error, dict) and str(error.get("code")) in NOT_RUN_CODES
    return count


def tally_text(job: Job, not_run_coded: int | None) -> str:
    """`2 ok, 0 failed, 2 not run`, in `results`' words, from the API's counts and the rows
    its error files say never ran (the API counts those as failed; the lines with no row
    at all it does not count); `2 of 4 lines done` when the files could not be read."""
    counts = job.counts()
    if not_run_coded is None:
        return f"{counts['completed']} of {counts['total']} lines done"
    failed = max(counts["failed"] - not_run_coded, 0)
    not_run = counts["total"] - counts["completed"] - failed
    return f"{counts['completed']} ok, {failed} failed, {not_run} not run"


def outcome_error(
    job: Job, store: JobStore, not_run_coded: int | None = None
) -> tuple[LlamactlError | None, list[str]]:
    """What an ended job's exit status says: None (completed), 4 (validation failed; the
    API's reasons, on the input's line numbers, come with it) or 5 (expired or cancelled;
    `not_run_coded` from not_run_rows tells its failed lines from those that never ran)."""
    statuses = [batch.get("status") for batch in job.batches]
    reasons: list[str] = []
    if "failed" in statuses:
        for part, batch in enumerate(job.batches, 1):
            for error in ((batch.get("errors") or {}).get("data") or [])[:20]:
                line = error.get("line")
                where = store.line_at(job.key, part, line) if isinstance(line, int) else None
                reasons.append(
                    (f"line {where}: " if where else "") + f"{error.get('message') or error.get('code')}"
                )
        return ApiRejected(f"batch job {job.id} failed validation", status=400), reasons
    ended = [status for status in statuses if status in ("expired", "cancelled")]
    if ended:
        return RequestFailed(
            f"batch job {job.id} {ended[0]} before all its lines ran: {tally_text(job, not_run_coded)}",
            hint=f"collect what ran with 'llamactl batch results {job.id}', then send the rest"
            f" with 'llamactl batch submit --only-missing {job.id} ...'",
        ), reasons
    return None, reasons
