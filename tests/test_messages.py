"""Messages that say what happened: no claim of output that is not there, no missing value
in a hint, no "1 tokens"."""

from __future__ import annotations

import json
import signal
import time

import pytest

from tests.emulator import Behavior
from tests.helpers import HANG_GUARD, exit_code, invoke, start_llamactl

MODEL = "meta-llama/Llama-2-70b-chat-hf"


def wait_until(predicate) -> None:
    deadline = time.monotonic() + HANG_GUARD
    while not predicate():
        assert time.monotonic() < deadline, "the condition never came true"
        time.sleep(0.01)


def inference_requests(emulator) -> int:
    return sum(1 for request in emulator.requests if request.path.startswith("/v1/inference/"))


def test_ctrl_c_before_the_first_token_claims_no_output(emulator, env):
    emulator.behave(Behavior(stall_after=0))
    proc = start_llamactl(env, "infer", "-m", MODEL, "-q", "hi")
    try:
        wait_until(lambda: inference_requests(emulator) == 1)
        proc.send_signal(signal.SIGINT)
        assert exit_code(proc) == 130
        assert proc.stderr.read() == b"error: interrupted\n"
        assert proc.stdout.read() == b""
    finally:
        emulator.release()
        proc.kill()
        proc.wait()


def test_sigterm_before_the_first_token_says_so_in_one_line(emulator, env):
    emulator.behave(Behavior(stall_after=0))
    proc = start_llamactl(env, "infer", "-m", MODEL, "-q", "hi")
    try:
        wait_until(lambda: inference_requests(emulator) == 1)
        proc.send_signal(signal.SIGTERM)
        assert exit_code(proc) == 143
        assert proc.stderr.read() == b"terminated by SIGTERM\n"
    finally:
        emulator.release()
        proc.kill()
        proc.wait()


def test_a_misplaced_global_option_hint_keeps_its_value():
    run = invoke(["infer", "--api-url", "http://127.0.0.1:9", "-m", MODEL, "hi"])
    assert run.exit_code == 2
    assert "as in 'llamactl --api-url http://127.0.0.1:9 infer ...'" in run.stderr


def test_a_misplaced_global_option_hint_names_the_whole_command_path():
    run = invoke(["history", "list", "--api-url=http://127.0.0.1:9"])
    assert run.exit_code == 2
    assert "as in 'llamactl --api-url=http://127.0.0.1:9 history list ...'" in run.stderr


def test_piped_help_has_no_trailing_spaces():
    for args in (["--help"], ["infer", "--help"], ["history", "list", "--help"]):
        run = invoke(args)
        assert run.exit_code == 0
        assert "Usage:" in run.stdout
        assert [line for line in run.stdout.splitlines() if line != line.rstrip()] == []


def test_help_into_head_ends_quietly(env):
    import subprocess

    from tests.helpers import REPO, llamactl_command

    for args in (["--help"], ["infer", "--help"]):
        shell = subprocess.run(
            ["bash", "-c", f"{' '.join(llamactl_command(*args))} | head -1; exit ${{PIPESTATUS[0]}}"],
            env=env,
            cwd=REPO,
            capture_output=True,
            timeout=HANG_GUARD,
        )
        assert (shell.returncode, shell.stderr) == (141, b"")


def test_the_chat_format_is_not_applied_twice(api):
    emulator = api
    run = invoke(["infer", "-m", MODEL, "--api", "native", "--chat", "-q", "[INST] hi [/INST]"])
    assert run.exit_code == 0, run.stderr
    assert [r.json["input"] for r in emulator.requests if r.path.startswith("/v1/inference/")] == [
        "[INST] hi [/INST]"
    ]


def test_a_stream_cut_after_one_token_says_one_token(api):
    emulator = api
    emulator.behave(Behavior(tokens=["only", " never"], cut_after=1))
    run = invoke(["infer", "-m", MODEL, "-q", "hi"])
    assert run.exit_code == 5
    assert "after 1 token;" in run.stderr or "after 1 token " in run.stderr
    assert "1 tokens" not in run.stderr


def test_an_unknown_deployment_is_not_sent_to_models_list(api):
    run = invoke(["infer", "-d", "nope", "hi"])
    assert run.exit_code == 4
    assert "models list" not in run.stderr
    assert (
        "hint: check the deployment id: your deployments are listed at https://deepinfra.com/dash/deployments"
        in run.stderr
    )


def test_an_embeddings_model_through_infer_says_what_it_expects(api):
    run = invoke(["infer", "-m", "BAAI/bge-large-en-v1.5", "hi"])
    assert run.exit_code == 4
    assert "body.inputs: field required" in run.stderr
    assert (
        "hint: this model expects inputs, so it is not a text-generation model: give "
        "-i 'inputs=[\"...\"]' --json instead of a prompt, and see "
        "'llamactl models info -m BAAI/bge-large-en-v1.5' for its fields"
    ) in run.stderr


def test_the_embeddings_hint_works_as_written_with_no_warning(api):
    run = invoke(["infer", "-m", "BAAI/bge-large-en-v1.5", "-i", 'inputs=["hi"]', "--json"])
    assert run.exit_code == 0, run.stderr
    assert len(json.loads(run.stdout)["embeddings"]) == 1
    assert "warning" not in run.stderr  # inputs is the embeddings' field, not a misspelt input


@pytest.mark.parametrize(
    "model, field, answer",
    [
        ("BAAI/bge-large-en-v1.5", 'inputs=["hi"]', "embeddings"),
        ("stabilityai/stable-diffusion-2-1", "prompt=a cat", "images"),
        ("hexgrad/Kokoro-82M", "text=hello", "audio"),
    ],
)
def test_another_kind_of_models_answer_without_json_is_printed_as_json(api, model, field, answer):
    """It was billed: it is shown as --json shows it, not dropped with exit 5."""
    run = invoke(["infer", "-m", model, "-i", field])
    assert run.exit_code == 0, run.stderr
    printed = json.loads(run.stdout)
    asked = json.loads(invoke(["infer", "-m", model, "-i", field, "--json"]).stdout)
    assert printed[answer] == asked[answer] and printed.keys() == asked.keys()
    assert run.stderr.startswith(f"{model} · ")  # the summary, and nothing else
    (recorded,) = json.loads(invoke(["history", "list", "--json", "-n", "2"]).stdout)[1:]
    assert recorded["status"] == "ok"


def test_a_base_url_with_a_path_is_refused_before_sending(api):
    emulator = api
    run = invoke(["--api-url", emulator.url + "/v1/openai", "infer", "-m", MODEL, "hi"])
    assert run.exit_code == 2
    assert "has a path (/v1/openai)" in run.stderr and f"hint: use {emulator.url} " in run.stderr
    assert emulator.requests == []


def test_costs_we_keep_and_total_carry_no_float_noise(api):
    """The emulator's prices make 7.680000000000001e-06 per answer, as float arithmetic does."""
    import json

    for _ in range(4):
        assert invoke(["infer", "-m", MODEL, "-q", "hi"]).exit_code == 0
    rows = json.loads(invoke(["history", "list", "--json"]).stdout)
    assert {row["cost"] for row in rows} == {7.68e-06}
    total = json.loads(invoke(["history", "stats", "--json"]).stdout)["total"]["cost"]
    assert total == 3.072e-05


def test_round_cost_drops_float_noise_only():
    from llamactl.output.format import round_cost

    assert round_cost(1.3440000000000002e-05) == 1.344e-05
    assert round_cost(0.00044416000000000003) == 0.00044416
    assert round_cost(0.1 + 0.2) == 0.3
    assert round_cost(1.23456789e-07) == 1.23456789e-07
    assert round_cost(None) is None


def test_a_short_token_is_hidden_without_mangling_our_words(monkeypatch):
    monkeypatch.setenv("DEEPINFRA_TOKEN", "x")
    run = invoke(["infer", "-m", "a/b", "-d", "c", "hi"])
    assert run.exit_code == 2
    assert "exactly one of -m/--model" in run.stderr and "***" not in run.stderr


def test_redaction_hides_a_short_token_where_it_stands_alone_and_a_long_one_anywhere():
    from llamactl.redact import redact

    assert (
        redact("give exactly one; token rejected: Bearer x", ["x"])
        == "give exactly one; token rejected: Bearer ***"
    )
    long = "abcDEF0123456789xyz"
    assert redact(f"Bearer{long}! and {long}", [long]) == "Bearer***! and ***"
    assert redact("nothing", [""]) == "nothing"


def test_an_error_built_after_a_token_is_resolved_never_holds_it():
    from llamactl.auth.credentials import ResolvedToken
    from llamactl.errors import RequestFailed
    from llamactl.redact import forget_all

    long = "keyring-token-0123456789abcdef"
    try:
        ResolvedToken(long, "keyring:test")  # resolving it is enough, whatever the source
        failure = RequestFailed(f"gateway says Bearer {long}", hint=f"not {long}")
        failure.message += f" ({long})"
        assert (failure.message, failure.hint, str(failure)) == (
            "gateway says Bearer *** (***)",
            "not ***",
            "gateway says Bearer ***",
        )
    finally:
        forget_all()
    assert RequestFailed(long).message == long  # each command starts with no tokens


def test_a_non_ascii_prompt_under_a_strict_ascii_locale(emulator, env):
    from tests.helpers import run_llamactl

    strict = {**env, "LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}
    strict.pop("LANG", None)
    run = run_llamactl(["infer", "-m", MODEL, "-q", "héllo 🦙"], strict)
    assert run.exit_code == 0, run.stderr
    assert [r.json["input"] for r in emulator.requests if r.path.startswith("/v1/inference/")] == ["héllo 🦙"]


def test_batch_flags_without_batch_name_only_those_given(api):
    run = invoke(["infer", "-m", MODEL, "--output", "x.out", "hi"])
    assert run.exit_code == 2
    assert run.stderr == (
        "error: --output needs --batch FILE\n"
        "hint: to keep one answer in a file, redirect stdout: llamactl infer ... > FILE\n"
    )
    run = invoke(["infer", "-m", MODEL, "--concurrency", "2", "--max-cost", "1", "hi"])
    assert run.stderr == "error: --concurrency and --max-cost need --batch FILE\n"
    assert api.requests == []


def test_the_headless_login_hint_keeps_insecure_storage(api, monkeypatch):
    monkeypatch.delenv("DEEPINFRA_TOKEN")
    run = invoke(["auth", "login", "--insecure-storage"], input="")
    assert run.exit_code == 2
    assert (
        'hint: pipe the token in: echo "$TOKEN" | llamactl auth login --with-token --insecure-storage\n'
        in run.stderr
    )


def test_install_completion_on_a_read_only_home_is_one_line(monkeypatch):
    import errno

    import typer.completion

    def read_only(**kwargs):
        raise OSError(errno.EROFS, "Read-only file system", "/home/user/.bashrc")

    monkeypatch.setattr(typer.completion, "install", read_only)
    run = invoke(["--install-completion", "bash"])
    assert run.exit_code == 6
    assert run.stderr.startswith("error: cannot write /home/user/.bashrc: Read-only file system\nhint: ")
    assert "Traceback" not in run.stderr


def test_a_batch_that_cannot_save_history_warns_once(api, home, tmp_path):
    (home / "history.db").mkdir(parents=True)  # sqlite cannot open it: the same reason every line
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text('"a"\n"b"\n"c"\n')
    run = invoke(["infer", "-m", MODEL, "-q", "--batch", str(prompts)])
    assert run.exit_code == 0, run.stderr
    assert run.stderr.count("warning: history: ") == 1, run.stderr


def test_an_unwritable_model_cache_still_prices_the_first_run(api, home):
    from llamactl.catalogue.cache import ModelCache
    from llamactl.env import Environment

    ModelCache(Environment(api_url=api.url, environ={"LLAMACTL_HOME": str(home)})).path.mkdir(parents=True)
    run = invoke(["infer", "-m", MODEL, "hi"])
    assert run.exit_code == 0, run.stderr
    assert " · cost ~$" in run.stderr


def test_a_model_that_counts_no_tokens_has_no_token_figures_in_its_summary(api, tmp_path):
    clip = tmp_path / "clip.wav"
    clip.write_bytes(b"RIFF" + bytes(200))
    run = invoke(["infer", "-m", "openai/whisper-small", "-i", f"audio=@{clip}"])
    assert run.exit_code == 0, run.stderr
    summary = run.stderr.splitlines()[-1]
    assert summary.startswith("openai/whisper-small · ") and "?" not in summary and "tokens" not in summary
