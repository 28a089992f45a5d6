"""Exit 6: this machine could not give llamactl what it needed (a full or read-only disk, a
database locked for too long, a closed stdout). One `error:` line names what failed; exit 1
stays for bugs. The fault table in test_faults.py runs the main cases through `infer`;
these are the others, and the parts of the mapping a table row cannot show."""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import subprocess

import pytest

from llamactl.errors import ExitCode
from llamactl.history.store import HistoryStore, HistoryUnavailable, unavailable
from tests.helpers import REPO, invoke, llamactl_command, run_llamactl
from tests.test_faults import read_only_prefix

MODEL = "meta-llama/Llama-2-70b-chat-hf"


def run_closed(
    env: dict[str, str],
    *args: str,
    close: tuple[int, ...] = (1,),
    prefix: tuple[str, ...] = (),
    input: bytes | None = None,
) -> subprocess.CompletedProcess:
    """llamactl with some standard descriptors closed before it starts, as `>&-` does; the
    others on pipes."""

    def close_descriptors() -> None:
        for fd in close:
            os.close(fd)

    pipe = {fd: None if fd in close else subprocess.PIPE for fd in (1, 2)}
    stdin = {"input": input} if input is not None else {"stdin": None if 0 in close else subprocess.DEVNULL}
    return subprocess.run(
        [*prefix, *llamactl_command(*args)],
        stdout=pipe[1],
        stderr=pipe[2],
        env=env,
        cwd=REPO,
        timeout=30,
        preexec_fn=close_descriptors,
        **stdin,
    )


def only_error(stderr: bytes) -> list[str]:
    lines = stderr.decode().splitlines()
    assert "Traceback" not in stderr.decode()
    assert lines and lines[0].startswith("error: ") and len(lines) <= 2, lines
    return lines


def test_exit_code_6_is_the_contracts_local_failure():
    assert ExitCode.LOCAL == 6 and issubclass(HistoryUnavailable, Exception)
    assert HistoryUnavailable("x").exit_code == 6


# a closed stdout


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["history", "path"]], ids=" ".join)
def test_a_closed_stdout_is_exit_6_wherever_it_is_met(env, args):
    run = run_closed(env, *args)
    assert run.returncode == 6
    assert only_error(run.stderr) == [
        "error: cannot write to stdout: it is closed",
        "hint: send it to a file or a pipe, or to /dev/null to discard it",
    ]


def test_a_closed_stdout_leaves_history_whole_and_says_what_happened(env, emulator):
    run = run_closed(env, "infer", "-m", MODEL, "hi")
    assert run.returncode == 6
    [record] = json.loads(run_llamactl(["history", "list", "--json"], env).stdout)
    assert record["status"] == "error" and record["error"] == "cannot write to stdout: it is closed"
    [text] = record["results"]  # what arrived before the first write failed
    assert text and "Hello! You said: hi. Voilà, café 🦙".startswith(text)


def test_a_closed_stdin_is_no_stdin(env, emulator):
    given = run_closed(env, "infer", "-m", MODEL, "--no-stream", "-q", "hi", close=(0,))
    assert given.returncode == 0 and given.stdout.startswith(b"Hello! You said: hi")
    missing = run_closed(env, "infer", "-m", MODEL, "-q", close=(0,))
    assert missing.returncode == 2 and b"no input" in missing.stderr.lower()


def test_a_closed_stderr_keeps_the_commands_own_exit_code(env, emulator):
    assert run_closed(env, "infer", "-m", MODEL, "-i", "temperature=hot", "hi", close=(2,)).returncode == 2
    ok = run_closed(env, "infer", "-m", MODEL, "hi", close=(2,))
    assert ok.returncode == 0 and ok.stdout.startswith(b"Hello! You said: hi")


# the history database


def test_a_database_locked_for_too_long_is_a_local_failure_with_a_hint(tmp_path):
    path = tmp_path / "history.db"
    with HistoryStore.open(path):
        pass
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with HistoryStore.open(path, timeout=0) as store, pytest.raises(sqlite3.OperationalError) as locked:
            store.clear()
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    failure = unavailable(path, locked.value)
    assert failure.exit_code == 6
    assert failure.message == f"cannot use the history database {path}: database is locked"
    if hasattr(locked.value, "sqlite_errorname"):  # Python 3.11+
        assert failure.hint == "another process is holding it: try again when that one is done"


def test_a_state_directory_in_the_way_is_exit_6(monkeypatch, tmp_path):
    (tmp_path / "file").write_text("not a directory\n")
    monkeypatch.setenv("LLAMACTL_HOME", str(tmp_path / "file" / "llamactl"))
    run = invoke(["history", "list"])
    assert run.exit_code == 6
    assert run.stderr.startswith(
        f"error: cannot use the history database {tmp_path}/file/llamactl/history.db: "
    )


# files that cannot be written


def test_a_token_file_on_a_read_only_disk_is_exit_6(env, emulator, home):
    home.mkdir(mode=0o700)
    run = run_closed(
        env,
        "auth",
        "login",
        "--with-token",
        "--insecure-storage",
        close=(),
        prefix=tuple(read_only_prefix(home)),
        input=env["DEEPINFRA_TOKEN"].encode() + b"\n",
    )
    assert run.returncode == 6
    error, hint = only_error(run.stderr)
    assert error.startswith(f"error: cannot use {home}/") and error.endswith(": Read-only file system")
    assert (
        hint == "hint: the file system is read-only: point LLAMACTL_HOME (or the output) somewhere writable"
    )


def test_a_batch_output_that_fills_the_disk_is_exit_6(env, emulator, tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    prefix = read_only_prefix(disk)  # skips where there are no mount namespaces
    tiny = prefix[:4] + ['mount -t tmpfs -o size=16k tmpfs "$0" && exec "$@"', str(disk)]
    prompts = "".join(json.dumps("x" * 900 + str(n)) + "\n" for n in range(40)).encode()
    run = run_closed(
        env,
        "infer",
        "-m",
        MODEL,
        "--batch",
        "-",
        "--output",
        str(disk / "out.jsonl"),
        close=(),
        prefix=tuple(tiny),
        input=prompts,
    )
    assert run.returncode == 6
    assert only_error(run.stderr.split(b"\n", 1)[1] if run.stderr.startswith(b"batch ") else run.stderr) == [
        f"error: cannot write --output {disk / 'out.jsonl'}: No space left on device",
        "hint: the disk is full: free some space, or write somewhere else",
    ]


def test_a_batch_output_that_is_a_directory_is_exit_6(api, tmp_path):
    run = invoke(["infer", "-m", MODEL, "--batch", "-", "--output", str(tmp_path)], input='"hi"\n')
    assert run.exit_code == 6
    assert run.stderr == f"error: cannot read --output {tmp_path}: Is a directory\n"
    assert api.requests == []


# the mapping: the machine's errno values are exit 6, anything else stays a bug


def test_an_oserror_that_describes_the_machine_is_exit_6(monkeypatch):
    def full(env):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "/var/lib/somewhere")

    monkeypatch.setattr("llamactl.history.store.history_path", full)
    run = invoke(["history", "path"])
    assert run.exit_code == 6
    assert run.stderr == (
        "error: cannot use /var/lib/somewhere: No space left on device\n"
        "hint: the disk is full: free some space, or write somewhere else\n"
    )


def test_any_other_oserror_is_still_a_bug(monkeypatch):
    def missing(env):
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), "/nowhere")

    monkeypatch.setattr("llamactl.history.store.history_path", missing)
    run = invoke(["history", "path"])
    assert run.exit_code == 1
    assert run.stderr.startswith("error: internal error: FileNotFoundError")
