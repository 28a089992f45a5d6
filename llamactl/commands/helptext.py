"""Every command's help and epilog, kept as prose in help.md beside this module.

The texts are data, not code: one Markdown file a translator or a writer can read whole,
parsed once (on the first command built) into keyword arguments for Typer.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

HELP_FILE = Path(__file__).with_name("help.md")


@lru_cache(maxsize=1)
def _sections() -> dict[str, dict[str, str]]:
    text = HELP_FILE.read_text(encoding="utf-8")
    sections: dict[str, dict[str, str]] = {}
    for chunk in text.split("\n## ")[1:]:
        path, _, body = chunk.partition("\n")
        help_part, rule, epilog = body.partition("\n---\n")
        paragraphs = [" ".join(part.split("\n")).strip() for part in help_part.strip().split("\n\n")]
        texts = {"help": "\n\n".join(paragraphs)}
        if rule:
            texts["epilog"] = "\n" + epilog.rstrip("\n") + "\n"
        sections[path.strip()] = texts
    return sections


def command_help(path: str) -> dict[str, str]:
    """`help=` and `epilog=` for the command at `path` (`llamactl`, `infer`, `history list`)."""
    return _sections()[path]
