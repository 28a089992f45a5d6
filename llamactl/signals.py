"""Ctrl-C and SIGTERM end a run cleanly: the partial output stays, history is written, and
the exit code says what happened. A second signal during that cleanup exits at once."""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any

_installed = False


class Terminated(KeyboardInterrupt):
    """SIGTERM, delivered like Ctrl-C so the same cleanup runs."""


def _raise_terminated(signum, frame) -> None:
    raise Terminated()


def install() -> None:
    """Called once by the console script (never inside a test runner's process)."""
    global _installed
    signal.signal(signal.SIGTERM, _raise_terminated)
    _installed = True


def exit_at_once_on_next_signal() -> None:
    """After the first Ctrl-C/SIGTERM, the next one must not wait for cleanup: the default
    action lets the kernel end the process at once, even inside C code (such as SQLite
    waiting for a lock), where a Python handler would only run afterwards. The shell sees
    128 + the signal number, as for any program killed by Ctrl-C."""
    if _installed:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def restore_after_interrupt() -> None:
    """Back to the first-signal handlers once an interruption is dealt with and the run
    goes on (a Ctrl-C that stopped one chat answer, not the session)."""
    if _installed:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _raise_terminated)


class HeldSignals:
    """Ctrl-C and SIGTERM held off around statements that must not be parted (a token
    written and recorded): `with held:` runs them whole, and a signal that arrives meanwhile
    acts at their end. Between `start()` and `stop()`, in the main thread (the only one a
    signal interrupts); elsewhere it holds nothing and needs to."""

    def __init__(self) -> None:
        self.holding = False
        self.arrived: tuple[int, Any] | None = None
        self.previous: dict[int, Callable[[int, Any], Any]] = {}

    def start(self) -> None:
        import threading

        if threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGINT, signal.SIGTERM):
            handler = signal.getsignal(signum)
            if callable(handler):  # not SIG_DFL / SIG_IGN: those never raise in Python
                self.previous[signum] = handler
                signal.signal(signum, self._on_signal)

    def stop(self) -> None:
        for signum, handler in self.previous.items():
            if signal.getsignal(signum) == self._on_signal:
                signal.signal(signum, handler)
        self.previous = {}

    def _on_signal(self, signum: int, frame: Any) -> None:
        if self.holding:
            self.arrived = (signum, frame)
        else:
            self.previous[signum](signum, frame)

    def __enter__(self) -> HeldSignals:
        self.holding = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.holding = False
        if self.arrived is not None:
            signum, frame = self.arrived
            self.arrived = None
            self.previous[signum](signum, frame)  # the first-signal handler: it raises
