"""Which model a command uses: the one check of a model name (nothing is sent for
`../../v1/me`), -m then LLAMACTL_MODEL then `models default`, aliases wherever a model is
named (`models alias`), and the config.json they live in — end to end against the emulator."""

from __future__ import annotations

import json
import re
import stat

import pytest

from llamactl.catalogue.model_choice import check_model_name
from llamactl.errors import UsageError
from tests.emulator import catalogue
from tests.helpers import invoke, last_inference, run_llamactl

MODEL = catalogue.LLAMA_70B
OTHER = catalogue.MISTRAL_7B


def inference_paths(api) -> list[str]:
    return [request.path for request in api.requests if request.path.startswith("/v1/inference/")]


def ok(args: list[str], env: dict | None = None):
    run = invoke(args, env=env)
    assert run.exit_code == 0, run.stderr
    return run


def config(home) -> dict:
    return json.loads((home / "config.json").read_text(encoding="utf-8"))


# --- one check of every model name, before any request ---------------------------------------


@pytest.mark.parametrize(
    "name", ["../../v1/me", "a/../b", "x/./y", "/abs", "a//b", " a/b", "a/b\n", "a/\x1b[2J"]
)
def test_check_model_name_refuses_names_that_leave_the_model_path(name):
    with pytest.raises(UsageError, match="invalid model name"):
        check_model_name(name)


@pytest.mark.parametrize("name", [MODEL, "stabilityai/sdxl", "openai/whisper-large-v3", "llama70"])
def test_check_model_name_accepts_model_names(name):
    assert check_model_name(name) == name


@pytest.mark.parametrize(
    "args",
    [
        ["models", "info", "-m", "../../v1/me"],
        ["models", "info", "../../v1/me"],
        ["models", "versions", "-m", "../../v1/me"],
        ["models", "versions", "../../v1/me"],
        ["models", "default", "../../v1/me"],
        ["models", "alias", "me", "../../v1/me"],
        ["infer", "-m", "../../v1/me", "hi"],
        ["infer", "-m", "../../v1/me", "--batch", "-"],
    ],
)
def test_a_name_that_leaves_the_model_path_is_exit_2_and_sends_nothing(api, home, args):
    """#14.17: `models info -m ../../v1/me` sent GET /v1/me with the token."""
    run = invoke(args, input='"hi"\n')
    assert run.exit_code == 2, run.stderr
    assert run.stderr.startswith("error: invalid model name '../../v1/me'")
    assert api.requests == []
    assert not (home / "config.json").exists()


def test_history_rerun_checks_its_model_too(api):
    ok(["infer", "-m", MODEL, "-q", "hi"])
    api.requests.clear()
    run = invoke(["history", "rerun", "1", "-m", "../../v1/me"])
    assert run.exit_code == 2
    assert "invalid model name" in run.stderr
    assert api.requests == []


def test_a_bad_name_in_llamactl_model_says_where_it_came_from(api):
    run = invoke(["infer", "hi"], env={"LLAMACTL_MODEL": "../../v1/me"})
    assert run.exit_code == 2
    assert run.stderr.startswith("error: invalid model name in LLAMACTL_MODEL '../../v1/me'")
    assert api.requests == []


# --- no model at all ----------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["infer", "hi"], ["models", "info"], ["models", "versions"]])
def test_no_model_is_a_usage_error_with_a_hint(api, args):
    run = invoke(args)
    assert run.exit_code == 2
    assert run.stderr.splitlines() == [
        "error: no model given",
        "hint: give -m MODEL, set LLAMACTL_MODEL, or save one with 'llamactl models default MODEL'",
    ]
    assert api.requests == []


# --- -m, then LLAMACTL_MODEL, then models default ----------------------------------------------


def test_llamactl_model_is_used_without_m(api):
    ok(["infer", "-q", "hi"], env={"LLAMACTL_MODEL": OTHER})
    assert last_inference(api).path == f"/v1/inference/{OTHER}"


def test_m_wins_over_llamactl_model_and_the_default(api):
    ok(["models", "default", OTHER])
    ok(["infer", "-q", "-m", MODEL, "hi"], env={"LLAMACTL_MODEL": OTHER})
    assert last_inference(api).path == f"/v1/inference/{MODEL}"


def test_llamactl_model_wins_over_the_default(api):
    ok(["models", "default", OTHER])
    ok(["infer", "-q", "hi"], env={"LLAMACTL_MODEL": MODEL})
    assert last_inference(api).path == f"/v1/inference/{MODEL}"


def test_the_saved_default_is_used_by_infer_and_models(api, home):
    run = ok(["models", "default", MODEL])
    assert run.stderr == f"default model: {MODEL}\n"
    assert config(home) == {"default_model": MODEL}
    ok(["infer", "-q", "hi"])
    assert last_inference(api).path == f"/v1/inference/{MODEL}"
    card = ok(["models", "info"])
    assert card.stdout.splitlines()[0] == f"model: {MODEL}"
    ok(["models", "versions"])
    assert api.requests[-1].path == f"/models/{MODEL}/versions"


def test_models_default_shows_the_model_m_defaults_to(api):
    empty = ok(["models", "default"])
    assert empty.stdout == ""
    assert "no default model" in empty.stderr
    ok(["models", "default", MODEL])
    assert ok(["models", "default"]).stdout == f"{MODEL}\n"
    overridden = ok(["models", "default"], env={"LLAMACTL_MODEL": OTHER})
    assert overridden.stdout == f"{OTHER}\n"
    assert "LLAMACTL_MODEL" in overridden.stderr


def test_setting_a_default_while_llamactl_model_is_set_warns_that_it_wins(api):
    run = ok(["models", "default", MODEL], env={"LLAMACTL_MODEL": OTHER})
    assert f"warning: LLAMACTL_MODEL={OTHER} is set, and wins over the saved default" in run.stderr


def test_unset_forgets_the_default(api, home):
    ok(["models", "default", MODEL])
    ok(["models", "alias", "m7", OTHER])
    run = ok(["models", "default", "--unset"])
    assert run.stderr == f"removed the default model {MODEL}\n"
    assert config(home) == {"aliases": {"m7": OTHER}}  # the aliases stay
    assert ok(["models", "default", "--unset"]).stderr == "no default model was saved\n"
    assert invoke(["infer", "hi"]).exit_code == 2


def test_model_and_unset_together_is_a_usage_error(api, home):
    run = invoke(["models", "default", MODEL, "--unset"])
    assert run.exit_code == 2
    assert "not both" in run.stderr
    assert not (home / "config.json").exists()


def test_a_deployment_alone_never_takes_the_default_model(api):
    ok(["models", "default", MODEL])
    run = invoke(["infer", "-d", "abc123", "-q", "--no-stream", "hi"])
    assert "exactly one" not in run.stderr
    assert last_inference(api).path == "/v1/inference/deploy/abc123"


def test_history_rerun_keeps_the_recorded_model_over_the_default(api):
    ok(["infer", "-m", OTHER, "-q", "hi"])
    ok(["models", "default", MODEL])
    ok(["history", "rerun", "1", "-q"], env={"LLAMACTL_MODEL": MODEL})
    assert last_inference(api).path == f"/v1/inference/{OTHER}"


def test_a_batch_takes_the_default_model(api, tmp_path):
    ok(["models", "default", MODEL])
    output = tmp_path / "out.jsonl"
    run = invoke(["infer", "--batch", "-", "--output", str(output), "-q"], input='"a"\n"b"\n')
    assert run.exit_code == 0, run.stderr
    assert inference_paths(api) == [f"/v1/inference/{MODEL}"] * 2


# --- aliases --------------------------------------------------------------------------------------


def test_an_alias_works_wherever_a_model_is_named(api, tmp_path):
    assert ok(["models", "alias", "l70", MODEL]).stderr == f"alias l70: {MODEL}\n"
    ok(["infer", "-m", "l70", "-q", "hi"])
    ok(["infer", "-q", "hi"], env={"LLAMACTL_MODEL": "l70"})
    ok(["history", "rerun", "1", "-m", "l70", "-q"])
    run = invoke(["infer", "-m", "l70", "--batch", "-", "-q"], input='"a"\n')
    assert run.exit_code == 0, run.stderr
    assert inference_paths(api) == [f"/v1/inference/{MODEL}"] * 4
    assert ok(["models", "info", "l70"]).stdout.startswith(f"model: {MODEL}\n")
    ok(["models", "versions", "-m", "l70"])
    assert api.requests[-1].path == f"/models/{MODEL}/versions"
    history = json.loads(ok(["history", "list", "--json"]).stdout)
    assert {row["model"] for row in history} == {MODEL}  # history keeps the model, not the alias


def test_a_default_given_as_an_alias_is_saved_as_its_model(api, home):
    ok(["models", "alias", "l70", MODEL])
    ok(["models", "default", "l70"])
    assert config(home)["default_model"] == MODEL


def test_an_alias_of_an_alias_stands_for_the_model(api, home):
    ok(["models", "alias", "l70", MODEL])
    ok(["models", "alias", "big", "l70"])
    assert config(home)["aliases"] == {"big": MODEL, "l70": MODEL}


def test_the_alias_list_in_a_pipe_as_json_and_on_a_terminal(api):
    assert "no aliases" in ok(["models", "alias"]).stderr
    ok(["models", "alias", "m7", OTHER])
    ok(["models", "alias", "l70", MODEL])
    assert ok(["models", "alias"]).stdout == f"l70\t{MODEL}\nm7\t{OTHER}\n"
    assert json.loads(ok(["models", "alias", "--json"]).stdout) == {"l70": MODEL, "m7": OTHER}
    from typer.testing import CliRunner

    from llamactl.cli import app

    shown = CliRunner().invoke(app, ["models", "alias"], obj={"stdout_isatty": True, "width": 80})
    plain = re.sub(r"\x1b\[[0-9;]*m", "", shown.stdout)
    assert [line.split() for line in plain.splitlines()] == [
        ["Alias", "Model"],
        ["l70", MODEL],
        ["m7", OTHER],
    ]
    assert "\x1b[1;4mAlias" in shown.stdout  # the header is styled: this is the terminal's form


def test_one_alias_prints_its_model(api):
    ok(["models", "alias", "l70", MODEL])
    assert ok(["models", "alias", "l70"]).stdout == f"{MODEL}\n"
    unknown = invoke(["models", "alias", "nope"])
    assert unknown.exit_code == 2
    assert unknown.stderr.splitlines()[0] == "error: no alias 'nope'"


def test_rm_removes_an_alias(api, home):
    ok(["models", "alias", "l70", MODEL])
    ok(["models", "alias", "m7", OTHER])
    assert ok(["models", "alias", "--rm", "l70"]).stderr == f"removed the alias l70 (for {MODEL})\n"
    assert config(home) == {"aliases": {"m7": OTHER}}
    again = invoke(["models", "alias", "--rm", "l70"])
    assert again.exit_code == 2
    assert again.stderr.startswith("error: no alias 'l70'")
    assert config(home) == {"aliases": {"m7": OTHER}}


@pytest.mark.parametrize(
    ("short", "words"),
    [
        ("meta/llama", "an alias cannot contain '/'"),
        ("_x", "use letters, digits"),
        (".hidden", "use letters, digits"),
        ("two words", "use letters, digits"),
    ],
)
def test_a_bad_alias_is_refused_before_anything_is_saved(api, home, short, words):
    run = invoke(["models", "alias", short, MODEL])
    assert run.exit_code == 2
    assert words in run.stderr.splitlines()[0]
    assert not (home / "config.json").exists()


def test_a_name_with_a_slash_never_reads_the_config(api, home):
    """A full name cannot be an alias: a damaged config.json does not stop it."""
    home.mkdir(parents=True)
    (home / "config.json").write_text("{ not json")
    ok(["infer", "-m", MODEL, "-q", "hi"])


# --- config.json -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("{ not json", "it is not valid JSON (line 1, column 3)"),
        ("[1, 2]", "it is not a JSON object"),
        ('{"default_model": 7}', "default_model is not a string"),
        ('{"aliases": {"x": 1}}', "aliases is not an object of names"),
    ],
)
def test_a_damaged_config_is_exit_6_and_is_never_written_over(api, home, content, why):
    home.mkdir(parents=True)
    path = home / "config.json"
    path.write_text(content)
    for args in (["infer", "hi"], ["models", "default", MODEL], ["models", "alias", "x", MODEL]):
        run = invoke(args)
        assert run.exit_code == 6, run.stderr
        assert run.stderr.splitlines() == [
            f"error: cannot read {path}: {why}",
            "hint: fix it, or remove it to start again (the default model and aliases are kept there)",
        ]
    assert path.read_text() == content
    assert api.requests == []


def test_the_config_file_is_private(api, home, env):
    run = run_llamactl(["models", "default", MODEL], env)
    assert run.exit_code == 0, run.stderr
    assert stat.S_IMODE((home / "config.json").stat().st_mode) == 0o600
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert run_llamactl(["models", "default"], env).stdout == f"{MODEL}\n"


# --- models info MODEL ---------------------------------------------------------------------------


def test_models_info_takes_the_model_as_an_argument_or_with_m(api):
    """#13.15: `models info MODEL`, as in gh; -m (deepctl's spelling) still works."""
    positional = ok(["models", "info", MODEL])
    assert positional.stdout.splitlines()[0] == f"model: {MODEL}"
    assert ok(["models", "info", "-m", MODEL]).stdout == positional.stdout
    assert ok(["models", "info", MODEL, "-m", MODEL]).stdout == positional.stdout


def test_two_different_models_is_a_usage_error(api):
    run = invoke(["models", "info", MODEL, "-m", OTHER])
    assert run.exit_code == 2
    assert run.stderr.startswith(f"error: two models given ({MODEL} and -m {OTHER})")
    assert api.requests == []


# --- aliases where a name is typed ------------------------------------------------------------


def test_m_and_rm_complete_the_aliases(api, home, env):
    from tests.test_models import shell_completion

    ok(["models", "alias", "l70", MODEL])
    ok(["models", "alias", "l7", catalogue.LLAMA_7B])
    ok(["models", "alias", "m7", OTHER])
    assert shell_completion("llamactl infer -m l", env) == ["l7", "l70"]  # no model list cached
    assert shell_completion("llamactl models alias --rm m", env) == ["m7"]
    assert shell_completion("llamactl models info m", env) == ["m7"]
    (home / "config.json").write_text("{")
    assert shell_completion("llamactl infer -m l", env) == []  # a damaged file: no offers, no error


def test_an_unknown_short_name_suggests_the_closest_alias(api):
    ok(["models", "alias", "llama70", MODEL])
    run = invoke(["infer", "-m", "lama70", "--no-stream", "hi"])
    assert run.exit_code == 4
    assert run.stderr.splitlines()[1].startswith("hint: did you mean llama70")
