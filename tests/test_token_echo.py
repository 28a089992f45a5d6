"""A server that echoes the Authorization header back (gateways and WAFs do) in an error
body, a stream error event or a reason phrase: the token is hidden wherever the message is
shown or stored, whatever the token's source (environment, keyring, token file, or just
typed at `auth login`)."""

from __future__ import annotations

import json
import re
import socket
import threading
from pathlib import Path

import pytest

from tests.emulator import VALID_TOKEN, Behavior
from tests.helpers import invoke, run_llamactl, subprocess_env
from tests.proxy import read_request_head

MODEL = "meta-llama/Llama-2-70b-chat-hf"
HANG_GUARD = 30  # seconds; only to fail instead of hanging, never a performance threshold
ECHOED = "Bearer ***"  # what an echo looks like once hidden: proof that the echo was there

SOURCES = {
    # name: (keyring backend, how the token gets there)
    "env": ("keyring.backends.null.Keyring", None),
    "keyring": ("keyrings.alt.file.PlaintextKeyring", []),
    "token-file": ("keyring.backends.fail.Keyring", ["--insecure-storage"]),
}


def echo(**kwargs) -> Behavior:
    return Behavior(echo_authorization=True, **kwargs)


# (what it shows, emulator behaviour, arguments, stdin, the exit code)
CASES = [
    ("final error and traceback", echo(status=400), ["--debug", "infer", "-m", MODEL, "hi"], None, 4),
    (
        "retry notices",
        echo(status=503, headers={"Retry-After": "0"}),
        ["infer", "-m", MODEL, "--retries", "1", "hi"],
        None,
        5,
    ),
    (
        "stream error event",
        echo(tokens=["one", " two"], error_after=1),
        ["--debug", "infer", "-m", MODEL, "hi"],
        None,
        5,
    ),
    (
        "stream error event as NDJSON",
        echo(tokens=["one", " two"], error_after=1),
        ["infer", "-m", MODEL, "--json", "--stream", "hi"],
        None,
        5,
    ),
    (
        "reason phrase",
        echo(status=503, body_shape="empty"),
        ["--debug", "infer", "-m", MODEL, "--retries", "0", "hi"],
        None,
        5,
    ),
    (
        "auth status --json",
        echo(status=401, scope="all"),
        ["--debug", "auth", "status", "--json"],
        None,
        3,
    ),
    (
        "batch warnings and --output",
        echo(status=400),
        ["infer", "-m", MODEL, "--batch", "-", "--output", "{tmp}/out.jsonl"],
        b'"first"\n"second"\n',
        4,
    ),
]


def session_env(emulator, tmp_path: Path, source: str) -> dict[str, str]:
    backend, login_flags = SOURCES[source]
    env = subprocess_env(
        LLAMACTL_HOME=str(tmp_path / "home"),
        HOME=str(tmp_path / "user"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        DEEPINFRA_HOST=emulator.url,
        PYTHON_KEYRING_BACKEND=backend,
    )
    if login_flags is None:
        env["DEEPINFRA_TOKEN"] = VALID_TOKEN
    else:
        # in-process: storing the token is set-up here; the run under test is a subprocess
        login = invoke(["auth", "login", "--with-token", *login_flags], input=VALID_TOKEN.encode(), env=env)
        assert login.exit_code == 0, login.stderr
    return env


def left_behind(root: Path, token: str) -> list[Path]:
    """Files under `root` holding `token`, but the token file and the keyring's own file."""
    keepers = {"tokens.json", "keyring_pass.cfg"}  # where `auth login` keeps it
    return [
        path
        for path in root.rglob("*")
        if path.is_file() and path.name not in keepers and token.encode() in path.read_bytes()
    ]


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_an_echoed_token_is_hidden_where_it_is_shown_and_stored(emulator, tmp_path, source, case):
    _, behavior, args, stdin, exit_code = case
    env = session_env(emulator, tmp_path, source)
    emulator.behave(behavior)
    run = run_llamactl([arg.replace("{tmp}", str(tmp_path)) for arg in args], env, stdin, HANG_GUARD)
    assert run.exit_code == exit_code, run.stderr
    assert any(f"Bearer {VALID_TOKEN}" in r.headers.get("Authorization", "") for r in emulator.requests)
    assert ECHOED in run.stdout + run.stderr  # the server's echo reached the message, hidden
    assert VALID_TOKEN not in run.stdout + run.stderr
    emulator.reset()

    shown = invoke(["history", "show", "1", "--json"], env=env)  # in-process: reads what is stored
    exported = invoke(["history", "export"], env=env)
    assert VALID_TOKEN not in shown.stdout + exported.stdout + shown.stderr + exported.stderr
    if "infer" in args:
        records = [json.loads(line) for line in exported.stdout.splitlines()]
        assert records and all(ECHOED in record["error"] for record in records), exported.stdout
    if "--output" in args:
        records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
        assert len(records) == 2 and all(ECHOED in record["error"] for record in records)
    assert left_behind(tmp_path, VALID_TOKEN) == []


PASTED = "pasted-but-wrong-token-5e6f7a8b9c"


@pytest.mark.parametrize("storage", ["keyring", "token-file"])
def test_a_just_typed_token_that_is_rejected_and_echoed_is_hidden(emulator, tmp_path, storage):
    backend, login_flags = SOURCES[storage]
    env = subprocess_env(
        LLAMACTL_HOME=str(tmp_path / "home"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        DEEPINFRA_HOST=emulator.url,
        PYTHON_KEYRING_BACKEND=backend,
    )
    emulator.behave(echo(scope="all"))
    run = run_llamactl(
        ["--debug", "auth", "login", "--with-token", *login_flags], env, PASTED.encode(), HANG_GUARD
    )
    assert run.exit_code == 3, run.stderr
    assert "nothing was stored" in run.stderr and ECHOED in run.stderr
    assert PASTED not in run.stdout + run.stderr
    assert left_behind(tmp_path, PASTED) == []


@pytest.fixture
def echoing_status_line():
    """A hostile server whose status line is the request's Authorization header: http.client
    rejects it (BadStatusLine, quoting it), so the token sits in an exception of requests',
    not in any message of llamactl's."""

    def answer(client: socket.socket) -> None:
        with client:
            head = read_request_head(client)
            if head is None:
                return
            auth = re.search(rb"(?im)^authorization: (.*?)\r$", head)
            client.sendall(b"HTTP/1.1 " + (auth.group(1) if auth else b"none") + b"\r\n\r\n")

    with socket.create_server(("127.0.0.1", 0)) as server:

        def serve() -> None:
            while True:
                try:
                    client, _ = server.accept()
                except OSError:
                    return
                threading.Thread(target=answer, args=(client,), daemon=True).start()

        threading.Thread(target=serve, daemon=True).start()
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


def test_a_token_quoted_inside_a_library_exception_is_hidden_in_the_traceback(tmp_path, echoing_status_line):
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    host = echoing_status_line.split("//", 1)[1]
    (home / "tokens.json").write_text(json.dumps({host: VALID_TOKEN}))
    (home / "tokens.json").chmod(0o600)
    env = subprocess_env(LLAMACTL_HOME=str(home), DEEPINFRA_HOST=echoing_status_line)
    run = run_llamactl(["--debug", "infer", "-m", MODEL, "--retries", "0", "hi"], env, timeout=HANG_GUARD)
    assert run.exit_code == 5, run.stderr
    assert "BadStatusLine" in run.stderr and ECHOED in run.stderr  # the traceback quotes the echo
    assert VALID_TOKEN not in run.stdout + run.stderr
