"""Where llamactl keeps its state: LLAMACTL_HOME when set, otherwise the platform's own
directories (XDG on Linux, through platformdirs), which is imported only when a directory
is actually needed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from llamactl.env import Environment
from tests.emulator import VALID_TOKEN
from tests.helpers import invoke, subprocess_env
from tests.test_imports import MODEL, imports_of

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG directories are Linux's")


def test_llamactl_home_wins_over_the_platform_directories(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    env = Environment(environ={"LLAMACTL_HOME": str(tmp_path / "one")})
    assert env.state_dir == env.data_dir == env.cache_dir == tmp_path / "one"


def test_llamactl_home_expands_the_home_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert Environment(environ={"LLAMACTL_HOME": "~/state"}).data_dir == tmp_path / "state"


@linux_only
def test_xdg_variables_choose_the_directories_on_linux(tmp_path, monkeypatch):
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    env = Environment(environ={})
    assert env.state_dir == tmp_path / "xdg_config_home" / "llamactl"
    assert env.data_dir == tmp_path / "xdg_data_home" / "llamactl"
    assert env.cache_dir == tmp_path / "xdg_cache_home" / "llamactl"


@linux_only
def test_without_xdg_variables_the_xdg_defaults_under_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name)
    env = Environment(environ={})
    assert env.state_dir == tmp_path / ".config" / "llamactl"
    assert env.data_dir == tmp_path / ".local" / "share" / "llamactl"
    assert env.cache_dir == tmp_path / ".cache" / "llamactl"


@linux_only
def test_history_lives_in_xdg_data_home_unless_llamactl_home_is_set(tmp_path, monkeypatch):
    monkeypatch.delenv("LLAMACTL_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert invoke(["history", "path"]).stdout == f"{tmp_path / 'data' / 'llamactl' / 'history.db'}\n"
    monkeypatch.setenv("LLAMACTL_HOME", str(tmp_path / "home"))
    assert invoke(["history", "path"]).stdout == f"{tmp_path / 'home' / 'history.db'}\n"


def without_llamactl_home(emulator, tmp_path) -> dict[str, str]:
    env = subprocess_env(
        DEEPINFRA_TOKEN=VALID_TOKEN,
        DEEPINFRA_HOST=emulator.url,
        HOME=str(tmp_path),
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
    )
    assert "LLAMACTL_HOME" not in env
    return env


def test_platformdirs_is_imported_only_when_a_directory_is_needed(emulator, tmp_path):
    env = without_llamactl_home(emulator, tmp_path)
    assert "platformdirs" not in imports_of(["--version"], env)["third_party"]
    quiet = imports_of(["infer", "-m", MODEL, "--no-stream", "--no-history", "-q", "hi"], env)
    assert quiet["code"] == 0 and "platformdirs" not in quiet["third_party"]
    recorded = imports_of(
        ["infer", "-m", MODEL, "--no-stream", "-q", "hi"], env
    )  # a control: history needs it
    assert recorded["code"] == 0 and "platformdirs" in recorded["third_party"]
    assert (tmp_path / "data" / "llamactl" / "history.db").exists()
    assert not Path(tmp_path / ".local").exists()
