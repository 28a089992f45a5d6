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

GIVE_UP_AFTER_INTERRUPT = 0.5  # seconds one history record may take after Ctrl-C before the rest is dropped


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
    """Calls `record(outcome)` (True when saved) for each outcome handed to it, one at a
    time, on a thread of its own, so that no worker ever waits for the database. `record`
    must not raise (history's recorder turns failures into a warning). `hold_open`, run
    first on the thread, opens what stays open for the whole run and returns its closer.

    After `defer()` (the database is locked: each record would wait for the lock again,
    seconds per line) outcomes are kept in memory instead, and tried once more at the end."""

    def __init__(
        self,
        record: Callable[[Any], bool],
        hold_open: Callable[[], Callable[[], None] | None],
    ):
        self.record = record
        self.hold_open = hold_open
        self.deferring = False
        self.closing = False  # close() was called: nothing more is taken
        self.stopped = False  # close() stopped waiting: nothing more is written
        self.lock = threading.Lock()
        self.waiting = 0  # handed over, not yet written, deferred or lost
        self.deferred: list[Any] = []
        self.outcomes: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="batch-history", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def __call__(self, outcome: Any) -> None:
        with self.lock:
            if self.closing:  # a worker still finishing after the batch stopped: too late
                return
            self.waiting += 1
        self.outcomes.put(outcome)

    def defer(self) -> None:
        self.deferring = True

    def _run(self) -> None:
        close = self.hold_open()
        try:
            while (outcome := self.outcomes.get()) is not None:
                saved = not self.deferring and not self.stopped and self.record(outcome)
                with self.lock:
                    self.waiting -= 1
                    if not saved and self.deferring:  # this one met the lock, or came after
                        self.deferred.append(outcome)
            while self.deferred and not self.stopped and self.record(self.deferred[0]):
                with self.lock:
                    self.deferred.pop(0)
        finally:
            if close is not None:
                close()

    def close(self, wait: bool = True) -> int:
        """Write what is still waiting, then end the thread; returns how many outcomes are
        not saved. With `wait` False (after Ctrl-C) it waits only while records keep being
        written (not for a locked database); a Ctrl-C during the wait ends it at once."""
        with self.lock:
            self.closing = True
        self.outcomes.put(None)
        try:
            if wait:
                self.thread.join()
            else:
                self.join_while_it_progresses()
        except KeyboardInterrupt as exc:
            from llamactl.signals import Terminated

            if isinstance(exc, Terminated):
                raise
        self.stopped = True
        with self.lock:
            return self.waiting + len(self.deferred)

    def join_while_it_progresses(self) -> None:
        """Wait while records keep being written; stop once one takes longer than
        GIVE_UP_AFTER_INTERRUPT (a lock), however loaded the machine is otherwise."""
        left = None
        while self.thread.is_alive():
            with self.lock:
                now_left = self.waiting + len(self.deferred)
            if now_left == left:
                return
            left = now_left
            self.thread.join(GIVE_UP_AFTER_INTERRUPT)
