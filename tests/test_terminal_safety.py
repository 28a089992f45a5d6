"""Text from the API never drives the terminal (issue 13 point 13, issue 14 point 5).

A hostile server's ESC/CSI/OSC sequences (a new window title, a clipboard write, a cleared
screen, a cursor report the terminal types into stdin) reach a terminal shown in caret
notation, never obeyed; stderr lines and tabular rows show them in a pipe too, while a
pipe or file gets the exact bytes of the generated text. Run in-process with the terminal
facts set (as tests/test_rendering.py does), and end to end with real pipes.
"""

from __future__ import annotations

import io
import json
import re

import pytest
from typer.testing import CliRunner

from llamactl.cli import app
from llamactl.env import Environment
from llamactl.output.sink import Output
from llamactl.output.text import RichText
from tests.emulator import Behavior, catalogue
from tests.helpers import HANG_GUARD, REPO, invoke, llamactl_command, run_llamactl, without_spinner
from tests.test_rendering import on_terminal

MODEL = "meta-llama/Llama-2-70b-chat-hf"
TITLE, CLIPBOARD, CLEAR, ASK_CURSOR = "\x1b]0;owned\x07", "\x1b]52;c;aGk=\x07", "\x1b[2J", "\x1b[6n"
SHOWN = {TITLE: "^[]0;owned^G", CLIPBOARD: "^[]52;c;aGk=^G", CLEAR: "^[[2J", ASK_CURSOR: "^[[6n"}
HOSTILE = TITLE + CLIPBOARD + CLEAR + ASK_CURSOR
HOSTILE_SHOWN = "".join(SHOWN.values())
TOKENS = ["Hi ", TITLE, " and ", CLIPBOARD, CLEAR, ASK_CURSOR, " bye\n"]
REPLY = "".join(TOKENS)
REPLY_SHOWN = "Hi ^[]0;owned^G and ^[]52;c;aGk=^G^[[2J^[[6n bye\n"
# A control character that is not newline or tab: none of these may reach a terminal.
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# What would drive the terminal even among Rich's own styles: OSC, BEL, the hostile CSIs.
OBEYED = re.compile(r"\x1b\]|\x07|\x1b\[2J|\x1b\[6n")
RICH_STYLE = re.compile(r"\x1b\[[0-9;]*m")  # llamactl's own bold and underline (none of the hostile ones)


def assert_shown_not_obeyed(text: str, shown: str = HOSTILE_SHOWN) -> None:
    """Nothing but llamactl's own styles is a control character, and the server's are shown."""
    assert not RAW_CONTROL.search(RICH_STYLE.sub("", text)), repr(text)
    assert shown in text, repr(text)


# --- generated text ----------------------------------------------------------------------


def test_a_streamed_reply_on_a_terminal_is_shown_not_obeyed(api):
    api.behave(Behavior(tokens=TOKENS))
    run = on_terminal(["infer", "-m", MODEL, "--no-history", "hi"])
    assert run.exit_code == 0, run.stderr
    assert run.stdout == REPLY_SHOWN


def test_a_reply_that_is_not_streamed_on_a_terminal_is_shown_not_obeyed(api):
    api.behave(Behavior(tokens=TOKENS))
    run = on_terminal(["infer", "-m", MODEL, "--no-history", "--no-stream", "hi"])
    assert run.exit_code == 0, run.stderr
    assert run.stdout == REPLY_SHOWN


def test_several_results_in_panels_are_shown_not_obeyed(api):
    api.behave(Behavior(tokens=TOKENS))
    run = on_terminal(["infer", "-m", MODEL, "--no-history", "-i", "num_responses=2", "hi"])
    assert run.exit_code == 0, run.stderr
    assert_shown_not_obeyed(run.stdout, "^[]52;c;aGk=^G^[[2J^[[6n")
    assert run.stdout.count("Hi ^[]0;owned^G and ") == 2


def test_a_pipe_gets_the_exact_bytes_of_the_reply(api):
    api.behave(Behavior(tokens=TOKENS))
    for extra in ([], ["--no-stream"]):
        run = invoke(["infer", "-m", MODEL, "--no-history", *extra, "hi"])
        assert run.exit_code == 0, run.stderr
        assert run.stdout_bytes == REPLY.encode()


def test_a_real_pipe_gets_the_exact_bytes_and_stderr_shows_them(emulator, env):
    emulator.behave(Behavior(tokens=TOKENS, headers={"X-Request-Id": "R-" + TITLE}))
    run = run_llamactl(["infer", "-m", MODEL, "hi"], env)
    assert run.exit_code == 0, run.stderr
    assert run.stdout_bytes == REPLY.encode()
    assert_shown_not_obeyed(run.stderr, "R-^[]0;owned^G")  # the request id in the summary


def test_json_on_a_terminal_escapes_what_json_leaves_raw_and_stays_the_same_json(api):
    api.behave(Behavior(tokens=["C1 \x9b2J", " DEL \x7f", " " + TITLE]))
    piped = invoke(["infer", "-m", MODEL, "--no-history", "--no-stream", "--json", "hi"])
    shown = on_terminal(["infer", "-m", MODEL, "--no-history", "--no-stream", "--json", "hi"])
    assert shown.exit_code == piped.exit_code == 0, shown.stderr
    assert "\x9b" in piped.stdout and "\x7f" in piped.stdout  # a pipe gets json.dumps' text
    assert not RAW_CONTROL.search(shown.stdout) and "\\u009b2J" in shown.stdout
    assert json.loads(shown.stdout)["results"] == json.loads(piped.stdout)["results"]
    ndjson = on_terminal(["infer", "-m", MODEL, "--no-history", "--stream", "--json", "hi"])
    assert ndjson.exit_code == 0 and not RAW_CONTROL.search(ndjson.stdout)
    assert [json.loads(line) for line in ndjson.stdout.splitlines()][0]["token"]["text"] == "C1 \x9b2J"


def test_an_output_selection_on_a_terminal_is_shown_not_obeyed(api):
    api.behave(Behavior(tokens=["C1 \x9b2J", " DEL \x7f"]))  # what deepctl's JSON leaves raw
    args = ["infer", "-m", MODEL, "--no-history", "-o", "results.0.generated_text=-", "hi"]
    assert_shown_not_obeyed(on_terminal(args).stdout, "C1 ^[[2J DEL ^?")
    assert "C1 \x9b2J DEL \x7f" in invoke(args).stdout


def test_a_real_terminal_gets_nothing_to_obey(emulator, env):
    pexpect = pytest.importorskip("pexpect")
    emulator.behave(Behavior(tokens=TOKENS, headers={"X-Request-Id": "R-" + ASK_CURSOR}))
    child = pexpect.spawn(
        llamactl_command()[0],
        llamactl_command("infer", "-m", MODEL, "hi")[1:],
        env={**env, "NO_COLOR": "1"},
        cwd=str(REPO),
        encoding="utf-8",
        timeout=HANG_GUARD,
    )
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    screen = child.before.replace("\r\n", "\n")  # the pty's own line endings
    screen = without_spinner(screen)  # llamactl's own erase sequences, not the server's
    assert screen.startswith(REPLY_SHOWN) and "R-^[[6n" in screen
    assert not RAW_CONTROL.search(screen), repr(screen)


# --- line endings: CRLF is a line ending, a lone CR is shown --------------------------------


def rich_text_on_a_terminal() -> tuple[RichText, io.StringIO]:
    screen = io.StringIO()
    env = Environment(
        stdout=screen,
        stderr=io.StringIO(),
        stdout_isatty=True,
        stderr_isatty=True,
        no_color=True,
        width=80,
        environ={},
    )
    return RichText(Output(env)), screen


def test_a_crlf_split_across_two_network_reads_is_a_line_ending():
    renderer, screen = rich_text_on_a_terminal()
    for text in ("one\r", "\ntwo\r\nthree", " lone\rcr", "\r"):
        renderer.token(text)
        renderer.flush()
    renderer.end()
    assert screen.getvalue() == "one\ntwo\nthree lone^Mcr^M\n"


def test_a_crlf_reply_streamed_to_a_terminal_shows_no_carets(api):
    api.behave(Behavior(tokens=["line one\r", "\nline two\r\n", "bare\rcr\r\n"]))
    run = on_terminal(["infer", "-m", MODEL, "--no-history", "hi"])
    assert run.exit_code == 0, run.stderr
    assert run.stdout == "line one\nline two\nbare^Mcr\n"


# --- stderr: server messages, reason phrases, request ids, in a terminal and in a CI log ------


@pytest.mark.parametrize("stderr_isatty", [False, True], ids=["ci-log", "terminal"])
def test_a_server_error_message_is_shown_not_obeyed(api, stderr_isatty):
    api.behave(Behavior(status=400, body_shape="detail_str", message=f"bad {HOSTILE} input"))
    args = ["infer", "-m", MODEL, "--no-history", "hi"]
    run = on_terminal(args, stderr_isatty=True, color=True) if stderr_isatty else invoke(args)
    assert run.exit_code == 4
    assert not OBEYED.search(run.stderr), repr(run.stderr)
    assert f"bad {HOSTILE_SHOWN} input" in run.stderr
    if not stderr_isatty:
        assert_shown_not_obeyed(run.stderr)


def test_a_reason_phrase_is_shown_not_obeyed_in_the_error_and_the_debug_trace(api):
    api.behave(Behavior(status=503, body_shape="empty", reason=f"Busy {ASK_CURSOR}{TITLE}"))
    run = invoke(["--debug", "infer", "-m", MODEL, "--no-history", "--retries", "0", "hi"])
    assert run.exit_code == 5
    assert not RAW_CONTROL.search(run.stderr), repr(run.stderr)
    lines = run.stderr.splitlines()
    assert any(line.startswith("error: ") and "HTTP 503 Busy ^[[6n^[]0;owned^G" in line for line in lines)
    assert any(line.startswith("debug: < HTTP 503 Busy ^[[6n") for line in lines)


def test_retry_notices_show_the_servers_words_not_obey_them(api):
    api.queue(Behavior(status=503, message=f"warming up {CLEAR}", headers={"Retry-After": "0"}))
    api.behave(Behavior(tokens=["ok\n"]))
    run = invoke(["infer", "-m", MODEL, "--no-history", "--retries", "1", "hi"])
    assert run.exit_code == 0, run.stderr
    assert_shown_not_obeyed(run.stderr, "warming up ^[[2J")


def test_batch_warnings_under_the_progress_bar_are_shown_not_obeyed(api):
    api.behave(Behavior(status=400, body_shape="detail_str", message=f"no {TITLE}"))
    result = CliRunner().invoke(
        app,
        ["infer", "-m", MODEL, "--no-history", "--batch", "-", "--batch-format", "lines"],
        input="a\nb\n",
        obj={"stdout_isatty": False, "stderr_isatty": True, "no_color": True, "width": 80},
    )
    assert result.exit_code != 0
    assert not OBEYED.search(result.stderr), repr(result.stderr)
    assert "no ^[]0;owned" in result.stderr  # printed by the bar's console: Rich drops the BEL itself


# --- models: descriptions, names, versions -------------------------------------------------


def test_a_model_description_is_shown_on_a_terminal_and_exact_in_a_pipe(api, monkeypatch):
    monkeypatch.setitem(catalogue.find_model(MODEL, include_private=False), "description", f"chat {HOSTILE}")
    shown = on_terminal(["models", "info", "-m", MODEL])
    assert shown.exit_code == 0, shown.stderr
    assert f"description: chat {HOSTILE_SHOWN}\n" in shown.stdout
    assert_shown_not_obeyed(shown.stdout)
    piped = invoke(["models", "info", "-m", MODEL])
    assert f"description: chat {HOSTILE}\n" in piped.stdout  # deepctl's card, byte for byte


def test_model_list_rows_show_server_strings_in_a_pipe_too(api, monkeypatch):
    odd = {
        "model_name": "emu-test/tab\tname",
        "type": "text-generation",
        "private": 0,
        "replaced_by": f"evil{TITLE}",
        "deprecated": True,
    }
    monkeypatch.setattr(catalogue, "MODELS", catalogue.MODELS + [odd])
    piped = invoke(["models", "list"])
    assert piped.exit_code == 0, piped.stderr
    row = next(line for line in piped.stdout.splitlines() if line.startswith("emu-test/tab"))
    assert row.split("\t")[0] == "emu-test/tab^Iname"  # a server's tab cannot add a column
    assert row.endswith("replaced by evil^[]0;owned^G")
    assert not RAW_CONTROL.search(piped.stdout)
    shown = on_terminal(["models", "list"], width=200)
    assert_shown_not_obeyed(shown.stdout, "evil^[]0;owned^G")


def test_version_rows_show_server_strings(api, monkeypatch):
    monkeypatch.setitem(
        catalogue.VERSIONS, MODEL, [{"version": f"v1{CLEAR}", "uploaded_at": f"now{ASK_CURSOR}"}]
    )
    piped = invoke(["models", "versions", "-m", MODEL])
    assert piped.exit_code == 0, piped.stderr
    assert piped.stdout == "v1^[[2J\tnow^[[6n\n"
    assert_shown_not_obeyed(on_terminal(["models", "versions", "-m", MODEL]).stdout, "v1^[[2J")


# --- auth status: the account comes from the API -----------------------------------------------


def test_the_account_in_auth_status_is_shown_not_obeyed(api, monkeypatch):
    monkeypatch.setitem(catalogue.ME, "email", f"me{TITLE}@example.com")
    piped = invoke(["auth", "status"])
    assert piped.exit_code == 0, piped.stderr
    assert "me^[]0;owned^G@example.com" in piped.stdout and not RAW_CONTROL.search(piped.stdout)
    assert_shown_not_obeyed(on_terminal(["auth", "status"]).stdout, "me^[]0;owned^G@example.com")


# --- history: stored text ------------------------------------------------------------------


@pytest.fixture
def hostile_record(api):
    """One history record whose prompt, reply and request id came with control sequences."""
    api.behave(Behavior(tokens=TOKENS, headers={"X-Request-Id": "R-" + CLEAR}))
    run = invoke(["infer", "-m", MODEL, f"prompt {TITLE}"])
    assert run.exit_code == 0, run.stderr


def test_history_show_on_a_terminal_shows_stored_text_not_obeys_it(hostile_record):
    run = on_terminal(["history", "show", "1"])
    assert run.exit_code == 0, run.stderr
    assert_shown_not_obeyed(run.stdout, "prompt ^[]0;owned^G")
    assert "^[]52;c;aGk=^G^[[2J^[[6n" in run.stdout and "R-^[[2J" in run.stdout


def test_history_show_in_a_pipe_keeps_the_exact_texts_and_shows_the_fields(hostile_record):
    run = invoke(["history", "show", "1"])
    assert run.exit_code == 0, run.stderr
    assert f"== input ==\nprompt {TITLE}\n" in run.stdout
    assert f"== result ==\n{REPLY}" in run.stdout
    assert "request id: R-^[[2J\n" in run.stdout  # a one-line field, escaped always


def test_history_list_rows_show_stored_text_in_a_pipe_and_on_a_terminal(hostile_record):
    piped = invoke(["history", "list"])
    assert piped.exit_code == 0, piped.stderr
    assert_shown_not_obeyed(piped.stdout, "prompt ^[]0;owned^G")
    shown = on_terminal(["history", "list"])
    assert_shown_not_obeyed(shown.stdout, "prompt ^[]0;owned^G")


def test_stored_text_that_looks_like_rich_markup_is_shown_as_it_is(api):
    run = invoke(["infer", "-m", MODEL, "-q", "[bold]x[/] and [/]"])
    assert run.exit_code == 0, run.stderr
    for command in (["history", "list"], ["history", "search", "and"], ["history", "stats", "--by", "model"]):
        shown = on_terminal(command)
        assert shown.exit_code == 0, shown.stderr
    assert "[bold]x[/] and [/]" in on_terminal(["history", "list"]).stdout
