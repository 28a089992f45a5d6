"""The README's examples cannot rot: every fenced block marked `sh` is run with bash against
the emulator and must exit 0.

A marker comment on the line before a block changes how it is run:

    <!-- run in a fresh clone -->   in a copy of the repository with no .venv (the set-up command)
    <!-- not run: REASON -->        not run, and the test report says why

`console` blocks are transcripts (a command and what it printed) and plain blocks are
synopses; neither is run.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass

import pytest

from tests.emulator.textgen import default_reply
from tests.examples import example_env, needs_missing_tool, run_example, sandbox, seed
from tests.helpers import REPO

README = REPO / "README.md"
MARKER = re.compile(r"<!--\s*(run in a fresh clone|not run:\s*(?P<reason>.+?))\s*-->")
INSTALL_TIMEOUT = 540  # seconds: only so that a stuck download fails instead of hanging
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "__pycache__", "build", "dist", "*.egg-info",
                                    ".hypothesis", ".pytest_cache")


@dataclass
class Example:
    line: int  # where the block starts in README.md
    script: str
    marker: str | None
    reason: str | None

    @property
    def id(self) -> str:
        return f"README.md:{self.line}"


def sh_blocks(text: str) -> list[Example]:
    lines = text.splitlines()
    found = []
    index = 0
    while index < len(lines):
        if lines[index].strip() == "```sh":
            end = lines.index("```", index + 1)
            previous = next((line for line in reversed(lines[:index]) if line.strip()), "")
            marker = MARKER.search(previous)
            found.append(Example(line=index + 1, script="\n".join(lines[index + 1:end]),
                                 marker=marker and marker.group(1), reason=marker and marker.group("reason")))
            index = end
        index += 1
    return found


EXAMPLES = sh_blocks(README.read_text(encoding="utf-8"))
IN_SANDBOX = [example for example in EXAMPLES if example.marker is None]
IN_FRESH_CLONE = [example for example in EXAMPLES if example.marker == "run in a fresh clone"]
NOT_RUN = [example for example in EXAMPLES if example.reason]


def test_the_readme_has_runnable_examples_for_each_use():
    scripts = "\n".join(example.script for example in IN_SANDBOX)
    for expected in ("git diff | llamactl infer", "--json", "auth", "history", "--install-completion"):
        assert expected in scripts, expected
    assert len(IN_FRESH_CLONE) == 1


@pytest.fixture(scope="module")
def seeded(emulator_session, tmp_path_factory):
    emulator_session.reset()
    return seed(tmp_path_factory.mktemp("readme") / "seed", emulator_session.url)


@pytest.mark.parametrize("example", IN_SANDBOX + NOT_RUN, ids=[example.id for example in IN_SANDBOX + NOT_RUN])
def test_readme_example_runs_against_the_emulator(example, seeded, emulator, tmp_path):
    if example.reason:
        pytest.skip(f"not run: {example.reason}")
    if reason := needs_missing_tool(example.script):
        pytest.skip(reason)
    directory = sandbox(seeded, tmp_path / "work")
    run = run_example(example.script, directory, example_env(directory, emulator.url))
    assert run.returncode == 0, f"{example.id}:\n{example.script}\n---\n{run.stderr}"
    assert "Traceback" not in run.stderr


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("example", IN_FRESH_CLONE, ids=[example.id for example in IN_FRESH_CLONE])
def test_the_first_command_works_in_a_fresh_clone(example, tmp_path):
    """Verbatim: create .venv, install with the test extras, stream from the emulator."""
    clone = tmp_path / "llamactl"
    shutil.copytree(REPO, clone, ignore=NOT_SOURCE)
    env = example_env(clone, api_url="http://127.0.0.1:9")  # --run points llamactl at its own emulator
    run = run_example(example.script, clone, env, timeout=INSTALL_TIMEOUT)
    assert run.returncode == 0, run.stderr
    assert run.stdout == default_reply("Write a haiku about llamas")
