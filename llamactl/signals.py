"""Ctrl-C and SIGTERM end a run cleanly: the partial output stays, history is written, and
the exit code says what happened. A second signal during that cleanup exits at once."""

from __future__ import annotations

import os
import signal

_installed = False


class Terminated(KeyboardInterrupt):
    """SIGTERM, delivered like Ctrl-C so the same cleanup runs."""


def _raise_terminated(signum, frame) -> None:
    raise Terminated()


def _exit_now(signum, frame) -> None:
    os._exit(128 + signum)


def install() -> None:
    """Called once by the console script (never inside a test runner's process)."""
    global _installed
    signal.signal(signal.SIGTERM, _raise_terminated)
    _installed = True


def exit_at_once_on_next_signal() -> None:
    """After the first Ctrl-C/SIGTERM, the next one must not wait for cleanup."""
    if _installed:
        signal.signal(signal.SIGINT, _exit_now)
        signal.signal(signal.SIGTERM, _exit_now)
