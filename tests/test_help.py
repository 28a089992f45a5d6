"""Help that teaches: every command and group has a one-line summary, described and grouped
options and examples that really run; the root help lists the exit codes and environment
variables; and help renders whole on an 80-column terminal. (docs/reference.md, the
`--help` text regenerated, is checked in tests/test_docs.py.)"""

from __future__ import annotations

import re

import pytest
from rich.text import Text

from llamactl.auth.credentials import KEYRING_TIMEOUT_VARIABLE, TOKEN_VARIABLES
from llamactl.env import API_URL_VARIABLES
from llamactl.errors import ExitCode
from tests.examples import example_env, needs_missing_tool, restore_seeded, run_example, sandbox, seed
from tests.gen_reference import commands
from tests.helpers import invoke

COMMANDS = commands()
NAMES = [" ".join(("llamactl", *path)) for path, _ in COMMANDS]
TERMINAL_80 = {"COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb"}
MAX_UNGROUPED_OPTIONS = 3
SUMMARY_MAX = 90
ENVIRONMENT = (
    *TOKEN_VARIABLES,
    *API_URL_VARIABLES,
    "LLAMACTL_HOME",
    "LLAMACTL_MODEL",
    "LLAMACTL_NO_HISTORY",
    "LLAMACTL_PAGER",
    KEYRING_TIMEOUT_VARIABLE,
    "NO_COLOR",
    "HTTPS_PROXY",
    "NO_PROXY",
)
NOT_RUN = {
    "llamactl auth login": "it asks for the token at a hidden prompt on a terminal",
    "llamactl history clear": "it asks for confirmation on a terminal",
}
BOX = str.maketrans("", "", "│╭╮╰╯─")

each_command = pytest.mark.parametrize(("path", "command"), COMMANDS, ids=NAMES)


def help_at_80_columns(path: tuple[str, ...]) -> str:
    run = invoke([*path, "--help"], env=TERMINAL_80)
    assert run.exit_code == 0, run.stderr
    return run.stdout


def flat(text: str) -> str:
    """Text without box drawing and with all whitespace as single spaces, so that a help
    text wrapped across the lines of a panel reads as one string again."""
    return " ".join(text.translate(BOX).split())


def shown(markup: str) -> str:
    """A help string as Rich shows it: markup applied, escaped brackets kept."""
    return flat(Text.from_markup(markup).plain)


def block(text: str, heading: str) -> list[str]:
    """The lines under `heading` up to the next blank line, stripped; none without it."""
    lines = [line.strip() for line in text.splitlines()]
    if heading not in lines:
        return []
    found = []
    for line in lines[lines.index(heading) + 1 :]:
        if not line:
            break
        found.append(line)
    return found


def examples(command) -> list[str]:
    """The commands of the epilog's Examples block; comment lines left out."""
    return [line for line in block(command.epilog or "", "Examples:") if not line.startswith("#")]


def options(command) -> list:
    return [param for param in command.params if param.param_type_name == "option" and param.name != "help"]


# --- what every help page has --------------------------------------------------------------


@each_command
def test_a_one_line_summary_comes_first(path, command):
    summary = (command.help or "").split("\n\n")[0]
    assert summary and "\n" not in summary and summary.endswith("."), repr(summary)
    assert len(summary) <= SUMMARY_MAX, summary


@each_command
def test_help_paragraphs_are_single_lines_for_rich_to_wrap(path, command):
    for paragraph in command.help.split("\n\n"):
        assert "\n" not in paragraph.strip(), paragraph


@each_command
def test_every_option_and_argument_is_described(path, command):
    for param in command.params:
        assert (getattr(param, "help", None) or "").strip(), f"{param.name} has no help"


def test_every_option_help_in_help_md_is_shown_by_some_command():
    """help.md's `## options: SCOPE` lines are read by name: one whose option was renamed or
    removed would stay behind, read by nothing."""
    from llamactl.commands.helptext import every_option_help

    shown = {getattr(param, "help", None) for _, command in COMMANDS for param in command.params}
    written = every_option_help()
    assert len(written) > 70  # every command's options are there
    unused = [f"{scope}: {name}" for (scope, name), text in written.items() if text not in shown]
    assert not unused, f"help.md describes options no command has: {unused}"


@each_command
def test_many_options_are_grouped_into_panels(path, command):
    if len(options(command)) > MAX_UNGROUPED_OPTIONS:
        panels = {getattr(param, "rich_help_panel", None) for param in options(command)}
        assert panels - {None}, f"{len(options(command))} options and no rich_help_panel"


@each_command
def test_two_to_four_examples(path, command):
    assert 2 <= len(examples(command)) <= 4, command.epilog
    assert all("llamactl" in example for example in examples(command))


@each_command
def test_help_renders_whole_at_80_columns(path, command):
    """Nothing cut off with an ellipsis, no help text lost to Rich markup, and every line of
    the epilog (examples, exit codes, variables) fits on its own line."""
    page = help_at_80_columns(path)
    assert "…" not in page
    for paragraph in command.help.split("\n\n"):
        assert shown(paragraph) in flat(page)
    for param in command.params:
        assert shown(param.help) in flat(page), param.name
    page_lines = {line.strip() for line in page.splitlines()}
    for line in (command.epilog or "").splitlines():
        assert line.strip() in page_lines, f"wrapped at 80 columns: {line!r}"


# --- the root help -----------------------------------------------------------------------


def test_root_help_lists_every_exit_code_one_per_line():
    codes = block(help_at_80_columns(()), "Exit codes:")
    numbers = {int(line.split()[0]) for line in codes}
    mentioned = {int(number) for number in re.findall(r"\b\d{1,3}\b", " ".join(codes))}
    assert numbers <= ExitCode.values()
    assert ExitCode.values() <= mentioned


def test_root_help_lists_the_environment_variables_one_per_line():
    variables = block(help_at_80_columns(()), "Environment:")
    for name in ENVIRONMENT:
        assert any(name in line for line in variables), name
    assert all(re.match(r"[A-Z_]+", line) for line in variables)


# --- the examples run --------------------------------------------------------------------


@pytest.fixture(scope="module")
def seeded(emulator_session, tmp_path_factory):
    emulator_session.reset()
    return seed(tmp_path_factory.mktemp("examples") / "seed", emulator_session)


@each_command
def test_the_examples_run_against_the_emulator(path, command, seeded, emulator, tmp_path):
    runnable = [example for example in examples(command) if example not in NOT_RUN]
    script = "\n".join(runnable)
    if reason := needs_missing_tool(script):
        pytest.skip(reason)
    directory = sandbox(seeded, tmp_path / "work")
    restore_seeded(emulator)
    run = run_example(script, directory, example_env(directory, emulator.url))
    assert run.returncode == 0, f"{script}\n---\n{run.stderr}"
    assert "Traceback" not in run.stderr
