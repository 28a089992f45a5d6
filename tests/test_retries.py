"""Retries: which failures are retried, Retry-After, the notices, and what is never retried."""

from __future__ import annotations

import json
from email.utils import formatdate

import pytest

from llamactl.api.retry import RetryPolicy, parse_retry_after
from tests.emulator import VALID_TOKEN, Behavior
from tests.helpers import invoke

MODEL = "meta-llama/Llama-2-70b-chat-hf"


def inference_count(emulator) -> int:
    return sum(1 for r in emulator.requests if r.path.startswith("/v1/inference/"))


def test_retry_after_seconds_and_http_dates():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(formatdate(1_000_010, usegmt=True), now=1_000_000) == pytest.approx(10, abs=1)
    assert parse_retry_after(formatdate(999_000, usegmt=True), now=1_000_000) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_backoff_grows_and_the_total_wait_is_capped():
    # Jittered delays lie in [0.5, 1], [1, 2], [2, 4]: two always fit a 3 s budget, three never.
    policy = RetryPolicy(retries=10, base_delay=1.0, max_delay=100, max_total_wait=3)
    delays = [policy.delay(attempt, None) for attempt in range(1, 4)]
    assert delays[0] is not None and 0.5 <= delays[0] <= 1.0
    assert delays[1] is not None and 1.0 <= delays[1] <= 2.0
    assert delays[2] is None
    assert policy.waited <= 3


def test_retry_after_is_honoured_unless_it_exceeds_the_budget():
    policy = RetryPolicy(retries=3, max_total_wait=5)
    assert policy.delay(1, 2.0) == 2.0
    assert policy.delay(2, 30.0) is None
    assert RetryPolicy(retries=0).delay(1, 0.0) is None


@pytest.mark.parametrize("status", [429, 503])
def test_statuses_saying_it_did_not_run_are_retried_then_succeed(api, status):
    api.queue(
        Behavior(
            status=status, message="Rate limited" if status == 429 else None, headers={"Retry-After": "0"}
        )
    )
    api.behave(Behavior(tokens=["fine"]))
    run = invoke(["infer", "-m", MODEL, "hi"])
    assert run.exit_code == 0, run.stderr
    assert run.stdout == "fine\n"
    assert inference_count(api) == 2
    assert f"retrying in 0.0 s after {status}" in run.stderr
    assert "(attempt 2 of 3)" in run.stderr


@pytest.mark.parametrize("status", [502, 504])
def test_a_gateway_error_to_an_inference_is_not_sent_again(api, status):
    """The gateway may have passed the request on: it may have run, and been billed."""
    api.behave(Behavior(status=status, headers={"Retry-After": "0"}))
    run = invoke(["infer", "-m", MODEL, "hi"])
    assert run.exit_code == 5
    assert inference_count(api) == 1
    assert "retrying" not in run.stderr
    assert "hint: not sent again: the server had the request and may have run it" in run.stderr


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_a_get_is_retried_after_any_transient_status(api, status):
    api.queue(Behavior(status=status, headers={"Retry-After": "0"}, scope="all"))
    run = invoke(["models", "list", "--json"])
    assert run.exit_code == 0, run.stderr
    assert [r.path for r in api.requests[:2]] == ["/models/list", "/models/list"]


@pytest.mark.parametrize("fault", ["reset_connection", "close_connection"])
def test_an_inference_the_server_read_and_dropped_is_not_sent_again(api, fault):
    api.queue(Behavior(**{fault: True}))
    api.behave(Behavior(tokens=["again"]))
    run = invoke(["infer", "-m", MODEL, "hi"])
    assert run.exit_code == 5, run.stderr
    host = api.url.split("//", 1)[1]
    assert run.stderr.splitlines() == [
        f"error: no answer from {host}: the connection was closed before a complete response",
        "hint: not sent again: the server had the request and may have run it (and billed it); "
        "run it again yourself if you need the answer",
    ]
    assert inference_count(api) == 1
    listed = invoke(["history", "list", "--json"])
    assert [row["status"] for row in json.loads(listed.stdout)] == ["error"]


@pytest.mark.parametrize("fault", ["reset_connection", "close_connection"])
def test_a_get_the_server_dropped_is_sent_again(api, fault):
    api.queue(Behavior(scope="all", **{fault: True}))
    run = invoke(["models", "list", "--json"])
    assert run.exit_code == 0, run.stderr
    assert [r.path for r in api.requests[:2]] == ["/models/list", "/models/list"]


def test_retries_are_silent_with_quiet(api):
    api.queue(Behavior(status=503, headers={"Retry-After": "0"}))
    run = invoke(["infer", "-m", MODEL, "-q", "hi"])
    assert run.exit_code == 0
    assert run.stderr == ""


def test_exhausted_retries_say_how_many_attempts(api):
    api.behave(Behavior(status=429, message="Rate limited", headers={"Retry-After": "0"}))
    run = invoke(["infer", "-m", MODEL, "--retries", "1", "hi"])
    assert run.exit_code == 5
    assert inference_count(api) == 2
    assert "gave up after 2 attempts" in run.stderr


@pytest.mark.parametrize("status", [400, 401, 404, 422, 500])
def test_other_statuses_are_not_retried(api, status):
    api.behave(Behavior(status=status, headers={"Retry-After": "0"}))
    run = invoke(["infer", "-m", MODEL, "hi"])
    assert run.exit_code != 0
    assert inference_count(api) == 1
    assert "retrying" not in run.stderr


def test_retries_zero_disables_them(api):
    api.behave(Behavior(status=503, headers={"Retry-After": "0"}))
    run = invoke(["infer", "-m", MODEL, "--retries", "0", "hi"])
    assert run.exit_code == 5
    assert inference_count(api) == 1


def test_a_retry_after_beyond_the_budget_gives_up_at_once(api):
    api.behave(Behavior(status=429, headers={"Retry-After": "3600"}))
    run = invoke(["infer", "-m", MODEL, "hi"])
    assert run.exit_code == 5
    assert inference_count(api) == 1


def test_a_stream_that_delivered_tokens_is_never_retried(api):
    api.behave(Behavior(tokens=["one", " two"], cut_after=1))
    run = invoke(["infer", "-m", MODEL, "hi"])
    assert run.exit_code == 5
    assert run.stdout == "one\n"
    assert inference_count(api) == 1


def test_an_unknown_host_is_not_retried(monkeypatch):
    monkeypatch.setenv("DEEPINFRA_TOKEN", VALID_TOKEN)
    run = invoke(["--api-url", "http://no-such-host.invalid", "--allow-insecure", "infer", "-m", MODEL, "hi"])
    assert run.exit_code == 5
    assert "host name not found" in run.stderr
    assert "retrying" not in run.stderr and "gave up" not in run.stderr


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(None, 0.5), ("0.01", 0.01), ("0", 0.0), ("x", 0.5), ("-1", 0.5), ("nan", 0.5), ("9", 0.5)],
)
def test_the_backoff_base_is_half_a_second_unless_the_test_knob_lowers_it(monkeypatch, value, seconds):
    monkeypatch.delenv("LLAMACTL_RETRY_DELAY")  # conftest lowers it for every in-process run
    if value is not None:
        monkeypatch.setenv("LLAMACTL_RETRY_DELAY", value)
    assert RetryPolicy().base_delay == seconds
