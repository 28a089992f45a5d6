"""Redirects: never followed for an inference (the prompt, and the token, would go where the
answer pointed), followed for a catalogue GET only within the same origin, and each hop
shown by --debug."""

from __future__ import annotations

import json

import pytest

from tests.emulator import Behavior, Emulator
from tests.helpers import invoke

MODEL = "meta-llama/Llama-2-70b-chat-hf"
REDIRECTS = [301, 302, 303, 307, 308]


@pytest.fixture
def elsewhere():
    """Another API, on another port: another origin."""
    with Emulator() as other:
        yield other


@pytest.mark.parametrize("status", REDIRECTS)
def test_an_inference_redirect_is_an_error_naming_where_it_pointed(api, elsewhere, status):
    target = f"{elsewhere.url}/v1/inference/{MODEL}"
    api.behave(Behavior(status=status, headers={"Location": target}))
    run = invoke(["--debug", "infer", "-m", MODEL, "hi"])
    assert run.exit_code == 5, run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith(("error:", "hint:"))]
    assert errors[0].startswith(f"error: the API answered HTTP {status} ")
    assert errors[0].endswith(
        f", redirecting to {target}: llamactl does not follow redirects for an inference "
        "(the prompt would go there)"
    )
    assert errors[1] == "hint: if that is where the API now lives, use it as --api-url (or DEEPINFRA_HOST)"
    assert f"debug: < Location: {target}" in run.stderr  # --debug shows the hop
    assert elsewhere.requests == []
    assert len([r for r in api.requests if r.method == "POST"]) == 1
    rows = json.loads(invoke(["history", "list", "--json"]).stdout)
    assert [row["status"] for row in rows] == ["error"]


def test_a_same_origin_redirect_of_an_inference_is_not_followed_either(api):
    api.queue(Behavior(status=302, headers={"Location": "/v1/inference/other/model"}))
    run = invoke(["infer", "-m", MODEL, "hi"])
    assert run.exit_code == 5
    assert f"redirecting to {api.url}/v1/inference/other/model" in run.stderr
    assert [(r.method, r.path) for r in api.requests if "/v1/inference/" in r.path] == [
        ("POST", f"/v1/inference/{MODEL}")
    ]


@pytest.mark.parametrize("status", REDIRECTS)
def test_a_catalogue_get_follows_a_redirect_within_the_same_origin(api, status):
    api.queue(Behavior(status=status, headers={"Location": "/models/list?moved=1"}, scope="all"))
    run = invoke(["--debug", "models", "list", "--json"])
    assert run.exit_code == 0, run.stderr
    assert json.loads(run.stdout)
    assert [r.target for r in api.requests[:2]] == ["/models/list", "/models/list?moved=1"]
    assert f"debug: > following the redirect to {api.url}/models/list?moved=1" in run.stderr


def test_a_catalogue_get_never_follows_a_redirect_to_another_origin(api, elsewhere):
    api.behave(Behavior(status=302, headers={"Location": f"{elsewhere.url}/models/list"}, scope="all"))
    run = invoke(["models", "list"])
    assert run.exit_code == 5
    assert (
        f"redirecting to {elsewhere.url}/models/list: llamactl follows redirects only within the same host"
        in (run.stderr)
    )
    assert elsewhere.requests == []


def test_a_redirect_loop_ends(api):
    api.behave(Behavior(status=302, headers={"Location": "/models/list"}, scope="all"))
    run = invoke(["models", "list"])
    assert run.exit_code == 5
    assert "llamactl follows at most 5 redirects" in run.stderr
    assert len([r for r in api.requests if r.path == "/models/list"]) == 6


def test_a_redirect_location_never_shows_a_password(api):
    api.behave(Behavior(status=307, headers={"Location": "http://me:hunter2@elsewhere.invalid/x"}))
    run = invoke(["infer", "-m", MODEL, "hi"])
    assert run.exit_code == 5
    assert "redirecting to http://***@elsewhere.invalid/x" in run.stderr
    assert "hunter2" not in run.stderr
