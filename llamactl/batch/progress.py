"""How a batch shows its progress on stderr: a Rich progress bar on a terminal, a plain line
every few seconds elsewhere (CI logs), nothing with -q; and the final summary line.

The reporters also carry the batch's notices (retries, rate limits, failed lines), so on
a terminal they are printed above the bar instead of through it.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from llamactl.output.format import cost_text
from llamactl.output.sink import Output

if TYPE_CHECKING:
    from rich.progress import Progress, ProgressColumn

PLAIN_INTERVAL = 5.0  # seconds between two progress lines in a log
FAILED_STATUSES = ("error", "incomplete", "invalid")
SUMMARY_ORDER = ("ok", "queued", "error", "incomplete", "invalid", "interrupted", "skipped")


@dataclass
class BatchTally:
    """Running totals of one batch run."""

    to_send: int  # lines this run sends (not those done before, nor invalid ones)
    done_before: int = 0  # lines an earlier run with the same --output finished
    statuses: Counter = field(default_factory=Counter)  # one count per line's status
    in_flight: int = 0
    answered: int = 0  # requests of this run that came back, well or not
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    cost_estimated: bool = False
    started: float = field(default_factory=time.monotonic)

    def add_outcome(self, outcome) -> None:
        self.answered += 1
        self.tokens_in += outcome.tokens_in or 0
        self.tokens_out += outcome.tokens_out or 0
        if outcome.cost is not None:
            self.cost += outcome.cost
            self.cost_estimated = self.cost_estimated or outcome.cost_estimated

    @property
    def failed(self) -> int:
        return sum(self.statuses[status] for status in FAILED_STATUSES)

    def rate(self, now: float) -> float:
        """Answers per second so far."""
        elapsed = now - self.started
        return self.answered / elapsed if elapsed > 0 else 0.0

    def eta(self, now: float) -> float | None:
        rate = self.rate(now)
        return (self.to_send - self.answered) / rate if rate else None

    def cost_text(self) -> str:
        return cost_text(self.cost, self.cost_estimated)


def progress_line(tally: BatchTally, now: float) -> str:
    eta = tally.eta(now)
    return " · ".join(
        [
            f"{tally.answered}/{tally.to_send} done, {tally.failed} failed, {tally.in_flight} in flight",
            f"{tally.tokens_in + tally.tokens_out} tokens",
            f"cost {tally.cost_text()}",
            f"{tally.rate(now):.1f} lines/s",
            f"ETA {'?' if eta is None else format_seconds(eta)}",
        ]
    )


def format_seconds(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def summary_line(tally: BatchTally, batch_id: str, now: float) -> str:
    """The last line of every batch (unless -q): what happened to every line, and the totals."""
    lines = sum(tally.statuses.values()) + tally.done_before
    counts = [f"{tally.statuses[status]} {status}" for status in SUMMARY_ORDER if tally.statuses[status]]
    if tally.done_before:
        counts.append(f"{tally.done_before} done before")
    return " · ".join(
        [
            f"batch {batch_id}: {lines} line{'s' if lines != 1 else ''} ({', '.join(counts)})",
            f"{tally.tokens_in} in / {tally.tokens_out} out tokens",
            f"cost {tally.cost_text()}",
            f"{now - tally.started:.1f} s",
        ]
    )


class PlainProgress:
    """A progress line every PLAIN_INTERVAL seconds (none with -q), notices as lines."""

    def __init__(
        self,
        out: Output,
        tally: BatchTally,
        clock: Callable[[], float] = time.monotonic,
        interval: float = PLAIN_INTERVAL,
    ):
        self.out = out
        self.tally = tally
        self.clock = clock
        self.interval = interval
        self.last = clock()

    def start(self) -> None:
        self.last = self.clock()

    def update(self) -> None:
        now = self.clock()
        if not self.out.quiet and now - self.last >= self.interval:
            self.last = now
            self.out.info("batch: " + progress_line(self.tally, now))

    def info(self, line: str) -> None:
        self.out.info(line)

    def warn(self, line: str) -> None:
        self.out.warn(line)

    def stop(self) -> None:
        pass


def lines_bar(out: Output, label: str, time_column: ProgressColumn, **options: Any) -> Progress:
    """The transient bar on stderr that a batch run and a Batch API wait both show: `label`
    (a format string: "{task.description}" shows the task's), the bar, lines done of all,
    the task's `figures` field, then `time_column`. `options` go to Rich's Progress."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    return Progress(
        TextColumn(label, markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[figures]}", markup=False),
        time_column,
        console=out.stderr_console,
        transient=True,
        **options,
    )


class RichProgress:
    """A live progress bar on the terminal's stderr; notices are printed above it."""

    def __init__(self, out: Output, tally: BatchTally, batch_id: str):
        from rich.progress import TimeRemainingColumn

        self.tally = tally
        self.lock = threading.Lock()
        self.progress = lines_bar(
            out, f"batch {batch_id}", TimeRemainingColumn(), redirect_stdout=False, redirect_stderr=False
        )
        self.task = self.progress.add_task("batch", total=tally.to_send, figures="")

    def start(self) -> None:
        self.progress.start()

    def update(self) -> None:
        tally = self.tally
        figures = (
            f"{tally.failed} failed · {tally.in_flight} in flight · "
            f"{tally.tokens_in + tally.tokens_out} tokens · {tally.cost_text()} · "
            f"{tally.rate(time.monotonic()):.1f}/s"
        )
        self.progress.update(self.task, completed=tally.answered, figures=figures)

    def info(self, line: str) -> None:
        self._print(line, "dim")

    def warn(self, line: str) -> None:
        self._print(f"warning: {line}", "yellow")

    def _print(self, line: str, style: str) -> None:
        from rich.text import Text

        with self.lock:
            self.progress.console.print(Text(line, style=style))

    def stop(self) -> None:
        self.progress.stop()


def make_progress(out: Output, tally: BatchTally, batch_id: str, output_on_stdout: bool):
    """The bar needs stderr to itself: not with -q, nor when stdout is the same terminal."""
    if out.rich_stderr and not out.quiet and not (output_on_stdout and out.rich_stdout):
        return RichProgress(out, tally, batch_id)
    return PlainProgress(out, tally)
