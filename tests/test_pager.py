"""`history show` of a long record on a terminal goes through a pager, as git's and gh's
long output does: LLAMACTL_PAGER, else PAGER, else `less -FRX`; an empty LLAMACTL_PAGER or
`cat` turns it off, a pipe never gets one, and a pager that cannot start leaves the text
printed. Run in a real pseudo-terminal, with a pager that is a small script keeping what
it was given in a file."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pexpect
import pytest

from llamactl.env import DEFAULT_PAGER, resolve_pager
from tests.emulator import VALID_TOKEN
from tests.helpers import HANG_GUARD, REPO, invoke, run_llamactl, subprocess_env

MODEL = "meta-llama/Llama-2-70b-chat-hf"
ROWS, COLUMNS = 24, 80
LONG_PROMPT = "".join(f"prompt line {number}\n" for number in range(1, 201))
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture
def user(emulator, tmp_path):
    """A user with one long request (200 prompt lines) and one short one in history."""
    home = tmp_path / "home"
    env = subprocess_env(DEEPINFRA_TOKEN=VALID_TOKEN, DEEPINFRA_HOST=emulator.url, LLAMACTL_HOME=str(home))
    prompt = tmp_path / "long.txt"
    prompt.write_text(LONG_PROMPT)
    in_process = {name: env[name] for name in ("LLAMACTL_HOME", "DEEPINFRA_HOST", "DEEPINFRA_TOKEN")}
    for args in (["-i", f"input=@{prompt}"], ["short prompt"]):
        run = invoke(["infer", "-m", MODEL, "-q", *args], env=in_process)
        assert run.exit_code == 0, run.stderr
    return env


@pytest.fixture
def pager(tmp_path) -> tuple[str, Path]:
    """A pager command that writes what it reads to a file, and that file."""
    script, kept = tmp_path / "pager.py", tmp_path / "paged.txt"
    script.write_text(f"import sys\nopen({str(kept)!r}, 'wb').write(sys.stdin.buffer.read())\n")
    return f"{sys.executable} {script}", kept


def on_a_terminal(env: dict[str, str], *args: str) -> tuple[int, str]:
    """Exit status and screen text (styles stripped) of llamactl in a real pty."""
    child = pexpect.spawn(
        sys.executable,
        ["-m", "llamactl", *args],
        env=env,
        cwd=str(REPO),
        encoding="utf-8",
        timeout=HANG_GUARD,
        dimensions=(ROWS, COLUMNS),
    )
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus, ANSI.sub("", child.before.replace("\r\n", "\n"))


def test_a_long_record_goes_through_llamactl_pager(user, pager):
    command, kept = pager
    status, screen = on_a_terminal(
        {**user, "LLAMACTL_PAGER": command, "PAGER": "false"}, "history", "show", "1"
    )
    assert status == 0
    paged = ANSI.sub("", kept.read_text(encoding="utf-8"))
    assert "prompt line 1 " in paged and "prompt line 200 " in paged  # the Rich panels, whole
    assert "prompt line 100" not in screen  # the terminal got it only through the pager


def test_pager_is_used_when_llamactl_pager_is_not_set(user, pager):
    command, kept = pager
    status, _ = on_a_terminal({**user, "PAGER": command}, "history", "show", "1")
    assert status == 0
    assert "prompt line 200" in kept.read_text(encoding="utf-8")


@pytest.mark.parametrize("disabled", ["", "cat"])
def test_an_empty_llamactl_pager_or_cat_prints_directly(user, pager, disabled):
    command, kept = pager
    status, screen = on_a_terminal(
        {**user, "LLAMACTL_PAGER": disabled, "PAGER": command}, "history", "show", "1"
    )
    assert status == 0
    assert "prompt line 1 " in screen and "prompt line 200 " in screen
    assert not kept.exists()


def test_a_record_that_fits_the_screen_is_printed(user, pager):
    command, kept = pager
    status, screen = on_a_terminal({**user, "LLAMACTL_PAGER": command}, "history", "show", "2")
    assert status == 0
    assert "short prompt" in screen
    assert not kept.exists()


def test_a_pager_that_cannot_start_leaves_the_text_printed(user, tmp_path):
    status, screen = on_a_terminal(
        {**user, "LLAMACTL_PAGER": str(tmp_path / "no-such-pager")}, "history", "show", "1"
    )
    assert status == 0
    assert "prompt line 1 " in screen and "prompt line 200 " in screen
    assert "error" not in screen


def test_a_pipe_never_gets_a_pager(user, pager):
    command, kept = pager
    run = run_llamactl(["history", "show", "1"], {**user, "LLAMACTL_PAGER": command})
    assert run.exit_code == 0, run.stderr
    assert LONG_PROMPT in run.stdout  # the exact text, byte for byte
    assert not kept.exists()


@pytest.mark.parametrize(
    ("environ", "chosen"),
    [
        ({}, DEFAULT_PAGER),
        ({"PAGER": "more"}, "more"),
        ({"LLAMACTL_PAGER": "less -R", "PAGER": "more"}, "less -R"),
        ({"LLAMACTL_PAGER": "", "PAGER": "more"}, ""),
        ({"LLAMACTL_PAGER": " cat "}, ""),
        ({"PAGER": ""}, ""),
    ],
)
def test_which_pager(environ, chosen):
    assert resolve_pager(environ) == chosen


def test_the_default_pager_is_less_and_q_quits_it(user):
    if shutil.which("less") is None:
        pytest.skip("less is not installed")
    child = pexpect.spawn(
        sys.executable,
        ["-m", "llamactl", "history", "show", "1"],
        env={**user, "TERM": "xterm"},
        cwd=str(REPO),
        encoding="utf-8",
        timeout=HANG_GUARD,
        dimensions=(ROWS, COLUMNS),
    )
    child.expect("prompt line 1 ")  # the first screen is shown, and less waits for a key
    child.send("q")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "prompt line 200 " not in ANSI.sub("", child.before)  # never reached: q quit first
