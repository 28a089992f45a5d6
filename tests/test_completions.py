"""Shell completion for real: bash sources the committed completions/llamactl.bash, the
words of a command line go into COMP_WORDS/COMP_CWORD, the function that `complete -p`
names is called, and COMPREPLY is what a user would be offered at TAB."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.emulator import VALID_TOKEN
from tests.emulator.catalogue import MODELS
from tests.gen_completions import COMPLETIONS, FILES, generated_files
from tests.helpers import HANG_GUARD, invoke, subprocess_env

BIN = Path(sys.executable).parent
BASH_SCRIPT = COMPLETIONS / FILES["bash"]
MODEL = "meta-llama/Llama-2-70b-chat-hf"

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")


@pytest.fixture
def home() -> Path:
    """The private LLAMACTL_HOME the autouse fixture set up (not created yet)."""
    return Path(os.environ["LLAMACTL_HOME"])


@pytest.fixture
def shell_env(emulator, home) -> dict[str, str]:
    """The environment a user's shell would have: llamactl of this virtual environment on
    PATH, the emulator as the API, a private LLAMACTL_HOME."""
    assert (BIN / "llamactl").exists(), f"no llamactl console script next to {sys.executable}"
    return subprocess_env(
        PATH=f"{BIN}:{subprocess_env()['PATH']}",
        DEEPINFRA_HOST=emulator.url,
        DEEPINFRA_TOKEN=VALID_TOKEN,
        LLAMACTL_HOME=str(home),
    )


def run_bash(script: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    # `exit $?` keeps bash as llamactl's parent (a lone command would be exec'd in its
    # place), so shell detection finds bash even when pytest itself runs under sh.
    proc = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", f"{script}\nexit $?"],
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def tab(line: str, env: dict[str, str], script: Path = BASH_SCRIPT) -> list[str]:
    """COMPREPLY for `line` with the cursor at its end (a trailing space starts a new word)."""
    words = shlex.split(line) + ([""] if line.endswith(" ") else [])
    proc = run_bash(
        f"source {shlex.quote(str(script))}\n"
        f"function=$(complete -p llamactl | sed -n 's/.* -F \\([^ ]*\\) .*/\\1/p')\n"
        f"COMP_WORDS=({' '.join(shlex.quote(word) for word in words)})\n"
        f"COMP_CWORD={len(words) - 1}\n"
        '"$function" llamactl\n'
        'for word in "${COMPREPLY[@]}"; do printf "%s\\n" "$word"; done\n',
        env,
    )
    return proc.stdout.splitlines()


def record_requests(count: int, emulator) -> None:
    for number in range(1, count + 1):
        run = invoke(
            ["infer", "-m", MODEL, "-q", f"prompt number {number}"],
            env={"DEEPINFRA_HOST": emulator.url, "DEEPINFRA_TOKEN": VALID_TOKEN},
        )
        assert run.exit_code == 0, run.stderr


# --- the committed scripts ---------------------------------------------------------------


def test_committed_completion_scripts_are_up_to_date():
    for path, text in generated_files().items():
        assert path.exists(), f"{path} is missing: run python -m tests.gen_completions"
        assert path.read_text() == text, f"{path} is out of date: run python -m tests.gen_completions"


def test_show_completion_prints_the_committed_bash_script(shell_env):
    for command in ("llamactl --show-completion", "llamactl --show-completion bash"):
        shown = run_bash(command, {**shell_env, "SHELL": "/bin/bash"}).stdout
        assert shown.strip() and shown.strip() in BASH_SCRIPT.read_text(), command


def test_install_completion_installs_a_working_bash_script(shell_env, tmp_path):
    env = {**shell_env, "HOME": str(tmp_path), "SHELL": "/bin/bash"}
    run = run_bash("llamactl --install-completion", env)
    assert "bash completion installed" in run.stdout
    installed = tmp_path / ".bash_completions" / "llamactl.sh"
    assert f"source '{installed}'" in (tmp_path / ".bashrc").read_text()
    assert installed.read_text().strip() in BASH_SCRIPT.read_text()
    assert tab("llamactl inf", env, script=installed) == ["infer"]


# --- commands ----------------------------------------------------------------------------


def test_bash_completes_command_names(shell_env):
    assert tab("llamactl inf", shell_env) == ["infer"]
    assert tab("llamactl hist", shell_env) == ["history"]


def test_bash_completes_inside_the_groups_built_on_first_use(shell_env):
    assert tab("llamactl history sh", shell_env) == ["show"]
    assert tab("llamactl auth set", shell_env) == ["set-token"]
    assert tab("llamactl models ", shell_env) == ["list", "info", "versions", "default", "alias"]


def test_bash_completes_options(shell_env):
    assert tab("llamactl history list --st", shell_env) == ["--status"]


# --- model names -------------------------------------------------------------------------


def test_model_names_come_from_the_cached_list_without_a_request(shell_env, emulator):
    assert tab("llamactl infer -m meta", shell_env) == []  # no cached list yet: nothing, and no request
    assert emulator.requests == []

    listed = invoke(["models", "list"], env={"DEEPINFRA_HOST": emulator.url})
    assert listed.exit_code == 0, listed.stderr
    emulator.reset()

    expected = sorted(
        model["model_name"]
        for model in MODELS
        if model["model_name"].startswith("meta") and not model.get("private")
    )
    assert len(expected) >= 2
    assert sorted(tab("llamactl infer -m meta", shell_env)) == expected
    assert sorted(tab("llamactl history list --model meta", shell_env)) == expected
    assert emulator.requests == []


# --- history ids -------------------------------------------------------------------------


def test_history_ids_complete_newest_first(shell_env, emulator):
    record_requests(3, emulator)
    assert tab("llamactl history show ", shell_env) == ["3", "2", "1"]
    assert tab("llamactl history rerun ", shell_env) == ["3", "2", "1"]
    assert tab("llamactl history show 2", shell_env) == ["2"]


def test_history_rm_skips_the_ids_already_typed(shell_env, emulator):
    record_requests(3, emulator)
    assert tab("llamactl history rm 3 ", shell_env) == ["2", "1"]


def test_history_ids_are_the_twenty_most_recent(shell_env, emulator):
    record_requests(23, emulator)
    assert tab("llamactl history show ", shell_env) == [str(n) for n in range(23, 3, -1)]
    assert tab("llamactl history show 1", shell_env) == [
        str(n) for n in (19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 1)
    ]


def test_history_completion_never_creates_the_database(shell_env, home):
    assert tab("llamactl history show ", shell_env) == []
    assert not home.exists()


def described(shell: str, line: str, env: dict[str, str]) -> str:
    """What zsh or fish get for `line`: candidates with descriptions, through Typer's protocol."""
    proc = subprocess.run(
        [str(BIN / "llamactl")],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
        env={
            **env,
            "_LLAMACTL_COMPLETE": f"complete_{shell}",
            "_TYPER_COMPLETE_ARGS": line,
            "_TYPER_COMPLETE_FISH_ACTION": "get-args",
        },
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_zsh_and_fish_are_offered_the_prompt_beside_each_id(shell_env, emulator):
    """zsh and fish show a description next to each candidate; bash shows ids only."""
    record_requests(1, emulator)
    assert f'"1":"prompt number 1 - {MODEL}"' in described("zsh", "llamactl history show ", shell_env)
    assert described("fish", "llamactl history show ", shell_env) == f"1\tprompt number 1 - {MODEL}\n"


def test_a_prompt_in_llama_2_brackets_is_shown_as_typed(shell_env, emulator):
    run = invoke(
        ["infer", "-m", MODEL, "-q", "[INST] hi [/INST]"],
        env={"DEEPINFRA_HOST": emulator.url, "DEEPINFRA_TOKEN": VALID_TOKEN},
    )
    assert run.exit_code == 0, run.stderr
    assert f'"1":"[INST] hi [/INST] - {MODEL}"' in described("zsh", "llamactl history show ", shell_env)


# --- options with fixed values -----------------------------------------------------------


def test_options_with_fixed_values_complete_their_values_not_file_names(shell_env):
    """Without values of their own, bash would offer file names (its `-o default`)."""
    env = shell_env
    assert tab("llamactl history list --status ", env) == [
        "ok",
        "error",
        "incomplete",
        "interrupted",
        "queued",
    ]
    assert tab("llamactl history list --status in", env) == ["incomplete", "interrupted"]
    for command in ("search alpaca", "stats", "export"):
        assert tab(f"llamactl history {command} --status o", env) == ["ok"], command
    assert tab("llamactl history stats --by ", env) == ["model", "day", "batch"]
    assert tab(f"llamactl infer -m {MODEL} --batch-format ", env) == ["jsonl", "lines"]


def test_model_types_complete_from_the_cached_list(shell_env, emulator):
    assert tab("llamactl models list --type ", shell_env) == []  # no cached list: nothing, no request
    assert emulator.requests == []
    assert invoke(["models", "list"], env={"DEEPINFRA_HOST": emulator.url}).exit_code == 0
    expected = sorted(
        {model["type"] for model in MODELS if model["type"].startswith("text-") and not model.get("private")}
    )
    assert tab("llamactl models list --type text-", shell_env) == expected
