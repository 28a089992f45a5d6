"""Messages that say what happened: no claim of output that is not there, no missing value
in a hint, no "1 tokens"."""

from __future__ import annotations

import signal
import time

from tests.emulator import Behavior
from tests.helpers import HANG_GUARD, invoke, start_llamactl

MODEL = "meta-llama/Llama-2-70b-chat-hf"


def wait_until(predicate) -> None:
    deadline = time.monotonic() + HANG_GUARD
    while not predicate():
        assert time.monotonic() < deadline, "the condition never came true"
        time.sleep(0.01)


def inference_requests(emulator) -> int:
    return sum(1 for request in emulator.requests if request.path.startswith("/v1/inference/"))


def test_ctrl_c_before_the_first_token_claims_no_output(emulator, env):
    emulator.behave(Behavior(stall_after=0))
    proc = start_llamactl(env, "infer", "-m", MODEL, "-q", "hi")
    try:
        wait_until(lambda: inference_requests(emulator) == 1)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(HANG_GUARD) == 130
        assert proc.stderr.read() == b"error: interrupted\n"
        assert proc.stdout.read() == b""
    finally:
        emulator.release()
        proc.kill()
        proc.wait()


def test_sigterm_before_the_first_token_says_so_in_one_line(emulator, env):
    emulator.behave(Behavior(stall_after=0))
    proc = start_llamactl(env, "infer", "-m", MODEL, "-q", "hi")
    try:
        wait_until(lambda: inference_requests(emulator) == 1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(HANG_GUARD) == 143
        assert proc.stderr.read() == b"terminated by SIGTERM\n"
    finally:
        emulator.release()
        proc.kill()
        proc.wait()


def test_a_misplaced_global_option_hint_keeps_its_value():
    run = invoke(["infer", "--api-url", "http://127.0.0.1:9", "-m", MODEL, "hi"])
    assert run.exit_code == 2
    assert "as in 'llamactl --api-url http://127.0.0.1:9 infer ...'" in run.stderr


def test_a_misplaced_global_option_hint_names_the_whole_command_path():
    run = invoke(["history", "list", "--api-url=http://127.0.0.1:9"])
    assert run.exit_code == 2
    assert "as in 'llamactl --api-url=http://127.0.0.1:9 history list ...'" in run.stderr
