"""The plain-http rule: the token goes over plain http only to loopback, judged by the
literal address (or exactly `localhost`), and by the proxy the request really goes through."""

from __future__ import annotations

import pytest

from llamactl.env import is_loopback_host
from tests.helpers import invoke

MODEL = "meta-llama/Llama-2-70b-chat-hf"
REMOTE_PROXY = "http://proxy.elsewhere.invalid:3128"


@pytest.mark.parametrize(
    "host, loopback",
    [
        ("127.0.0.1", True),
        ("127.45.6.7", True),
        ("::1", True),
        ("[::1]", True),
        ("::ffff:127.0.0.1", True),
        ("localhost", True),
        ("LOCALHOST", True),
        ("127.0.0.1.attacker.example", False),
        ("127.attacker.example", False),
        ("localhost.attacker.example", False),
        ("evil.localhost", False),
        ("0.0.0.0", False),
        ("10.0.0.1", False),
        ("::", False),
        ("", False),
        (None, False),
    ],
)
def test_loopback_is_decided_by_the_literal_address(host, loopback):
    assert is_loopback_host(host) is loopback


def test_a_name_that_starts_like_a_loopback_address_gets_no_token(api):
    port = api.url.rsplit(":", 1)[1]
    run = invoke(["--api-url", f"http://127.0.0.1.attacker.example:{port}", "infer", "-m", MODEL, "hi"])
    assert run.exit_code == 2, run.stderr
    assert run.stderr.startswith(
        f"error: refusing to send the API token over plain http to 127.0.0.1.attacker.example:{port}"
    )
    assert api.requests == []


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
def test_a_plain_http_request_through_a_remote_proxy_gets_no_token(api, monkeypatch, variable):
    monkeypatch.setenv(variable, "http://user:secret@proxy.elsewhere.invalid:3128")
    run = invoke(["infer", "-m", MODEL, "hi"])
    assert run.exit_code == 2, run.stderr
    assert run.stderr.splitlines() == [
        "error: refusing to send the API token over plain http through the proxy proxy.elsewhere.invalid:3128",
        "hint: set NO_PROXY=127.0.0.1 for a local API, or pass --allow-insecure if you really mean it",
    ]
    assert api.requests == []


def test_no_proxy_takes_a_local_api_past_a_remote_proxy(api, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", REMOTE_PROXY)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    run = invoke(["infer", "-m", MODEL, "hi"])
    assert run.exit_code == 0, run.stderr
    assert len(api.requests) >= 1


@pytest.mark.parametrize(
    "variable, args",
    [
        ("HTTPS_PROXY", ["--api-url", "https://127.0.0.1:9"]),  # a tunnel: the proxy sees no token
        ("HTTP_PROXY", ["--allow-insecure"]),
    ],
)
def test_a_remote_proxy_is_used_for_https_or_with_allow_insecure(api, monkeypatch, variable, args):
    monkeypatch.setenv(variable, REMOTE_PROXY)
    run = invoke([*args, "infer", "-m", MODEL, "--retries", "0", "--no-history", "hi"])
    assert run.exit_code == 5, run.stderr
    assert "could not reach the proxy" in run.stderr
