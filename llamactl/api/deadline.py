"""`--max-time`: one deadline for a whole run, as curl's. `--timeout` bounds each wait for
a byte, so a server that sends one byte now and then (a slowloris) would keep a run alive
for ever; the deadline is checked before every wait and caps how long each wait may last."""

from __future__ import annotations

import math
import time

from llamactl.errors import RequestFailed, UsageError
from llamactl.plain import record

SHORTEST_WAIT = 0.001  # a socket timeout of 0 would mean non-blocking, not "no time left"


class DeadlineExceeded(RequestFailed):
    """The run reached --max-time."""


@record(frozen=True)
class Deadline:
    seconds: float
    ends: float  # on the monotonic clock

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(seconds, time.monotonic() + seconds)

    def remaining(self) -> float:
        return self.ends - time.monotonic()

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0

    def check(self) -> None:
        if self.expired:
            raise self.exceeded()

    def exceeded(self) -> DeadlineExceeded:
        return DeadlineExceeded(
            f"--max-time {self.seconds:g} s reached", hint="raise --max-time if the run needs longer"
        )

    def cap(self, wait: float) -> float:
        """`wait`, shortened to the time left (and never 0, which sockets read as non-blocking)."""
        return max(SHORTEST_WAIT, min(wait, self.remaining()))


def deadline_for(max_time: float | None) -> Deadline | None:
    """The deadline of a run started now, None without --max-time."""
    if max_time is None:
        return None
    if not math.isfinite(max_time) or max_time <= 0:
        raise UsageError(f"--max-time: expected a number of seconds above 0, got {max_time}")
    return Deadline.after(max_time)
