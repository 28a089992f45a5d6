"""The docs cannot rot: every example in README.md and docs/*.md runs against the emulator
as a reader would run it, and every part that quotes llamactl itself (the command
reference, the exit codes) is regenerated from it or checked against it.

Examples run with the PATH a reader has, after the line the README tells them to run first
(`. .venv/bin/activate`). A `sh` block is run with bash and must exit 0; a `console` block
is a transcript whose commands are run in turn and must print the lines shown (a `…`
stands for any text). A marker comment on the line before a block changes that:

    <!-- run in a fresh clone -->   in a copy of the repository with no .venv (the set-up command)
    <!-- not run: REASON -->        a sh block that is not run, and the test report says why
    <!-- not checked: REASON -->    a console block that is not run, and the test report says why

Plain blocks are synopses: not run, but every command and option they name must exist.
docs/development.md says the same for writers.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.emulator.textgen import default_reply
from tests.examples import (
    ACTIVATE,
    empty_sandbox,
    matches,
    needs_missing_tool,
    reader_env,
    reader_path,
    restore_seeded,
    run_example,
    run_transcript,
    sandbox,
    seed,
    transcript,
)
from tests.gen_reference import PARTS, REPO, TROUBLESHOOTING, commands, exit_codes, help_page, help_page_run

README = REPO / "README.md"
DOCS = REPO / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]
MARKER = re.compile(r"<!--\s*(?P<kind>run in a fresh clone|not run|not checked)(:\s*(?P<reason>.+?))?\s*-->")
FENCE = re.compile(r"^```(?P<language>\S*)\s*$")
LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")
INSTALL_TIMEOUT = 540  # seconds: only so that a stuck download fails instead of hanging
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "__pycache__", "build", "dist", "*.egg-info", ".hypothesis", ".pytest_cache"
)


@dataclass
class Block:
    path: Path
    line: int  # where the block's fence is, counting from 1
    language: str
    text: str
    marker: str | None
    reason: str | None

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"


def fenced_blocks(path: Path) -> list[Block]:
    """Every fenced block of a Markdown page, with the marker comment before it, if any."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found = []
    index = 0
    while index < len(lines):
        if fence := FENCE.match(lines[index]):
            end = lines.index("```", index + 1)
            previous = next((line for line in reversed(lines[:index]) if line.strip()), "")
            marker = MARKER.fullmatch(previous.strip())
            found.append(
                Block(
                    path,
                    index + 1,
                    fence.group("language"),
                    "\n".join(lines[index + 1 : end]),
                    marker and marker.group("kind"),
                    marker and marker.group("reason"),
                )
            )
            index = end
        index += 1
    return found


BLOCKS = [block for page in PAGES for block in fenced_blocks(page)]
SH = [block for block in BLOCKS if block.language == "sh"]
IN_SANDBOX = [block for block in SH if block.marker in (None, "not run")]
IN_FRESH_CLONE = [block for block in SH if block.marker == "run in a fresh clone"]
TRANSCRIPTS = [block for block in BLOCKS if block.language == "console"]
OPTION = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")


def synopses(block: Block) -> list[str]:
    """The command lines of a plain block that shows how to call llamactl: each `llamactl ...`
    line with its indented continuation lines, without the comment after `#`."""
    found: list[str] = []
    for line in block.text.splitlines():
        if line.startswith("llamactl "):
            found.append(line.split("  #")[0])
        elif found and line.startswith(" ") and line.strip() and not line.strip().startswith("#"):
            found[-1] += " " + line.split("  #")[0].strip()
    return found


SYNOPSES = [(block, line) for block in BLOCKS if block.language == "" for line in synopses(block)]


def ids(blocks: list[Block]) -> list[str]:
    return [block.id for block in blocks]


# --- what the README promises ------------------------------------------------------------


def test_the_readme_starts_with_the_install_and_the_test_command():
    first, second = fenced_blocks(README)[:2]
    assert first.marker == "run in a fresh clone" and first.language == "sh"
    assert "pip install" in first.text and "llamactl infer" in first.text
    ci_lines = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    marker = next(line for line in ci_lines if line.startswith("# The README's test command, verbatim"))
    ci_command = ci_lines[ci_lines.index(marker) + 1]
    # .ci/run runs it through `tests`, which only adds a message when no test ran
    assert second.language == "sh" and ci_command == f'tests sh -c "{second.text}"'
    assert second.text.endswith("&& .venv/bin/python -m pytest -q")
    assert len(IN_FRESH_CLONE) == 1 and IN_FRESH_CLONE[0] is not second


def test_the_readme_has_runnable_examples_for_each_use():
    scripts = "\n".join(block.text for block in IN_SANDBOX if block.path == README and not block.marker)
    for expected in ("git diff | llamactl infer", "--json", "auth", "history", "--install-completion"):
        assert expected in scripts, expected


def test_the_readme_tells_the_reader_to_activate_before_any_bare_llamactl():
    """The examples' PATH is what ACTIVATE gives: the README must ask for it, and before the
    first example that calls a bare `llamactl`."""
    sh = [block for block in fenced_blocks(README) if block.language == "sh"]
    activation = next(index for index, block in enumerate(sh) if block.text == ACTIVATE and not block.marker)
    bare = next(index for index, block in enumerate(sh) if re.search(r"(^|[\s|(])llamactl\b", block.text))
    assert activation < bare


def test_a_reader_has_llamactl_only_after_activating(tmp_path):
    """Without the activation the examples would fail with `llamactl: not found` (issue 13)."""
    if installed := shutil.which("llamactl", path=reader_path()):
        pytest.skip(f"this machine has another llamactl on PATH: {installed}")
    directory = empty_sandbox(tmp_path / "work")
    env = reader_env(directory, "http://127.0.0.1:9")
    before = run_example("llamactl --version", directory, env)
    assert before.returncode == 127 and "llamactl: command not found" in before.stderr
    after = run_example(f"{ACTIVATE}\nllamactl --version", directory, env)
    assert after.returncode == 0 and after.stdout.startswith("llamactl "), after.stderr


def test_every_marker_fits_its_block():
    """A marker on the wrong kind of block would drop it from every run without a word."""
    fits = {"sh": {None, "run in a fresh clone", "not run"}, "console": {None, "not checked"}}
    misfits = [block.id for block in BLOCKS if block.marker not in fits.get(block.language, {None})]
    assert not misfits, (
        f"sh blocks take 'run in a fresh clone' or 'not run', console blocks 'not checked': {misfits}"
    )
    assert not [block.id for block in BLOCKS if "```" in block.text], (
        "a fence was not closed where it should be"
    )


# --- the examples run ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def seeded(emulator_session, tmp_path_factory):
    emulator_session.reset()
    return seed(tmp_path_factory.mktemp("docs") / "seed", emulator_session)


@pytest.mark.parametrize("block", IN_SANDBOX, ids=ids(IN_SANDBOX))
def test_sh_example_runs_against_the_emulator(block, seeded, emulator, tmp_path):
    if block.marker == "not run":
        pytest.skip(f"not run: {block.reason}")
    if reason := needs_missing_tool(block.text):
        pytest.skip(reason)
    directory = sandbox(seeded, tmp_path / "work")
    restore_seeded(emulator)
    run = run_example(f"{ACTIVATE}\n{block.text}", directory, reader_env(directory, emulator.url))
    assert run.returncode == 0, f"{block.id}:\n{block.text}\n---\n{run.stderr}"
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("block", TRANSCRIPTS, ids=ids(TRANSCRIPTS))
def test_console_transcript_prints_what_it_shows(block, emulator, tmp_path):
    if block.marker == "not checked":
        pytest.skip(f"not checked: {block.reason}")
    assert block.marker is None, f"{block.id}: a transcript is checked or marked 'not checked: REASON'"
    steps = transcript(block.text)
    if reason := needs_missing_tool("\n".join(command for command, _ in steps)):
        pytest.skip(reason)
    directory = empty_sandbox(tmp_path / "work")
    printed = run_transcript(steps, directory, reader_env(directory, emulator.url), prelude=ACTIVATE)
    for (command, expected), lines in zip(steps, printed, strict=True):
        same = len(lines) == len(expected) and all(map(matches, expected, lines))
        shown, got = "\n".join(expected), "\n".join(lines)
        assert same, f"{block.id}: $ {command}\nthe page shows:\n{shown}\nbut it printed:\n{got}"


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("block", IN_FRESH_CLONE, ids=ids(IN_FRESH_CLONE))
def test_the_first_command_works_in_a_fresh_clone(block, tmp_path):
    """Verbatim, with a reader's PATH: create .venv, install llamactl alone, stream
    from the emulator."""
    clone = tmp_path / "llamactl"
    shutil.copytree(REPO, clone, ignore=NOT_SOURCE)
    env = reader_env(clone, api_url="http://127.0.0.1:9")  # --run points llamactl at its own emulator
    run = run_example(block.text, clone, env, timeout=INSTALL_TIMEOUT)
    assert run.returncode == 0, run.stderr
    assert run.stdout == default_reply("Write a haiku about llamas") + "\n"  # its line ended


# --- what is generated or checked ---------------------------------------------------------


@pytest.mark.parametrize("part", PARTS, ids=[f"{part.path.relative_to(REPO)}: {part.name}" for part in PARTS])
def test_the_generated_part_is_what_llamactl_says(part):
    assert part.current() == part.fresh(), (
        f"{part.path.relative_to(REPO)}'s {part.name} differs from llamactl: run .venv/bin/python tests/gen_reference.py"
    )


@pytest.mark.parametrize("path", [(), ("infer",)], ids=["llamactl", "llamactl infer"])
def test_the_reference_renders_help_as_llamactl_prints_it(path):
    """The reference is rendered in-process, for speed; it must be what a real
    `llamactl ... --help` prints, byte for byte."""
    assert help_page(path) == help_page_run(path)


@pytest.mark.parametrize(
    ("block", "line"), SYNOPSES, ids=[f"{block.id}: {line[:40]}" for block, line in SYNOPSES]
)
def test_a_synopsis_names_only_commands_and_options_llamactl_has(block, line):
    """The synopses quote --help loosely, so check what they name: the command path and
    every option must exist."""
    tree = dict(commands())
    words, path = line.split()[1:], ()
    while words and (*path, words[0]) in tree:
        path, words = (*path, words[0]), words[1:]
    command = tree[path]
    unknown = (
        words[0]
        if words and hasattr(command, "list_commands") and re.fullmatch(r"[a-z][\w-]*", words[0])
        else None
    )
    assert unknown is None, f"{block.id}: llamactl {' '.join(path)} has no command {unknown!r}"
    options = {name for param in command.params for name in (*param.opts, *param.secondary_opts)}
    named = {option for match in OPTION.finditer(" ".join(words)) for option in match.group(1).split("/")}
    assert named <= options | {"-h", "--help"}, (
        f"{block.id}: llamactl {' '.join(path)} has no {sorted(named - options)}"
    )
    assert path or named, f"{block.id}: {line!r} names no command of llamactl"


def test_troubleshooting_says_what_each_exit_code_looks_like():
    text = TROUBLESHOOTING.read_text(encoding="utf-8")
    described = {int(code) for code in re.findall(r"^\* \*\*(\d+)\*\* — ", text, re.M)}
    assert described == {code for code, _ in exit_codes() if code != 0}


def test_the_index_lists_every_page():
    linked = {
        (DOCS / match.group("target").split("#")[0]).resolve()
        for match in LINK.finditer((DOCS / "index.md").read_text(encoding="utf-8"))
    }
    assert {page.resolve() for page in PAGES if page.parent == DOCS and page.name != "index.md"} <= linked
    assert README.resolve() in linked


def heading_anchors(page: Path) -> set[str]:
    """The anchors GitHub gives the headings of a page."""
    headings = re.findall(r"^#+ (.+)$", page.read_text(encoding="utf-8"), re.M)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


LINKS = [
    (page, match.group("target"))
    for page in PAGES
    for match in LINK.finditer(page.read_text(encoding="utf-8"))
    if not match.group("target").startswith(("http://", "https://", "mailto:"))
]


@pytest.mark.parametrize(
    ("page", "target"), LINKS, ids=[f"{page.relative_to(REPO)}->{target}" for page, target in LINKS]
)
def test_every_link_between_pages_leads_somewhere(page, target):
    file, _, anchor = target.partition("#")
    destination = (page.parent / file).resolve() if file else page
    assert destination.exists(), f"{page.relative_to(REPO)} links to {target}, which does not exist"
    if anchor:
        assert anchor in heading_anchors(destination), f"{page.relative_to(REPO)}: no heading for #{anchor}"
