"""The console-script entry point.

`llamactl --version` is answered before Typer is imported: scripts call it often and it
should cost little more than starting Python.
"""

from __future__ import annotations

import sys


class ClosedStdout:
    """sys.stdout when the shell closed it (`>&-`): the first write fails as a local failure
    (exit 6), since whatever was meant for it would be lost."""

    encoding = "utf-8"

    def write(self, text: str) -> int:
        from llamactl.errors import LocalFailure

        raise LocalFailure(
            "cannot write to stdout: it is closed",
            hint="send it to a file or a pipe, or to /dev/null to discard it",
        )

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def reserve_closed_descriptors() -> None:
    """Point a descriptor the shell closed (`<&-`, `>&-`, `2>&-`) at /dev/null, so that no
    file opened later (the history database) takes its number and gets stray writes. A
    closed stdin is then no stdin and a closed stderr discards messages; a closed stdout
    fails its first write."""
    import os

    for fd, name in enumerate(("stdin", "stdout", "stderr")):
        if getattr(sys, name) is not None:
            continue
        devnull = os.open(os.devnull, os.O_RDONLY if fd == 0 else os.O_WRONLY)
        if devnull != fd:  # the lowest free number is taken: was this one open after all?
            os.close(devnull)
            continue
        setattr(sys, name, ClosedStdout() if fd == 1 else open(fd, "w" if fd else "r", closefd=False))


def utf8_argument(arg: str) -> str:
    """An argument as UTF-8 text even under a strict ASCII locale (`LC_ALL=C`), where Python
    decodes non-ASCII bytes to lone surrogates that nothing can encode later. Bytes that
    are not UTF-8 either keep their surrogates (the prompt checks report them)."""
    import os

    try:
        return os.fsencode(arg).decode("utf-8")
    except UnicodeDecodeError:
        return arg


def main(argv: list[str] | None = None) -> int:
    args = [utf8_argument(arg) for arg in (sys.argv[1:] if argv is None else argv)]
    reserve_closed_descriptors()
    try:
        return run(args)
    except Exception as exc:  # a closed stdout met outside any command (--version, --help)
        if not isinstance(sys.stdout, ClosedStdout) or not hasattr(exc, "exit_code"):
            raise
        hint = getattr(exc, "hint", None)
        sys.stderr.write(f"error: {exc}\n" + (f"hint: {hint}\n" if hint else ""))
        return int(exc.exit_code)  # checked with hasattr above


# Start-up creates tens of thousands of objects that live until exit (modules, functions,
# classes: Typer's, requests' and llamactl's) and almost no garbage. At Python's default
# first threshold (700) the collector scans the young ones some 50 times while importing,
# a twentieth of a run's instructions (docs/performance.md); at this one it scans them
# about never, and still collects a long run's cycles.
GC_THRESHOLD = 100_000


def collect_less_often() -> None:
    import gc

    gc.set_threshold(GC_THRESHOLD)


def run(args: list[str]) -> int:
    if args == ["--version"]:
        from llamactl import __version__

        sys.stdout.write(f"llamactl {__version__}\n")
        return 0
    collect_less_often()
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
