"""`llamactl models` against the emulator's catalogue: the list (pipe, terminal, JSON,
private models, malformed entries, the cache it writes), the deepctl model card, versions,
unknown-model suggestions and `-m` completion."""

from __future__ import annotations

import json
import stat
import subprocess

import pytest
import typer

from llamactl.catalogue.cache import ModelCache
from llamactl.catalogue.card import card_text
from llamactl.catalogue.names import complete_model_name
from llamactl.cli import app
from llamactl.env import Environment
from tests.emulator import VALID_TOKEN, Behavior, catalogue
from tests.helpers import REPO, invoke, llamactl_command, run_llamactl, subprocess_env

SEED = catalogue.LLAMA_70B
PUBLIC = [model for model in catalogue.MODELS if not model["private"]]
HANG_GUARD = 20  # seconds; only to fail instead of hanging


@pytest.fixture
def api(emulator, monkeypatch):
    """A user pointed at the emulator, without a token unless the test sets one."""
    monkeypatch.setenv("DEEPINFRA_HOST", emulator.url)
    return emulator


@pytest.fixture
def token(monkeypatch):
    monkeypatch.setenv("DEEPINFRA_TOKEN", VALID_TOKEN)


def cache_of(api) -> ModelCache:
    return ModelCache(Environment(api_url=api.url))


def paths(api) -> list[str]:
    return [request.path for request in api.requests]


# --- models list ------------------------------------------------------------------------------


def test_list_in_a_pipe_is_one_tab_separated_line_per_model(api):
    run = invoke(["models", "list"])
    assert run.exit_code == 0, run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == len(PUBLIC)
    assert f"{SEED}\ttext-generation\t$0.64/Mtoken\t$0.80/Mtoken\t4096\t-" in lines
    assert (
        f"{catalogue.LLAMA_13B_DEPRECATED}\ttext-generation\t$0.22/Mtoken\t$0.22/Mtoken\t4096\t"
        f"deprecated, replaced by {SEED}"
    ) in lines
    assert f"{catalogue.BGE_LARGE}\tembeddings\t$0.01/Mtoken\t-\t512\t-" in lines
    assert f"{catalogue.STABLE_DIFFUSION}\ttext-to-image\t$0.0005/sec\t-\t-\t-" in lines
    assert f"{catalogue.NO_PRICING}\ttext-generation\t-\t-\t2048\t-" in lines
    assert all(len(line.split("\t")) == 6 for line in lines)
    assert "\x1b[" not in run.stdout
    assert run.stderr == ""


def test_list_is_sorted_by_type_then_name_as_deepctl_sorts(api):
    names = [line.split("\t")[0] for line in invoke(["models", "list"]).stdout.splitlines()]
    assert names == [
        model["model_name"] for model in sorted(PUBLIC, key=lambda m: (m["type"], m["model_name"]))
    ]


def test_list_fetches_the_public_list_without_sending_a_token(api):
    invoke(["models", "list"])
    assert paths(api) == ["/models/list"]
    assert "authorization" not in api.requests[0].headers


def test_list_adds_private_models_when_there_is_a_token(api, token):
    run = invoke(["models", "list"])
    assert paths(api) == ["/models/list", "/models/private/list"]
    assert api.requests[1].headers["Authorization"] == f"Bearer {VALID_TOKEN}"
    assert "authorization" not in api.requests[0].headers
    private = [line for line in run.stdout.splitlines() if line.startswith(catalogue.PRIVATE_MODEL + "\t")]
    assert private == [
        f"{catalogue.PRIVATE_MODEL}\ttext-generation\t$0.07/Mtoken\t$0.09/Mtoken\t4096\tprivate"
    ]


def test_a_rejected_token_costs_only_the_private_models(api, monkeypatch):
    monkeypatch.setenv("DEEPINFRA_TOKEN", "emu-wrong-token-000011112222")
    run = invoke(["models", "list"])
    assert run.exit_code == 0
    assert len(run.stdout.splitlines()) == len(PUBLIC)
    assert run.stderr.startswith("warning: private models not listed: the API rejected the token")
    assert "emu-wrong-token" not in run.stderr


def test_the_token_never_goes_over_plain_http_for_the_private_list(api, token):
    """0.0.0.0 reaches the local emulator but is not a loopback name: no token over http."""
    run = invoke(["--api-url", api.url.replace("127.0.0.1", "0.0.0.0"), "models", "list"])
    assert run.exit_code == 0
    assert len(run.stdout.splitlines()) == len(PUBLIC)
    assert run.stderr.startswith(
        "warning: private models not listed: refusing to send the API token over plain http"
    )
    assert paths(api) == ["/models/list"]


def test_type_filters_the_list(api):
    run = invoke(["models", "list", "--type", "text-to-image"])
    assert sorted(line.split("\t")[0] for line in run.stdout.splitlines()) == [
        catalogue.FLUX_SCHNELL,
        catalogue.STABLE_DIFFUSION,
    ]


def test_an_unknown_type_is_exit_2_and_names_the_types(api):
    types = ", ".join(sorted({model["type"] for model in PUBLIC}))
    for args in (["models", "list", "--type", "chat"], ["models", "list", "--type", "chat", "--json"]):
        run = invoke(args)
        assert run.exit_code == 2
        assert run.stdout == ""
        assert run.stderr == f"error: --type: no models of type 'chat'\nhint: the types are: {types}\n"
        assert run.stderr.splitlines()[1].startswith(
            "hint: the types are: automatic-speech-recognition, embeddings,"
        )


def test_json_is_the_apis_data(api, token):
    run = invoke(["models", "list", "--json"])
    assert json.loads(run.stdout) == [catalogue.model_out(model) for model in PUBLIC] + [
        catalogue.model_out(model) for model in catalogue.MODELS if model["private"]
    ]
    embeddings = json.loads(invoke(["models", "list", "--json", "--type", "embeddings"]).stdout)
    assert [model["model_name"] for model in embeddings] == [catalogue.BGE_LARGE]


def test_malformed_entries_are_skipped_with_one_warning_each(api, monkeypatch):
    malformed = [
        {"type": "text-generation", "private": 0},  # no model_name
        {"model_name": "emu-test/typeless", "private": 0},
        {"model_name": 42, "type": "text-generation", "private": 0},
    ]
    monkeypatch.setattr(catalogue, "MODELS", catalogue.MODELS + malformed)
    run = invoke(["models", "list"])
    assert run.exit_code == 0
    assert len(run.stdout.splitlines()) == len(PUBLIC)
    n = len(PUBLIC)
    assert run.stderr.splitlines() == [
        f"warning: skipped entry {n + 1} of the model list: it has no model_name",
        f"warning: skipped entry {n + 2} of the model list: emu-test/typeless has no type",
        f"warning: skipped entry {n + 3} of the model list: it has no model_name",
    ]


def test_odd_optional_fields_are_left_blank_not_fatal(api, monkeypatch):
    odd = {
        "model_name": "emu-test/odd",
        "type": "text-generation",
        "private": 0,
        "max_tokens": "4k",
        "pricing": "free",
        "replaced_by": 7,
        "deprecated": None,
    }
    monkeypatch.setattr(catalogue, "MODELS", catalogue.MODELS + [odd])
    run = invoke(["models", "list"])
    assert run.exit_code == 0, run.stderr
    assert "emu-test/odd\ttext-generation\t-\t-\t-\t-" in run.stdout.splitlines()


def test_a_list_that_is_not_an_array_is_a_failed_request(api):
    api.behave(Behavior(body_shape="no_results", scope="all"))  # HTTP 200 with a JSON object
    run = invoke(["models", "list"])
    assert run.exit_code == 5
    assert run.stderr == "error: the API's answer to /models/list is not a JSON array of models\n"


@pytest.mark.parametrize(
    "behavior, code",
    [
        (Behavior(status=500, scope="all"), 5),
        (Behavior(body_shape="html", status=502, scope="all"), 5),
        (Behavior(body_shape="truncated_json", status=200, scope="all"), 5),
        (Behavior(status=404, scope="all", message="Not Found"), 4),
    ],
)
def test_api_failures_exit_with_their_code(api, behavior, code):
    api.behave(behavior)
    run = invoke(["models", "list"])
    assert run.exit_code == code
    assert run.stderr.startswith("error: ")
    assert run.stdout == ""


def test_an_unreachable_api_is_exit_5(api, unused_port):
    run = invoke(["--api-url", f"http://127.0.0.1:{unused_port}", "models", "list"])
    assert run.exit_code == 5
    assert run.stderr.splitlines()[0].startswith(
        f"error: could not reach 127.0.0.1:{unused_port}: connection refused"
    )


@pytest.fixture
def unused_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the cache --------------------------------------------------------------------------------


def test_list_writes_a_private_cache_of_what_it_fetched(api, token):
    invoke(["models", "list"])
    cache = cache_of(api)
    assert stat.S_IMODE(cache.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache.path.parent.stat().st_mode) == 0o700
    cached = cache.read()
    assert [raw["model_name"] for raw in cached.raws] == [m["model_name"] for m in PUBLIC] + [
        catalogue.PRIVATE_MODEL
    ]
    assert not cached.is_stale()
    assert [path.name for path in cache.path.parent.iterdir() if path.name.endswith(".tmp")] == []


def test_every_list_replaces_the_cache(api, monkeypatch):
    invoke(["models", "list"])
    monkeypatch.setattr(catalogue, "MODELS", [catalogue.find_model(SEED, include_private=False)])
    invoke(["models", "list"])
    assert cache_of(api).read().names() == [SEED]


def test_a_cache_that_cannot_be_written_is_a_warning(api, token, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setenv("LLAMACTL_HOME", str(blocker))
    run = invoke(["models", "list"])
    assert run.exit_code == 0
    assert len(run.stdout.splitlines()) == len(PUBLIC) + 1
    assert run.stderr.startswith(f"warning: could not update the model cache {blocker}/models-")


def test_the_cache_is_kept_per_api_host(api):
    invoke(["models", "list"])
    other = ModelCache(Environment(api_url=api.url.replace("127.0.0.1", "localhost")))
    assert other.path != cache_of(api).path
    assert other.read() is None


# --- models info: deepctl's card --------------------------------------------------------------


def deepctl_card_of_the_seed_model() -> str:
    """What `deepctl model info -m meta-llama/Llama-2-70b-chat-hf` prints for the emulator's
    card, written out from deepctl's `model_info` (src/main.rs): each println! below is one
    line (or block) of it, in its order."""
    card = catalogue.CARDS[SEED]
    meta = card["meta"]
    return (
        f"model: {SEED}\n"  # println!("model: {}", model)
        "type: text-generation\n"  # get_str(json, "type")
        "version: d2ca389ff883454850a801a3f54ae57ea18d05320e51e9f3f799bb997ef9a270\n"
        "public: true\n"  # public != Some(false)
        "pricing: $0.0008/Ktoken\n"  # 0.00008 cents × 10, {:.4}
        # mask_token is null: no line
        "description: LLaMa 2 is a collections of LLMs trained by Meta. This is the 70B chat optimized version.\n"
        "github: https://github.com/facebookresearch/llama\n"
        "paper: https://arxiv.org/abs/2307.09288\n"
        "license: https://ai.meta.com/llama/license/\n"
        f"cover_image: {meta['cover_img_url']}\n"
        f"README:\n{meta['readme']}\n\n"  # "README:\n{}\n"
        f"CURL invocation:\n\n {card['curl_inv']}\n\n"  # "CURL invocation:\n\n {}\n"
        f"deepctl invocation:\n\n {card['cmdline_inv']}\n\n"
        f"Field description:\n\n{card['txt_docs']}\n\n"  # no leading space here
        f"output example:\n\n{card['out_example']}\n\n"
        f"output fields description:\n\n{card['out_docs']}\n\n"
    )


def test_info_prints_the_seed_card_line_by_line_as_deepctl(api):
    run = invoke(["models", "info", "-m", SEED])
    assert run.exit_code == 0, run.stderr
    assert run.stdout.splitlines() == deepctl_card_of_the_seed_model().splitlines()
    assert run.stdout == deepctl_card_of_the_seed_model()
    assert run.stderr == ""
    assert paths(api) == [f"/models/{SEED}"]


def test_the_invocations_keep_deepctls_extra_space(api):
    lines = invoke(["models", "info", "-m", SEED]).stdout.splitlines()
    curl = lines.index("CURL invocation:")
    assert lines[curl + 1 : curl + 3] == ["", "  curl -X POST \\"]
    fields = lines.index("Field description:")
    assert lines[fields + 2] == "input (string): text to generate from"


def test_info_json_is_the_apis_card(api):
    run = invoke(["models", "info", "-m", SEED, "--json"])
    assert json.loads(run.stdout) == catalogue.model_card(catalogue.find_model(SEED, include_private=False))


def test_info_pins_a_version(api):
    old = catalogue.VERSIONS[SEED][-1]["version"]
    run = invoke(["models", "info", "-m", SEED, "--version", old])
    assert run.exit_code == 0, run.stderr
    assert api.requests[-1].query == {"version": old}
    assert f"version: {old}" in run.stdout.splitlines()


def test_info_of_a_private_model_sends_the_token(api, token):
    run = invoke(["models", "info", "-m", catalogue.PRIVATE_MODEL])
    assert run.exit_code == 0, run.stderr
    assert "public: false" in run.stdout.splitlines()
    assert api.requests[-1].headers["Authorization"] == f"Bearer {VALID_TOKEN}"


def test_info_leaves_out_what_deepctl_could_not_print(api):
    """deepctl needs cents_per_output_token for any pricing that is not `time`; an
    embeddings model has none, so deepctl fails where llamactl leaves the line out."""
    lines = invoke(["models", "info", "-m", catalogue.BGE_LARGE]).stdout.splitlines()
    assert lines[:5] == [
        f"model: {catalogue.BGE_LARGE}",
        "type: embeddings",
        f"version: {catalogue.VERSIONS[catalogue.BGE_LARGE][0]['version']}",
        "public: true",
        "description: BGE embedding model for English text.",
    ]
    assert not any(line.startswith(("pricing:", "github:", "README:")) for line in lines)


def test_a_time_priced_model_is_priced_per_second(api):
    lines = invoke(["models", "info", "-m", catalogue.STABLE_DIFFUSION]).stdout.splitlines()
    assert "pricing: $0.0005/sec" in lines  # 0.05 cents × 0.01


def test_info_warns_on_stderr_about_a_deprecated_model(api):
    run = invoke(["models", "info", "-m", catalogue.LLAMA_13B_DEPRECATED])
    assert run.exit_code == 0
    assert run.stderr == f"warning: {catalogue.LLAMA_13B_DEPRECATED} is deprecated; requests go to {SEED}\n"
    assert run.stdout.startswith(f"model: {catalogue.LLAMA_13B_DEPRECATED}\n")


def test_a_bare_card_has_only_what_is_there():
    assert card_text("x/y", {}) == "model: x/y\npublic: true\n"
    assert (
        card_text("x/y", {"public": False, "type": 3, "pricing": {"type": "time"}})
        == "model: x/y\npublic: false\n"
    )


def test_data_urls_are_shown_as_binary_and_the_mask_token_is_printed():
    card = {
        "type": "fill-mask",
        "version": "v1",
        "mask_token": "[MASK]",
        "pricing": {"type": "tokens", "cents_per_output_token": 0.0005},
        "meta": {"cover_img_url": "data:image/png;base64,AAAA", "readme": "data:text/markdown;base64,IyBo"},
        "curl_inv": "curl x",
        "out_docs": "docs",
    }
    assert card_text("a/b", card).splitlines() == [
        "model: a/b",
        "type: fill-mask",
        "version: v1",
        "public: true",
        "pricing: $0.0050/Ktoken",
        "mask token: [MASK]",
        "cover_image: (binary)",
        "README:",
        "(binary)",
        "",
        "CURL invocation:",
        "",
        " curl x",
        "",
        "output fields description:",
        "",
        "docs",
        "",
    ]


# --- models versions --------------------------------------------------------------------------


def test_versions_in_a_pipe_are_tab_separated_newest_first(api):
    run = invoke(["models", "versions", "-m", catalogue.WHISPER_SMALL])
    assert run.exit_code == 0, run.stderr
    assert run.stdout == (
        "33c4be9a7100e9701664457be214b77094dde4f878800405ca2c04314cf84834\t2023-03-02T11:20:19.000000+00:00\n"
        "b05bdaaaed5df063c2c7e3a66741f3dacd2013883afd6d4f0f500188b01edac8\t2023-01-19T21:52:03.626241+00:00\n"
    )
    assert paths(api) == [f"/models/{catalogue.WHISPER_SMALL}/versions"]


def test_versions_json_is_the_apis_list(api):
    run = invoke(["models", "versions", "-m", SEED, "--json"])
    assert json.loads(run.stdout) == catalogue.versions(catalogue.find_model(SEED, include_private=False))


def test_versions_without_a_version_string_are_skipped_with_a_warning(api, monkeypatch):
    monkeypatch.setitem(
        catalogue.VERSIONS,
        catalogue.MISTRAL_7B,
        [{"uploaded_at": "2023-01-01T00:00:00+00:00"}, *catalogue.VERSIONS[catalogue.MISTRAL_7B]],
    )
    run = invoke(["models", "versions", "-m", catalogue.MISTRAL_7B])
    assert run.exit_code == 0
    assert (
        run.stdout
        == f"{catalogue.VERSIONS[catalogue.MISTRAL_7B][1]['version']}\t2023-09-28T15:11:46.300112+00:00\n"
    )
    assert run.stderr == "warning: skipped entry 1 of the version list: it has no version\n"


def test_model_is_required_and_checked(api):
    assert invoke(["models", "versions"]).exit_code == 2
    run = invoke(["models", "info", "-m", " x/y"])
    assert run.exit_code == 2
    assert run.stderr.startswith("error: invalid model name ' x/y'")
    assert api.requests == []


# --- unknown models ---------------------------------------------------------------------------


def test_info_of_an_unknown_model_fetches_the_list_and_suggests_names(api):
    run = invoke(["models", "info", "-m", "meta-llama/Llama-2-70b-chat"])
    assert run.exit_code == 4
    assert run.stderr.splitlines() == [
        "error: meta-llama/Llama-2-70b-chat: Model not found (HTTP 404 Not Found)",
        f"hint: did you mean {SEED}, {catalogue.LLAMA_7B} or {catalogue.LLAMA_13B_DEPRECATED}? "
        "('llamactl models list' shows every model)",
    ]
    assert paths(api) == ["/models/meta-llama/Llama-2-70b-chat", "/models/list"]
    assert cache_of(api).read() is not None


@pytest.mark.parametrize("command", [["infer", "-q", "hi"], ["infer", "-q", "--chat", "hi"], ["chat", "-q"]])
def test_quiet_keeps_the_hint_of_an_error(api, command):
    """-q drops notices and the summary, not the half of an error that says what to do."""
    run = invoke(
        [*command[:1], "-m", "meta-llama/Llama-2-70b-chat", *command[1:]],
        input="hi\n",
        env={"DEEPINFRA_TOKEN": VALID_TOKEN},
    )
    assert run.exit_code == 4
    assert run.stderr.splitlines()[1].startswith(f"hint: did you mean {SEED}, ")


def test_a_fresh_cache_is_not_fetched_again(api):
    invoke(["models", "list"])
    api.requests.clear()
    run = invoke(["models", "versions", "-m", "openai/whisper-smal"])
    assert run.exit_code == 4
    assert run.stderr.splitlines()[1].startswith(f"hint: did you mean {catalogue.WHISPER_SMALL}?")
    assert paths(api) == ["/models/openai/whisper-smal/versions"]


def test_a_day_old_cache_is_refreshed_when_a_name_is_unknown(api):
    invoke(["models", "list"])
    cache = cache_of(api)
    cache.write([], now=cache.read().fetched_at - 25 * 3600)
    api.requests.clear()
    run = invoke(["models", "info", "-m", "mistralai/Mistral-7B-Instruct"])
    assert run.stderr.splitlines()[1].startswith(f"hint: did you mean {catalogue.MISTRAL_7B}?")
    assert paths(api)[1:] == ["/models/list"]


def test_a_name_differing_only_in_case_gets_one_suggestion(api):
    run = invoke(["models", "info", "-m", SEED.lower()])
    assert run.exit_code == 4
    assert (
        run.stderr.splitlines()[1] == f"hint: did you mean {SEED}? ('llamactl models list' shows every model)"
    )


def test_a_name_like_nothing_keeps_the_plain_hint(api):
    run = invoke(["models", "info", "-m", "zz/qqqqqq"])
    assert run.exit_code == 4
    assert run.stderr.splitlines()[1] == "hint: see 'llamactl models list' for the model names"


def test_an_unknown_version_of_a_known_model_points_at_its_versions(api):
    run = invoke(["models", "info", "-m", SEED, "--version", "nope"])
    assert run.exit_code == 4
    assert run.stderr.splitlines() == [
        f"error: {SEED}: Model version not found (HTTP 404 Not Found)",
        f"hint: see 'llamactl models versions -m {SEED}' for its versions",
    ]


def test_infer_suggests_names_from_the_cache(api, token):
    invoke(["models", "list"])
    api.requests.clear()
    run = invoke(["infer", "-m", "mistralai/Mistral-7b-instruct-v0.1", "hi"])
    assert run.exit_code == 4
    assert run.stderr.splitlines()[1] == (
        f"hint: did you mean {catalogue.MISTRAL_7B}? ('llamactl models list' shows every model)"
    )
    assert paths(api) == ["/v1/inference/mistralai/Mistral-7b-instruct-v0.1"]


def test_infer_on_a_fresh_install_suggests_from_the_list_fetched_for_pricing(api, token):
    """A stream fetches the list alongside (for the summary's cost), so a typo on a fresh
    install gets a "did you mean" too; no other request is made for it."""
    run = invoke(["infer", "-m", "meta-llama/Llama-2-70b-chat", "hi"])
    assert run.exit_code == 4
    assert run.stderr.splitlines()[1].startswith("hint: did you mean meta-llama/Llama-2-70b-chat-hf")
    assert sorted(paths(api)) == [
        "/models/list",
        "/models/private/list",
        "/v1/inference/meta-llama/Llama-2-70b-chat",
    ]


def test_infer_on_a_fresh_install_fetches_the_list_after_a_404_for_its_suggestion(api, token):
    """Without a stream nothing fetched the list alongside: the 404 fetches it, after the
    answer (a failure) arrived."""
    run = invoke(["infer", "-m", "meta-llama/Llama-2-70b-chat", "--no-stream", "hi"])
    assert run.exit_code == 4
    assert run.stderr.splitlines()[1].startswith("hint: did you mean meta-llama/Llama-2-70b-chat-hf")
    assert paths(api) == ["/v1/inference/meta-llama/Llama-2-70b-chat", "/models/list", "/models/private/list"]


def test_infer_fetches_no_list_on_the_way_to_an_answer(api, token):
    run = invoke(["infer", "-m", SEED, "--no-stream", "hi"])
    assert run.exit_code == 0, run.stderr
    assert paths(api) == [f"/v1/inference/{SEED}"]


def test_a_name_without_its_owner_gets_the_full_name_suggested(api, token):
    """`-m llama-2-70b-chat-hf` (the issue's typo): compared with the part after each `/`."""
    run = invoke(["infer", "-m", "llama-2-70b-chat-hf", "--no-stream", "hi"])
    assert run.exit_code == 4
    assert run.stderr.splitlines()[1].startswith(f"hint: did you mean {SEED}")


def test_infer_with_an_unknown_version_points_at_the_versions(api, token):
    invoke(["models", "list"])
    run = invoke(["infer", "-m", SEED, "--version", "0000", "hi"])
    assert run.exit_code == 4
    assert run.stderr.splitlines()[1] == f"hint: see 'llamactl models versions -m {SEED}' for its versions"


# --- -m completion ----------------------------------------------------------------------------


def completion_context() -> typer.Context:
    return typer.Context(typer.main.get_command(app))


def test_completion_offers_cached_names_starting_with_what_was_typed(api, token):
    invoke(["models", "list"])
    api.requests.clear()
    assert complete_model_name(completion_context(), "meta-llama/Llama-2-7") == [SEED, catalogue.LLAMA_7B]
    assert complete_model_name(completion_context(), "EMU-") == [
        catalogue.NO_PRICING,
        catalogue.PRIVATE_MODEL,
    ]
    assert len(complete_model_name(completion_context(), "")) == len(catalogue.MODELS)
    assert api.requests == []


def test_completion_without_a_cache_offers_nothing_and_fetches_nothing(api):
    assert complete_model_name(completion_context(), "meta") == []
    assert api.requests == []


def shell_completion(words: str, env: dict[str, str]) -> list[str]:
    """What bash would offer: Typer's completion protocol, in a real subprocess."""
    proc = subprocess.run(
        llamactl_command(),
        env={
            **env,
            "_LLAMACTL_COMPLETE": "complete_bash",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
        },
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    return [line for line in proc.stdout.splitlines() if line]  # bash drops empty words


def test_bash_completes_infer_and_models_model_names(api, tmp_path):
    env = subprocess_env(LLAMACTL_HOME=str(tmp_path / "home"), DEEPINFRA_HOST=api.url)
    assert run_llamactl(["models", "list"], env).exit_code == 0
    api.requests.clear()
    assert shell_completion("llamactl infer -m meta-llama/Llama-2-1", env) == [catalogue.LLAMA_13B_DEPRECATED]
    assert shell_completion("llamactl models info --model openai/", env) == [catalogue.WHISPER_SMALL]
    assert shell_completion("llamactl models versions -m ", env) == sorted(m["model_name"] for m in PUBLIC)
    assert api.requests == []


def test_completion_follows_the_api_url_typed_before_the_command(api, tmp_path):
    env = subprocess_env(LLAMACTL_HOME=str(tmp_path / "home"), DEEPINFRA_HOST=api.url)
    run_llamactl(["models", "list"], env)
    assert shell_completion(f"llamactl --api-url {api.url} infer -m hex", env) == [catalogue.KOKORO]
    assert shell_completion("llamactl --api-url https://elsewhere.example infer -m hex", env) == []
