"""The fault-injection table: one row per way the API, a proxy or the network can fail.

Each row is run end to end against the emulator and asserts the exit code, that stderr is
a short human message without a traceback, what reached stdout (the tokens sent before the
fault, no more, no less), and how history recorded it. docs/faults.md lists the same rows
(a test below keeps them in step, column by column).
"""

from __future__ import annotations

import json
import re
import socket
from dataclasses import dataclass, field

import pytest

from tests.emulator import Behavior, VALID_TOKEN
from tests.helpers import REPO, run_llamactl, subprocess_env

MODEL = "meta-llama/Llama-2-70b-chat-hf"
TOKENS = ["Alpha", " beta", " gamma"]


@dataclass
class Fault:
    name: str
    behavior: Behavior | None
    exit_code: int
    shown: int  # how many of TOKENS reach stdout (-1: no text output at all)
    history: str | None  # the recorded status, None when nothing reaches history
    says: str  # words the stderr message must contain
    args: list[str] = field(default_factory=list)


def stream(**kwargs) -> Behavior:
    return Behavior(tokens=TOKENS, **kwargs)


FAULTS = [
    Fault("400 bad request, {detail: msg}", Behavior(status=400, body_shape="detail_str", message="prompt too long"), 4, -1, "error", "prompt too long"),
    Fault("401 wrong token, {detail: {error}}", Behavior(status=401, message="Invalid token"), 3, -1, "error", "Invalid token"),
    Fault("402 account needs funding, {error: {message}}", Behavior(status=402, body_shape="error_message", message="Insufficient balance"), 4, -1, "error", "Insufficient balance"),
    Fault("403 no access, {detail: {error}}", Behavior(status=403, message="Not authenticated"), 3, -1, "error", "Not authenticated"),
    Fault("404 unknown model, {error}", Behavior(status=404, body_shape="error", message="Model not found"), 4, -1, "error", "Model not found"),
    Fault("422 validation, FastAPI detail list", Behavior(status=422, body_shape="detail_list"), 4, -1, "error", "body."),
    Fault("423 locked, {detail: {error}}", Behavior(status=423, message="Locked"), 4, -1, "error", "Locked"),
    Fault("429 rate limited, retries exhausted", Behavior(status=429, message="Rate limited", headers={"Retry-After": "0"}), 5, -1, "error", "gave up after 3 attempts"),
    Fault("500 server error, {error}", Behavior(status=500, body_shape="error", message="Something went wrong"), 5, -1, "error", "Something went wrong"),
    Fault("502 HTML error page from a proxy", Behavior(status=502, body_shape="html"), 5, -1, "error", "HTML page", ["--retries", "0"]),
    Fault("503 empty body", Behavior(status=503, body_shape="empty"), 5, -1, "error", "empty body", ["--retries", "0"]),
    Fault("504 gateway timeout, {error: {message}}", Behavior(status=504, body_shape="error_message", message="upstream timed out"), 5, -1, "error", "upstream timed out", ["--retries", "0"]),
    Fault("500 truncated JSON body", Behavior(status=500, body_shape="truncated_json"), 5, -1, "error", "HTTP 500"),
    Fault("200 truncated JSON body", Behavior(status=200, body_shape="truncated_json"), 5, -1, "error", "not valid JSON", ["--no-stream"]),
    Fault("200 body that is not JSON", Behavior(body_shape="not_json"), 5, -1, "error", "not valid JSON", ["--no-stream"]),
    Fault("200 response without results", Behavior(body_shape="no_results"), 5, -1, "error", "no results", ["--no-stream"]),
    Fault("stream with garbage lines", stream(garbage_lines=True), 0, 3, "ok", ""),
    Fault("stream with comments, CRLF, [DONE]", stream(comments=True, newline="\r\n", done=True), 0, 3, "ok", ""),
    Fault("stream cut before any event", stream(cut_after=0), 5, 0, "incomplete", "incomplete"),
    Fault("stream cut after 1 token", stream(cut_after=1), 5, 1, "incomplete", "incomplete"),
    Fault("stream cut after 2 tokens", stream(cut_after=2), 5, 2, "incomplete", "incomplete"),
    Fault("stream cut before its final event", stream(cut_after=3), 5, 3, "incomplete", "incomplete"),
    Fault("close-delimited stream cut midway", stream(cut_after=2, framing="close"), 5, 2, "incomplete", "incomplete"),
    Fault("error event mid-stream", stream(error_after=2, message="CUDA out of memory"), 5, 2, "error", "CUDA out of memory"),
    Fault("error event mid-stream, TGI shape", stream(error_after=1, error_event_shape="tgi", message="Request failed during generation"), 5, 1, "error", "Request failed during generation"),
    Fault("stalled stream", stream(stall_after=1), 5, 1, "incomplete", "stalled", ["--timeout", "0.5"]),
    Fault("slow first byte, within --timeout", stream(first_byte_delay=0.3), 0, 3, "ok", "", ["--timeout", "5"]),
    Fault("slow first byte, beyond --timeout", stream(first_byte_delay=3), 5, -1, "error", "no answer", ["--timeout", "0.5", "--retries", "0"]),
    Fault("connection reset before any answer", Behavior(reset_connection=True), 5, -1, "error", "closed before a complete response", ["--retries", "1"]),
    Fault("connection refused", None, 5, -1, "error", "connection refused", ["--retries", "0"]),
]


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.mark.parametrize("fault", FAULTS, ids=[fault.name for fault in FAULTS])
def test_fault(emulator, tmp_path, fault):
    home = tmp_path / "home"
    url = closed_port_url() if fault.behavior is None else emulator.url
    env = subprocess_env(DEEPINFRA_TOKEN=VALID_TOKEN, DEEPINFRA_HOST=url, LLAMACTL_HOME=str(home))
    if fault.behavior is not None:
        emulator.behave(fault.behavior)
    run = run_llamactl(["infer", "-m", MODEL, *fault.args, "tell me"], env)

    assert run.exit_code == fault.exit_code, run.stderr
    assert "Traceback" not in run.stderr and "<html" not in run.stderr.lower()
    messages = [line for line in run.stderr.splitlines() if not line.startswith("retrying in ")]
    if fault.exit_code:
        assert messages[0].startswith("error: ") and fault.says in messages[0], run.stderr
        assert len(messages) <= 2 and all(len(line) < 400 for line in messages)
    expected = "" if fault.shown < 0 else "".join(TOKENS[: fault.shown])
    assert run.stdout == expected
    assert VALID_TOKEN not in run.stdout + run.stderr

    listed = run_llamactl(["history", "list", "--json"], env)
    rows = json.loads(listed.stdout)
    assert [row["status"] for row in rows] == [fault.history]
    if fault.shown >= 0:
        assert rows[0]["results"] == [expected]
    if fault.exit_code:
        assert rows[0]["error"]


def what_stays_on_stdout(fault: Fault) -> str:
    """The fault table's words for `fault.shown`."""
    if fault.shown < 0:
        return "nothing"
    if fault.shown == 0:
        return "nothing (no token had arrived)"
    return "the whole answer" if fault.exit_code == 0 else "the text received before the fault"


def test_the_docs_fault_table_lists_every_fault():
    page = (REPO / "docs" / "faults.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (.+?) \| (\d+) \| (.+?) \| (.+?) \|$", page, re.M)
    assert rows == [(fault.name, str(fault.exit_code), what_stays_on_stdout(fault), fault.history) for fault in FAULTS]
