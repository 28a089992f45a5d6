"""Signals and pipes, end to end: SIGTERM ends with one line, a closed stdout quietly, output kept."""

from __future__ import annotations

import json
import signal
import subprocess
import threading

from tests.emulator import Behavior
from tests.helpers import (
    HANG_GUARD,
    REPO,
    exit_code,
    llamactl_command,
    read_exactly,
    run_llamactl,
    start_llamactl,
)

MODEL = "meta-llama/Llama-2-70b-chat-hf"


def test_sigterm_ends_with_one_line_and_the_partial_text(emulator, env):
    gate = threading.Event()
    emulator.behave(Behavior(tokens=["kept", " lost"], gate=gate))
    proc = start_llamactl(env, "infer", "-m", MODEL, "hi")
    try:
        assert read_exactly(proc.stdout.fileno(), 4) == b"kept"
        proc.send_signal(signal.SIGTERM)
        assert exit_code(proc) == 143
        # One line, so a cancelled CI job has a trace; no "error:", nothing failed.
        assert proc.stderr.read() == b"terminated by SIGTERM; the output above is incomplete\n"
    finally:
        gate.set()
        proc.kill()
        proc.wait()
    rows = json.loads(run_llamactl(["history", "list", "--json"], env).stdout)
    assert [(row["status"], row["results"]) for row in rows] == [("interrupted", ["kept"])]


def test_a_closed_stdout_ends_quietly(emulator, env):
    """`llamactl infer ... | head -c 5`: no BrokenPipeError, no traceback."""
    gate = threading.Event()
    emulator.behave(Behavior(tokens=["first", " second", " third"], gate=gate))
    proc = start_llamactl(env, "infer", "-m", MODEL, "hi")
    try:
        assert read_exactly(proc.stdout.fileno(), 5) == b"first"
        proc.stdout.close()
        gate.set()
        assert exit_code(proc) == 141
        assert proc.stderr.read() == b""
    finally:
        gate.set()
        proc.kill()
        proc.wait()


def test_head_in_a_real_shell_pipeline(emulator, env):
    emulator.behave(Behavior(tokens=[f" word{i}" for i in range(2000)]))
    shell = subprocess.run(
        [
            "bash",
            "-c",
            f"{' '.join(llamactl_command('infer', '-m', MODEL, '-q', 'hi'))} | head -c 20; exit ${{PIPESTATUS[0]}}",
        ],
        env=env,
        cwd=REPO,
        capture_output=True,
        timeout=HANG_GUARD,
    )
    assert shell.stdout == b" word0 word1 word2 w"
    assert shell.stderr == b""
    assert shell.returncode in (0, 141)


def has_open(pid: int, path: str) -> bool:
    """Whether process `pid` has `path` open (its descriptors come and go as we look)."""
    import os

    wanted = os.path.realpath(path)
    try:
        descriptors = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in descriptors:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == wanted:
                return True
        except OSError:
            continue
    return False


def test_a_second_ctrl_c_exits_at_once_even_while_history_waits(emulator, env, tmp_path):
    """The first Ctrl-C starts the cleanup (here: recording, stuck on a locked database);
    the second must end the process without waiting for it."""
    import sqlite3
    import time

    from tests.helpers import run_llamactl

    assert run_llamactl(["infer", "-m", MODEL, "-q", "warm up"], env).exit_code == 0  # creates the database
    db_path = run_llamactl(["history", "path"], env).stdout.strip()
    lock = sqlite3.connect(db_path, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")  # every writer now waits for its busy timeout
    gate = threading.Event()
    emulator.behave(Behavior(tokens=["partial", " never"], gate=gate))
    proc = start_llamactl(env, "infer", "-m", MODEL, "hi")
    try:
        assert read_exactly(proc.stdout.fileno(), len("partial")) == b"partial"
        proc.send_signal(signal.SIGINT)
        deadline = time.monotonic() + HANG_GUARD
        while not has_open(proc.pid, db_path):  # the recorder opened the database
            assert time.monotonic() < deadline and proc.poll() is None
        proc.send_signal(signal.SIGINT)
        # Ended by the signal itself (the shell reports 130), not by Python code that ran
        # once the lock wait was over.
        assert proc.wait(HANG_GUARD) == -signal.SIGINT
        assert b"not saved" not in proc.stderr.read()
        assert lock.in_transaction  # the lock was held throughout
    finally:
        lock.rollback()
        lock.close()
        gate.set()
        proc.kill()
        proc.wait()
