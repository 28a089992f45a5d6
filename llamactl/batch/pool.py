"""The machinery under a batch: worker threads, one pooled HTTP session, shared backoff,
and a thread that writes history.

N workers send requests through the one ApiClient (one requests.Session, whose connection
pool holds N connections for reuse). Every response passes through a BackoffAdapter: a
429 (or a Retry-After) seen by any worker holds back the *new* requests of all of them,
on top of each request's own retries, so a rate-limited batch slows down as a whole.
Workers hand their outcomes to the HistoryWriter and go on: they never wait for the
database, nor for each other's SQLite locks (whose busy handler sleeps).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from requests.adapters import HTTPAdapter

from llamactl.api.retry import BASE_DELAY, MAX_DELAY, RETRY_STATUSES, parse_retry_after


class SharedBackoff:
    """A 'not before' time for new requests, pushed back by each rate-limit answer: by its
    Retry-After, else by a pause that doubles with each 429 in a row (reset by a success)."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        base_delay: float = BASE_DELAY,
        max_delay: float = MAX_DELAY,
    ):
        self.clock = clock
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.lock = threading.Lock()
        self.not_before = 0.0
        self.streak = 0

    def observe(self, status: int, retry_after: float | None) -> float | None:
        """Note one answer; returns the pause it starts, or None if it starts none (it is
        not a rate limit, or a pause already running covers it)."""
        with self.lock:
            if 200 <= status < 300:
                self.streak = 0
                return None
            if status != 429 and (status not in RETRY_STATUSES or retry_after is None):
                return None
            if retry_after is None:
                retry_after = min(self.max_delay, self.base_delay * 2**self.streak)
                self.streak += 1
            now = self.clock()
            until = now + retry_after
            if until <= self.not_before:
                return None
            was_paused = self.not_before > now
            self.not_before = until
            return None if was_paused else retry_after

    def remaining(self) -> float:
        """Seconds until new requests may go out (0 when they may now)."""
        with self.lock:
            return max(0.0, self.not_before - self.clock())


class BackoffAdapter(HTTPAdapter):
    """requests' adapter, sized for the workers, showing every answer to the backoff."""

    def __init__(self, backoff: SharedBackoff, pool_size: int, on_pause: Callable[[int, float], None]):
        super().__init__(pool_connections=1, pool_maxsize=pool_size)
        self.backoff = backoff
        self.on_pause = on_pause

    def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().send(request, *args, **kwargs)
        pause = self.backoff.observe(
            response.status_code, parse_retry_after(response.headers.get("Retry-After"))
        )
        if pause is not None:
            self.on_pause(response.status_code, pause)
        return response


def share_session(
    session, backoff: SharedBackoff, workers: int, on_pause: Callable[[int, float], None]
) -> None:
    """Route the session's requests through one BackoffAdapter with a connection per worker."""
    adapter = BackoffAdapter(backoff, pool_size=workers, on_pause=on_pause)
    session.mount("http://", adapter)
    session.mount("https://", adapter)


class WorkerPool:
    """N daemon threads running `work(job)` for each submitted job. Daemons, so that a
    Ctrl-C never waits for the requests still in flight: the process just ends."""

    def __init__(self, workers: int, work: Callable[[Any], None]):
        self.work = work
        self.workers = workers
        self.todo: queue.Queue = queue.Queue()
        self.finished: queue.Queue = queue.Queue()
        for number in range(workers):
            threading.Thread(target=self._run, name=f"batch-worker-{number}", daemon=True).start()

    def _run(self) -> None:
        while True:
            job = self.todo.get()
            if job is None:
                return
            try:
                self.work(job)
            except BaseException as exc:  # noqa: BLE001 - handed to the main thread, which raises it
                job.crash = exc
            self.finished.put(job)

    def submit(self, job: Any) -> None:
        self.todo.put(job)

    def close(self) -> None:
        """Workers end once their current job is done (without waiting for them)."""
        for _ in range(self.workers):
            self.todo.put(None)

    def next_finished(self, timeout: float) -> Any | None:
        """The next job done, or None after `timeout` seconds."""
        try:
            return self.finished.get(timeout=timeout)
        except queue.Empty:
            return None


class HistoryWriter:
    """Calls `record(outcome)` for each outcome handed to it, one at a time, on a thread of
    its own. `record` must not raise (history's recorder turns failures into a warning)."""

    def __init__(self, record: Callable[[Any], None]):
        self.record = record
        self.outcomes: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="batch-history", daemon=True)
        self.thread.start()

    def __call__(self, outcome: Any) -> None:
        self.outcomes.put(outcome)

    def _run(self) -> None:
        while (outcome := self.outcomes.get()) is not None:
            self.record(outcome)

    def close(self) -> None:
        """Write what is still waiting, then end the thread."""
        self.outcomes.put(None)
        self.thread.join()
