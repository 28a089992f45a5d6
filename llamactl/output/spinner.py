"""The wait before an answer, shown on stderr: a spinner with the time elapsed, drawn on one
line by a background thread and erased without a trace (`\\r` + erase line) when the first
byte of the answer is written, when a message must be printed (it is redrawn below it), or
when the run ends or is interrupted. It first appears after one interval, so an answer that
comes at once never flashes it. The lock is re-entrant: a Ctrl-C landing while the main
thread holds it must still be able to erase the line.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
ERASE_LINE = "\r\x1b[2K"


class Spinner:
    def __init__(self, write: Callable[[str], None], label: str, interval: float = 0.1):
        self.write = write
        self.label = label
        self.interval = interval
        self.lock = threading.RLock()
        self.stopped = threading.Event()
        self.drawn = False
        self.started = time.monotonic()
        self.thread = threading.Thread(target=self._run, name="llamactl-spinner", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        frame = 0
        while not self.stopped.wait(self.interval):
            with self.lock:
                if self.stopped.is_set():
                    return
                elapsed = time.monotonic() - self.started
                self.write(f"\r{FRAMES[frame % len(FRAMES)]} {self.label} {elapsed:.1f} s\x1b[K")
                self.drawn = True
            frame += 1

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Erase the spinner while something else is written to the terminal."""
        with self.lock:
            self._erase()
            yield

    def stop(self) -> bool:
        """Stop for good and erase the line; True if something was erased."""
        with self.lock:
            self.stopped.set()
            return self._erase()

    def _erase(self) -> bool:
        if not self.drawn:
            return False
        self.drawn = False
        self.write(ERASE_LINE)
        return True
