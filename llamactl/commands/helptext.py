"""Every command's help and epilog, and every option's help, kept as prose in help.md
beside this module.

The texts are data, not code: one Markdown file a translator or a writer can read whole,
parsed once (on the first command built) into keyword arguments for Typer.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TypedDict

HELP_FILE = Path(__file__).with_name("help.md")
OPTIONS_PREFIX = "options: "


class HelpText(TypedDict, total=False):
    """Typer's `help=` and `epilog=` keyword arguments."""

    help: str
    epilog: str


@lru_cache(maxsize=1)
def _sections() -> tuple[dict[str, HelpText], dict[str, dict[str, str]]]:
    """({command path: its help}, {option scope: {option name: its help}})."""
    text = HELP_FILE.read_text(encoding="utf-8")
    sections: dict[str, HelpText] = {}
    options: dict[str, dict[str, str]] = {}
    for chunk in text.split("\n## ")[1:]:
        path, _, body = chunk.partition("\n")
        if path.startswith(OPTIONS_PREFIX):
            pairs = (line.split(": ", 1) for line in body.splitlines() if line.strip())
            options[path[len(OPTIONS_PREFIX) :].strip()] = {name: help for name, help in pairs}
            continue
        help_part, rule, epilog = body.partition("\n---\n")
        paragraphs = [" ".join(part.split("\n")).strip() for part in help_part.strip().split("\n\n")]
        texts = HelpText(help="\n\n".join(paragraphs))
        if rule:
            texts["epilog"] = "\n" + epilog.rstrip("\n") + "\n"
        sections[path.strip()] = texts
    return sections, options


def command_help(path: str) -> HelpText:
    """`help=` and `epilog=` for the command at `path` (`llamactl`, `infer`, `history list`)."""
    return _sections()[0][path]


def option_help(scope: str, name: str) -> str:
    """The help of option (or argument) `name` in help.md's `## options: SCOPE` section."""
    return _sections()[1][scope][name]
