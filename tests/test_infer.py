"""`llamactl infer` in-process (CliRunner) against the emulator: request building, output
modes, error messages and exit codes."""

from __future__ import annotations

import json
import re

import pytest

from tests.emulator import VALID_TOKEN, Behavior
from tests.emulator.textgen import default_reply
from tests.helpers import invoke, last_inference

MODEL = "meta-llama/Llama-2-70b-chat-hf"


def last_request(emulator):
    inference = [r for r in emulator.requests if r.path.startswith("/v1/inference/")]
    assert inference, "no inference request reached the emulator"
    return inference[-1]


def test_streams_exactly_the_generated_text(api):
    api.behave(Behavior(tokens=["Roses", " are", " red", "\n"]))
    run = invoke(["infer", "-m", MODEL, "Write a poem"])
    assert run.exit_code == 0, run.stderr
    assert run.stdout == "Roses are red\n"
    sent = last_request(api)
    assert sent.path == f"/v1/inference/{MODEL}"
    assert sent.json == {"input": "Write a poem", "stream": True}
    assert sent.headers["Authorization"] == f"Bearer {VALID_TOKEN}"


def test_summary_line_names_model_tokens_and_request(api):
    api.behave(Behavior(tokens=["a", "b", "c"]))
    run = invoke(["infer", "-m", MODEL, "--no-stream", "one two three"])
    assert run.exit_code == 0, run.stderr
    body = json.loads(last_inference(api).body)
    assert "stream" not in body
    lines = run.stderr.splitlines()
    assert len(lines) == 1
    # The emulator counts 3 words + BOS in and a, b, c + </s> out; the model's catalogue price
    # is $0.00000064 per input and $0.0000008 per output token: 4 × both = $0.00000576.
    summary = (
        re.escape(f"{MODEL} · 4 in / 4 out tokens · ") + r"\d+\.\d\d s" + re.escape(" · cost $0.00000576 · ")
    )
    assert re.fullmatch(summary + r"request R[0-9A-Za-z]{23}", lines[0]), lines[0]


def test_quiet_leaves_stderr_empty(api):
    run = invoke(["infer", "-m", MODEL, "-q", "hi"])
    assert run.exit_code == 0
    assert run.stderr == ""
    assert run.stdout == default_reply("hi") + "\n"  # only stderr is quieted


def test_typed_inputs_reach_the_wire(api):
    run = invoke(
        [
            "infer",
            "-m",
            MODEL,
            "-i",
            "max_new_tokens=5",
            "-i",
            "temperature=0.5",
            "-i",
            "stop=</s>",
            "-i",
            "stop=[INST]",
            "-i",
            'custom={"a": 1}',
            "hi",
        ]
    )
    assert run.exit_code == 0, run.stderr
    sent = last_request(api).json
    assert sent["max_new_tokens"] == 5 and sent["temperature"] == 0.5
    assert sent["stop"] == ["</s>", "[INST]"]
    assert sent["custom"] == {"a": 1}


def test_version_and_deploy_id_paths(api):
    invoke(["infer", "-m", MODEL, "--version", "abc123", "hi"])
    assert last_request(api).query == {"version": "abc123"}
    invoke(["infer", "-d", "DpLlama70b", "hi"])
    assert last_request(api).path == "/v1/inference/deploy/DpLlama70b"


def test_stdin_then_blank_line_then_prompt(api):
    invoke(["infer", "-m", MODEL, "review this"], input="diff --git a/x b/x\n+new line\n")
    assert last_request(api).json["input"] == "diff --git a/x b/x\n+new line\n\nreview this"


def test_input_field_and_prompt_together_is_exit_2_before_sending(api):
    run = invoke(["infer", "-m", MODEL, "-i", "input=from flag", "positional"], input="piped")
    assert run.exit_code == 2
    assert run.stderr.startswith("error: the input is given twice") and len(run.stderr.splitlines()) == 1
    assert api.requests == []


def test_at_file_and_binary_upload_go_multipart(api, tmp_path):
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("Describe the image.", encoding="utf-8")
    image = tmp_path / "llama.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff fake pixels")
    run = invoke(
        ["infer", "-m", MODEL, "-i", f"input=@{prompt}", "-i", f"image=@{image}", "-i", "max_new_tokens=7"]
    )
    assert run.exit_code == 0, run.stderr
    sent = last_request(api)
    assert sent.form["input"] == "Describe the image."
    assert sent.form["max_new_tokens"] == 7
    assert sent.files["image"] == (image.name, "image/png", image.read_bytes())  # never the local path


def test_json_prints_the_full_response(api):
    api.behave(Behavior(tokens=["x", "y"]))
    run = invoke(["infer", "-m", MODEL, "--json", "hi"])
    data = json.loads(run.stdout)
    assert data["results"][0]["generated_text"] == "xy"
    assert data["inference_status"]["status"] == "succeeded"
    assert "stream" not in last_request(api).json


def test_json_stream_prints_one_event_per_line(api):
    api.behave(Behavior(tokens=["x", "y"]))
    run = invoke(["infer", "-m", MODEL, "--json", "--stream", "hi"])
    events = [json.loads(line) for line in run.stdout.splitlines()]
    assert [e["token"]["text"] for e in events] == ["x", "y", "</s>"]
    assert events[-1]["details"]["finish_reason"] == "eos_token"


def test_several_responses_are_separated_by_a_blank_line(api):
    run = invoke(["infer", "-m", MODEL, "-i", "num_responses=2", "hi"])
    assert run.exit_code == 0, run.stderr
    sent = last_request(api).json
    assert sent["num_responses"] == 2 and "stream" not in sent
    texts = [default_reply("hi"), default_reply("hi") + " (2)"]  # the emulator's second result is marked
    assert run.stdout == "\n\n".join(texts) + "\n"
    api.behave(Behavior())
    response = json.loads(invoke(["infer", "-m", MODEL, "-i", "num_responses=2", "--json", "hi"]).stdout)
    assert [result["generated_text"] for result in response["results"]] == texts


def test_special_tokens_are_not_printed(api):
    api.behave(Behavior(tokens=["ok"]))
    run = invoke(["infer", "-m", MODEL, "hi"])
    assert run.exit_code == 0, run.stderr
    assert run.stdout == "ok\n"  # the line ended; the stream ended with the special token </s>


def test_selectors_write_parts_like_deepctl(api, tmp_path):
    api.behave(Behavior(tokens=["sel", "ected"]))
    target = tmp_path / "out{IDX}.txt"
    run = invoke(
        [
            "infer",
            "-m",
            MODEL,
            "-o",
            "results.0.generated_text=-",
            "-o",
            f"results.{{IDX}}.generated_text={target}",
            "hi",
        ]
    )
    assert run.exit_code == 0, run.stderr
    assert json.loads(run.stdout) == "selected"
    assert (tmp_path / "out0.txt").read_text(encoding="utf-8") == "selected"


def test_dry_run_prints_curl_and_sends_nothing(api):
    run = invoke(["infer", "-m", MODEL, "--dry-run", "-i", "max_new_tokens=3", "it's a test"])
    assert run.exit_code == 0
    assert api.requests == []
    assert VALID_TOKEN not in run.stdout + run.stderr
    assert '"Authorization: Bearer $DEEPINFRA_TOKEN"' in run.stdout
    assert run.stdout.startswith("curl ")
    assert f"{api.url}/v1/inference/{MODEL}" in run.stdout


def test_webhook_says_where_the_result_goes(api):
    run = invoke(["infer", "-m", MODEL, "-i", "webhook=http://127.0.0.1:9/hook", "hi"])
    assert run.exit_code == 0, run.stderr
    assert run.stdout == ""
    assert "queued as request R" in run.stderr
    assert "http://127.0.0.1:9/hook" in run.stderr


@pytest.mark.parametrize(
    "args, words",
    [
        (["infer", "hi"], "no model given"),
        (["infer", "-m", MODEL, "-d", "X", "hi"], "exactly one of"),
        (["infer", "-d", "X", "--version", "v", "hi"], "--version needs -m"),
        (["infer", "-m", MODEL], "no input"),
        (["infer", "-m", MODEL, "-i", "max_new_tokens=lots", "hi"], "max_new_tokens: expected an integer"),
        (["infer", "-m", MODEL, "-i", "0\n0=1", "hi"], "the field name has a control character"),
        (
            ["infer", "-m", MODEL, "-i", "input=@/nonexistent/prompt.txt"],
            "cannot read @/nonexistent/prompt.txt",
        ),
        (  # a ~user that does not exist stays as typed (found by test_bad_input's fuzzing)
            ["infer", "-m", MODEL, "-i", "input=@~no-such-user-0/prompt.txt"],
            "cannot read @~no-such-user-0/prompt.txt: No such file or directory",
        ),
        (["infer", "-m", MODEL, "--stream", "-i", "num_responses=2", "hi"], "cannot be streamed"),
        (["infer", "-m", MODEL, "--json", "-o", "x=-", "hi"], "cannot be combined"),
        (
            [
                "infer",
                "-m",
                MODEL,
                "-i",
                "stop=a",
                "-i",
                "stop=b",
                "-i",
                "stop=c",
                "-i",
                "stop=d",
                "-i",
                "stop=e",
                "hi",
            ],
            "at most 4",
        ),
    ],
)
def test_usage_errors_exit_2_before_any_request(api, args, words):
    run = invoke(args)
    assert run.exit_code == 2
    assert words in run.stderr
    assert run.stderr.startswith("error: ")
    assert "Traceback" not in run.stderr
    assert api.requests == []


def test_unknown_option_is_exit_2(api):
    run = invoke(["infer", "-m", MODEL, "--bogus", "hi"])
    assert run.exit_code == 2
    assert "--bogus" in run.stderr


def test_missing_token_is_exit_3(api, monkeypatch):
    monkeypatch.delenv("DEEPINFRA_TOKEN")
    run = invoke(["infer", "-m", MODEL, "hi"])
    assert run.exit_code == 3
    assert "no API token" in run.stderr
    assert api.requests == []


def test_refuses_plain_http_to_a_remote_host_before_connecting(api):
    run = invoke(["--api-url", "http://api.example.invalid", "infer", "-m", MODEL, "hi"])
    assert run.exit_code == 2
    assert "plain http" in run.stderr
    assert "--allow-insecure" in run.stderr


@pytest.mark.parametrize(
    "behavior, code, words",
    [
        (Behavior(status=401, message="Invalid token"), 3, "Invalid token"),
        (
            Behavior(status=403, body_shape="detail_error", message="Not authenticated"),
            3,
            "Not authenticated",
        ),
        (Behavior(status=404, body_shape="error", message="Model not found"), 4, "Model not found"),
        (Behavior(status=422, body_shape="detail_list"), 4, "body."),
        (
            Behavior(status=402, body_shape="error_message", message="Insufficient balance"),
            4,
            "Insufficient balance",
        ),
        (Behavior(status=400, body_shape="detail_str", message="prompt too long"), 4, "prompt too long"),
        (Behavior(status=500, message="Something went wrong"), 5, "Something went wrong"),
        (Behavior(status=429, message="Rate limited"), 5, "Rate limited"),
        (Behavior(status=502, body_shape="html"), 5, "HTML page"),
        (Behavior(status=503, body_shape="empty"), 5, "empty body"),
        (Behavior(status=500, body_shape="truncated_json"), 5, "HTTP 500"),
        (Behavior(body_shape="not_json"), 5, "not valid JSON"),
    ],
)
def test_api_errors_map_to_exit_codes_with_the_servers_message(api, behavior, code, words):
    api.behave(behavior)
    run = invoke(["infer", "-m", MODEL, "--no-stream", "--retries", "0", "hi"])
    assert run.exit_code == code, run.stderr
    assert words in run.stderr
    assert run.stderr.startswith("error: ")
    assert len(run.stderr.splitlines()) <= 2
    assert "<html" not in run.stderr.lower() and "Traceback" not in run.stderr
    assert run.stdout == ""


def test_response_without_results_is_exit_5(api):
    api.behave(Behavior(body_shape="no_results"))
    run = invoke(["infer", "-m", MODEL, "--no-stream", "hi"])
    assert run.exit_code == 5
    assert "no results" in run.stderr


@pytest.mark.parametrize(
    "body, api_args",
    [
        (b'{"results": null, "request_id": "R1", "inference_status": {"status": "succeeded"}}', []),
        (b'{"detail": "something odd happened"}', []),
        (
            b'{"id": "chatcmpl-1", "object": "chat.completion", "model": "m", "usage": {}}',
            ["--api", "openai"],
        ),
    ],
    ids=["results null", "a stray detail", "OpenAI answer without choices"],
)
def test_an_answer_with_no_text_and_no_other_models_fields_is_exit_5(api, body, api_args):
    """Only the fields of another kind of model's answer (embeddings, images, audio) make an
    answer without text one to print: anything else without text is broken."""
    api.behave(Behavior(body=body))
    run = invoke(["infer", "-m", MODEL, "--no-stream", *api_args, "hi"])
    assert run.exit_code == 5, run.stdout
    assert "no results" in run.stderr and run.stdout == ""


def test_error_event_mid_stream_keeps_the_partial_text(api):
    api.behave(Behavior(tokens=["one", " two", " three"], error_after=2, message="CUDA out of memory"))
    run = invoke(["infer", "-m", MODEL, "hi"])
    assert run.exit_code == 5
    assert run.stdout == "one two\n"  # the partial text, its line ended
    assert "CUDA out of memory" in run.stderr


@pytest.mark.parametrize("framing", ["chunked", "close"])
def test_cut_stream_keeps_the_partial_text_and_exits_5(api, framing):
    api.behave(Behavior(tokens=["one", " two", " three"], cut_after=2, framing=framing))
    run = invoke(["infer", "-m", MODEL, "hi"])
    assert run.exit_code == 5
    assert run.stdout == "one two\n"  # the partial text, its line ended
    assert "incomplete" in run.stderr


def test_stalled_stream_times_out_with_the_partial_text(api):
    api.behave(Behavior(tokens=["one", " two", " three"], stall_after=1))
    run = invoke(["infer", "-m", MODEL, "--timeout", "0.3", "hi"])
    assert run.exit_code == 5
    assert run.stdout == "one\n"  # the partial text, its line ended
    assert "stalled" in run.stderr


def test_connection_refused_is_exit_5(api, monkeypatch):
    import socket

    with socket.socket() as sock:  # a port that was free a moment ago and has no listener
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("DEEPINFRA_HOST", f"http://127.0.0.1:{port}")
    run = invoke(["infer", "-m", MODEL, "--retries", "0", "hi"])
    assert run.exit_code == 5
    assert "connection refused" in run.stderr


def test_debug_trace_redacts_the_token(api):
    run = invoke(["--debug", "infer", "-m", MODEL, "hi"])
    assert run.exit_code == 0
    assert "debug: > POST" in run.stderr
    assert "Authorization: Bearer ***" in run.stderr
    assert VALID_TOKEN not in run.stderr + run.stdout


def test_debug_shows_a_traceback_for_failures(api):
    api.behave(Behavior(status=500))
    run = invoke(["--debug", "infer", "-m", MODEL, "--retries", "0", "hi"])
    assert run.exit_code == 5
    assert "Traceback (most recent call last)" in run.stderr
    assert VALID_TOKEN not in run.stderr


def test_version_flag():
    from llamactl import __version__

    run = invoke(["--version"])
    assert run.exit_code == 0
    assert run.stdout == f"llamactl {__version__}\n"


def test_chat_wraps_the_whole_input_in_the_llama2_format(api):
    invoke(["infer", "-m", MODEL, "--api", "native", "--chat", "review this"], input="a diff\n")
    assert last_request(api).json["input"] == "[INST] a diff\n\nreview this [/INST]"
    invoke(["infer", "-m", MODEL, "--api", "native", "--system", "Be terse.", "Hello"])
    assert last_request(api).json["input"] == "[INST] <<SYS>>\nBe terse.\n<</SYS>>\n\nHello [/INST]"
    invoke(["infer", "-m", MODEL, "Hello"])
    assert last_request(api).json["input"] == "Hello"  # never without being asked


def test_chat_applies_to_every_batch_line(api, tmp_path):
    batch = tmp_path / "prompts.jsonl"
    batch.write_text('"first"\n{"input": "second"}\n', encoding="utf-8")
    run = invoke(["infer", "-m", MODEL, "--chat", "--batch", str(batch), "-q"])
    assert run.exit_code == 0, run.stderr
    sent = sorted(r.json["input"] for r in api.requests if r.path.startswith("/v1/inference/"))
    assert sent == ["[INST] first [/INST]", "[INST] second [/INST]"]


@pytest.mark.parametrize("args", [["-i", "input="], ["   "], ["-i", "input=\n\n"]])
def test_an_empty_input_is_exit_2_and_not_sent(api, args):
    run = invoke(["infer", "-m", MODEL, *args])
    assert run.exit_code == 2
    assert "the input is empty" in run.stderr
    assert api.requests == []


@pytest.mark.parametrize("model", ["../../v1/me", "meta-llama/../x", "/meta-llama/x", "a//b"])
def test_a_model_name_cannot_walk_the_url_path(api, model):
    run = invoke(["infer", "-m", model, "hi"])
    assert run.exit_code == 2
    assert "invalid model name" in run.stderr
    assert api.requests == []


def test_a_model_without_text_input_needs_no_prompt(api, tmp_path):
    audio = tmp_path / "clip.wav"
    audio.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt \x00\xff")
    run = invoke(["infer", "-m", "openai/whisper-small", "-i", f"audio=@{audio}", "--json"])
    assert run.exit_code == 0, run.stderr
    sent = last_request(api)
    assert "input" not in (sent.form or {}) and sent.files["audio"][2] == audio.read_bytes()


def test_a_bad_value_is_quoted_short(api, tmp_path):
    big = tmp_path / "big.txt"
    big.write_text("x" * 10_000, encoding="utf-8")
    run = invoke(["infer", "-m", MODEL, "-i", f"temperature=@{big}", "hi"])
    assert run.exit_code == 2
    assert "temperature: expected a number" in run.stderr
    assert max(len(line) for line in run.stderr.splitlines()) < 200


def test_an_o_target_in_a_missing_directory_is_refused_before_sending(api, tmp_path):
    run = invoke(["infer", "-m", MODEL, "-o", f"results={tmp_path}/no/such/dir/x.json", "hi"])
    assert run.exit_code == 2
    assert "does not exist" in run.stderr
    assert api.requests == []


def test_a_global_option_after_the_command_gets_a_hint(api):
    run = invoke(["infer", "-m", MODEL, "--debug", "hi"])
    assert run.exit_code == 2
    assert "put it before the command" in run.stderr and "llamactl --debug infer" in run.stderr
