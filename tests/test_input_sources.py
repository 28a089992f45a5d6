"""Where infer's input comes from: PROMPT or -i input= (never both), piped stdin before it,
--no-stdin to leave stdin alone, and the final newline of text output."""

from __future__ import annotations

import subprocess

from tests.emulator import Behavior
from tests.helpers import HANG_GUARD, REPO, invoke, llamactl_command, read_some, run_llamactl

MODEL = "meta-llama/Llama-2-70b-chat-hf"


def inference_requests(emulator):
    return [r for r in emulator.requests if r.path.startswith("/v1/inference/")]


def test_input_field_takes_piped_stdin_before_it_as_prompt_does(api):
    run = invoke(["infer", "-m", MODEL, "-i", "input=review this"], input="--- a\n+++ b\n")
    assert run.exit_code == 0, run.stderr
    assert inference_requests(api)[-1].json["input"] == "--- a\n+++ b\n\nreview this"


def test_empty_input_field_and_a_prompt_is_given_twice_not_empty(api):
    run = invoke(["infer", "-m", MODEL, "-i", "input=", "hi"])
    assert run.exit_code == 2
    assert "given twice" in run.stderr and "empty" not in run.stderr
    assert api.requests == []


def test_input_field_repeated_is_exit_2(api):
    run = invoke(["infer", "-m", MODEL, "-i", "input=a", "-i", "input=b"])
    assert run.exit_code == 2 and "given twice" in run.stderr
    assert api.requests == []


def test_no_stdin_leaves_a_piped_stdin_unread(api):
    run = invoke(["infer", "-m", MODEL, "--no-stdin", "-q", "hi"], input="b\nc\n")
    assert run.exit_code == 0, run.stderr
    assert inference_requests(api)[-1].json["input"] == "hi"


def test_no_stdin_with_at_dash_or_batch_dash_is_exit_2(api):
    for args in (["-i", "input=@-"], ["--batch", "-"]):
        run = invoke(["infer", "-m", MODEL, "--no-stdin", *args], input="x\n")
        assert run.exit_code == 2 and "--no-stdin" in run.stderr, run.stderr
    assert api.requests == []


def test_a_while_read_loop_sends_each_line_with_no_stdin(env, emulator):
    script = f'printf "a\\nb\\nc\\n" | while read l; do "$@" infer -q -m {MODEL} --no-stdin "$l"; done'
    proc = subprocess.run(
        ["sh", "-c", script, "sh", *llamactl_command()], env=env, cwd=REPO, capture_output=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert [r.json["input"] for r in inference_requests(emulator)] == ["a", "b", "c"]


def test_a_piped_stdin_that_never_ends_can_be_left_alone(env, emulator):
    """`sleep 3 | llamactl infer --no-stdin hi` does not wait for the pipe to end."""
    proc = subprocess.Popen(
        llamactl_command("infer", "-m", MODEL, "--no-stdin", "-q", "hi"),
        env=env,
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.wait(timeout=HANG_GUARD) == 0  # stdin is still open
    finally:
        proc.stdin.close()
    assert inference_requests(emulator)[-1].json["input"] == "hi"


def test_text_output_ends_with_a_newline_history_keeps_the_exact_text(env, emulator):
    emulator.behave(Behavior(tokens=["one", " two"]))
    streamed = run_llamactl(["infer", "-m", MODEL, "-q", "hi"], env)
    assert streamed.stdout_bytes == b"one two\n"
    emulator.behave(Behavior(tokens=["one", " two"]))
    whole = run_llamactl(["infer", "-m", MODEL, "-q", "--no-stream", "hi"], env)
    assert whole.stdout_bytes == b"one two\n"
    shown = run_llamactl(["history", "list", "--json"], env)
    import json

    assert [row["results"] for row in json.loads(shown.stdout)] == [["one two"], ["one two"]]


def test_text_that_ends_a_line_gets_no_second_newline(env, emulator):
    emulator.behave(Behavior(tokens=["line\n"]))
    assert run_llamactl(["infer", "-m", MODEL, "-q", "hi"], env).stdout_bytes == b"line\n"


def test_json_and_ndjson_are_unchanged(env, emulator):
    emulator.behave(Behavior(tokens=["one"]))
    ndjson = run_llamactl(["infer", "-m", MODEL, "-q", "--json", "--stream", "hi"], env)
    assert ndjson.stdout_bytes.endswith(b"}\n") and not ndjson.stdout_bytes.endswith(b"\n\n")


def test_summary_starts_its_own_line_in_a_shared_log(env, emulator):
    emulator.behave(Behavior(tokens=["one"]))
    proc = subprocess.run(
        llamactl_command("infer", "-m", MODEL, "hi"),
        env=env,
        cwd=REPO,
        timeout=60,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    lines = proc.stdout.decode().splitlines()
    assert lines[0] == "one" and lines[1].startswith(MODEL)


def test_no_blank_line_on_a_terminal_stderr_after_text_to_a_file(api):
    from typer.testing import CliRunner

    from llamactl.cli import app

    api.behave(Behavior(tokens=["one"]))
    result = CliRunner().invoke(app, ["infer", "-m", MODEL, "hi"], obj={"stderr_isatty": True, "width": 80})
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "one\n"
    assert not result.stderr.startswith("\n")


# --- -o checked before anything is sent (and billed) ----------------------------------------

import pytest  # noqa: E402


@pytest.mark.parametrize(
    "selection, says",
    [
        ("answer.txt", "the whole response is an object"),
        ("bogus.path=-", "has no 'bogus'"),
        ("results=answer.txt", "results is an object"),
        ("results.0=answer.txt", "is an object"),
        ("inference_status.cost=cost.txt", "is a number"),
        ("results.1.generated_text=-", "will have 1 result, so no index 1"),
        ("results.0.generated_text.x=-", "has no 'x'"),
        ("inference_status.{IDX}=-", "{IDX} needs an array"),
    ],
)
def test_an_o_that_cannot_work_is_exit_2_before_sending(api, tmp_path, monkeypatch, selection, says):
    monkeypatch.chdir(tmp_path)
    run = invoke(["infer", "-m", MODEL, "hi", "-o", selection])
    assert run.exit_code == 2, run.stderr
    assert run.stderr.startswith("error: -o ") and says in run.stderr.splitlines()[0], run.stderr
    assert api.requests == []
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "selection",
    [
        "results.0.generated_text=answer.txt",
        "results.{IDX}.generated_text=a{IDX}.txt",
        "=all.json",
        "results=r.json",
        "inference_status.cost=-",
        "request_id=id.txt",
        "results.{IDX}=r{IDX}.json",
    ],
)
def test_an_o_that_works_is_sent(api, tmp_path, monkeypatch, selection):
    monkeypatch.chdir(tmp_path)
    run = invoke(["infer", "-m", MODEL, "hi", "-o", selection])
    assert run.exit_code == 0, run.stderr
    assert len(inference_requests(api)) == 1


def test_two_results_can_be_selected_by_index(api, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = invoke(
        ["infer", "-m", MODEL, "-i", "num_responses=2", "hi", "-o", "results.1.generated_text=b.txt"]
    )
    assert run.exit_code == 0, run.stderr
    assert (tmp_path / "b.txt").read_text(encoding="utf-8")


def test_a_prompt_waiting_for_a_silent_pipe_says_why_then_uses_what_came(env, emulator):
    """`sleep 3 | llamactl infer -m M hi`: the pipe still goes before PROMPT (the contract), and
    stderr says what llamactl waits for and how not to."""
    proc = subprocess.Popen(
        llamactl_command("infer", "-m", MODEL, "hi"),
        env=env,
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        said = b""
        while b"\n" not in said:
            said += read_some(proc.stderr.fileno())
        assert said.decode().startswith("waiting for piped stdin to end") and b"--no-stdin" in said
        assert inference_requests(emulator) == []
        proc.stdin.write(b"late\n")
        proc.stdin.close()
        assert proc.wait(timeout=HANG_GUARD) == 0
    finally:
        proc.kill()
        proc.wait()
    assert inference_requests(emulator)[-1].json["input"] == "late\n\nhi"
