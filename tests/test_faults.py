"""The fault-injection table: one row per way the API, a proxy or the network can fail.

Each row is run against the emulator over a real socket (as a real subprocess where the
process's edges matter, see `in_a_process`) and asserts the exit code, that stderr is
a short human message without a traceback, what reached stdout (the tokens sent before the
fault, no more, no less), and how history recorded it. The last rows break this machine
instead (a full disk, a closed stdout, a damaged database, a read-only state directory):
those are exit 6, or a warning when only history is lost. docs/faults.md lists the same
rows (a test below keeps them in step, column by column).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from llamactl.env import Environment
from tests.emulator import VALID_TOKEN, Behavior
from tests.helpers import REPO, Run, invoke, llamactl_command, subprocess_env

MODEL = "meta-llama/Llama-2-70b-chat-hf"
TOKENS = ["Alpha", " beta", " gamma"]
# A window title, a clipboard write, a cleared screen, a cursor report typed into stdin.
CONTROL_SEQUENCES = "\x1b]0;owned\x07\x1b]52;c;aGk=\x07\x1b[2J\x1b[6n"
SHOWN_SEQUENCES = "^[]0;owned^G^[]52;c;aGk=^G^[[2J^[[6n"
HOSTILE_TOKENS = ["Alpha", " " + CONTROL_SEQUENCES, " gamma"]
OPENAI = ["--api", "openai"]  # the same request on DeepInfra's OpenAI-compatible chat API
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # any control but newline and tab


@dataclass
class Fault:
    name: str
    behavior: Behavior | None
    exit_code: int
    shown: int  # how many of TOKENS reach stdout (-1: no text output at all)
    history: str | None  # the recorded status, None when nothing reaches history
    says: str  # words the stderr message (or, with exit 0, a warning) must contain
    args: list[str] = field(default_factory=list)
    breaks: Callable[[Path], None] | None = None  # what is broken under LLAMACTL_HOME first
    stdout: str = "pipe"  # or "full" (/dev/full) or "closed" (>&-)
    read_only: bool = False  # LLAMACTL_HOME on a read-only file system
    command: list[str] | None = None  # instead of `infer -m MODEL ARGS "tell me"`; {home} is LLAMACTL_HOME
    stdin: bytes | None = None
    history_exit: int = 0  # what `history list` exits with afterwards
    tokens: list[str] = field(
        default_factory=lambda: TOKENS
    )  # what the stream sends, of which `shown` reach stdout
    environ: dict[str, str] = field(default_factory=dict)  # variables set (or, when "", unset) for the run


def stream(**kwargs) -> Behavior:
    return Behavior(tokens=TOKENS, **kwargs)


def token_payload(text) -> bytes:
    """A native stream event's data, exactly as given (`text` may be any JSON value)."""
    return json.dumps({"token": {"id": 1, "text": text, "special": False}, "generated_text": None}).encode()


FINAL_PAYLOAD = json.dumps(
    {"token": {"id": 2, "text": "</s>", "special": True}, "generated_text": "", "details": {}}
).encode()
DEEP_JSON = b"[" * 1000 + b"]" * 1000  # RecursionError in json.loads
NOT_UTF8_TOKENS = ["Alpha", " caf\ufffd", " gamma"]  # what is shown of " caf\xe9"


def damage_history(home: Path) -> None:
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    (home / "history.db").write_bytes(b"this is not a database\n" * 200)


HELD: list = []  # locks a fault row holds for as long as the test process runs


def hold(thing) -> None:
    HELD.append(thing)


def lock_file(path: Path):
    """An output file locked as a batch still running holds it."""
    import fcntl

    file = open(path, "ab")
    fcntl.flock(file.fileno(), fcntl.LOCK_EX)
    return file


def lock_history(home: Path):
    """A history database whose write lock another program holds (readers still read)."""
    import sqlite3

    from llamactl.history.store import HistoryStore, history_path

    path = history_path(Environment(environ={"LLAMACTL_HOME": str(home)}))
    HistoryStore.open(path).db.close()
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    return blocker


def refuse_batch_jobs(home: Path) -> None:
    """A history database that refuses to record a job (as a full disk would)."""
    from llamactl.history.store import HistoryStore

    with HistoryStore.open(home / "history.db") as store:
        store.db.execute(
            "CREATE TRIGGER refused BEFORE INSERT ON batch_jobs BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
        )


def home_is_a_file(home: Path) -> None:
    home.rmdir()
    home.write_text("not a directory\n")


def another_users_home(home: Path) -> None:
    """A 0777 LLAMACTL_HOME someone else made first (in a shared /tmp, say)."""
    if os.geteuid() != 0:
        pytest.skip("giving the directory to another user needs root")
    os.chown(home, NOBODY, NOBODY)
    home.chmod(0o777)


def history_planted_as_symlink(home: Path) -> None:
    """`history.db` a link to another file, planted while the directory was open to all."""
    (home.parent / "victim").write_text("another user's file\n")
    (home / "history.db").symlink_to(home.parent / "victim")


def history_from_a_newer_llamactl(home: Path) -> None:
    from llamactl.history.store import HistoryStore

    with HistoryStore.open(home / "history.db") as store:
        store.db.execute("PRAGMA user_version = 999")


def empty_history(home: Path) -> None:
    from llamactl.history.store import HistoryStore

    with HistoryStore.open(home / "history.db"):
        pass


NOBODY = 65534  # the conventional uid of `nobody`: any user but this one
DEEP_JSON_TEXT = DEEP_JSON.decode()  # the same, as an argument


def damage_config(home: Path) -> None:
    (home / "config.json").write_text('{"default_model": "meta-llama/', encoding="utf-8")


FAULTS = [
    Fault(
        "400 bad request, {detail: msg}",
        Behavior(status=400, body_shape="detail_str", message="prompt too long"),
        4,
        -1,
        "error",
        "prompt too long",
    ),
    Fault(
        "401 wrong token, {detail: {error}}",
        Behavior(status=401, message="Invalid token"),
        3,
        -1,
        "error",
        "Invalid token",
    ),
    Fault(
        "402 account needs funding, {error: {message}}",
        Behavior(status=402, body_shape="error_message", message="Insufficient balance"),
        4,
        -1,
        "error",
        "Insufficient balance",
    ),
    Fault(
        "403 no access, {detail: {error}}",
        Behavior(status=403, message="Not authenticated"),
        3,
        -1,
        "error",
        "Not authenticated",
    ),
    Fault(
        "404 unknown model, {error}",
        Behavior(status=404, body_shape="error", message="Model not found"),
        4,
        -1,
        "error",
        "Model not found",
    ),
    Fault(
        "422 validation, FastAPI detail list",
        Behavior(status=422, body_shape="detail_list"),
        4,
        -1,
        "error",
        "body.",
    ),
    Fault("423 locked, {detail: {error}}", Behavior(status=423, message="Locked"), 4, -1, "error", "Locked"),
    Fault(
        "429 rate limited, retries exhausted",
        Behavior(status=429, message="Rate limited", headers={"Retry-After": "0"}),
        5,
        -1,
        "error",
        "gave up after 3 attempts",
    ),
    Fault(
        "429 with a Retry-After that is not a number (²)",
        Behavior(status=429, message="Rate limited", headers={"Retry-After": "²"}),
        5,
        -1,
        "error",
        "gave up after 2 attempts",
        ["--retries", "1"],
    ),
    Fault(
        "500 server error, {error}",
        Behavior(status=500, body_shape="error", message="Something went wrong"),
        5,
        -1,
        "error",
        "Something went wrong",
    ),
    Fault(
        "502 HTML error page from a proxy",
        Behavior(status=502, body_shape="html"),
        5,
        -1,
        "error",
        "HTML page",
        ["--retries", "0"],
    ),
    Fault(
        "503 empty body",
        Behavior(status=503, body_shape="empty"),
        5,
        -1,
        "error",
        "empty body",
        ["--retries", "0"],
    ),
    Fault(
        "504 gateway timeout, {error: {message}}",
        Behavior(status=504, body_shape="error_message", message="upstream timed out"),
        5,
        -1,
        "error",
        "upstream timed out",
        ["--retries", "0"],
    ),
    Fault(
        "500 truncated JSON body",
        Behavior(status=500, body_shape="truncated_json"),
        5,
        -1,
        "error",
        "HTTP 500",
    ),
    Fault(
        "200 truncated JSON body",
        Behavior(status=200, body_shape="truncated_json"),
        5,
        -1,
        "error",
        "not valid JSON",
        ["--no-stream"],
    ),
    Fault(
        "200 JSON body cut before its Content-Length",
        Behavior(cut_after=20),
        5,
        -1,
        "error",
        "a body that broke off",
        ["--no-stream"],
    ),
    Fault(
        "200 body that is not JSON",
        Behavior(body_shape="not_json"),
        5,
        -1,
        "error",
        "not valid JSON",
        ["--no-stream"],
    ),
    Fault(
        "200 response without results",
        Behavior(body_shape="no_results"),
        5,
        -1,
        "error",
        "no results",
        ["--no-stream"],
    ),
    Fault(
        "200 with a cost that is NaN",
        stream(cost=float("nan")),
        0,
        3,
        "ok",
        "",
        ["--no-stream"],
    ),
    Fault(
        "200 with a negative cost",
        stream(cost=-1000.0),
        0,
        3,
        "ok",
        "",
        ["--no-stream"],
    ),
    Fault(
        "200 body larger than 64 MiB, not streamed",
        Behavior(flood="body"),
        5,
        -1,
        "error",
        "larger than 64 MiB",
        ["--no-stream"],
    ),
    Fault(
        "200 gzip bomb (a small body that inflates without end)",
        Behavior(flood="body", gzip=True),
        5,
        -1,
        "error",
        "larger than 64 MiB",
        ["--no-stream"],
    ),
    Fault(
        "200 generated_text that is not a string",
        Behavior(body=b'{"results": [{"generated_text": 5}]}'),
        5,
        -1,
        "error",
        "generated_text that is int",
        ["--no-stream"],
    ),
    Fault(
        "200 JSON nested 1,000 levels deep",
        Behavior(body=DEEP_JSON),
        5,
        -1,
        "error",
        "nested more than 100 levels deep",
        ["--no-stream"],
    ),
    Fault(
        "500 error body nested 1,000 levels deep",
        Behavior(status=500, body=DEEP_JSON),
        5,
        -1,
        "error",
        "HTTP 500",
        ["--retries", "0"],
    ),
    Fault(
        "models list nested 1,000 levels deep",
        Behavior(body=DEEP_JSON, scope="all"),
        5,
        -1,
        None,
        "nested more than 100 levels deep",
        command=["models", "list"],
    ),
    Fault(
        "/v1/me nested 1,000 levels deep (auth login)",
        Behavior(body=DEEP_JSON, scope="all"),
        5,
        -1,
        None,
        "nested more than 100 levels deep",
        command=["auth", "login", "--with-token", "--insecure-storage"],
        stdin=b"a-token-to-check\n",
    ),
    Fault(
        "JSON answer a byte at a time (slowloris), --max-time",
        Behavior(flood="body", drip=0.05),
        5,
        -1,
        "error",
        "--max-time 1 s reached",
        ["--no-stream", "--timeout", "0.5", "--max-time", "1"],
    ),
    Fault("stream with garbage lines", stream(garbage_lines=True), 0, 3, "ok", ""),
    Fault(
        "stream with comments, CRLF, [DONE]", stream(comments=True, newline="\r\n", done=True), 0, 3, "ok", ""
    ),
    Fault("gzip-compressed stream", stream(gzip=True), 0, 3, "ok", ""),
    Fault(
        "stream with a byte that is not UTF-8",
        Behavior(
            events=[
                token_payload("Alpha"),
                token_payload(" caf").replace(b"caf", b"caf\xe9"),
                token_payload(" gamma"),
                FINAL_PAYLOAD,
            ]
        ),
        0,
        3,
        "ok",
        "",
        tokens=NOT_UTF8_TOKENS,
    ),
    Fault(
        "reply with terminal control sequences",
        Behavior(tokens=HOSTILE_TOKENS),
        0,
        3,
        "ok",
        "",
        tokens=HOSTILE_TOKENS,
    ),
    Fault(
        "error message with terminal control sequences",
        Behavior(status=400, body_shape="detail_str", message=f"bad {CONTROL_SEQUENCES}"),
        4,
        -1,
        "error",
        f"bad {SHOWN_SEQUENCES}",
    ),
    Fault(
        "reason phrase with terminal control sequences",
        Behavior(status=503, body_shape="empty", reason=f"Busy {CONTROL_SEQUENCES}"),
        5,
        -1,
        "error",
        f"HTTP 503 Busy {SHOWN_SEQUENCES}",
        ["--retries", "0"],
    ),
    Fault(
        "error body echoing the Authorization header",
        Behavior(status=400, body_shape="detail_str", message="bad", echo_authorization=True),
        4,
        -1,
        "error",
        "bad (Authorization: Bearer ***)",
    ),
    Fault(
        "reason phrase echoing the Authorization header",
        Behavior(status=503, body_shape="empty", echo_authorization=True),
        5,
        -1,
        "error",
        "Service Unavailable (Authorization: Bearer ***)",
        ["--retries", "1"],
    ),
    Fault("stream cut before any event", stream(cut_after=0), 5, 0, "incomplete", "incomplete"),
    Fault("stream cut after 1 token", stream(cut_after=1), 5, 1, "incomplete", "incomplete"),
    Fault("stream cut after 2 tokens", stream(cut_after=2), 5, 2, "incomplete", "incomplete"),
    Fault("stream cut before its final event", stream(cut_after=3), 5, 3, "incomplete", "incomplete"),
    Fault("chat turn cut after 2 tokens", stream(cut_after=2), 5, 2, "incomplete", "incomplete", ["--chat"]),
    Fault(
        "close-delimited stream cut midway",
        stream(cut_after=2, framing="close"),
        5,
        2,
        "incomplete",
        "incomplete",
    ),
    Fault(
        "error event mid-stream",
        stream(error_after=2, message="CUDA out of memory"),
        5,
        2,
        "error",
        "CUDA out of memory",
    ),
    Fault(
        "error event mid-stream, TGI shape",
        stream(error_after=1, error_event_shape="tgi", message="Request failed during generation"),
        5,
        1,
        "error",
        "Request failed during generation",
    ),
    Fault(
        "error event mid-stream echoing the Authorization header",
        stream(error_after=1, message="failed", echo_authorization=True),
        5,
        1,
        "error",
        "failed (Authorization: Bearer ***)",
    ),
    Fault("stalled stream", stream(stall_after=1), 5, 1, "incomplete", "stalled", ["--timeout", "0.5"]),
    Fault(
        "OpenAI API: 401 wrong token, {error: {message}}",
        Behavior(status=401, message="Invalid token"),
        3,
        -1,
        "error",
        "Invalid token",
        OPENAI,
    ),
    Fault(
        "OpenAI API: 422 validation, FastAPI detail list",
        Behavior(),
        4,
        -1,
        "error",
        "body.temperature: ensure this value is less than or equal to 2",
        [*OPENAI, "-i", "temperature=3"],
    ),
    Fault(
        "OpenAI API: 429 rate limited, retries exhausted",
        Behavior(status=429, message="Model busy, retry later", headers={"Retry-After": "0"}),
        5,
        -1,
        "error",
        "Model busy, retry later (HTTP 429 Too Many Requests) (gave up after 3 attempts)",
        OPENAI,
    ),
    Fault(
        "OpenAI API: stream with garbage lines, comments, CRLF",
        stream(garbage_lines=True, comments=True, newline="\r\n", data_space=False),
        0,
        3,
        "ok",
        "",
        OPENAI,
    ),
    Fault(
        "OpenAI API: close-delimited stream, one byte a write",
        stream(framing="close", split_writes=True, stream_json="compact"),
        0,
        3,
        "ok",
        "",
        OPENAI,
    ),
    Fault(
        "OpenAI API: stream cut after 2 tokens", stream(cut_after=2), 5, 2, "incomplete", "incomplete", OPENAI
    ),
    Fault(
        "OpenAI API: stream without its finish chunk and [DONE]",
        stream(final_event=False),
        5,
        3,
        "incomplete",
        "before its final event",
        OPENAI,
    ),
    Fault(
        "OpenAI API: error event mid-stream, {error: {message}}",
        stream(error_after=2, message="CUDA out of memory"),
        5,
        2,
        "error",
        "CUDA out of memory",
        OPENAI,
    ),
    Fault(
        "OpenAI API: stalled stream",
        stream(stall_after=1),
        5,
        1,
        "incomplete",
        "stalled",
        [*OPENAI, "--timeout", "0.5"],
    ),
    Fault(
        "stalled stream, --max-time before --timeout",
        stream(stall_after=1),
        5,
        1,
        "incomplete",
        "--max-time 1 s reached after 1 token",
        ["--timeout", "600", "--max-time", "1"],
    ),
    Fault(
        "stream of a byte at a time for ever (slowloris), --max-time",
        stream(flood="comments", flood_after=1, drip=0.05),
        5,
        1,
        "incomplete",
        "--max-time 1 s reached after 1 token",
        ["--timeout", "0.5", "--max-time", "1"],
    ),
    Fault(
        "stream with a data line that never ends",
        stream(flood="data_line", flood_after=1),
        5,
        1,
        "incomplete",
        "a line longer than 16 MiB",
    ),
    Fault(
        "stream of comment lines that never end",
        stream(flood="comments", flood_after=1),
        5,
        1,
        "incomplete",
        "16 MiB without an event",
    ),
    Fault(
        "gzip-compressed stream of comment lines that never end (a gzip bomb)",
        stream(flood="comments", flood_after=1, gzip=True),
        5,
        1,
        "incomplete",
        "16 MiB without an event",
    ),
    Fault(
        "stream event of data lines that never end",
        stream(flood="data_lines", flood_after=1),
        5,
        1,
        "incomplete",
        "more than 64 lines",
    ),
    Fault(
        "stream token whose text is not a string",
        Behavior(events=[token_payload("Alpha"), token_payload(5), FINAL_PAYLOAD]),
        5,
        1,
        "incomplete",
        "token whose text is int",
    ),
    Fault(
        "stream event nested 1,000 levels deep",
        Behavior(events=[token_payload("Alpha"), DEEP_JSON, FINAL_PAYLOAD]),
        5,
        1,
        "incomplete",
        "nested more than 100 levels deep",
    ),
    Fault(
        "slow first byte, within --timeout", stream(first_byte_delay=0.3), 0, 3, "ok", "", ["--timeout", "5"]
    ),
    Fault(
        "slow first byte, beyond --timeout",
        stream(first_byte_delay=3),
        5,
        -1,
        "error",
        "no answer",
        ["--timeout", "0.5", "--retries", "0"],
    ),
    Fault(
        "connection reset before any answer",
        Behavior(reset_connection=True),
        5,
        -1,
        "error",
        "closed before a complete response",
        ["--retries", "1"],
    ),
    Fault(
        "connection closed after the request was read (not sent again)",
        Behavior(close_connection=True),
        5,
        -1,
        "error",
        "no answer from",
    ),
    Fault(
        "502 to an inference (not sent again)",
        Behavior(status=502, body_shape="error", message="bad gateway", headers={"Retry-After": "0"}),
        5,
        -1,
        "error",
        "bad gateway",
    ),
    Fault(
        "307 redirect of an inference",
        Behavior(status=307, headers={"Location": "https://elsewhere.example/v1/inference/m"}),
        5,
        -1,
        "error",
        "redirecting to https://elsewhere.example/v1/inference/m",
    ),
    Fault("connection refused", None, 5, -1, "error", "connection refused", ["--retries", "0"]),
    Fault(
        "stdout on a full disk (> /dev/full)",
        stream(),
        6,
        -1,
        "error",
        "write to stdout: No space left",
        stdout="full",
    ),
    Fault(
        "stdout on a full disk, not streamed",
        Behavior(),
        6,
        -1,
        "error",
        "write to stdout: No space left",
        ["--no-stream"],
        stdout="full",
    ),
    Fault("stdout closed (>&-)", stream(), 6, -1, "error", "stdout: it is closed", stdout="closed"),
    Fault(
        "-o to a full disk (/dev/full), after the answer",
        Behavior(),
        6,
        -1,
        "ok",
        "cannot write -o /dev/full: No space left",
        ["-o", "results.0.generated_text=/dev/full"],
    ),
    Fault(
        "history list to a full disk (> /dev/full)",
        None,
        6,
        -1,
        None,
        "write to stdout: No space left",
        stdout="full",
        command=["history", "list", "--json"],
    ),
    Fault(
        "history database damaged",
        stream(),
        0,
        3,
        None,
        "not saved to",
        breaks=damage_history,
        history_exit=6,
    ),
    Fault(
        "history database from a newer llamactl",
        stream(),
        0,
        3,
        None,
        "is from a newer llamactl (schema version 999",
        breaks=history_from_a_newer_llamactl,
    ),
    Fault(
        "history database a symlink (planted)",
        stream(),
        0,
        3,
        None,
        "is a symbolic link, which llamactl does not follow",
        breaks=history_planted_as_symlink,
        history_exit=6,
    ),
    Fault(
        "chat turn continuing a damaged history database",
        stream(),
        6,
        -1,
        None,
        "is damaged",
        breaks=damage_history,
        history_exit=6,
        command=["infer", "-c", "tell me"],
    ),
    Fault(
        "chat turn continuing with no conversation yet",
        stream(),
        2,
        -1,
        None,
        "no conversation to continue",
        command=["infer", "-c", "tell me"],
    ),
    Fault(
        "chat turn to a model of no known family (native API)",
        stream(),
        2,
        -1,
        None,
        "no chat template is known",
        command=["infer", "-m", "mistralai/Mistral-7B-Instruct-v0.1", "--api", "native", "--chat", "tell me"],
    ),
    Fault(
        "chat turn to a deployment (-d) on the native API",
        stream(),
        2,
        -1,
        None,
        "a deployment id does not say which model it runs",
        command=["infer", "-d", "DpLlama70b", "--api", "native", "--chat", "tell me"],
    ),
    Fault(
        "state directory on a read-only disk", stream(), 0, 3, None, "Read-only file system", read_only=True
    ),
    Fault(
        "history list, state directory on a read-only disk",
        None,
        0,
        -1,
        None,
        "",
        read_only=True,
        command=["history", "list"],
    ),
    Fault(
        "history list, a database on a read-only disk",
        None,
        0,
        -1,
        None,
        "",
        read_only=True,
        command=["history", "list"],
        breaks=empty_history,
    ),
    Fault(
        "LLAMACTL_HOME is a file",
        stream(),
        0,
        3,
        None,
        "is not a directory",
        breaks=home_is_a_file,
        history_exit=6,
    ),
    Fault(
        "LLAMACTL_HOME another user's 0777 directory",
        stream(),
        0,
        3,
        None,
        "belongs to another user",
        breaks=another_users_home,
        history_exit=6,
    ),
    Fault(
        "API URL with a path (…/v1/openai)",
        stream(),
        2,
        -1,
        None,
        "has a path (/v1/openai)",
        command=["--api-url", "http://127.0.0.1:9/v1/openai", "infer", "-m", MODEL, "tell me"],
    ),
    Fault(
        "API URL that cannot be parsed (http://[::1)",
        stream(),
        2,
        -1,
        None,
        "invalid API URL 'http://[::1': Invalid IPv6 URL",
        command=["--api-url", "http://[::1", "infer", "-m", MODEL, "tell me"],
    ),
    Fault(
        "token with a newline in it",
        stream(),
        3,
        -1,
        None,
        "the token in DEEPINFRA_TOKEN contains spaces or unprintable characters",
        environ={"DEEPINFRA_TOKEN": "emu-test\ntoken"},
    ),
    Fault(
        "token with a character beyond Latin-1 (€)",
        stream(),
        3,
        -1,
        None,
        "the token in DEEPINFRA_TOKEN contains spaces or unprintable characters",
        environ={"DEEPINFRA_TOKEN": "emu-test-token-€"},
    ),
    Fault("--timeout nan", stream(), 2, -1, None, "expected a number of seconds", ["--timeout", "nan"]),
    Fault("--timeout 1e300", stream(), 2, -1, None, "expected a number of seconds", ["--timeout", "1e300"]),
    Fault(
        "LLAMACTL_KEYRING_TIMEOUT 1e300",
        stream(),
        2,
        -1,
        None,
        "LLAMACTL_KEYRING_TIMEOUT must be a number of seconds",
        environ={"DEEPINFRA_TOKEN": "", "LLAMACTL_KEYRING_TIMEOUT": "1e300"},
    ),
    Fault(
        "no model given (no -m, LLAMACTL_MODEL or default)",
        stream(),
        2,
        -1,
        None,
        "no model given",
        command=["infer", "tell me"],
    ),
    Fault(
        "model name that leaves the model path (../../v1/me)",
        Behavior(),
        2,
        -1,
        None,
        "invalid model name '../../v1/me'",
        command=["models", "info", "-m", "../../v1/me"],
    ),
    Fault(
        "config.json damaged",
        stream(),
        6,
        -1,
        None,
        "config.json: it is not valid JSON",
        command=["infer", "tell me"],
        breaks=damage_config,
    ),
    Fault(
        "alias with a / (models alias meta/llama MODEL)",
        Behavior(),
        2,
        -1,
        None,
        "an alias cannot contain '/'",
        command=["models", "alias", "meta/llama", MODEL],
    ),
    Fault(
        "API URL with a user name and password",
        stream(),
        2,
        -1,
        None,
        "http://***@127.0.0.1:9 has a user name or password",
        command=["--api-url", "http://me:hunter2@127.0.0.1:9", "infer", "-m", MODEL, "tell me"],
    ),
    Fault(
        "plain-http API URL named like a loopback address",
        stream(),
        2,
        -1,
        None,
        "plain http to 127.0.0.1.attacker.example:9",
        command=["--api-url", "http://127.0.0.1.attacker.example:9", "infer", "-m", MODEL, "tell me"],
    ),
    Fault(
        "plain-http request through a proxy off loopback",
        stream(),
        2,
        -1,
        None,
        "through the proxy proxy.elsewhere.invalid:3128",
        environ={"HTTP_PROXY": "http://proxy.elsewhere.invalid:3128"},
    ),
    Fault(
        "unknown deployment (-d)",
        Behavior(),
        4,
        -1,
        "error",
        "deploy:nope",
        command=["infer", "-d", "nope", "tell me"],
    ),
    Fault(
        "embeddings model through infer",
        Behavior(),
        4,
        -1,
        "error",
        "body.inputs: field required",
        command=["infer", "-m", "BAAI/bge-large-en-v1.5", "tell me"],
    ),
    Fault(
        "batch --output in a directory that does not exist",
        stream(),
        6,
        -1,
        None,
        "cannot write --output",
        command=["infer", "-m", MODEL, "--batch", "-", "--output", "{home}/missing/out.jsonl"],
        stdin=b'"tell me"\n',
    ),
    Fault(
        "batch --output a named pipe (FIFO)",
        stream(),
        2,
        -1,
        None,
        "is a named pipe, not a regular file",
        command=["infer", "-m", MODEL, "--batch", "-", "--output", "{home}/fifo"],
        stdin=b'"tell me"\n',
        breaks=lambda home: os.mkfifo(home / "fifo"),
    ),
    Fault(
        "batch --output in use by another batch",
        stream(),
        6,
        -1,
        None,
        "is in use by another batch",
        command=["infer", "-m", MODEL, "--batch", "-", "--output", "{home}/out.jsonl"],
        stdin=b'"tell me"\n',
        breaks=lambda home: hold(lock_file(home / "out.jsonl")),
    ),
    Fault(
        "batch line answered with JSON nested 100,000 deep",
        Behavior(body_shape="deep_json"),
        5,
        -1,
        None,
        "1 of 1 lines failed: 1 could not be completed (line 1)",
        command=["infer", "-m", MODEL, "-q", "--no-history", "--batch", "-", "--output", "{home}/out.jsonl"],
        stdin=b'"tell me"\n',
    ),
    Fault(
        "batch with the history database locked by another program",
        stream(),
        0,
        -1,
        None,
        "1 request of this batch was not saved",
        command=["infer", "-m", MODEL, "-q", "--batch", "-", "--output", "{home}/out.jsonl"],
        stdin=b'"tell me"\n',
        breaks=lambda home: hold(lock_history(home)),
        environ={"LLAMACTL_HISTORY_TIMEOUT": "0.2"},  # the lock outlasts any wait: no need for 5 s
    ),
    Fault(
        "batch submit whose job the history database refuses to record",
        Behavior(),
        6,
        -1,
        None,
        "was created on",
        command=["batch", "submit", "-m", MODEL, "-"],
        stdin=b'"tell me"\n',
        breaks=refuse_batch_jobs,
    ),
    Fault(
        "models list --type that no model has",
        Behavior(),
        2,
        -1,
        None,
        "no models of type 'nope'",
        command=["models", "list", "--type", "nope"],
    ),
    Fault(
        "-o a path a text-generation response does not have",
        stream(),
        2,
        -1,
        None,
        "has no 'bogus'",
        ["-o", "bogus.path=-"],
    ),
    Fault(
        "-o the whole response to a text file",
        stream(),
        2,
        -1,
        None,
        "only - or a .json file",
        ["-o", "{home}/answer.txt"],
    ),
    Fault(
        "-i a number too large for JSON (1e999)",
        stream(),
        2,
        -1,
        None,
        "-i foo: not usable as JSON: '1e999' is too large",
        ["-i", "foo=1e999"],
    ),
    Fault(
        "-i JSON nested 1,000 levels deep",
        stream(),
        2,
        -1,
        None,
        "-i foo: not usable as JSON: it is nested too deeply",
        ["-i", f"foo={DEEP_JSON_TEXT}"],
    ),
    Fault(
        "-i input=@/dev/zero",
        stream(),
        2,
        -1,
        None,
        "@/dev/zero is larger than 100 MiB",
        command=["infer", "-m", MODEL, "-i", "input=@/dev/zero"],
    ),
    Fault(
        "PROMPT with bytes that are not UTF-8",
        stream(),
        2,
        -1,
        None,
        "PROMPT: not UTF-8 text (byte 0xff at position 5)",
        command=["infer", "-m", MODEL, "tell \udcffme"],
    ),
    Fault(
        "chat piped a line with bytes that are not UTF-8",
        stream(),
        2,
        -1,
        None,
        "stdin line 1 is not UTF-8 text (byte 0xe9 at position 3)",
        command=["chat", "-m", MODEL],
        stdin=b"caf\xe9\n",
    ),
    Fault(
        "chat piped a line with an unknown /command",
        stream(),
        2,
        -1,
        None,
        "stdin line 1: unknown command /nope",
        command=["chat", "-m", MODEL],
        stdin=b"/nope\nhello\n",
    ),
    Fault(
        "chat piped /model of a model the model list does not have",
        stream(),
        2,
        -1,
        None,
        "stdin line 1: no model 'no-such/model' in the model list",
        command=["chat", "-m", MODEL],
        stdin=b"/model no-such/model\nhello\n",
    ),
    Fault(
        "history show an id beyond 64 bits",
        None,
        2,
        -1,
        None,
        "no request 99999999999999999999999 in history",
        command=["history", "show", "99999999999999999999999"],
    ),
    Fault(
        "history list -n beyond 64 bits",
        None,
        0,
        -1,
        None,
        "",
        command=["history", "list", "-n", "99999999999999999999999"],
    ),
    Fault(
        "history list -n 0 (out of its range)",
        None,
        2,
        -1,
        None,
        "-n/--limit: must be at least 1, got 0",
        command=["history", "list", "-n", "0"],
    ),
    Fault(
        "batch submit with stdout closed (>&-), after the batch is created",
        stream(),
        6,
        -1,
        None,
        "cannot write to stdout: it is closed; batch job batch_",
        command=["batch", "submit", "-m", MODEL, "-"],
        stdin=b'"one"\n',
        stdout="closed",
    ),
    Fault(
        "batch wait --interval nan",
        None,
        2,
        -1,
        None,
        "--interval: expected a number of seconds from 0 to 86400, got nan",
        command=["batch", "wait", "batch_x", "--interval", "nan"],
    ),
    Fault(
        "batch wait --timeout inf",
        None,
        2,
        -1,
        None,
        "--timeout: expected a number of seconds from 0 to 604800, got inf",
        command=["batch", "wait", "batch_x", "--timeout", "inf"],
    ),
    Fault(
        "history list --batch of an id history never had",
        None,
        2,
        -1,
        None,
        "no batch nope in history",
        command=["history", "list", "--batch", "nope"],
    ),
    Fault(
        "history list --conversation of an id beyond 64 bits",
        None,
        2,
        -1,
        None,
        "no conversation 99999999999999999999999 in history",
        command=["history", "list", "--conversation", "99999999999999999999999"],
    ),
    Fault(
        "infer --cid of an id beyond 64 bits",
        stream(),
        2,
        -1,
        None,
        "no conversation 99999999999999999999999 in history",
        ["--cid", "99999999999999999999999"],
    ),
    Fault(
        "the input given twice (-i input= and PROMPT)",
        stream(),
        2,
        -1,
        None,
        "given twice",
        ["-i", "input=hello"],
    ),
]


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def read_only_prefix(directory: Path) -> list[str]:
    """Run a command with `directory` mounted read-only, in a mount namespace of its own."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare is not installed")
    prefix = ["unshare", "-rm", "sh", "-c", 'mount --bind -o ro "$0" "$0" && exec "$@"', str(directory)]
    probe = subprocess.run([*prefix, "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"no user and mount namespaces here: {probe.stderr.decode(errors='replace').strip()}")
    return prefix


def in_a_process(fault: Fault) -> bool:
    """Whether a row runs as a real subprocess: a row whose fault is at the process's own
    edges (its stdout on /dev/full or closed, its stdin, a read-only state directory) does,
    and so does the first row of each exit code, so that every code is seen leaving a real
    process. The others run the same CLI in-process under the same assertions, without a
    Python start-up each (two thirds of the table's CPU); FAULT_TABLE_IN_PROCESSES=1 runs
    every row as a subprocess."""
    return (
        os.environ.get("FAULT_TABLE_IN_PROCESSES") == "1"
        or fault.stdout != "pipe"
        or fault.read_only
        or fault.stdin is not None
        or fault.name in FIRST_OF_EACH_EXIT_CODE
    )


def run_broken(fault: Fault, home: Path, env: dict[str, str]) -> Run:
    """llamactl with the fault's stdin, and stdout on a pipe, on /dev/full or closed."""
    args = [
        arg.replace("{home}", str(home))
        for arg in fault.command or ["infer", "-m", MODEL, *fault.args, "tell me"]
    ]
    if not in_a_process(fault):
        return invoke(args, input=fault.stdin, env=env)
    prefix = read_only_prefix(home) if fault.read_only else []
    stdin = {"input": fault.stdin} if fault.stdin is not None else {"stdin": subprocess.DEVNULL}
    with open("/dev/full", "wb") as full:
        stdout = {"pipe": subprocess.PIPE, "full": full, "closed": None}[fault.stdout]
        proc = subprocess.run(
            [*prefix, *llamactl_command(*args)],
            stdout=stdout,
            stderr=subprocess.PIPE,
            env=env,
            cwd=REPO,
            timeout=30,
            **stdin,
            preexec_fn=close_stdout if fault.stdout == "closed" else None,
        )
    return Run(
        proc.returncode,
        (proc.stdout or b"").decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
        proc.stdout or b"",
    )


def close_stdout() -> None:
    """In the child, before exec: what the shell's `>&-` does."""
    os.close(1)


# Its first row per exit code, by name (each later row of a code overwrites, in reverse).
FIRST_OF_EACH_EXIT_CODE = set({fault.exit_code: fault.name for fault in reversed(FAULTS)}.values())


@pytest.mark.parametrize("fault", FAULTS, ids=[fault.name for fault in FAULTS])
def test_fault(emulator, tmp_path, fault):
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    url = closed_port_url() if fault.behavior is None else emulator.url
    env = subprocess_env(DEEPINFRA_TOKEN=VALID_TOKEN, DEEPINFRA_HOST=url, LLAMACTL_HOME=str(home))
    env["LLAMACTL_RETRY_DELAY"] = "0.01"  # the retries still happen, without sleeping through backoff
    env.update(fault.environ)
    if fault.behavior is not None:
        emulator.behave(fault.behavior)
    if fault.breaks is not None:
        fault.breaks(home)
    run = run_broken(fault, home, env)

    assert run.exit_code == fault.exit_code, run.stderr
    assert "Traceback" not in run.stderr and "<html" not in run.stderr.lower()
    assert not RAW_CONTROL.search(run.stderr), run.stderr  # a CI log shows the server's control characters
    # a batch names each failed line before its error
    messages = [
        line for line in run.stderr.splitlines() if not line.startswith(("retrying in ", "warning: line "))
    ]
    if fault.exit_code:
        assert messages[0].startswith("error: ") and fault.says in messages[0], run.stderr
        assert len(messages) <= 2 and all(len(line) < 400 for line in messages)
    else:
        warnings = [line for line in messages if line.startswith("warning: ")]
        assert all(fault.says in line for line in warnings) and len(warnings) == (1 if fault.says else 0), (
            run.stderr
        )
    expected = "" if fault.shown < 0 else "".join(fault.tokens[: fault.shown])
    assert run.stdout == (expected + "\n" if expected else "")  # text output ends its line
    assert VALID_TOKEN not in run.stdout + run.stderr
    assert not re.search(r"\$(-|nan|inf)", run.stderr), run.stderr  # a cost is a dollar amount or unknown

    listed = invoke(["history", "list", "--json"], env=env)  # in-process: only reads what was left
    assert listed.exit_code == fault.history_exit, listed.stderr
    assert VALID_TOKEN not in listed.stdout  # nor in the error column
    rows = json.loads(listed.stdout) if fault.history_exit == 0 else []
    assert [row["status"] for row in rows] == ([] if fault.history is None else [fault.history])
    if fault.shown >= 0 and rows:
        assert rows[0]["results"] == [expected]
    if rows:
        assert rows[0]["cost"] is None or rows[0]["cost"] >= 0  # never NaN, never negative
    if fault.exit_code and rows and fault.history != "ok":
        assert rows[0]["error"]


def what_stays_on_stdout(fault: Fault) -> str:
    """The fault table's words for `fault.shown`."""
    if fault.shown < 0:
        return "nothing"
    if fault.shown == 0:
        return "nothing (no token had arrived)"
    return "the whole answer" if fault.exit_code == 0 else "the text received before the fault"


def what_history_says(fault: Fault) -> str:
    """The fault table's words for `fault.history` (and `history_exit`)."""
    if fault.history is not None:
        return fault.history
    words = "not saved, one warning" if fault.exit_code == 0 and fault.says else "none"
    return words + ("; `history` commands exit 6" if fault.history_exit == 6 else "")


def test_the_docs_fault_table_lists_every_fault():
    page = (REPO / "docs" / "faults.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (.+?) \| (\d+) \| (.+?) \| (.+?) \|$", page, re.M)
    assert rows == [
        (fault.name, str(fault.exit_code), what_stays_on_stdout(fault), what_history_says(fault))
        for fault in FAULTS
    ]
