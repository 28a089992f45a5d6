"""What llamactl draws on a terminal, checked in-process: the terminal facts are Environment
fields, so a test asks for a terminal of a given width instead of spawning a pseudo-terminal.
(tests/test_infer_e2e.py and tests/test_auth.py keep real-pty runs end to end.)"""

from __future__ import annotations

import json
import re

from typer.testing import CliRunner

from llamactl.cli import app
from tests.emulator import VALID_TOKEN, Behavior, catalogue
from tests.helpers import Run, invoke

MODEL = "meta-llama/Llama-2-70b-chat-hf"
STYLE = re.compile(r"\x1b\[[0-9;]*m")


def on_terminal(args: list[str], width: int = 100, color: bool = False, stderr_isatty: bool = True) -> Run:
    """Run llamactl in-process as if stdout (and stderr) were a terminal `width` columns wide."""
    terminal = {"stdout_isatty": True, "stderr_isatty": stderr_isatty, "width": width, "no_color": not color}
    result = CliRunner().invoke(app, args, obj=terminal, prog_name="llamactl")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout, result.stderr, result.stdout_bytes)


def screen_lines(text: str) -> list[str]:
    return STYLE.sub("", text).splitlines()


# --- infer ----------------------------------------------------------------------------------


def test_several_results_are_labelled_panels_in_order(api):
    texts = [
        result["generated_text"]
        for result in json.loads(
            invoke(["infer", "-m", MODEL, "-i", "num_responses=2", "--json", "--no-history", "hi"]).stdout
        )["results"]
    ]
    run = on_terminal(["infer", "-m", MODEL, "-i", "num_responses=2", "--no-history", "hi"])
    assert run.exit_code == 0, run.stderr
    screen = STYLE.sub("", run.stdout)
    assert screen.index("result 1 of 2") < screen.index(texts[0].split()[0]) < screen.index("result 2 of 2")
    assert screen.rindex(texts[1].split()[-1]) > screen.index("result 2 of 2")
    assert all(line.startswith(("╭", "│", "╰")) for line in screen_lines(run.stdout) if line.strip())


def test_panels_wrap_long_results_within_the_width_instead_of_cropping(api):
    api.behave(Behavior(reply=" ".join(f"word{i}" for i in range(30))))
    texts = [
        result["generated_text"]
        for result in json.loads(
            invoke(["infer", "-m", MODEL, "-i", "num_responses=2", "--json", "--no-history", "hi"]).stdout
        )["results"]
    ]
    assert all(len(text) > 100 for text in texts)  # far wider than the terminal
    run = on_terminal(["infer", "-m", MODEL, "-i", "num_responses=2", "--no-history", "hi"], width=40)
    assert run.exit_code == 0, run.stderr
    lines = screen_lines(run.stdout)
    assert max(len(line) for line in lines) == 40
    inside = " ".join(line.strip("│ ") for line in lines if line.startswith("│"))
    assert inside.split() == " ".join(texts).split()  # every word, in order, in the two panels


def test_streamed_text_on_a_terminal_ends_its_line_before_the_summary(api):
    api.behave(Behavior(tokens=["A", " haiku", " 🦙"]))
    run = on_terminal(["infer", "-m", MODEL, "--no-history", "Write a haiku"])
    assert run.exit_code == 0, run.stderr
    assert run.stdout == "A haiku 🦙\n"
    summary = screen_lines(run.stderr)
    assert len(summary) == 1 and summary[0].startswith(MODEL + " · ")


def test_colour_on_a_terminal_styles_only_the_messages(api):
    api.behave(Behavior(tokens=["plain", " text"]))
    run = on_terminal(["infer", "-m", MODEL, "--no-history", "hi"], color=True)
    assert run.exit_code == 0, run.stderr
    assert run.stdout == "plain text\n"  # generated text is never styled
    assert run.stderr.startswith("\x1b[2m") and STYLE.sub("", run.stderr).startswith(MODEL)


def test_a_pipe_on_the_same_screen_as_stderr_ends_its_line_so_the_summary_needs_no_blank_line(api):
    api.behave(Behavior(tokens=["no", " newline"]))
    result = CliRunner().invoke(
        app,
        ["infer", "-m", MODEL, "--no-history", "hi"],
        obj={"stdout_isatty": False, "stderr_isatty": True, "no_color": True},
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "no newline\n"  # the exact text, then the final newline
    assert result.stderr.startswith(MODEL)


# --- models, history, auth ------------------------------------------------------------------


def test_models_list_is_a_table_with_a_header_and_no_tabs(api):
    run = on_terminal(["models", "list"], width=200)
    assert run.exit_code == 0, run.stderr
    rows = screen_lines(run.stdout)
    assert rows[0].split() == ["Model", "Type", "Input", "Output", "Context", "Notes"]
    seed = catalogue.LLAMA_70B
    seed_row = next(row for row in rows if row.startswith(seed + " "))
    assert seed_row.split() == [seed, "text-generation", "$0.64/Mtoken", "$0.80/Mtoken", "4096"]
    assert any(row.split()[-4:] == ["deprecated,", "replaced", "by", seed] for row in rows)
    assert "\t" not in run.stdout


def test_history_list_is_a_table_that_fits_the_width(api):
    for prompt in ("first prompt", "second prompt"):
        assert invoke(["infer", "-m", MODEL, "-q", prompt]).exit_code == 0
    run = on_terminal(["history", "list"], width=100)
    assert run.exit_code == 0, run.stderr
    rows = screen_lines(run.stdout)
    assert rows[0].split() == ["ID", "Time", "Model", "Status", "Tokens", "Cost", "Prompt"]
    assert [row.split()[0] for row in rows[1:]] == ["2", "1"]
    assert "second prompt" in rows[1] and "first prompt" in rows[2]
    assert max(len(row) for row in rows) <= 100


def test_history_show_is_a_grid_and_panels(api):
    assert invoke(["infer", "-m", MODEL, "-q", "show me"]).exit_code == 0
    run = on_terminal(["history", "show", "1"], width=80)
    assert run.exit_code == 0, run.stderr
    rows = screen_lines(run.stdout)
    assert rows[0].split() == ["id", "1"]
    titles = [row for row in rows if row.startswith("╭")]
    assert [title.strip("╭─╮ ") for title in titles] == ["input", "result"]
    assert any("show me" in row for row in rows)


def test_history_stats_on_a_terminal_is_a_table_with_a_total(api):
    for model in (MODEL, "mistralai/Mistral-7B-Instruct-v0.1"):
        assert invoke(["infer", "-m", model, "-q", "hi"]).exit_code == 0
    run = on_terminal(["history", "stats"], width=120)
    assert run.exit_code == 0, run.stderr
    rows = screen_lines(run.stdout)
    assert rows[0].split()[:2] == ["Model", "Requests"]
    assert rows[-1].split()[:2] == ["total", "2"]


def test_auth_status_is_a_short_block_with_the_token_masked(api):
    run = on_terminal(["auth", "status"])
    assert run.exit_code == 0, run.stderr
    screen = STYLE.sub("", run.stdout)
    assert screen.splitlines()[0].split()[1:] == ["✓", "token", "accepted"]
    assert "environment variable (DEEPINFRA_TOKEN)" in screen
    assert "****" + VALID_TOKEN[-4:] in screen
    assert "host:" not in screen  # the pipe form's `key: value` lines are not used
    assert VALID_TOKEN not in screen + run.stderr
