"""Long output on a terminal through a pager, as git and gh page theirs.

The command (Environment.pager: LLAMACTL_PAGER, PAGER, or `less -FRX`) is split as a
shell would split it and run directly, its stdin a pipe and its stdout the terminal. A
pager that cannot be started leaves the text to be printed instead: nothing is lost.
While it runs, Ctrl-C belongs to the pager (less uses it to stop a search), as in git.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Mapping


def page(command: str, text: str, environ: Mapping[str, str], encoding: str = "utf-8") -> bool:
    """Show `text` through `command`; False when it could not be started."""
    import shlex
    import subprocess

    try:
        argv = shlex.split(command)
    except ValueError:
        return False
    if not argv:
        return False
    # git's defaults for a bare `less`: quit if one screen, keep colours, no screen clearing
    child_environ = {"LESS": "FRX", "LV": "-c", **environ}
    try:
        pager = subprocess.Popen(argv, stdin=subprocess.PIPE, env=child_environ)
    except (OSError, ValueError):
        return False
    in_main_thread = threading.current_thread() is threading.main_thread()
    # set after the pager started: it must not inherit SIGINT ignored
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if in_main_thread else None
    try:
        # a reader that quits before the end (q in less) is fine: communicate() ignores EPIPE
        pager.communicate(text.encode(encoding, "replace"))
    finally:
        if pager.poll() is None:  # SIGTERM while paging: the pager goes too
            pager.terminate()
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    return True
