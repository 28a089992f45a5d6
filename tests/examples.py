"""Running documented examples (from `--help` epilogs and the README) as a user would: with
bash, in a directory of their own, against the emulator, with llamactl on PATH.

Every example starts from the same seeded state, copied afresh: a cached model list, a few
requests in history (one of them failed), a git repository with an uncommitted change (for
`git diff | ...`), a notes.txt (for `-i input=@notes.txt`) and a prompts.jsonl (for
`--batch`). The keyring is a real one
that stores in a file (keyrings.alt), empty at first.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.emulator import VALID_TOKEN
from tests.helpers import HANG_GUARD, REPO, invoke, subprocess_env

BIN = Path(sys.executable).parent
MODEL = "meta-llama/Llama-2-70b-chat-hf"
SEED_PROMPTS = ("Name three alpaca breeds", "Write a haiku about llamas", "Summarise the Andes")
GIT = ("git", "-c", "user.name=Ada", "-c", "user.email=ada@example.com", "-c", "init.defaultBranch=main")


def seed(directory: Path, api_url: str) -> Path:
    """The seeded state every example starts from (see the module docstring)."""
    directory.mkdir(parents=True)
    home = directory / ".llamactl"
    env = {"LLAMACTL_HOME": str(home), "DEEPINFRA_HOST": api_url, "DEEPINFRA_TOKEN": VALID_TOKEN}
    runs = [invoke(["models", "list"], env=env)]
    runs += [invoke(["infer", "-m", MODEL, "-q", prompt], env=env) for prompt in SEED_PROMPTS]
    assert all(run.exit_code == 0 for run in runs), [run.stderr for run in runs]
    assert invoke(["infer", "-m", "no-such/model", "-q", "hi"], env=env).exit_code == 4  # one failed request
    (directory / "notes.txt").write_text("Llamas hum when they are curious. Alpacas are smaller.\n")
    (directory / "prompts.jsonl").write_text('"Name a llama"\n{"input": "Name an alpaca", "max_new_tokens": 20}\n')
    (directory / "poem.txt").write_text("Soft wool in the wind\n")
    if shutil.which("git"):
        for command in (["init", "-q"], ["add", "poem.txt"], ["commit", "-q", "-m", "A poem"]):
            subprocess.run([*GIT, *command], cwd=directory, check=True, capture_output=True)
    (directory / "poem.txt").write_text("Soft wool in the wind\nhums across the Andes\n")
    return directory


def sandbox(seeded: Path, destination: Path) -> Path:
    """A fresh copy of the seeded state, where one example runs. As in a clone, `.venv`,
    `tests` and `completions` are there (links to this checkout's), so README lines such as
    `.venv/bin/python -m tests.emulator` or `source completions/llamactl.bash` work."""
    shutil.copytree(seeded, destination, symlinks=True)
    (destination / ".venv").symlink_to(sys.prefix)
    for name in ("tests", "completions"):
        (destination / name).symlink_to(REPO / name)
    return destination


def example_env(directory: Path, api_url: str) -> dict[str, str]:
    """What a user's shell would hold: llamactl on PATH, the token in DEEPINFRA_TOKEN (and in
    TOKEN, as examples that pipe it in call it), llamactl's state in the sandbox."""
    return subprocess_env(
        PATH=f"{BIN}:{subprocess_env()['PATH']}", HOME=str(directory), DEEPINFRA_HOST=api_url,
        DEEPINFRA_TOKEN=VALID_TOKEN, TOKEN=VALID_TOKEN, LLAMACTL_HOME=str(directory / ".llamactl"),
        XDG_DATA_HOME=str(directory / ".local" / "share"), PYTHON_KEYRING_BACKEND="keyrings.alt.file.PlaintextKeyring",
    )


def run_example(script: str, directory: Path, env: dict[str, str],
                timeout: float = HANG_GUARD * 3) -> subprocess.CompletedProcess:
    """Run `script` with bash, stopping at the first command (or pipeline stage) that fails."""
    # `exit $?` keeps bash as the parent of the last command (bash would exec a lone one),
    # so shell detection (--install-completion) finds bash even when pytest runs under sh.
    return subprocess.run(["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", f"{script}\nexit $?"],
                          cwd=directory, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout)


def needs_missing_tool(script: str) -> str | None:
    """The reason to skip an example that needs a tool this machine lacks (jq, git)."""
    for tool in ("jq", "git"):
        if f"{tool} " in script and shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None
