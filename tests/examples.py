"""Running documented examples (from `--help` epilogs, the README and docs/) as a user would:
with bash, in a directory of their own, against the emulator. `--help` examples run with
llamactl on PATH, as for anyone reading `--help`; the README's and docs' examples run with
the PATH a reader of a fresh clone has, after the one line the README tells them to run
first (ACTIVATE).

Every example starts from the same seeded state, copied afresh: a cached model list, a few
requests in history (one of them failed), a git repository with an uncommitted change (for
`git diff | ...`), a notes.txt (for `-i input=@notes.txt`) and a prompts.jsonl (for
`--batch`), and a batch job submitted from it and completed (the id help examples use). The keyring is a real one
that stores in a file (keyrings.alt), empty at first.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.emulator import VALID_TOKEN, BatchPlan
from tests.helpers import HANG_GUARD, REPO, invoke, subprocess_env

BIN = Path(sys.executable).parent
ACTIVATE = ". .venv/bin/activate"  # what the README asks a reader to run before its examples
MODEL = "meta-llama/Llama-2-70b-chat-hf"
SEED_JOB = "batch_3974953f56e24ee0ea269ecd"  # the emulator's first batch id after a reset
SEED_PROMPTS = ("Name three alpaca breeds", "Write a haiku about llamas", "Summarise the Andes")
GIT = ("git", "-c", "user.name=Ada", "-c", "user.email=ada@example.com", "-c", "init.defaultBranch=main")


def seed(directory: Path, emulator) -> Path:
    """The seeded state every example starts from (see the module docstring). The emulator's
    Batch API state is kept in `emulator.seeded_batches`: tests `restore_seeded` it."""
    directory.mkdir(parents=True)
    home = directory / ".llamactl"
    env = {"LLAMACTL_HOME": str(home), "DEEPINFRA_HOST": emulator.url, "DEEPINFRA_TOKEN": VALID_TOKEN}
    runs = [invoke(["models", "list"], env=env)]
    runs += [invoke(["infer", "-m", MODEL, "-q", prompt], env=env) for prompt in SEED_PROMPTS]
    assert all(run.exit_code == 0 for run in runs), [run.stderr for run in runs]
    assert invoke(["infer", "-m", "no-such/model", "-q", "hi"], env=env).exit_code == 4  # one failed request
    (directory / "notes.txt").write_text("Llamas hum when they are curious. Alpacas are smaller.\n")
    (directory / "prompts.jsonl").write_text(
        '"Name a llama"\n{"input": "Name an alpaca", "max_new_tokens": 20}\n'
    )
    submitted = invoke(["batch", "submit", "-m", MODEL, str(directory / "prompts.jsonl")], env=env)
    assert submitted.stdout.strip() == SEED_JOB, submitted.stderr  # the emulator's first batch id
    assert invoke(["batch", "wait", SEED_JOB, "--interval", "0"], env=env).exit_code == 0
    emulator.seeded_batches = emulator.batch_store.snapshot()
    (directory / "poem.txt").write_text("Soft wool in the wind\n")
    if shutil.which("git"):
        for command in (["init", "-q"], ["add", "poem.txt"], ["commit", "-q", "-m", "A poem"]):
            subprocess.run([*GIT, *command], cwd=directory, check=True, capture_output=True)
    (directory / "poem.txt").write_text("Soft wool in the wind\nhums across the Andes\n")
    return directory


def restore_seeded(emulator) -> None:
    """The seeded batch job back in the emulator, after the reset every test starts with; a
    batch an example submits ends at its first poll (a `--wait` would otherwise poll five
    times, 40 s of the default intervals)."""
    emulator.batch_store.restore(emulator.seeded_batches)
    emulator.batch_plan = BatchPlan(steps_per_poll=5)


def sandbox(seeded: Path, destination: Path) -> Path:
    """A fresh copy of the seeded state, where one example runs. As in a clone, `.venv`,
    `tests` and `completions` are there (links to this checkout's), so README lines such as
    `.venv/bin/python -m tests.emulator` or `source completions/llamactl.bash` work."""
    shutil.copytree(seeded, destination, symlinks=True)
    return link_checkout(destination)


def empty_sandbox(destination: Path) -> Path:
    """A directory as a fresh clone has it, for a transcript that builds all its own state:
    `.venv`, `tests` and `completions` linked, no history, no cached model list."""
    destination.mkdir(parents=True)
    return link_checkout(destination)


def link_checkout(destination: Path) -> Path:
    """`.venv`, `tests` and `completions` in `destination`, as links to this checkout's."""
    (destination / ".venv").symlink_to(sys.prefix)
    for name in ("tests", "completions"):
        (destination / name).symlink_to(REPO / name)
    return destination


def example_env(directory: Path, api_url: str) -> dict[str, str]:
    """What a user's shell would hold: llamactl on PATH, the token in DEEPINFRA_TOKEN (and in
    TOKEN, as examples that pipe it in call it), llamactl's state in the sandbox."""
    return subprocess_env(
        PATH=f"{BIN}:{subprocess_env()['PATH']}",
        HOME=str(directory),
        DEEPINFRA_HOST=api_url,
        DEEPINFRA_TOKEN=VALID_TOKEN,
        TOKEN=VALID_TOKEN,
        LLAMACTL_HOME=str(directory / ".llamactl"),
        XDG_DATA_HOME=str(directory / ".local" / "share"),
        PYTHON_KEYRING_BACKEND="keyrings.alt.file.PlaintextKeyring",
    )


def reader_path() -> str:
    """The PATH of a reader who has not activated the virtual environment: this one,
    without the directory of the Python running the tests (and its llamactl)."""
    return os.pathsep.join(
        entry
        for entry in subprocess_env()["PATH"].split(os.pathsep)
        if entry and Path(entry).resolve() != BIN.resolve()
    )


def reader_env(directory: Path, api_url: str) -> dict[str, str]:
    """What a reader's shell holds before activating anything: example_env's state and
    token, with reader_path() as the PATH."""
    return {**example_env(directory, api_url), "PATH": reader_path()}


def run_example(
    script: str, directory: Path, env: dict[str, str], timeout: float = HANG_GUARD * 3
) -> subprocess.CompletedProcess:
    """Run `script` with bash, stopping at the first command (or pipeline stage) that fails."""
    # `exit $?` keeps bash as the parent of the last command (bash would exec a lone one),
    # so shell detection (--install-completion) finds bash even when pytest runs under sh.
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", f"{script}\nexit $?"],
        cwd=directory,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def needs_missing_tool(script: str) -> str | None:
    """The reason to skip an example that needs a tool this machine lacks (jq, git)."""
    for tool in ("jq", "git"):
        if f"{tool} " in script and shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


SEPARATOR = "@@ end of one transcript command @@"
ELIDED = "…"  # in a transcript's expected line: any text that changes from run to run


def transcript(text: str) -> list[tuple[str, list[str]]]:
    """A `console` block as (command, the lines it printed) pairs: each `$ ` line is a
    command (a trailing backslash continues it onto the next line), the lines up to the
    next one are what it printed."""
    steps: list[tuple[str, list[str]]] = []
    lines = iter(text.splitlines())
    for line in lines:
        if line.startswith("$ "):
            command = line[2:]
            while command.endswith("\\"):
                command += "\n" + next(lines)
            steps.append((command, []))
        else:
            assert steps, f"a transcript starts with a '$ ' command, not {line!r}"
            steps[-1][1].append(line)
    return steps


def run_transcript(
    steps: list[tuple[str, list[str]]], directory: Path, env: dict[str, str], prelude: str = ""
) -> list[list[str]]:
    """Run a transcript's commands in one bash, in turn, each going on after a failure as
    at a prompt, and return the lines each printed, stdout and stderr interleaved as a
    terminal shows them."""
    script = "\n".join(
        ["exec 2>&1", prelude, *(f"{command}\nprintf '\\n%s\\n' '{SEPARATOR}'" for command, _ in steps)]
    )
    run = subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", script],
        cwd=directory,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD * 3,
    )
    printed = run.stdout.split(f"\n{SEPARATOR}\n")
    assert len(printed) == len(steps) + 1, run.stdout
    return [chunk.splitlines() for chunk in printed[:-1]]


def matches(expected: str, line: str) -> bool:
    """Whether `line` is what a transcript shows, where each `…` stands for any text."""
    pattern = ".*".join(re.escape(part) for part in expected.split(ELIDED))
    return re.fullmatch(pattern, line) is not None
