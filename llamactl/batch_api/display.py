"""How `llamactl batch` shows jobs: the list as a table (tab-separated in a pipe), one job's
status as `key: value` lines, and the waiting as a bar on a terminal's stderr or a plain
line now and then in a log. Every server string goes through the tables' sanitizing."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from llamactl.batch_api.jobs import Job
from llamactl.output.sanitize import visible_inline
from llamactl.output.sink import Output

LOG_EVERY = 60.0  # seconds between two plain progress lines


def counts_text(job: Job) -> str:
    """`3/4 done, 1 failed`, as the API counts; once a batch expired or was cancelled its
    `failed` holds the rows that never ran too (`batch wait` and `results` tell them apart)."""
    counts = job.counts()
    failed = "failed or not run" if job.ended_early else "failed"
    return f"{counts['completed']}/{counts['total']} done, {counts['failed']} {failed}"


def short_time(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


def no_jobs_text(api_host: str, elsewhere: list[tuple[str, int]]) -> str:
    """What `list` says when this host has no jobs: where the jobs sent elsewhere are."""
    if not elsewhere:
        return "no batch jobs submitted from this machine yet"
    hosts = ", ".join(f"{visible_inline(host)} ({count})" for host, count in elsewhere)
    return (
        f"no batch jobs for {visible_inline(api_host)}; {sum(count for _, count in elsewhere)} on other"
        f" hosts: {hosts} (point llamactl at one with --api-url or DEEPINFRA_HOST to list them)"
    )


def print_jobs(out: Output, jobs: list[Job], no_jobs: str) -> None:
    """The jobs, or `no_jobs` on stderr when there are none."""

    def plain() -> str:
        rows = [
            "\t".join(
                (
                    job.id,
                    job.status,
                    visible_inline(job.model),
                    str(job.lines),
                    counts_text(job),
                    short_time(job.created_at),
                )
            )
            for job in jobs
        ]
        return "".join(row + "\n" for row in rows)

    def rich(console):
        from llamactl.output.tables import Column, Role, render

        return render(
            [
                Column("Job", [job.id for job in jobs], Role.KEY),
                Column("Status", [job.status for job in jobs], Role.FIGURE, drop=5),
                Column("Model", [job.model for job in jobs], Role.TEXT, drop=1),
                Column("Lines", [str(job.lines) for job in jobs], Role.FIGURE, right=True, drop=3),
                Column("Progress", [counts_text(job) for job in jobs], Role.FIGURE, drop=4),
                Column("Created", [short_time(job.created_at) for job in jobs], Role.FIGURE, drop=2),
            ],
            console.width,
        )

    if not jobs:
        out.info(no_jobs)
        return
    out.show(plain, rich)


def status_lines(job: Job) -> str:
    rows = [
        ("job", job.id),
        ("status", job.status),
        ("model", job.model),
        ("endpoint", job.endpoint),
        ("input", job.input_path or "-"),
        ("lines", str(job.lines)),
        ("progress", counts_text(job)),
        ("created", short_time(job.created_at)),
    ]
    for part, batch in enumerate(job.batches, 1):
        label = "batch" if job.parts == 1 else f"batch {part}/{job.parts}"
        rows.append((label, f"{batch.get('id')} ({batch.get('status')})"))
    if len(job.batches) < job.parts:
        rows.append(("not submitted", f"{job.parts - len(job.batches)} of {job.parts} parts"))
    if job.metadata:
        rows.append(("metadata", ", ".join(f"{key}={value}" for key, value in job.metadata.items())))
    return "".join(f"{key}: {visible_inline(str(value))}\n" for key, value in rows)


UPLOAD_BAR_BYTES = 4 * 1024 * 1024  # smaller uploads take no time worth showing


@contextmanager
def upload_progress(out: Output, part: int, parts: int, size: int) -> Iterator[Callable[[int], None] | None]:
    """A transient bar of bytes sent, on a terminal's stderr, for an upload big enough."""
    if not out.rich_stderr or out.quiet or size < UPLOAD_BAR_BYTES:
        yield None
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    label = "uploading" if parts == 1 else f"uploading part {part}/{parts}"
    with Progress(
        TextColumn(label, markup=False),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=out.stderr_console,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=size)
        yield lambda count: bar.advance(task, count)


class WaitProgress:
    """Shown after each poll: a bar redrawn only then (no refresh thread) on a terminal,
    else a plain line when LOG_EVERY seconds have passed or the status changed."""

    def __init__(self, out: Output, clock: Callable[[], float] = time.monotonic):
        self.out, self.clock = out, clock
        self.last_line: float | None = None  # when the last plain line was written
        self.last_status: str | None = None
        self.bar = None
        if out.rich_stderr and not out.quiet:
            from rich.progress import TimeElapsedColumn

            from llamactl.batch.progress import lines_bar

            self.bar = lines_bar(out, "{task.description}", TimeElapsedColumn(), auto_refresh=False)
            self.task = self.bar.add_task("", total=None, figures="")
            self.bar.start()

    def __call__(self, job: Job) -> None:
        counts = job.counts()
        if self.bar is not None:
            self.bar.update(
                self.task,
                description=f"{job.id} {job.status}",
                total=counts["total"],
                completed=counts["completed"] + counts["failed"],
                figures=f"{counts['failed']} failed",
            )
            self.bar.refresh()
            return
        now = self.clock()
        if self.out.quiet:
            return
        if job.status != self.last_status or self.last_line is None or now - self.last_line >= LOG_EVERY:
            self.last_line, self.last_status = now, job.status
            self.out.info(f"batch {job.id}: {job.status}, {counts_text(job)}")

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()
