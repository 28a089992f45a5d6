"""HTTP_PROXY / HTTPS_PROXY / NO_PROXY through a real proxy process, streaming intact."""

from __future__ import annotations

import threading

import pytest

from tests.emulator import Behavior
from tests.helpers import HANG_GUARD, read_exactly, run_llamactl, start_llamactl
from tests.proxy import ForwardingProxy

MODEL = "meta-llama/Llama-2-70b-chat-hf"


@pytest.fixture
def proxy():
    with ForwardingProxy() as proxy:
        yield proxy


def test_requests_go_through_http_proxy(emulator, env, proxy):
    emulator.behave(Behavior(tokens=["via", " proxy"]))
    run = run_llamactl(["infer", "-m", MODEL, "hi"], {**env, "HTTP_PROXY": proxy.url})
    assert run.exit_code == 0, run.stderr
    assert run.stdout == "via proxy\n"
    assert [request for request in proxy.requests if "/v1/inference/" in request] == [
        f"POST {emulator.url}/v1/inference/{MODEL}"
    ]
    assert (
        f"GET {emulator.url}/models/list" in proxy.requests
    )  # fetched for the price, through the same proxy


def test_no_proxy_bypasses_it(emulator, env, proxy):
    run = run_llamactl(
        ["infer", "-m", MODEL, "hi"], {**env, "HTTP_PROXY": proxy.url, "NO_PROXY": "127.0.0.1"}
    )
    assert run.exit_code == 0, run.stderr
    assert proxy.requests == []
    assert len([r for r in emulator.requests if r.path.startswith("/v1/inference/")]) == 1


def test_streaming_arrives_token_by_token_through_the_proxy(emulator, env, proxy):
    gate = threading.Event()
    tokens = ["one", " two", " three"]
    emulator.behave(Behavior(tokens=tokens, gate=gate))
    proc = start_llamactl({**env, "HTTP_PROXY": proxy.url}, "infer", "-m", MODEL, "-q", "hi")
    try:
        for index, token in enumerate(tokens):
            assert read_exactly(proc.stdout.fileno(), len(token)) == token.encode()
            assert emulator.wait_written(index + 1, HANG_GUARD)
            assert emulator.tokens_written == index + 1
            gate.set()
        assert proc.wait(HANG_GUARD) == 0
    finally:
        gate.set()
        proc.kill()
        proc.wait()
    assert len([request for request in proxy.requests if "/v1/inference/" in request]) == 1


def test_an_unreachable_proxy_is_exit_5(emulator, env):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    run = run_llamactl(["infer", "-m", MODEL, "--retries", "0", "hi"], {**env, "HTTP_PROXY": dead})
    assert run.exit_code == 5
    assert "proxy" in run.stderr
