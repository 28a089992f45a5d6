"""A misspelt -i field is warned about before it is sent (and billed): the closest field of
the model's schema, read from its card and cached; `--temperature` points at -i."""

from __future__ import annotations

import socket

from llamactl.catalogue.schema import fields_of_card, model_fields
from llamactl.env import Environment
from llamactl.inference.field_names import closest_field, option_hint, unknown_field_warnings
from tests.helpers import invoke

MODEL = "meta-llama/Llama-2-70b-chat-hf"
NO_FIELDS_LISTED = "mistralai/Mistral-7B-Instruct-v0.1"  # the emulator's generic card lists none


def card_lookups(emulator):
    """Requests for a model's card (not the model list a streamed run fetches for its price)."""
    return [
        r
        for r in emulator.requests
        if r.path.startswith("/models/") and r.path not in ("/models/list", "/models/private/list")
    ]


def warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("warning: ")]


def test_the_openai_name_gets_the_native_one_before_sending(api):
    run = invoke(["infer", "-m", MODEL, "-q", "-i", "max_tokens=3", "hi"])
    assert run.exit_code == 0, run.stderr
    assert warnings(run.stderr) == [
        f"warning: -i max_tokens: {MODEL} has no such field; did you mean max_new_tokens?"
    ]
    paths = [r.path for r in api.requests if r.path not in ("/models/list", "/models/private/list")]
    assert paths == [
        f"/models/{MODEL}",
        f"/v1/inference/{MODEL}",
    ]  # warned first (the price list runs beside)


def test_a_misspelling_gets_the_closest_field_and_the_schema_is_cached(api):
    invoke(["infer", "-m", MODEL, "-q", "-i", "temperature=0.2", "hi"])
    assert len(card_lookups(api)) == 1
    run = invoke(["infer", "-m", MODEL, "-q", "-i", "tempertaure=0.2", "hi"])
    assert warnings(run.stderr) == [
        f"warning: -i tempertaure: {MODEL} has no such field; did you mean temperature?"
    ]
    assert len(card_lookups(api)) == 1  # the second run read the cache


def test_fields_the_schema_has_get_no_warning(api):
    run = invoke(
        ["infer", "-m", MODEL, "-i", "temperature=0.2", "-i", "stop=x", "-i", "max_new_tokens=3", "hi"]
    )
    assert run.exit_code == 0 and warnings(run.stderr) == [], run.stderr


def test_without_a_schema_only_lookalikes_of_known_fields_are_named(api):
    run = invoke(["infer", "-m", NO_FIELDS_LISTED, "-q", "-i", "tempertaure=0.2", "-i", "custom=1", "hi"])
    assert run.exit_code == 0
    assert warnings(run.stderr) == [
        "warning: -i tempertaure: not a text-generation field; did you mean temperature?"
    ]


def test_dry_run_never_looks_the_schema_up(api):
    run = invoke(["infer", "-m", MODEL, "--dry-run", "-i", "tempertaure=0.2", "hi"])
    assert run.exit_code == 0 and api.requests == []
    assert "did you mean temperature?" in run.stderr


def test_no_request_fields_no_lookup(api):
    invoke(["infer", "-m", MODEL, "-q", "hi"])
    assert card_lookups(api) == []


def test_a_server_that_never_answers_the_card_costs_a_bounded_wait_and_no_failure(tmp_path):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()  # connects, never answers
        env = Environment(
            api_url=f"http://127.0.0.1:{server.getsockname()[1]}", environ={"LLAMACTL_HOME": str(tmp_path)}
        )
        assert model_fields(env, MODEL, None) is None


def test_fields_of_a_card():
    assert fields_of_card({"in_schema": {"properties": {"a": {}, "b": {}}}}) == {"a", "b"}
    assert fields_of_card({"in_fields": [{"name": "a", "parent": None}, {"name": "x", "parent": "a"}]}) == {
        "a"
    }
    assert (
        fields_of_card({"in_fields": []}) is None
        and fields_of_card({}) is None
        and fields_of_card([]) is None
    )


def test_closest_field():
    assert closest_field("max_tokens", {"max_new_tokens", "temperature"}) == "max_new_tokens"
    assert closest_field("max_tokens", {"temperature"}) is None
    assert closest_field("top_q", {"top_p", "top_k"}) in {"top_p", "top_k"}
    assert closest_field("zzz", {"top_p"}) is None
    assert unknown_field_warnings(["a", "a"], frozenset({"b"}), "M") == [
        "-i a: M has no such field; it is sent, and may be ignored"
    ]


def test_an_unknown_option_that_names_a_field_points_at_i():
    run = invoke(["infer", "-m", MODEL, "--temperature", "0.2", "hi"])
    assert run.exit_code == 2
    assert "No such option" in run.stderr
    assert "hint: request fields go with -i: -i temperature=VALUE" in run.stderr
    assert option_hint("--max-tokens") == "request fields go with -i: -i max_new_tokens=VALUE"
    assert option_hint("--colour") is None
