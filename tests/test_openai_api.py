"""`infer --api openai`: DeepInfra's OpenAI-compatible chat API (and any other OpenAI
server through LLAMACTL_OPENAI_URL), end to end against the emulator: the message list
sent, the text streamed, the server's cost in the summary, --json, -o, --dry-run, -i typed
by the chat API's fields, history, and the same client behaviour as the native API."""

from __future__ import annotations

import json

import pytest

from tests.emulator import VALID_TOKEN, Behavior, textgen
from tests.helpers import invoke, run_llamactl, subprocess_env

MODEL = "meta-llama/Llama-2-70b-chat-hf"
CHAT_PATH = "/v1/openai/chat/completions"


def chat_requests(emulator):
    return [request for request in emulator.requests if request.path.endswith("/chat/completions")]


def openai(*args: str):
    return invoke(["infer", "--api", "openai", "-m", MODEL, *args])


def prompt_tokens(*messages: dict) -> int:
    """What the emulator counts for a message list: the words of its Llama 2 template, + 1."""
    return textgen.count_tokens(textgen.llama2_prompt(list(messages)))


def reply_tokens(text: str) -> int:
    return len(textgen.split_words(textgen.default_reply(text)))


def user(text: str) -> dict:
    return {"role": "user", "content": text}


def summary(stderr: str) -> str:
    return [line for line in stderr.splitlines() if line.startswith(MODEL)][-1]


def test_a_streamed_answer_with_the_servers_cost(api):
    api.behave(Behavior(tokens=["Hi", " there", "!"]))
    run = openai("--system", "Be brief.", "hello")
    assert run.exit_code == 0, run.stderr
    assert run.stdout == "Hi there!\n"
    [request] = chat_requests(api)
    assert request.path == CHAT_PATH and request.headers["authorization"] == f"Bearer {VALID_TOKEN}"
    assert request.json == {
        "model": MODEL,
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    # at the catalogue's $0.64/$0.80 per million: the emulator's estimated_cost, not an
    # estimate (no "~")
    sent = prompt_tokens({"role": "system", "content": "Be brief."}, user("hello"))
    assert f"{sent} in / 3 out tokens" in summary(run.stderr)
    assert f"cost ${(sent * 0.64 + 3 * 0.8) / 1e6:.8f}".rstrip("0") in summary(run.stderr)
    assert "~" not in summary(run.stderr) and "request chatcmpl-" in summary(run.stderr)


def test_not_streamed_max_tokens_and_its_finish(api):
    run = openai("--no-stream", "-i", "max_tokens=2", "-i", "temperature=0.5", "-i", "seed=7", "one two")
    assert run.exit_code == 0, run.stderr
    assert run.stdout == "Hello! You\n"
    [request] = chat_requests(api)
    assert request.json["max_tokens"] == 2 and request.json["temperature"] == 0.5
    assert request.json["seed"] == 7 and "stream" not in request.json
    assert f"{prompt_tokens(user('one two'))} in / 2 out tokens" in summary(run.stderr)


def test_json_is_the_apis_response_and_ndjson_chunks_when_streamed(api):
    run = openai("--json", "-i", "max_tokens=2", "hi")
    body = json.loads(run.stdout)
    assert body["object"] == "chat.completion" and body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 2 and body["usage"]["estimated_cost"] > 0
    run = openai("--json", "--stream", "-i", "max_tokens=2", "hi")
    assert run.exit_code == 0, run.stderr
    chunks = [json.loads(line) for line in run.stdout.splitlines()]
    assert [chunk["object"] for chunk in chunks] == ["chat.completion.chunk"] * 3
    assert [chunk["choices"][0]["finish_reason"] for chunk in chunks] == [None, None, "length"]
    assert chunks[-1]["usage"]["completion_tokens"] == 2


def test_o_selects_from_the_chat_completion(api, tmp_path):
    answer = tmp_path / "answer.txt"
    run = openai("-o", f"choices.0.message.content={answer}", "-o", "usage.completion_tokens=-", "hi")
    assert run.exit_code == 0, run.stderr
    assert answer.read_text() == "Hello! You said: hi. Voilà, café 🦙"
    assert run.stdout == f"{reply_tokens('hi')}\n"


def test_o_paths_are_checked_against_the_chat_shape_before_sending(api):
    run = openai("-o", "results.0.generated_text=-", "hi")
    assert run.exit_code == 2 and "a chat completion has no 'results'" in run.stderr
    run = openai("-o", "choices.1.message.content=-", "hi")
    assert run.exit_code == 2 and "-i n=2" in run.stderr
    assert chat_requests(api) == []


def test_dry_run_is_the_curl_line(api):
    run = openai("--dry-run", "-i", "max_tokens=5", "hi")
    assert run.exit_code == 0 and chat_requests(api) == []
    assert run.stdout.startswith(f"curl -sS -N -X POST {api.url}{CHAT_PATH} ")
    assert '"Authorization: Bearer $DEEPINFRA_TOKEN"' in run.stdout and VALID_TOKEN not in run.stdout
    assert '"max_tokens": 5' in run.stdout and '"model": "meta-llama/Llama-2-70b-chat-hf"' in run.stdout


def test_fields_are_typed_as_the_chat_api_types_them(api):
    run = openai("-i", "max_tokens=lots", "hi")
    assert run.exit_code == 2 and "-i max_tokens: expected an integer, got 'lots'" in run.stderr
    run = openai("-i", "n=9", "--no-stream", "hi")
    assert run.exit_code == 2 and "-i n: must be between 1 and 4" in run.stderr
    run = openai("-i", "n=2", "--stream", "hi")
    assert run.exit_code == 2 and "n > 1 cannot be streamed" in run.stderr
    assert chat_requests(api) == []
    run = openai("-i", "stop=.", "-i", "response_format=json", "-i", "n=2", "hi")
    assert run.exit_code == 0, run.stderr
    assert run.stdout == "Hello! You said: hi.\n\nHello! You said: hi.\n"
    sent = chat_requests(api)[-1].json
    assert sent["stop"] == ["."] and sent["response_format"] == {"type": "json_object"} and sent["n"] == 2


def test_a_native_field_name_gets_the_chat_apis_and_the_other_way_round(api):
    run = openai("-i", "max_new_tokens=3", "-i", "tempreature=1", "hi")
    assert run.exit_code == 0
    warnings = [line for line in run.stderr.splitlines() if line.startswith("warning: ")]
    assert warnings == [
        "warning: -i max_new_tokens: a native API field; the OpenAI chat API calls it max_tokens",
        "warning: -i tempreature: not an OpenAI chat field; did you mean temperature?",
    ]
    run = invoke(["infer", "-m", MODEL, "-i", "max_tokens=3", "hi"])
    assert "did you mean max_new_tokens?" in run.stderr


def test_a_message_list_from_a_file_and_a_prompt_after_it(api, tmp_path):
    history = tmp_path / "messages.json"
    history.write_text(
        json.dumps([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}])
    )
    run = openai("-i", f"messages=@{history}", "and now?")
    assert run.exit_code == 0, run.stderr
    assert [m["content"] for m in chat_requests(api)[-1].json["messages"]] == ["hi", "yo", "and now?"]
    history.write_text('[{"content": "no role"}]')
    assert openai("-i", f"messages=@{history}").exit_code == 2
    run = openai("-i", "model=other/model", "hi")
    assert run.exit_code == 2 and "-i model: the model is given with -m" in run.stderr


def test_history_records_the_api_and_the_messages(api):
    assert openai("remember me").exit_code == 0
    [row] = json.loads(invoke(["history", "list", "--json"]).stdout)
    assert (
        row["api"] == "openai"
        and row["status"] == "ok"
        and row["results"] == ["Hello! You said: remember me. Voilà, café 🦙"]
    )
    assert row["fields"]["messages"] == [{"role": "user", "content": "remember me"}]
    assert row["cost"] > 0 and not row["cost_estimated"]
    assert json.loads(invoke(["history", "search", "remember", "--json"]).stdout)[0]["id"] == row["id"]
    rerun = invoke(["history", "rerun", str(row["id"]), "-q"])
    assert rerun.exit_code == 0 and len(chat_requests(api)) == 2
    assert chat_requests(api)[-1].json["messages"] == [{"role": "user", "content": "remember me"}]
    native = invoke(["infer", "-m", MODEL, "-q", "hi"])
    assert native.exit_code == 0
    assert [row["api"] for row in json.loads(invoke(["history", "list", "--json"]).stdout)] == [
        "native",
        "openai",
        "openai",
    ]


def test_openai_errors_are_one_line_with_the_servers_message(api):
    api.queue(Behavior(status=402, message="Insufficient balance"))
    run = openai("hi")
    assert run.exit_code == 4 and run.stderr.startswith("error: Insufficient balance (HTTP 402")
    run = openai("-i", "temperature=5", "hi")
    assert run.exit_code == 4
    assert "body.temperature: ensure this value is less than or equal to 2" in run.stderr
    run = invoke(["infer", "--api", "openai", "-m", "nobody/nothing", "hi"])
    assert run.exit_code == 4 and "The model `nobody/nothing` does not exist" in run.stderr


def test_a_bad_api_name_is_a_usage_error(api):
    run = invoke(["infer", "--api", "anthropic", "-m", MODEL, "hi"])
    assert run.exit_code == 2 and "--api 'anthropic': expected native or openai" in run.stderr
    run = invoke(["infer", "--api", "openai", "-m", MODEL, "--batch", "-"], input='"hi"\n')
    assert run.exit_code == 2 and "drop --api openai" in run.stderr


def test_debug_trace_redacts_the_token(api):
    run = invoke(["--debug", "infer", "--api", "openai", "-m", MODEL, "hi"])
    assert run.exit_code == 0
    assert f"> POST {api.url}{CHAT_PATH}" in run.stderr and VALID_TOKEN not in run.stderr + run.stdout


def test_retries_a_rate_limit_like_the_native_api(api):
    api.queue(Behavior(status=429, headers={"Retry-After": "0"}))
    run = openai("hi")
    assert run.exit_code == 0, run.stderr
    assert "retrying in 0.0 s after 429 Rate limited" in run.stderr and len(chat_requests(api)) == 2


# --- LLAMACTL_OPENAI_URL: any OpenAI-compatible server ----------------------------------


def test_a_local_server_needs_no_token(emulator, home):
    env = subprocess_env(
        LLAMACTL_HOME=str(home),
        LLAMACTL_OPENAI_URL=emulator.url + "/local/v1/",
        DEEPINFRA_HOST="http://127.0.0.1:9",
    )
    run = run_llamactl(["infer", "--api", "openai", "-m", "llama3:8b", "hello"], env)
    assert run.exit_code == 0, run.stderr
    assert run.stdout == "Hello! You said: hello. Voilà, café 🦙\n"
    [request] = chat_requests(emulator)
    assert request.path == "/local/v1/chat/completions" and "authorization" not in request.headers
    assert request.json["model"] == "llama3:8b"
    # OpenAI's usage chunk after the finish chunk is read too; a local server reports no cost
    line = [line for line in run.stderr.splitlines() if line.startswith("llama3:8b")][-1]
    assert f"{prompt_tokens(user('hello'))} in / {reply_tokens('hello')} out tokens" in line
    assert "cost n/a" in line
    assert [request.path for request in emulator.requests] == ["/local/v1/chat/completions"]


def test_another_server_is_sent_the_token_and_must_have_one(emulator, home):
    env = subprocess_env(LLAMACTL_HOME=str(home), LLAMACTL_OPENAI_URL="https://llm.example.invalid/v1")
    run = run_llamactl(["infer", "--api", "openai", "-m", "m", "hello"], env)
    assert run.exit_code == 3 and run.stderr.startswith("error: no API token")
    env = subprocess_env(
        LLAMACTL_HOME=str(home), DEEPINFRA_TOKEN=VALID_TOKEN, LLAMACTL_OPENAI_URL="http://10.1.2.3/v1"
    )
    run = run_llamactl(["infer", "--api", "openai", "-m", "m", "hello"], env)
    assert run.exit_code == 2 and "refusing to send the API token over plain http to 10.1.2.3" in run.stderr
    env["LLAMACTL_OPENAI_URL"] = emulator.url + "/v1/openai"
    run = run_llamactl(["infer", "--api", "openai", "-m", MODEL, "hello"], env)
    assert (
        run.exit_code == 0 and chat_requests(emulator)[-1].headers["authorization"] == f"Bearer {VALID_TOKEN}"
    )


def test_a_bad_openai_url_never_breaks_the_native_api(api, monkeypatch):
    monkeypatch.setenv("LLAMACTL_OPENAI_URL", "not a url")
    assert invoke(["infer", "-m", MODEL, "-q", "hi"]).exit_code == 0
    run = openai("hi")
    assert run.exit_code == 2 and "check LLAMACTL_OPENAI_URL" in run.stderr


@pytest.mark.parametrize("stream", [True, False])
def test_dry_run_names_the_other_server(api, monkeypatch, stream):
    monkeypatch.setenv("LLAMACTL_OPENAI_URL", "http://127.0.0.1:8080/v1")
    run = openai("--dry-run", "--stream" if stream else "--no-stream", "hi")
    assert " -X POST http://127.0.0.1:8080/v1/chat/completions " in run.stdout
    assert ('"stream_options"' in run.stdout) is stream


def test_send_messages_is_a_conversation_turn_with_the_native_paths_outcome(api, home):
    """What a conversation turn calls: the messages so far in, the outcome infer gets out."""
    import io

    from llamactl.api.request import InferenceTarget
    from llamactl.env import Environment
    from llamactl.inference.openai_chat import send_messages
    from llamactl.inference.session import RunSettings
    from llamactl.output.views import TextView

    environ = {"DEEPINFRA_TOKEN": VALID_TOKEN, "LLAMACTL_HOME": str(home)}
    env = Environment(api_url=api.url, environ=environ, stdout=io.StringIO(), stderr=io.StringIO())
    messages = [user("hi"), {"role": "assistant", "content": "hello"}, user("and a llama?")]
    view = TextView(env.output)
    outcome = send_messages(
        env, InferenceTarget(model=MODEL), messages, view, RunSettings(10, 0), {"seed": 1}
    )
    view.finish()
    assert env.stdout.getvalue() == textgen.default_reply("and a llama?") + "\n"
    assert (outcome.status, outcome.results) == ("ok", [textgen.default_reply("and a llama?")])
    assert outcome.tokens_in == prompt_tokens(*messages) and outcome.cost and not outcome.cost_estimated
    assert chat_requests(api)[-1].json["messages"] == messages and chat_requests(api)[-1].json["seed"] == 1
    [row] = json.loads(invoke(["history", "list", "--json"]).stdout)
    assert row["api"] == "openai" and row["fields"]["messages"] == messages


def test_sigint_mid_stream_keeps_the_partial_answer_in_history(emulator, env):
    import signal
    import threading

    from tests.helpers import HANG_GUARD, read_exactly, start_llamactl

    gate = threading.Event()
    emulator.behave(Behavior(tokens=["kept", " lost"], gate=gate))
    proc = start_llamactl(env, "infer", "--api", "openai", "-m", MODEL, "hi")
    try:
        assert read_exactly(proc.stdout.fileno(), 4) == b"kept"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(HANG_GUARD) == 130
    finally:
        gate.set()
        proc.kill()
        proc.wait()
    rows = json.loads(run_llamactl(["history", "list", "--json"], env).stdout)
    assert [(row["api"], row["status"], row["results"]) for row in rows] == [
        ("openai", "interrupted", ["kept"])
    ]
