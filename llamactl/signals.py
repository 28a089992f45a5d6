"""Ctrl-C and SIGTERM end a run cleanly: the partial output stays, history is written, and
the exit code says what happened. A second signal during that cleanup exits at once."""

from __future__ import annotations

import signal

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
