"""Hostile input and a hostile machine (#14.3, 14.6, 14.16, 14.18, 14.20): what a user, a
script or another local user can hand llamactl, each met with one line and its exit code,
never a crash recorded as `ok`. The fault table (test_faults.py) runs the cases one row
can show; these are the others."""

from __future__ import annotations

import json
import os
import stat
import subprocess

import pytest

from llamactl.api.retry import parse_retry_after
from llamactl.env import Environment
from llamactl.history.store import HistoryStore, history_path
from tests.emulator import VALID_TOKEN, Behavior
from tests.helpers import HANG_GUARD, REPO, invoke, llamactl_command, run_llamactl
from tests.test_faults import DEEP_JSON_TEXT as DEEP_JSON
from tests.test_faults import NOBODY

MODEL = "meta-llama/Llama-2-70b-chat-hf"
NOT_UTF8 = "caf\udce9"  # `caf\xe9` (Latin-1) as Python hands it over from the command line


def one_error(stderr: str) -> str:
    lines = stderr.splitlines()
    assert "Traceback" not in stderr and lines and lines[0].startswith("error: ") and len(lines) <= 2, stderr
    return lines[0]


# a crash is never `ok`


class CrashingView:
    """A view with a bug: what reaches run_inference is an exception that is not llamactl's."""

    def on_event(self, event) -> None:
        raise ZeroDivisionError("a bug in a view")

    def flush(self) -> None:
        pass

    def on_response(self, data, texts) -> None:
        raise ZeroDivisionError("a bug in a view")


@pytest.mark.parametrize("streamed", [True, False], ids=["stream", "json"])
def test_a_request_that_crashed_is_recorded_as_an_error_never_ok(api, streamed):
    from llamactl.api.client import ApiClient
    from llamactl.api.request import InferenceRequest, InferenceTarget
    from llamactl.auth.credentials import ResolvedToken
    from llamactl.inference.run import run_inference

    client = ApiClient(
        Environment(api_url=api.url), ResolvedToken(VALID_TOKEN, "env:DEEPINFRA_TOKEN"), timeout=10
    )
    request = InferenceRequest(InferenceTarget(model=MODEL), {"input": "hi", "stream": streamed})
    recorded = []
    with pytest.raises(ZeroDivisionError):
        run_inference(client, request, CrashingView(), record=recorded.append)
    (outcome,) = recorded
    assert outcome.status == "error"
    assert outcome.error == "internal error: ZeroDivisionError: a bug in a view"


def test_a_crash_that_was_refused_leaves_no_ok_row(env, emulator):
    """`--timeout nan` once reached the request (and history said `ok`); now it never starts."""
    run = run_llamactl(["infer", "-m", MODEL, "--timeout", "nan", "hi"], env)
    assert run.exit_code == 2 and "nan" in one_error(run.stderr)
    listed = run_llamactl(["history", "list", "--json"], env)
    assert json.loads(listed.stdout) == []


# JSON a user gives


def test_one_deeply_nested_batch_line_is_invalid_and_the_others_run(api):
    lines = f'"first"\n{DEEP_JSON}\n{{"input": "x", "top_k": 1e999}}\n"last"\n'
    run = invoke(["infer", "-m", MODEL, "--batch", "-"], input=lines)
    records = [json.loads(line) for line in run.stdout.splitlines()]
    assert [record["status"] for record in records] == ["ok", "invalid", "invalid", "ok"]
    assert "line 2: not usable as JSON (it is nested too deeply)" in run.stderr
    assert "line 3: not usable as JSON ('1e999' is too large for a JSON number)" in run.stderr
    assert run.exit_code != 0 and "Traceback" not in run.stderr


@pytest.mark.parametrize("value", ["temperature=1e999", "top_k=1e999", "foo=[1e999]", 'foo={"a": -1e400}'])
def test_a_number_too_large_for_json_never_reaches_the_body_or_the_curl_line(api, value):
    run = invoke(["infer", "-m", MODEL, "--dry-run", "-i", value, "hi"])
    assert run.exit_code == 2, run.stdout
    assert "Infinity" not in run.stdout + run.stderr
    assert one_error(run.stderr).startswith(f"error: -i {value.split('=')[0]}: ")


# what a server says


@pytest.mark.parametrize(
    "header",
    [
        "²",
        "١٢",
        "9" * 5000,
        "-1",
        "1.5",
        "Fri, 31 Dec 99999 23:59:59 GMT",
        "Thu, 01 Jan 1970 00:00:00 +9999",
        "\x00",
    ],
)
def test_an_odd_retry_after_is_a_wait_or_none_never_a_crash(header):
    wait = parse_retry_after(header)
    assert wait is None or 0 <= wait < float("inf")


def test_a_long_retry_after_is_capped_not_an_overflow():
    assert parse_retry_after("9" * 5000) == 10**12  # past any total wait, so retrying stops
    assert parse_retry_after("0" * 30 + "5") == 5


@pytest.mark.parametrize("cost", [float("nan"), float("inf"), -1000.0])
def test_a_cost_that_cannot_be_one_never_defeats_max_cost(env, emulator, cost):
    """The API's cost is unknown then, so the model's pricing estimates it."""
    assert run_llamactl(["models", "list"], env).exit_code == 0  # its pricing, cached
    emulator.behave(Behavior(cost=cost))
    lines = b"".join(b'"line %d"\n' % number for number in range(10))
    run = run_llamactl(
        ["infer", "-m", MODEL, "--batch", "-", "--concurrency", "1", "--max-cost", "0.000001"],
        env,
        input=lines,
    )
    sent = [request for request in emulator.requests if request.path.startswith("/v1/inference/")]
    assert run.exit_code == 5 and "--max-cost $0.000001 reached" in run.stderr, run.stderr
    assert len(sent) == 1
    assert "$nan" not in run.stderr and "$-" not in run.stderr and "$inf" not in run.stderr


# what the command line carries


@pytest.mark.parametrize(
    "args, named, position",
    [
        (["infer", "-m", MODEL, "-i", f"input={NOT_UTF8}"], "-i input", 3),
        (["infer", "-m", MODEL, "-i", f"foo={NOT_UTF8}", "hi"], "-i foo", 3),
        (["infer", "-m", MODEL, "-i", f'foo=["a", {{"b": "{NOT_UTF8}"}}]', "hi"], "-i foo", 3),
        (["infer", "-m", f"meta-llama/{NOT_UTF8}", "hi"], "-m/--model", 14),
        (["infer", "-m", MODEL, "--system", NOT_UTF8, "hi"], "--system", 3),
        (["infer", "-m", MODEL, NOT_UTF8], "PROMPT", 3),
        (["history", "search", NOT_UTF8], "TEXT", 3),
        (["history", "list", "--model", NOT_UTF8], "--model", 3),
    ],
)
def test_bytes_that_are_not_utf8_are_a_usage_error_naming_the_argument(api, args, named, position):
    run = invoke(args)
    assert run.exit_code == 2
    assert one_error(run.stderr) == f"error: {named}: not UTF-8 text (byte 0xe9 at position {position})"


@pytest.mark.parametrize(
    "args",
    [
        ["show", "18446744073709551616"],
        ["rm", "18446744073709551616"],
        ["rerun", "--", "-99999999999999999999"],
    ],
)
def test_ids_beyond_64_bits_are_not_found(api, args):
    run = invoke(["history", *args])
    assert run.exit_code == 2 and "in history" in one_error(run.stderr)


def test_a_keyring_timeout_beyond_any_wait_is_a_usage_error(api, monkeypatch):
    monkeypatch.delenv("DEEPINFRA_TOKEN")
    for value in ("1e300", "nan", "inf"):
        monkeypatch.setenv("LLAMACTL_KEYRING_TIMEOUT", value)
        run = invoke(["infer", "-m", MODEL, "hi"])
        assert run.exit_code == 2 and "LLAMACTL_KEYRING_TIMEOUT" in one_error(run.stderr)


def test_an_at_file_on_a_terminal_is_refused_like_at_dash(emulator, env):
    pexpect = pytest.importorskip("pexpect")
    child = pexpect.spawn(
        llamactl_command()[0],
        llamactl_command("infer", "-m", MODEL, "-i", "input=@/dev/stdin")[1:],
        env=env,
        cwd=str(REPO),
        encoding="utf-8",
        timeout=HANG_GUARD,
    )
    child.expect(pexpect.EOF)  # without the guard it waits for the terminal, and this times out
    child.close()
    assert child.exitstatus == 2
    assert "error: @/dev/stdin is a terminal" in child.before
    assert not any(request.path.startswith("/v1/inference/") for request in emulator.requests)


# the state directory and the database, against another local user


def test_new_state_directories_are_private_whatever_the_umask(emulator, env, tmp_path):
    home = tmp_path / "a" / "b" / "home"
    proc = subprocess.run(
        llamactl_command("infer", "-m", MODEL, "hi"),
        env={**env, "LLAMACTL_HOME": str(home)},
        cwd=REPO,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=30,
        preexec_fn=lambda: os.umask(0),
    )
    assert proc.returncode == 0, proc.stderr
    for folder in (tmp_path / "a", tmp_path / "a" / "b", home):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    assert stat.S_IMODE((home / "history.db").stat().st_mode) == 0o600


def test_a_database_others_can_read_is_tightened(api, home):
    assert invoke(["infer", "-m", MODEL, "hi"]).exit_code == 0
    path = history_path(Environment())
    path.chmod(0o644)
    assert invoke(["infer", "-m", MODEL, "again"]).exit_code == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_planted_symlink_receives_no_prompt(api, home, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("theirs\n")
    home.mkdir(mode=0o700)
    (home / "history.db").symlink_to(victim)
    (home / "history.db-wal").symlink_to(tmp_path / "victim-wal")
    run = invoke(["infer", "-m", MODEL, "a secret prompt"])
    assert run.exit_code == 0 and "is a symbolic link" in run.stderr
    assert victim.read_text() == "theirs\n" and not (tmp_path / "victim-wal").exists()


def test_a_wal_file_planted_as_symlink_is_refused(api, home, tmp_path):
    with HistoryStore.open(home / "history.db"):
        pass
    (home / "history.db-shm").symlink_to(tmp_path / "elsewhere")
    run = invoke(["infer", "-m", MODEL, "a secret prompt"])
    assert run.exit_code == 0 and "history.db-shm is a symbolic link" in run.stderr
    assert not (tmp_path / "elsewhere").exists()


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="giving a file to another user needs root"
)
def test_another_users_database_is_refused(api, home):
    """`nobody` stands for the other local user (root can give it the file)."""
    with HistoryStore.open(home / "history.db"):
        pass
    os.chown(home / "history.db", NOBODY, NOBODY)
    run = invoke(["infer", "-m", MODEL, "hi"])
    assert run.exit_code == 0 and "belongs to another user (uid 65534)" in run.stderr
    listed = invoke(["history", "list"])
    assert listed.exit_code == 6 and "belongs to another user" in one_error(listed.stderr)


def test_a_newer_database_can_still_be_read(api, home):
    assert invoke(["infer", "-m", MODEL, "hi"]).exit_code == 0
    with HistoryStore.open(home / "history.db") as store:
        store.db.execute("PRAGMA user_version = 999")
    listed = invoke(["history", "list", "--json"])
    assert listed.exit_code == 0 and [row["status"] for row in json.loads(listed.stdout)] == ["ok"]
    removed = invoke(["history", "rm", "1"])
    assert removed.exit_code == 6 and "is from a newer llamactl" in one_error(removed.stderr)
    assert invoke(["history", "list"]).stdout.count("\n") == 1  # nothing was removed


# a stderr nobody reads


@pytest.mark.parametrize(
    "args, code",
    [
        (["infer", "-m", MODEL, "-i", "max_new_tokens=lots", "hi"], 2),
        (["infer", "-m", MODEL, "--retries", "0", "hi"], 5),
        (["history", "show", "7"], 2),
        (["infer", "--no-such-flag"], 2),
    ],
)
def test_an_error_into_a_closed_pipe_keeps_its_exit_code(emulator, env, args, code):
    """`llamactl ... 2>&1 | head -1` once the reader has gone: the documented code, not 1."""
    if code == 5:
        env = {**env, "DEEPINFRA_HOST": "http://127.0.0.1:9"}
    read, write = os.pipe()
    os.close(read)
    try:
        proc = subprocess.run(
            llamactl_command(*args),
            stdout=write,
            stderr=write,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=REPO,
            timeout=30,
        )
    finally:
        os.close(write)
    assert proc.returncode == code


def test_an_error_onto_a_full_disk_keeps_its_exit_code(env):
    with open("/dev/full", "wb") as full:
        proc = subprocess.run(
            llamactl_command("infer", "-m", MODEL, "-i", "top_k=many", "hi"),
            stdout=subprocess.DEVNULL,
            stderr=full,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=REPO,
            timeout=30,
        )
    assert proc.returncode == 2
