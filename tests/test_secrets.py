"""The API token never leaks: every byte llamactl writes across a full session of commands
(stdout, stderr, history, caches, config, every file it leaves behind) is scanned, and only
`auth token` and the token file may hold the token."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.emulator import VALID_TOKEN, Behavior
from tests.helpers import invoke, run_llamactl, subprocess_env

MODEL = "meta-llama/Llama-2-70b-chat-hf"
HANG_GUARD = 30  # seconds; only to fail instead of hanging, never a performance threshold

STORAGES = {
    # name: (keyring backend, extra login flags, how each command runs)
    # One session runs every command as a real subprocess (every byte it writes, to its real
    # pipes, until it exits); the other in-process, 20 commands in a second instead of 15 s:
    # what differs between them is where the token is stored, not how output is captured.
    "keyring": ("keyrings.alt.file.PlaintextKeyring", [], run_llamactl),
    "token-file": (
        "keyring.backends.fail.Keyring",
        ["--insecure-storage"],
        lambda args, env, input, timeout: invoke(args, input=input, env=env),
    ),
}

# (emulator behaviour for the next request or None, arguments, stdin)
SESSION = [
    (None, ["auth", "status"], None),
    (None, ["auth", "status", "--json"], None),
    (None, ["--debug", "auth", "status"], None),
    (None, ["infer", "-m", MODEL, "Say hi"], None),
    (None, ["infer", "-m", MODEL, "--no-stream", "--json", "Say hi"], None),
    (None, ["--debug", "infer", "-m", MODEL, "-i", "max_new_tokens=8", "Say hi"], None),
    (None, ["infer", "-m", MODEL, "--dry-run", "Say hi"], None),
    (None, ["infer", "-m", MODEL, "Say hi"], b"piped context\n"),
    (Behavior(status=401), ["--debug", "infer", "-m", MODEL, "Say hi"], None),
    (Behavior(status=500), ["infer", "-m", MODEL, "Say hi"], None),
    (Behavior(cut_after=2), ["--debug", "infer", "-m", MODEL, "Say hi"], None),
    (Behavior(status=401, scope="all"), ["--debug", "auth", "status", "--json"], None),
    (None, ["models", "list"], None),
    (None, ["history", "list"], None),
    (None, ["history", "export"], None),
    (None, ["auth", "set-token", "-"], VALID_TOKEN.encode() + b"\n"),
    (None, ["--debug", "auth", "login", "--with-token"], VALID_TOKEN.encode()),
]


def files_under(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


@pytest.mark.parametrize("storage", STORAGES)
def test_the_token_appears_nowhere_but_auth_token_and_the_token_file(emulator, tmp_path, storage):
    backend, login_flags, run_command = STORAGES[storage]
    home = tmp_path / "llamactl"
    env = subprocess_env(
        LLAMACTL_HOME=str(home),
        HOME=str(tmp_path / "home"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        DEEPINFRA_HOST=emulator.url,
        PYTHON_KEYRING_BACKEND=backend,
    )
    written: list[tuple[str, str]] = []  # (what, text) for every stream of every command

    def run(args: list[str], stdin: bytes | None = None):
        result = run_command(args, env, input=stdin, timeout=HANG_GUARD)
        written.append((f"stdout of {args}", result.stdout))
        written.append((f"stderr of {args}", result.stderr))
        return result

    login = run(["auth", "login", "--with-token", *login_flags], VALID_TOKEN.encode() + b"\n")
    assert login.exit_code == 0, login.stderr
    for behavior, args, stdin in SESSION:
        if behavior:
            emulator.queue(behavior)
        run(args, stdin)

    printed = run_command(["auth", "token"], env, input=None, timeout=HANG_GUARD)
    assert printed.stdout == VALID_TOKEN + "\n"  # the one command that prints it
    authorized = [r for r in emulator.requests if r.headers.get("Authorization") == f"Bearer {VALID_TOKEN}"]
    assert len(authorized) >= 10  # the session really used the token

    token_file = home / "tokens.json"
    files = [path for path in files_under(tmp_path) if path != token_file]
    assert files  # the keyring, history or caches left something behind to scan
    for path in files:
        assert VALID_TOKEN.encode() not in path.read_bytes(), path

    assert run(["auth", "logout"]).exit_code == 0
    for what, text in written:
        assert VALID_TOKEN not in text, what


def test_the_scan_sees_a_token_file(emulator, tmp_path):
    """The token file is the one place the token may be written; make sure it is found there."""
    env = subprocess_env(
        LLAMACTL_HOME=str(tmp_path),
        DEEPINFRA_HOST=emulator.url,
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
    )
    run = run_llamactl(
        ["auth", "login", "--with-token", "--insecure-storage"], env, input=VALID_TOKEN.encode()
    )
    assert run.exit_code == 0, run.stderr
    holding = [path.name for path in files_under(tmp_path) if VALID_TOKEN.encode() in path.read_bytes()]
    assert holding == ["tokens.json"]
