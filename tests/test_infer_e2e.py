"""`llamactl` as a real subprocess with real pipes against the emulator: stdin, exactly
the text on stdout, incremental delivery, every exit code of the contract, a terminal."""

from __future__ import annotations

import signal
import subprocess
import threading

import pytest

from tests.emulator import VALID_TOKEN, Behavior
from tests.helpers import (
    HANG_GUARD,
    REPO,
    last_inference,
    llamactl_command,
    read_exactly,
    run_llamactl,
    start_llamactl,
    subprocess_env,
    without_spinner,
)

MODEL = "meta-llama/Llama-2-70b-chat-hf"


def test_piped_stdin_and_prompt_give_exactly_the_text(emulator, env):
    emulator.behave(Behavior(tokens=["Looks", " good", " 🦙", "\n"]))
    run = run_llamactl(["infer", "-m", MODEL, "review this"], env, input=b"--- a\n+++ b\n")
    assert run.exit_code == 0, run.stderr
    assert run.stdout_bytes == "Looks good 🦙\n".encode()
    inference = [request for request in emulator.requests if request.path.startswith("/v1/inference/")]
    assert [request.json["input"] for request in inference] == ["--- a\n+++ b\n\nreview this"]
    assert "\x1b[" not in run.stdout + run.stderr


def test_dev_null_stdin_is_never_read(emulator, env):
    run = run_llamactl(["infer", "-m", MODEL, "hello"], env)  # stdin is /dev/null
    assert run.exit_code == 0, run.stderr
    assert last_inference(emulator).json["input"] == "hello"
    run = run_llamactl(["infer", "-m", MODEL], env)
    assert run.exit_code == 2
    assert "no input" in run.stderr


@pytest.mark.parametrize("framing", ["chunked", "close"])
def test_each_token_is_on_the_pipe_before_the_next_is_sent(emulator, env, framing):
    gate = threading.Event()
    tokens = ["first", " second", " third"]
    emulator.behave(Behavior(tokens=tokens, gate=gate, framing=framing))
    proc = start_llamactl(env, "infer", "-m", MODEL, "-q", "hi")
    try:
        fd = proc.stdout.fileno()
        for index, token in enumerate(tokens):
            assert read_exactly(fd, len(token)) == token.encode()
            # The next event is held back by the gate: this token arrived on its own.
            assert emulator.wait_written(index + 1, HANG_GUARD)
            assert emulator.tokens_written == index + 1
            gate.set()
        assert proc.wait(HANG_GUARD) == 0
        assert proc.stdout.read() == b"\n"  # the final newline, after the last token
    finally:
        gate.set()
        proc.kill()
        proc.wait()


def test_ctrl_c_keeps_the_partial_text_and_exits_130(emulator, env):
    gate = threading.Event()
    emulator.behave(Behavior(tokens=["partial", " never"], gate=gate))
    proc = start_llamactl(env, "infer", "-m", MODEL, "hi")
    try:
        assert read_exactly(proc.stdout.fileno(), len("partial")) == b"partial"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(HANG_GUARD) == 130
        stderr = proc.stderr.read().decode()
        assert "interrupted" in stderr and "Traceback" not in stderr
        assert proc.stdout.read() == b"\n"  # the partial text's line ended
    finally:
        gate.set()
        proc.kill()
        proc.wait()


def test_broken_sseclient_install_is_an_internal_error_exit_1(emulator, env, tmp_path):
    """A bug-class failure (here a broken dependency) is exit 1 with a one-line message."""
    broken = tmp_path / "site" / "sseclient"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("raise RuntimeError('sseclient is broken')\n")
    env = {**env, "PYTHONPATH": str(broken.parent)}
    run = run_llamactl(["infer", "-m", MODEL, "hi"], env)
    assert run.exit_code == 1
    assert run.stderr.startswith("error: internal error: RuntimeError: sseclient is broken")
    assert "Traceback" not in run.stderr
    run = run_llamactl(["--debug", "infer", "-m", MODEL, "hi"], env)
    assert run.exit_code == 1
    assert "Traceback (most recent call last)" in run.stderr


@pytest.mark.parametrize(
    "args, behavior, extra_env, code",
    [
        (["infer", "-m", MODEL, "hi"], None, {}, 0),
        (["infer", "-m", MODEL, "--no-such-flag", "hi"], None, {}, 2),
        (["infer", "-m", MODEL, "-i", "top_k=many", "hi"], None, {}, 2),
        (["infer", "-m", MODEL, "-i", "input=@/no/such/file"], None, {}, 2),
        (["infer", "-m", MODEL, "hi"], None, {"DEEPINFRA_TOKEN": ""}, 3),
        (["infer", "-m", MODEL, "hi"], None, {"DEEPINFRA_TOKEN": "wrong-token"}, 3),
        (["infer", "-m", "nobody/no-such-model", "hi"], None, {}, 4),
        (["infer", "-m", MODEL, "hi"], Behavior(status=422, body_shape="detail_list"), {}, 4),
        (["infer", "-m", MODEL, "hi"], Behavior(status=402, message="Insufficient balance"), {}, 4),
        (["infer", "-m", MODEL, "hi"], Behavior(status=503, body_shape="html"), {}, 5),
        (["infer", "-m", MODEL, "hi"], Behavior(status=429), {}, 5),
        (["infer", "-m", MODEL, "hi"], Behavior(cut_after=1), {}, 5),
        (["infer", "-m", MODEL, "--timeout", "0.5", "hi"], Behavior(stall_after=1), {}, 5),
        (["infer", "-m", MODEL, "hi"], Behavior(reset_connection=True), {}, 5),
    ],
    ids=[
        "ok",
        "bad-flag",
        "bad-input",
        "missing-file",
        "no-token",
        "wrong-token",
        "unknown-model",
        "validation",
        "funding",
        "html-5xx",
        "rate-limited",
        "cut-stream",
        "stalled",
        "reset",
    ],
)
def test_exit_codes_end_to_end(emulator, env, args, behavior, extra_env, code):
    if behavior is not None:
        emulator.behave(behavior)
    run = run_llamactl(args, {**env, **extra_env})
    assert run.exit_code == code, run.stderr
    assert "Traceback" not in run.stderr
    if code:
        final = [line for line in run.stderr.splitlines() if not line.startswith("retrying in ")]
        assert final[0].startswith("error: ")
        assert len(final) <= 2  # the error and maybe a hint
    assert VALID_TOKEN not in run.stdout + run.stderr


def test_what_a_person_sees_in_a_terminal(emulator, env):
    pexpect = pytest.importorskip("pexpect")
    emulator.behave(Behavior(tokens=["A", " haiku", " 🦙"]))
    child = pexpect.spawn(
        llamactl_command()[0],
        llamactl_command("infer", "-m", MODEL, "Write a haiku")[1:],
        env=env,
        cwd=str(REPO),
        encoding="utf-8",
        timeout=HANG_GUARD,
        dimensions=(24, 100),
    )
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    screen = without_spinner(child.before.replace("\r\n", "\n"))
    lines = [line for line in screen.split("\n") if line.strip()]
    assert lines[0] == "A haiku 🦙"  # the answer on its own line, then the summary
    assert MODEL in lines[1] and "out tokens" in lines[1]
    assert "\x1b[" in screen  # the summary is styled on a terminal


def test_no_color_in_a_terminal_means_no_escape_codes(emulator, env):
    pexpect = pytest.importorskip("pexpect")
    child = pexpect.spawn(
        llamactl_command()[0],
        llamactl_command("infer", "-m", MODEL, "hi")[1:],
        env={**env, "NO_COLOR": "1"},
        cwd=str(REPO),
        encoding="utf-8",
        timeout=HANG_GUARD,
    )
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "\x1b[" not in without_spinner(child.before)


def test_the_emulators_run_mode_serves_one_command(tmp_path):
    """The README's first command: `python -m tests.emulator --run -- llamactl infer ...`."""
    import sys

    env = subprocess_env(LLAMACTL_HOME=str(tmp_path / "home"))
    ok = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.emulator",
            "--run",
            "--",
            *llamactl_command("infer", "-m", MODEL, "Write a haiku"),
        ],
        env=env,
        cwd=REPO,
        capture_output=True,
        timeout=HANG_GUARD,
        stdin=subprocess.DEVNULL,
    )
    assert ok.returncode == 0, ok.stderr
    assert "Write a haiku" in ok.stdout.decode()
    failed = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.emulator",
            "--run",
            "--",
            *llamactl_command("infer", "-m", "no/such-model", "hi"),
        ],
        env=env,
        cwd=REPO,
        capture_output=True,
        timeout=HANG_GUARD,
        stdin=subprocess.DEVNULL,
    )
    assert failed.returncode == 4
