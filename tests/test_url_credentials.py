"""Credentials beside the token: an API URL with `user:password@` is refused before anything
is sent, shown or stored, and nothing (a URL, ~/.netrc) replaces the Bearer token."""

from __future__ import annotations

import json

import pytest

from tests.emulator import VALID_TOKEN
from tests.helpers import invoke, run_llamactl

MODEL = "meta-llama/Llama-2-70b-chat-hf"
PASSWORD = "hunter2-url-password"


def with_credentials(url: str) -> str:
    return url.replace("http://", f"http://someone:{PASSWORD}@")


@pytest.mark.parametrize("where", ["--api-url", "DEEPINFRA_HOST", "DEEPINFRA_BASE_URL"])
def test_an_api_url_with_a_password_is_refused_and_never_shown(emulator, env, where):
    url = with_credentials(emulator.url)
    env = {**env, "DEEPINFRA_HOST": url} if where == "DEEPINFRA_HOST" else dict(env)
    if where == "DEEPINFRA_BASE_URL":
        env.pop("DEEPINFRA_HOST")
        env["DEEPINFRA_BASE_URL"] = url
    flag = ["--api-url", url] if where == "--api-url" else []
    run = run_llamactl([*flag, "--debug", "infer", "-m", MODEL, "hi"], env)
    assert run.exit_code == 2, run.stderr
    host = emulator.url.split("//", 1)[1]
    assert run.stderr.splitlines() == [
        f"error: the API URL http://***@{host} has a user name or password in it: "
        "llamactl authenticates with the API token alone",
        f"hint: use http://{host} (--api-url, DEEPINFRA_HOST or DEEPINFRA_BASE_URL)",
    ]
    assert emulator.requests == []
    listed = run_llamactl(["history", "list", "--json"], {**env, "DEEPINFRA_HOST": emulator.url})
    assert listed.exit_code == 0 and json.loads(listed.stdout) == []


def test_a_netrc_entry_never_replaces_the_bearer_token(api, tmp_path, monkeypatch):
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1 login someone password {PASSWORD}\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    assert invoke(["infer", "-m", MODEL, "hi"]).exit_code == 0
    assert [r.headers.get("Authorization") for r in api.requests if r.method == "POST"] == [
        f"Bearer {VALID_TOKEN}"
    ]
    monkeypatch.delenv("DEEPINFRA_TOKEN")
    assert invoke(["models", "list"]).exit_code == 0
    assert api.requests[-1].headers.get("Authorization") is None  # no token: no credentials at all
