"""A batch's requests in history: written on a thread of their own (pool.HistoryWriter),
the database held open for the whole run, and at a locked database kept in memory and
tried once more at the end, with one line on stderr for each of those turns."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from llamactl.batch.pool import HistoryWriter
from llamactl.env import Environment
from llamactl.inference.outcome import InferenceOutcome


class BatchHistory:
    """The history side of one batch run; `reporter` is its progress (info, warn)."""

    writer: HistoryWriter

    def __init__(self, env: Environment, reporter):
        self.env = env
        self.reporter = reporter

    @classmethod
    def open(cls, env: Environment, reporter, enabled: bool) -> BatchHistory | None:
        """The batch's history, or None when history is off (--no-history, the environment)."""
        from llamactl.history.recording import recorder_for

        history = cls(env, reporter)
        recorder = recorder_for(env, history.failed, enabled=enabled)
        if recorder is None:
            return None
        history.writer = HistoryWriter(recorder, history.hold_open)
        return history

    def start(self) -> None:
        self.writer.start()

    def __call__(self, outcome: InferenceOutcome) -> None:
        self.writer(outcome)

    def path(self) -> Path:
        from llamactl.history.store import history_path

        return history_path(self.env)

    def hold_open(self) -> Callable[[], None] | None:
        """The history database, open for the whole run (on the history thread), so that no
        record's own connection is the last one out: that one folds the write-ahead log back
        into the database, which would then happen after every request. Returns its closer."""
        from llamactl.history.store import HistoryStore

        try:
            store = HistoryStore.open(self.path())
        except Exception as exc:  # noqa: BLE001 - each record then warns about what went wrong
            if "locked" in str(exc):
                self.failed(str(exc))
            return None
        return store.db.close

    def failed(self, message: str) -> None:
        """The recorder's one warning per reason. At a locked database history stops
        trying line by line (each try would wait for the lock again, seconds per line): the
        records wait in memory and are tried once more at the end."""
        if "locked" not in message:
            self.reporter.warn(message)
        elif not self.writer.deferring:
            self.writer.defer()
            self.reporter.info(f"history: {self.path()} is locked; this batch's records wait until the end")

    def close(self, wait: bool) -> None:
        """Write the records still waiting; without `wait` (after Ctrl-C), or at a Ctrl-C
        meanwhile, stop waiting for a database that is slow to answer (a lock)."""
        unsaved = self.writer.close(wait)
        if unsaved:
            why = "database is locked" if self.writer.deferring else "stopped waiting for it"
            requests = (
                "1 request of this batch was" if unsaved == 1 else f"{unsaved} requests of this batch were"
            )
            self.reporter.warn(f"history: {requests} not saved to {self.path()} ({why})")
