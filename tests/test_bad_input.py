"""Whatever a user types or pipes in, llamactl answers 0, 2 or an API outcome: never exit 1
(a bug) and never a traceback."""

from __future__ import annotations

import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.emulator import VALID_TOKEN
from tests.helpers import invoke

MODEL = "meta-llama/Llama-2-70b-chat-hf"
KNOWN_KEYS = [
    "input",
    "max_new_tokens",
    "top_k",
    "num_responses",
    "seed",
    "temperature",
    "top_p",
    "repetition_penalty",
    "presence_penalty",
    "frequency_penalty",
    "stream",
    "stop",
    "response_format",
    "webhook",
]

keys = st.sampled_from(KNOWN_KEYS) | st.text(min_size=0, max_size=12)
values = (
    st.text(max_size=40)
    | st.from_regex(r"-?[0-9]{1,25}(\.[0-9]{0,5})?", fullmatch=True)
    | st.sampled_from(
        ["true", "no", "NaN", "inf", "[]", "[1]", '["a"]', "{}", "null", "@-", "@", "@/nonexistent"]
    )
)
arguments = st.lists(
    st.tuples(keys, values).map(lambda kv: f"{kv[0]}={kv[1]}") | st.text(max_size=20), max_size=5
)
prompts = st.none() | st.text(max_size=200)
stdin_bytes = st.binary(max_size=200) | st.text(max_size=200).map(str.encode)


@pytest.fixture
def api(emulator, tmp_path, monkeypatch):
    monkeypatch.setenv("LLAMACTL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DEEPINFRA_TOKEN", VALID_TOKEN)
    monkeypatch.setenv("DEEPINFRA_HOST", emulator.url)
    monkeypatch.chdir(tmp_path)  # an @path the generator invents is looked up in an empty folder
    return emulator


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    items=arguments,
    prompt=prompts,
    stdin=stdin_bytes,
    stream=st.sampled_from([[], ["--no-stream"], ["--json"]]),
)
def test_arbitrary_input_never_crashes(api, items, prompt, stdin, stream):
    args = ["infer", "-m", MODEL, "--retries", "0", "--no-history", *stream]
    for item in items:
        args += ["-i", item]
    if prompt is not None:
        args += ["--", prompt]
    run = invoke(args, input=stdin)
    assert run.exit_code in (0, 2, 3, 4, 5), (args, run.stderr)
    assert "Traceback" not in run.stderr
    if run.exit_code:  # warnings about -i fields the model lacks may come first
        messages = [line for line in run.stderr.splitlines() if not line.startswith("warning: -i ")]
        assert messages and messages[0].startswith("error: "), run.stderr


BAD_VALUES = [
    (["history", "list", "-n", "0"], "-n/--limit: must be at least 1, got 0"),
    (["history", "list", "-n", "ten"], "-n/--limit: expected a whole number, got 'ten'"),
    (["history", "show", "abc"], "ID: expected a whole number, got 'abc'"),
    (["infer", "-m", MODEL, "--timeout", "0", "hi"], "--timeout: must be at least 0.1, got 0.0"),
    (["infer", "-m", MODEL, "--retries", "1.5", "hi"], "--retries: expected a whole number, got '1.5'"),
    (
        ["infer", "-m", MODEL, "--batch", "-", "--concurrency", "65"],
        "--concurrency: must be from 1 to 64, got 65",
    ),
    (["batch", "wait", "x", "--timeout", "-1"], "--timeout: must be at least 0, got -1.0"),
    (["batch", "wait", "x", "--interval", "soon"], "--interval: expected a number, got 'soon'"),
]


@pytest.mark.parametrize("args, message", BAD_VALUES)
def test_a_value_out_of_range_or_of_the_wrong_type_reads_as_llamactls_own_errors(api, args, message):
    """Click's `Invalid value for '-n' / '--limit': 0 is not in the range x>=1.` in llamactl's words."""
    run = invoke(args, input="")
    command = " ".join(word for word in args[:2] if not word.startswith("-"))
    assert (run.exit_code, run.stdout) == (2, "")
    assert run.stderr == f"error: {message}\nhint: see 'llamactl {command} --help'\n"
    assert api.requests == []


@pytest.mark.parametrize("args, message", BAD_VALUES)
def test_the_words_do_not_hang_on_clicks_own_wording(api, monkeypatch, args, message):
    """Click words its messages differently from one version to the next: with every
    message of its types reworded, llamactl's words stay (and nothing of Click's shows)."""
    import typer.main

    from llamactl.cli import app

    # the module of the types of the Click that Typer uses (its own copy, or click)
    click_types = sys.modules[type(typer.main.get_command(app).params[0].type).__module__]
    fail = click_types.ParamType.fail
    monkeypatch.setattr(
        click_types.ParamType,
        "fail",
        lambda self, said, param=None, ctx=None: fail(self, "reworded", param, ctx),
    )
    run = invoke(args, input="")
    assert run.exit_code == 2
    assert run.stderr.startswith(f"error: {message}\n")
