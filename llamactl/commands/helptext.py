"""Every command's help and epilog, and every option's help, kept as prose in help.md
beside this module.

The texts are data, not code: one Markdown file a translator or a writer can read whole,
each section found by its title when a command is built, into keyword arguments for Typer.
"""

from __future__ import annotations

from functools import cache, lru_cache
from pathlib import Path
from typing import TypedDict

HELP_FILE = Path(__file__).with_name("help.md")
OPTIONS_PREFIX = "options: "


class HelpText(TypedDict, total=False):
    """Typer's `help=` and `epilog=` keyword arguments."""

    help: str
    epilog: str


@lru_cache(maxsize=1)
def _text() -> str:
    return HELP_FILE.read_text(encoding="utf-8")


@cache
def _body(title: str) -> str:
    """The body of help.md's `## title` section. Found by title, not by parsing the whole
    file: a run builds two or three commands, and help.md describes all of them."""
    text = _text()
    heading = f"\n## {title}\n"
    start = text.find(heading)
    if start < 0:
        raise KeyError(title)
    start += len(heading)
    end = text.find("\n## ", start - 1)
    return text[start:] if end < 0 else text[start:end]


def command_help(path: str) -> HelpText:
    """`help=` and `epilog=` for the command at `path` (`llamactl`, `infer`, `history list`)."""
    help_part, rule, epilog = _body(path).partition("\n---\n")
    paragraphs = [" ".join(part.split("\n")).strip() for part in help_part.strip().split("\n\n")]
    texts = HelpText(help="\n\n".join(paragraphs))
    if rule:
        texts["epilog"] = "\n" + epilog.rstrip("\n") + "\n"
    return texts


@cache
def _options(scope: str) -> dict[str, str]:
    pairs = (line.split(": ", 1) for line in _body(OPTIONS_PREFIX + scope).splitlines() if line.strip())
    return {name: help for name, help in pairs}


def option_help(scope: str, name: str) -> str:
    """The help of option (or argument) `name` in help.md's `## options: SCOPE` section."""
    return _options(scope)[name]


def every_option_help() -> dict[tuple[str, str], str]:
    """{(scope, option name): its help} for every `## options: SCOPE` section in help.md."""
    scopes = [
        line[3 + len(OPTIONS_PREFIX) :].strip()
        for line in _text().splitlines()
        if line.startswith("## " + OPTIONS_PREFIX)
    ]
    return {(scope, name): text for scope in scopes for name, text in _options(scope).items()}
