"""Network failures are told apart by their exception types, never by their text: each one
is produced for real on loopback, and what the user reads and whether llamactl tried again
follow from its cause."""

from __future__ import annotations

import socket

import pytest
import requests

from llamactl.api import client as client_module
from llamactl.api.client import ApiClient
from llamactl.api.network_errors import classify_network_error, exception_chain
from llamactl.api.retry import RetryPolicy
from llamactl.env import Environment
from llamactl.errors import RequestFailed
from tests.emulator import VALID_TOKEN, Behavior
from tests.helpers import invoke

MODEL = "meta-llama/Llama-2-70b-chat-hf"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def inference_count(emulator) -> int:
    return sum(1 for r in emulator.requests if r.path.startswith("/v1/inference/"))


def retry_notices(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("retrying in ")]


def error_line(stderr: str) -> str:
    return next(line for line in stderr.splitlines() if line.startswith("error: "))


def infer_at(url: str, monkeypatch, *args: str):
    monkeypatch.setenv("DEEPINFRA_TOKEN", VALID_TOKEN)
    monkeypatch.setenv("DEEPINFRA_HOST", url)
    return invoke(["infer", "-m", MODEL, "--no-history", *args, "hi"])


def test_a_refused_connection_is_retried(monkeypatch):
    port = closed_port()
    run = infer_at(f"http://127.0.0.1:{port}", monkeypatch, "--retries", "1")
    assert run.exit_code == 5
    assert (
        error_line(run.stderr)
        == f"error: could not reach 127.0.0.1:{port}: connection refused (gave up after 2 attempts)"
    )
    assert len(retry_notices(run.stderr)) == 1 and "after connection refused" in run.stderr


def test_a_host_name_that_does_not_exist_is_not_retried(monkeypatch):
    run = infer_at("https://nonexistent.invalid", monkeypatch, "--retries", "2")
    assert run.exit_code == 5
    assert error_line(run.stderr) == "error: could not reach nonexistent.invalid: host name not found"
    assert retry_notices(run.stderr) == []


def test_a_connection_reset_before_any_answer_is_retried_for_a_get(api):
    api.behave(Behavior(reset_connection=True, scope="all"))
    client = ApiClient(Environment(api_url=api.url), None, retry=RetryPolicy(retries=1, base_delay=0.01))
    with pytest.raises(RequestFailed) as failed:
        client.get_json("/models/list")
    host = api.url.split("//", 1)[1]
    assert failed.value.message == (
        f"no answer from {host}: the connection was closed before a complete response (gave up after 2 attempts)"
    )
    assert len(api.requests) == 2


def test_a_tls_handshake_with_a_plain_http_server_is_not_retried(api, monkeypatch):
    host = api.url.split("//", 1)[1]
    run = infer_at(f"https://{host}", monkeypatch, "--retries", "2")
    assert run.exit_code == 5
    assert (
        error_line(run.stderr)
        == f"error: could not reach {host}: the TLS handshake failed (is it an https server?)"
    )
    assert retry_notices(run.stderr) == [] and inference_count(api) == 0


def test_an_unreachable_proxy_is_named_and_retried(api, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port()}")
    run = infer_at(api.url, monkeypatch, "--retries", "1")
    assert run.exit_code == 5
    host = api.url.split("//", 1)[1]
    assert error_line(run.stderr) == (
        f"error: could not reach the proxy for {host}: connection refused (gave up after 2 attempts)"
    )
    assert "hint: check HTTPS_PROXY / HTTP_PROXY / NO_PROXY" in run.stderr
    assert inference_count(api) == 0


@pytest.fixture
def unanswered_port():
    """A listener whose accept queue is full and never drained: the next connection's SYN
    gets no answer, so connecting times out (Linux drops SYNs past the backlog)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        port = server.getsockname()[1]
        fillers = []
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        try:
            yield port
        finally:
            for filler in fillers:
                filler.close()


def test_a_connect_timeout_is_retried(unanswered_port, monkeypatch):
    monkeypatch.setattr(client_module, "CONNECT_TIMEOUT", 0.2)
    notices: list[str] = []
    client = ApiClient(
        Environment(api_url=f"http://127.0.0.1:{unanswered_port}"),
        None,
        retry=RetryPolicy(retries=1, base_delay=0.01),
        notify=notices.append,
    )
    with pytest.raises(RequestFailed) as failed:
        client.get_json("/models/list")
    assert failed.value.message == (
        f"could not reach 127.0.0.1:{unanswered_port}: timed out while connecting (gave up after 2 attempts)"
    )
    assert len(notices) == 1 and "after timed out while connecting" in notices[0]


def test_the_words_in_a_message_decide_nothing():
    """An exception whose text says SSL, refused and unknown host, with no cause behind it."""
    misleading = requests.exceptions.ConnectionError(
        "SSL: Connection refused: Name or service not known, timed out"
    )
    assert classify_network_error(misleading).words == "network error"
    assert classify_network_error(misleading).retryable


def test_the_chain_is_walked_through_causes_contexts_reasons_and_args():
    root = ConnectionRefusedError(111, "refused")
    reason = OSError("wrapper")
    reason.__cause__ = root
    holder = requests.exceptions.ConnectionError(reason)
    assert list(exception_chain(holder)) == [holder, reason, root]
    assert classify_network_error(holder).words == "connection refused"
    assert classify_network_error(socket.gaierror(socket.EAI_AGAIN, "try again")).retryable
    assert not classify_network_error(socket.gaierror(socket.EAI_NONAME, "no such host")).retryable
