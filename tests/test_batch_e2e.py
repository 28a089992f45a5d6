"""`llamactl infer --batch` as a real process: Ctrl-C and SIGTERM mid-batch, then a rerun
that finishes it; a real pipeline; the progress bar on a terminal's stderr."""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import threading
import time

import pytest

from tests.emulator import Behavior
from tests.helpers import HANG_GUARD, REPO, exit_code, llamactl_command, run_llamactl, start_llamactl

MODEL = "meta-llama/Llama-2-70b-chat-hf"


# Only a guard against hanging: a loaded CI machine (xdist workers, a second test run) has
# taken longer than HANG_GUARD to start a batch and answer its first lines. Below pytest's 60 s.
WAIT_GUARD = 45


def wait_until(predicate) -> None:
    deadline = time.monotonic() + WAIT_GUARD
    while not predicate():
        assert time.monotonic() < deadline, "the condition never came true"
        time.sleep(0.01)


def inference_inputs(emulator) -> list[str]:
    return sorted(r.json["input"] for r in emulator.requests if r.path.startswith("/v1/inference/"))


def statuses(path) -> list[tuple[int, str]]:
    return [(record["line"], record["status"]) for record in map(json.loads, path.read_text().splitlines())]


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_keeps_finished_lines_and_a_rerun_finishes_the_batch(emulator, env, tmp_path, signum, code):
    """Lines 1 and 2 are answered, 3 and 4 stall in flight, 5 waits for a free worker."""
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(f'"prompt {n}"\n' for n in range(1, 6)))
    output = tmp_path / "results.jsonl"
    args = ("infer", "-m", MODEL, "--batch", str(prompts), "--concurrency", "2", "--output", str(output))
    # By input, not arrival order: line 2 may reach the emulator before line 1.
    emulator.queue(*(Behavior(stall_after=0, for_input=f"prompt {n}") for n in (3, 4)))
    proc = start_llamactl(env, *args)
    try:
        wait_until(
            lambda: (
                len(inference_inputs(emulator)) == 4
                and output.exists()
                and len(output.read_text().splitlines()) == 2
            )
        )
        proc.send_signal(signum)
        assert exit_code(proc) == code
        stderr = proc.stderr.read().decode()
    finally:
        proc.kill()
        proc.wait()
    assert statuses(output) == [(1, "ok"), (2, "ok"), (3, "interrupted"), (4, "interrupted"), (5, "skipped")]
    if signum == signal.SIGINT:
        assert "error: interrupted: 2 lines done, 2 in flight marked interrupted, 1 not sent" in stderr
        assert "hint: run the same command again to finish the batch" in stderr
    else:
        assert "error:" not in stderr
    rows = json.loads(run_llamactl(["history", "list", "--json"], env).stdout)
    assert sorted(row["status"] for row in rows) == ["interrupted", "interrupted", "ok", "ok"]

    emulator.reset()
    rerun = run_llamactl(list(args), env)
    assert rerun.exit_code == 0, rerun.stderr
    assert inference_inputs(emulator) == ["prompt 3", "prompt 4", "prompt 5"]
    assert statuses(output) == [(n, "ok") for n in range(1, 6)]


def test_a_pipeline_gets_json_lines_and_nothing_else(emulator, env):
    run = run_llamactl(
        ["infer", "-m", MODEL, "--batch", "-", "-i", "max_new_tokens=4"],
        env,
        input=b'"one"\n"two"\n"three"\n',
    )
    assert run.exit_code == 0, run.stderr
    results = [json.loads(line) for line in run.stdout.splitlines()]
    assert [(result["line"], result["fields"]["input"]) for result in results] == [
        (1, "one"),
        (2, "two"),
        (3, "three"),
    ]
    assert "\x1b[" not in run.stdout + run.stderr
    assert run.stderr.splitlines()[-1].startswith(f"batch {results[0]['batch_id']}: 3 lines (3 ok)")


def test_on_a_terminal_stderr_shows_a_progress_bar_and_stdout_stays_clean(emulator, env, tmp_path):
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(f'"prompt {n}"\n' for n in range(20)))
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(
        llamactl_command("infer", "-m", MODEL, "--batch", str(prompts)),
        env={**env, "COLUMNS": "160"},
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=terminal,
    )
    os.close(terminal)
    shown = bytearray()
    reader = threading.Thread(target=drain, args=(controller, shown))
    reader.start()
    try:
        stdout = proc.communicate(timeout=HANG_GUARD)[0].decode()
    finally:
        proc.kill()
        reader.join(HANG_GUARD)
        os.close(controller)
    assert proc.returncode == 0
    results = [json.loads(line) for line in stdout.splitlines()]
    assert len(results) == 20 and "\x1b[" not in stdout
    screen = shown.decode("utf-8", "replace")
    batch_id = results[0]["batch_id"]
    assert "\x1b[" in screen and "/20" in screen  # the bar, drawn with cursor moves
    assert f"batch {batch_id}: 20 lines (20 ok)" in screen


def drain(fd: int, into: bytearray) -> None:
    """Read a pty until its other side is closed (EIO on Linux)."""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            return
        if not chunk:
            return
        into.extend(chunk)
