"""Running llamactl the two ways the tests do: in-process (CliRunner) and as a real
subprocess with real pipes."""

from __future__ import annotations

import fcntl
import os
import re
import select
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from llamactl.cli import app

REPO = Path(__file__).resolve().parent.parent
HANG_GUARD = 20  # seconds; only to fail instead of hanging, never a performance threshold
SCRUBBED_VARIABLES = (
    "DEEPINFRA_TOKEN",
    "DEEPINFRA_API_KEY",
    "DEEPINFRA_HOST",
    "DEEPINFRA_BASE_URL",
    "LLAMACTL_HOME",
    "LLAMACTL_MODEL",
    "LLAMACTL_NO_HISTORY",
    "LLAMACTL_PAGER",
    "LLAMACTL_HISTORY_TIMEOUT",
    "LLAMACTL_RETRY_DELAY",
    "PAGER",
    "LLAMACTL_OPENAI_URL",
    "NO_COLOR",
    "FORCE_COLOR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "PYTHON_KEYRING_BACKEND",
    "COLUMNS",
    "LINES",  # a terminal's size, or pytest-xdist's 80x24: tests that need one set it
)


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str
    stdout_bytes: bytes = b""


def invoke(args: list[str], input: str | bytes | None = None, env: dict | None = None) -> Run:
    """Run the CLI in-process, as Typer's CliRunner does, with the real command tree."""
    result = CliRunner().invoke(app, args, input=input, env=env, prog_name="llamactl")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout, result.stderr, result.stdout_bytes)


def subprocess_env(**overrides: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in SCRUBBED_VARIABLES}
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"  # never the user's keyring
    env.update(overrides)
    return env


def llamactl_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "llamactl", *args]


def run_llamactl(
    args: list[str], env: dict[str, str], input: bytes | None = None, timeout: float = 30
) -> Run:
    """Run llamactl as a real subprocess with real pipes; stdin is /dev/null unless given."""
    stdin = {"input": input} if input is not None else {"stdin": subprocess.DEVNULL}
    proc = subprocess.run(
        llamactl_command(*args), capture_output=True, env=env, timeout=timeout, cwd=REPO, **stdin
    )
    return Run(
        proc.returncode,
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
        proc.stdout,
    )


def start_llamactl(env: dict[str, str], *args: str) -> subprocess.Popen:
    """Start llamactl with stdin from /dev/null and its stdout and stderr on pipes (and
    faulthandler on, for `exit_code`'s report of a hang)."""
    return subprocess.Popen(
        llamactl_command(*args),
        env={**env, "PYTHONFAULTHANDLER": "1"},
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def exit_code(proc: subprocess.Popen) -> int:
    """The exit code of a process from start_llamactl; if it hangs, the test fails with
    where every thread was stuck (faulthandler's dump on SIGABRT) instead of a bare timeout."""
    try:
        return proc.wait(HANG_GUARD)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)
        proc.wait(HANG_GUARD)
        raise AssertionError(f"llamactl hung; its threads:\n{proc.stderr.read().decode()}") from None


def read_some(fd: int) -> bytes:
    """Whatever is readable on fd now, waiting for it at most HANG_GUARD seconds."""
    ready, _, _ = select.select([fd], [], [], HANG_GUARD)
    assert ready, "nothing arrived on the pipe"
    return os.read(fd, 65536)


def read_exactly(fd: int, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = read_some(fd)
        assert chunk, f"pipe closed after {data!r}"
        data += chunk
    return data


SPINNER = re.compile(r"^(\r[^\r\n]* waiting for [^\r\n]*\x1b\[K)+\r\x1b\[2K")


def without_spinner(screen: str) -> str:
    """A pty's screen without the spinner llamactl draws, and erases, while the answer is
    slow to start: on a loaded machine the first token can take more than its 0.1 s."""
    return SPINNER.sub("", screen)


def built_once(tmp_path_factory, name: str, build: Callable[[Path], None]) -> Path:
    """A directory that `build` fills once per test run. Under pytest-xdist the first worker
    to ask builds it in the run's shared temporary directory while the others wait on a
    lock, and then they all use it; a build that failed is tried again from scratch."""
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        directory = tmp_path_factory.mktemp(name)
        build(directory)
        return directory
    run = tmp_path_factory.getbasetemp().parent  # this run's directory, above each worker's own
    directory, done = run / name, run / f"{name}.done"
    with open(run / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(directory, ignore_errors=True)
            directory.mkdir()
            build(directory)
            done.touch()
    return directory


def last_inference(emulator):
    """The last inference request the emulator received: a streamed run on a fresh install
    also fetches the model list (for the summary's cost), in parallel and in any order."""
    return [request for request in emulator.requests if request.path.startswith("/v1/inference/")][-1]


def sent_chats(emulator) -> list[dict]:
    """The bodies of the chat turns the emulator received on the OpenAI-compatible API
    (`messages`, `model`, ...), oldest first."""
    return [request.json for request in emulator.requests if request.path == "/v1/openai/chat/completions"]


def sent_messages(emulator) -> list[dict]:
    """The message list of the last chat turn sent on the OpenAI-compatible API."""
    return sent_chats(emulator)[-1]["messages"]


def older_history(home, before_step, model: str = "meta-llama/Llama-2-70b-chat-hf"):
    """A history database in `home` as it was before the migration `before_step`, holding
    one request (input "from before", result "an old answer"); returned open, to add to."""
    import json
    import sqlite3

    from llamactl.history.migrations import MIGRATIONS

    home.mkdir()
    db = sqlite3.connect(home / "history.db")
    steps = MIGRATIONS[: MIGRATIONS.index(before_step)]
    for step in steps:
        step(db)
    db.execute(f"PRAGMA user_version = {len(steps)}")
    db.execute(
        "INSERT INTO requests (created_at, model, api_host, fields, status) VALUES (1.0, ?, 'h', ?, 'ok')",
        (model, json.dumps({"input": "from before"})),
    )
    db.execute("INSERT INTO results (request, position, text) VALUES (1, 0, 'an old answer')")
    return db
