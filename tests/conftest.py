"""Shared fixtures: one DeepInfra emulator for the whole session, reset before each test."""

from __future__ import annotations

import compileall
import functools
import sys
from pathlib import Path

import pytest
import typer.testing

from tests.emulator import VALID_TOKEN, Emulator

# With PYTHONDONTWRITEBYTECODE set (as on these machines and in CI), pytest would rewrite
# and compile every test module from source in every worker on every run: 4 s of a
# worker's 7 s collection. It caches them in __pycache__, its default; the processes the
# tests start keep the variable.
sys.dont_write_bytecode = False

# CliRunner.invoke(app) converts the whole Typer app into Click commands on every call (type
# hints, signatures, every option): a third of an in-process test's time. Click commands
# keep no state between runs, so each worker builds llamactl's once.
typer.testing._get_command = functools.cache(typer.testing._get_command)  # type: ignore[attr-defined]

# Tests of several seconds each (--durations), started right after the slow ones.
LONG = (
    "tests/test_secrets.py::",
    "tests/test_completions.py::",
    "tests/test_history_processes.py::",
    "tests/test_history_store.py::test_processes_",
    "tests/test_markdown.py::test_any_chunking",
)


def pytest_configure(config):
    """Compile llamactl's bytecode once, before any worker starts, as `pip install` does for
    a wheel. With PYTHONDONTWRITEBYTECODE set (as on these machines and in CI) an editable
    install compiles every module it imports from source again in each of the hundreds of
    llamactl processes the tests start: a quarter of the fault table's CPU."""
    if not hasattr(config, "workerinput"):  # the controller, or the one process of `-n 0`
        root = Path(__file__).resolve().parent.parent
        for package in (root / "llamactl", root / "tests" / "emulator"):
            compileall.compile_dir(package, quiet=1)


def pytest_collection_modifyitems(items):
    """The slow tests (the wheel, the fresh clone) run first, then the long ones: under
    pytest-xdist they then run beside the others instead of keeping one worker busy after
    the rest are done."""
    items.sort(key=lambda item: (item.get_closest_marker("slow") is None, not item.nodeid.startswith(LONG)))


@pytest.fixture(scope="session")
def emulator_session():
    with Emulator() as emulator:
        yield emulator


@pytest.fixture
def emulator(emulator_session):
    emulator_session.reset()
    yield emulator_session


@pytest.fixture(autouse=True)
def isolated_user(tmp_path_factory, monkeypatch):
    """No test touches the real user's state, keyring or tokens: a private home for llamactl,
    private XDG directories, the null keyring backend, and no token or API URL variables.
    Tests that need a token or a keyring set them explicitly."""
    from tests.helpers import SCRUBBED_VARIABLES

    home = tmp_path_factory.mktemp("user")
    for name in SCRUBBED_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(home / name.lower()))
    monkeypatch.setenv("LLAMACTL_HOME", str(home / "llamactl"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    # In-process runs retry without sleeping through the backoff (subprocess_env drops it:
    # real processes keep the real delays, which the signal tests interrupt).
    monkeypatch.setenv("LLAMACTL_RETRY_DELAY", "0.01")


@pytest.fixture
def home(tmp_path):
    """This test's LLAMACTL_HOME (created by llamactl when it needs it)."""
    return tmp_path / "home"


@pytest.fixture
def api(emulator, home, monkeypatch):
    """In-process runs: a user with a valid token in the environment, pointed at the emulator."""
    monkeypatch.setenv("LLAMACTL_HOME", str(home))
    monkeypatch.setenv("DEEPINFRA_TOKEN", VALID_TOKEN)
    monkeypatch.setenv("DEEPINFRA_HOST", emulator.url)
    return emulator


@pytest.fixture
def env(emulator, home):
    """Subprocess runs: the environment of the same user."""
    from tests.helpers import subprocess_env

    return subprocess_env(DEEPINFRA_TOKEN=VALID_TOKEN, DEEPINFRA_HOST=emulator.url, LLAMACTL_HOME=str(home))
