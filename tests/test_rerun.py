"""`history rerun` takes infer's request options, defined once: --chat, --system, -o and
--dry-run work as they do for infer, end to end against the emulator."""

from __future__ import annotations

import json

import pytest
import typer.main

from llamactl.api.retry import DEFAULT_RETRIES, DEFAULT_TIMEOUT
from llamactl.cli import app
from llamactl.inference.chat_template import llama2_chat_prompt
from tests.emulator import Behavior
from tests.helpers import invoke, last_inference

MODEL = "meta-llama/Llama-2-70b-chat-hf"
SHARED = (
    "model",
    "version",
    "deploy_id",
    "api",
    "inputs",
    "chat",
    "system",
    "stream",
    "json_output",
    "selections",
    "markdown",
    "quiet",
    "timeout",
    "max_time",
    "retries",
    "dry_run",
    "no_history",
)


def recorded(prompt: str = "rerun me", *flags: str) -> str:
    run = invoke(["infer", "-m", MODEL, "-q", *flags, prompt])
    assert run.exit_code == 0, run.stderr
    (record,) = json.loads(invoke(["history", "list", "--json"]).stdout)
    return str(record["id"])


def history_count() -> int:
    return len(json.loads(invoke(["history", "list", "--json"]).stdout))


def params_of(*path: str) -> dict:
    command = typer.main.get_command(app)
    for name in path:
        command = command.get_command(typer.Context(command), name)
    return {param.name: param for param in command.params}


def test_rerun_and_infer_have_the_same_request_options():
    infer, rerun = params_of("infer"), params_of("history", "rerun")
    for name in SHARED:
        assert (rerun[name].opts, rerun[name].secondary_opts, rerun[name].default, rerun[name].help) == (
            infer[name].opts,
            infer[name].secondary_opts,
            infer[name].default,
            infer[name].help,
        ), name
    assert rerun["timeout"].default == DEFAULT_TIMEOUT and rerun["retries"].default == DEFAULT_RETRIES
    assert set(rerun) == {*SHARED, "request_id"}


def test_rerun_dry_run_prints_the_curl_command_and_sends_nothing(api):
    record_id = recorded("rerun me", "-i", "max_new_tokens=9")
    sent = len(api.requests)
    run = invoke(["history", "rerun", record_id, "--dry-run", "-i", "temperature=0.2"])
    assert run.exit_code == 0, run.stderr
    assert run.stdout.startswith("curl -sS -N -X POST ")
    assert f"{api.url}/v1/inference/{MODEL}" in run.stdout
    body = json.loads(run.stdout.split(" -d ", 1)[1].strip().strip("'"))
    assert body == {"input": "rerun me", "max_new_tokens": 9, "temperature": 0.2, "stream": True}
    assert len(api.requests) == sent
    assert history_count() == 1


def test_rerun_chat_and_system_wrap_the_recorded_input(api):
    record_id = recorded("What is a llama?")
    run = invoke(["history", "rerun", record_id, "--system", "Answer in one word.", "-q"])
    assert run.exit_code == 0, run.stderr
    assert last_inference(api).json["input"] == llama2_chat_prompt("What is a llama?", "Answer in one word.")
    chat = invoke(["history", "rerun", record_id, "--chat", "-q", "--no-history"])
    assert chat.exit_code == 0, chat.stderr
    assert last_inference(api).json["input"] == llama2_chat_prompt("What is a llama?")
    rows = json.loads(invoke(["history", "list", "--json"]).stdout)
    assert [row["fields"]["input"] for row in rows] == [
        llama2_chat_prompt("What is a llama?", "Answer in one word."),
        "What is a llama?",
    ]


def test_rerun_o_writes_the_selected_part_without_streaming(api, tmp_path):
    record_id = recorded()
    target = tmp_path / "answer.txt"
    run = invoke(["history", "rerun", record_id, "-q", "-o", f"results.0.generated_text={target}"])
    assert run.exit_code == 0, run.stderr
    sent = last_inference(api)
    assert "stream" not in sent.json
    assert run.stdout == ""
    assert (
        target.read_text()
        and target.read_text()
        == json.loads(invoke(["history", "list", "--json", "-n", "1"]).stdout)[0]["results"][0]
    )


def test_rerun_refuses_json_with_o_before_sending(api):
    record_id = recorded()
    sent = len(api.requests)
    run = invoke(["history", "rerun", record_id, "--json", "-o", "results.0.generated_text=-"])
    assert run.exit_code == 2
    assert "--json and -o cannot be combined" in run.stderr
    assert len(api.requests) == sent


# A lone surrogate: a `\ud800` escape in the API's JSON is no character, and UTF-8 (SQLite's
# text, a request's JSON) cannot hold it.
LONE_SURROGATE_ANSWER = (
    b'{"results": [{"generated_text": "a\\ud800b"}], "request_id": "R1",'
    b' "inference_status": {"status": "succeeded", "cost": 0.001}}'
)
LONE_SURROGATE_EVENTS = [
    b'{"token": {"id": 1, "text": "a\\ud800", "special": false}, "generated_text": null, "details": null}',
    b'{"token": {"id": 2, "text": "b", "special": false}, "generated_text": "a\\ud800b",'
    b' "details": {"finish_reason": "eos_token", "generated_tokens": 2}}',
]


@pytest.mark.parametrize(
    "behavior, flags",
    [(Behavior(body=LONE_SURROGATE_ANSWER), ["--no-stream"]), (Behavior(events=LONE_SURROGATE_EVENTS), [])],
    ids=["json", "stream"],
)
def test_an_answer_with_a_lone_surrogate_is_kept_with_a_replacement_character_and_reruns(
    api, behavior, flags
):
    api.behave(behavior)
    run = invoke(["infer", "-m", MODEL, "-q", *flags, "hi"])
    assert (run.exit_code, run.stderr) == (0, "")  # no "history: this request was not saved"
    assert run.stdout == "a\ufffdb\n"  # as history keeps it, not a "?"
    (record,) = json.loads(invoke(["history", "list", "--json"]).stdout)
    assert record["results"] == ["a\ufffdb"] and record["status"] == "ok"
    assert json.loads(invoke(["history", "search", "a\ufffdb", "--json"]).stdout)[0]["id"] == record["id"]
    api.behave(Behavior())
    again = invoke(["history", "rerun", str(record["id"]), "-q"])
    assert again.exit_code == 0, again.stderr
    assert last_inference(api).json["input"] == "hi" and history_count() == 2
