"""The package as a user installs it: the wheel is built from a clean copy of the tree,
installed into a fresh virtual environment (dependencies from the package index), and the
installed llamactl is run against the emulator from outside the repository.

This is the slow test of the suite (a few seconds to build and install, more when pip has
to download the dependencies); it runs in every `pytest -q`, marked `slow` so that
`-m "not slow"` can leave it out while iterating.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import llamactl
from tests.emulator import VALID_TOKEN
from tests.emulator.textgen import default_reply
from tests.gen_completions import COMPLETIONS
from tests.helpers import REPO, built_once, subprocess_env

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "__pycache__", "build", "dist", "*.egg-info", ".hypothesis", ".pytest_cache"
)
INSTALL_TIMEOUT = 540  # seconds: only so that a stuck download fails instead of hanging
INSTALLED_COMPLETIONS = {
    "share/bash-completion/completions/llamactl.bash": "llamactl.bash",
    "share/zsh/site-functions/_llamactl": "_llamactl",
    "share/fish/vendor_completions.d/llamactl.fish": "llamactl.fish",
}


def build(*command: str | Path, cwd: Path) -> None:
    proc = subprocess.run(
        [str(part) for part in command], cwd=cwd, capture_output=True, text=True, timeout=INSTALL_TIMEOUT
    )
    assert proc.returncode == 0, f"{' '.join(map(str, command))} failed:\n{proc.stdout}\n{proc.stderr}"


def build_venv(work: Path) -> None:
    """The wheel built from a copy of the tree, installed into work/venv with its dependencies."""
    source = work / "source"
    # A copy, so that no stale build/ directory of the working tree ends up in the wheel.
    shutil.copytree(REPO, source, ignore=NOT_SOURCE)
    build(
        sys.executable, "-m", "pip", "wheel", source, "--no-deps", "--quiet", "-w", work / "wheels", cwd=work
    )
    (wheel,) = (work / "wheels").glob("llamactl-*.whl")
    venv = work / "venv"
    build(sys.executable, "-m", "venv", "--without-pip", venv, cwd=work)
    build(
        sys.executable,
        "-m",
        "pip",
        "--python",
        venv / "bin" / "python",
        "install",
        "--quiet",
        wheel,
        cwd=work,
    )


@pytest.fixture(scope="session")
def venv(tmp_path_factory) -> Path:
    """A fresh virtual environment with only the built wheel and its dependencies, built
    once per run however many pytest-xdist workers get these tests."""
    return built_once(tmp_path_factory, "packaging", build_venv) / "venv"


def run_installed(venv: Path, *args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(venv / "bin" / args[0]), *args[1:]],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


def test_the_installed_program_reports_the_one_version(venv, tmp_path):
    env = subprocess_env()
    expected = f"llamactl {llamactl.__version__}\n"
    assert run_installed(venv, "llamactl", "--version", env=env, cwd=tmp_path).stdout == expected
    assert (
        run_installed(venv, "python", "-m", "llamactl", "--version", env=env, cwd=tmp_path).stdout == expected
    )
    metadata = run_installed(
        venv,
        "python",
        "-c",
        "import importlib.metadata as m; print(m.version('llamactl'))",
        env=env,
        cwd=tmp_path,
    )
    assert metadata.stdout == f"{llamactl.__version__}\n"


def test_the_installed_program_is_the_one_in_the_new_environment(venv, tmp_path):
    where = run_installed(
        venv, "python", "-c", "import llamactl; print(llamactl.__file__)", env=subprocess_env(), cwd=tmp_path
    )
    assert Path(where.stdout.strip()).is_relative_to(venv)


def test_the_installed_program_streams_an_answer_from_the_emulator(venv, tmp_path, emulator):
    env = subprocess_env(
        DEEPINFRA_HOST=emulator.url,
        DEEPINFRA_TOKEN=VALID_TOKEN,
        LLAMACTL_HOME=str(tmp_path / "home"),
        PATH=os.environ["PATH"],
    )
    run = run_installed(
        venv,
        "llamactl",
        "infer",
        "-m",
        "meta-llama/Llama-2-70b-chat-hf",
        "Write a haiku about llamas",
        env=env,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == default_reply("Write a haiku about llamas") + "\n"
    assert "meta-llama/Llama-2-70b-chat-hf" in run.stderr  # the summary line
    assert [
        request.json["input"] for request in emulator.requests if request.path.startswith("/v1/inference/")
    ] == ["Write a haiku about llamas"]


def test_the_wheel_installs_the_completion_scripts(venv):
    for installed, name in INSTALLED_COMPLETIONS.items():
        assert (venv / installed).read_text() == (COMPLETIONS / name).read_text(), installed
