"""Regenerate the parts of the docs that quote llamactl itself, so that they cannot drift:

* docs/reference.md: the `--help` of every command and group, as a plain terminal of
  100 columns shows it (no colour);
* the exit-code tables in README.md and docs/troubleshooting.md, from the "Exit codes:"
  block of `llamactl --help`.

Each generated part sits between `<!-- BEGIN GENERATED: NAME ... -->` and `<!-- END GENERATED: NAME -->`.

    .venv/bin/python tests/gen_reference.py           # rewrite every generated part
    .venv/bin/python tests/gen_reference.py --check   # exit 1 when one is out of date

tests/test_docs.py fails when a generated part and llamactl differ. The help is rendered
in-process (one subprocess per command made this take 13 s); a test checks that the
in-process render is byte for byte what `llamactl ... --help` prints.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
REFERENCE = REPO / "docs" / "reference.md"
TROUBLESHOOTING = REPO / "docs" / "troubleshooting.md"
COLUMNS = 100
# The whole environment of the rendering, built from scratch, so that nothing in the
# caller's (FORCE_COLOR, a CI's GITHUB_ACTIONS, a narrow terminal) changes it.
PLAIN_TERMINAL = {"NO_COLOR": "1", "TERM": "dumb", "LANG": "C.UTF-8", "PYTHONIOENCODING": "utf-8"}
EXIT_CODE_LINE = re.compile(r"^\s+(\d+)\s+(.+)$")


@dataclass(frozen=True)
class Part:
    """One generated part of one file."""

    name: str
    path: Path
    render: Callable[[], str]

    @property
    def begin(self) -> str:
        return f"<!-- BEGIN GENERATED: {self.name} by tests/gen_reference.py; do not edit -->"

    @property
    def end(self) -> str:
        return f"<!-- END GENERATED: {self.name} -->"

    def current(self) -> str:
        """What the file holds between the markers (markers excluded)."""
        text = self.path.read_text(encoding="utf-8")
        start, end = text.index(self.begin) + len(self.begin), text.index(self.end)
        return text[start:end]

    def fresh(self) -> str:
        return f"\n\n{self.render()}\n\n"

    def write(self, fresh: str) -> None:
        text = self.path.read_text(encoding="utf-8")
        start, end = text.index(self.begin) + len(self.begin), text.index(self.end)
        self.path.write_text(text[:start] + fresh + text[end:], encoding="utf-8")


def commands() -> list[tuple[tuple[str, ...], Any]]:
    """Every command and group with its path below `llamactl`, depth first, in the order
    `--help` lists them."""
    import typer.main

    from llamactl.cli import app

    def walk(command: Any, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], Any]]:
        found = [(path, command)]
        if hasattr(command, "list_commands"):
            ctx = command.context_class(command, info_name=" ".join(("llamactl", *path)))
            for name in command.list_commands(ctx):
                found += walk(command.get_command(ctx, name), (*path, name))
        return found

    return walk(typer.main.get_command(app), ())


def plain_environment(columns: int) -> dict[str, str]:
    """The environment `llamactl --help` is run with for the reference."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/"),
        **PLAIN_TERMINAL,
        "COLUMNS": str(columns),
    }


@contextmanager
def typer_reading(environ: dict[str, str]) -> Iterator[None]:
    """Typer reads TERMINAL_WIDTH and FORCE_COLOR-like variables once, when it is imported:
    set what it would have read from `environ`, and put the caller's back afterwards."""
    from typer import rich_utils

    saved = rich_utils.MAX_WIDTH, rich_utils.FORCE_TERMINAL
    width = environ.get("TERMINAL_WIDTH")
    forced = any(environ.get(name) for name in ("GITHUB_ACTIONS", "FORCE_COLOR", "PY_COLORS"))
    rich_utils.MAX_WIDTH = int(width) if width else None
    rich_utils.FORCE_TERMINAL = (
        False if environ.get("_TYPER_FORCE_DISABLE_TERMINAL") else (True if forced else None)
    )
    try:
        yield
    finally:
        rich_utils.MAX_WIDTH, rich_utils.FORCE_TERMINAL = saved


def without_trailing_blanks(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.splitlines()).strip("\n") + "\n"


def help_page(path: tuple[str, ...], columns: int = COLUMNS) -> str:
    """`llamactl PATH --help` as a plain terminal of `columns` shows it, without trailing
    blanks, rendered in this process with exactly the environment of `help_page_run`."""
    from typer.testing import CliRunner

    from llamactl.cli import app

    environ = plain_environment(columns)
    everything_else: dict[str, str | None] = {name: None for name in os.environ if name not in environ}
    with typer_reading(environ):
        result = CliRunner().invoke(
            app, [*path, "--help"], env={**everything_else, **environ}, prog_name="llamactl"
        )
    if result.exit_code != 0:
        raise RuntimeError(f"llamactl {' '.join(path)} --help exited {result.exit_code}: {result.output}")
    return without_trailing_blanks(result.stdout)


def help_page_run(path: tuple[str, ...], columns: int = COLUMNS) -> str:
    """The same page from a real `python -m llamactl PATH --help`, to check `help_page` by."""
    proc = subprocess.run(
        [sys.executable, "-m", "llamactl", *path, "--help"],
        env=plain_environment(columns),
        cwd=REPO,
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=True,
    )
    return without_trailing_blanks(proc.stdout)


def reference() -> str:
    """docs/reference.md's body: one heading and one text block per command."""
    sections = [
        f"## `{' '.join(('llamactl', *path))}`\n\n```text\n{help_page(path)}```\n" for path, _ in commands()
    ]
    return "\n".join(sections).rstrip("\n")


def exit_codes() -> list[tuple[int, str]]:
    """The "Exit codes:" block of `llamactl --help`, as (code, meaning) pairs."""
    from llamactl.commands.helptext import command_help

    lines = command_help("llamactl")["epilog"].split("Exit codes:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    return [
        (int(match.group(1)), match.group(2).strip()) for match in map(EXIT_CODE_LINE.match, lines) if match
    ]


def exit_code_table() -> str:
    rows = ["| {} | {} |".format(code, meaning.replace("|", "\\|")) for code, meaning in exit_codes()]
    return "\n".join(["| code | meaning |", "|---|---|", *rows])


PARTS = [
    Part("command reference", REFERENCE, reference),
    Part("exit codes", README, exit_code_table),
    Part("exit codes", TROUBLESHOOTING, exit_code_table),
]


def main(argv: list[str]) -> int:
    fresh = {part: part.fresh() for part in PARTS}
    stale = [part for part in PARTS if part.current() != fresh[part]]
    if "--check" in argv:
        for part in stale:
            print(
                f"{part.path.relative_to(REPO)}: the {part.name} is out of date: "
                f"run .venv/bin/python tests/gen_reference.py",
                file=sys.stderr,
            )
        return 1 if stale else 0
    for part in stale:
        part.write(fresh[part])
        print(f"rewrote the {part.name} in {part.path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
