"""The console-script entry point.

`llamactl --version` is answered before Typer is imported: scripts call it often and it
should cost little more than starting Python.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:
        from llamactl import __version__

        sys.stdout.write(f"llamactl {__version__}\n")
        return 0
    from llamactl import signals

    signals.install()
    try:
        from llamactl.cli import app

        app(args=args, prog_name="llamactl")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except KeyboardInterrupt as exc:  # before or after a command ran: nothing to clean up
        return 143 if isinstance(exc, signals.Terminated) else 130
    return 0
