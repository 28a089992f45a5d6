"""Markdown on a terminal as it streams (issue 15): what a person sees, checked by replaying
the bytes llamactl wrote through a terminal emulator (pyte).

In-process runs set the terminal facts (as tests/test_rendering.py does); the stream itself
is also fed piece by piece, in every chunking, to check that the screen ends the same as the
whole text rendered at once and that no finished row is ever written twice; real
pseudo-terminals check it end to end, taller than the terminal, with the spinner and Ctrl-C.
"""

from __future__ import annotations

import io
import re
import threading

import pyte
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from rich.console import Console

from llamactl.output.markdown import MarkdownStream, markdown_rows
from llamactl.output.sanitize import visible
from tests.emulator import Behavior
from tests.helpers import HANG_GUARD, REPO, invoke, llamactl_command
from tests.test_rendering import on_terminal

MODEL = "meta-llama/Llama-2-70b-chat-hf"
# Everything a terminal may receive from the renderer besides text: styles, cursor moves
# (up, forward, to the row's start), erase below, synchronized output on and off.
OURS = re.compile(r"\x1b\[[0-9;]*m|\x1b\[\d+[AC]|\x1b\[J|\x1b\[\?2026[hl]|\r")
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
CURSOR_UP = re.compile(r"\x1b\[(\d+)A")

ANSWER = """# Llamas

Llamas are **domesticated** South American *camelids*, used as `pack animals` by the \
[Inca](https://en.wikipedia.org/wiki/Inca_Empire) and kept today for their wool.

## Facts

- They hum when they are content, and spit at each other when they are not.
- Herds:
  - a lead male
  - females and their young, called crias
1. first numbered item
2. second numbered item

> A quote from a llama keeper, long enough to wrap around the edge of the terminal once.

| Animal | Weight | Height |
|--------|--------|--------|
| Llama  | 130 kg | 1.8 m  |
| Alpaca | 65 kg  | 0.9 m  |

---

```python
def greet(name):
    '''Say hello,
    in two lines.'''
    return f"Hello, {name}!"
```

That is all 🦙, 全角の文字 too.
"""


def words(text: str) -> list[str]:
    """The text as a model streams it: words with the whitespace before them."""
    return re.findall(r"\s*\S+|\s+$", text)


def screen(raw: str, width: int, height: int = 400) -> list[str]:
    """The lines a terminal shows after `raw` (a newline as a tty's onlcr turns it)."""
    terminal = pyte.Screen(width, height)
    pyte.Stream(terminal).feed(raw.replace("\r\n", "\n").replace("\n", "\r\n"))
    return trimmed_lines(terminal.display)


def scrolled_screen(raw: str, width: int, height: int) -> list[str]:
    """A small terminal's scrollback and screen after `raw` (from a real pty: CRLF already)."""
    terminal = pyte.HistoryScreen(width, height, history=100_000)
    pyte.Stream(terminal).feed(raw)
    scrolled = ["".join(line[x].data for x in range(width)) for line in terminal.history.top]
    return trimmed_lines(scrolled + terminal.display)


def trimmed_lines(lines: list[str]) -> list[str]:
    lines = [line.rstrip() for line in lines]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def rendered_whole(text: str, width: int) -> list[str]:
    """The text rendered at once, as plain lines: what the stream must end up showing."""
    console = Console(file=io.StringIO(), force_terminal=True, width=width, no_color=True)
    return [
        "".join(segment.text for segment in row).rstrip()
        for row in markdown_rows(visible(text), console, width)
    ]


def streamed(pieces: list[str], width: int = 80, color: bool = False, height: int = 25) -> str:
    """The terminal bytes of `pieces` fed one at a time, each flushed as after a network read."""
    console = Console(file=io.StringIO(), force_terminal=True, width=width, height=height, no_color=not color)
    written: list[str] = []
    stream = MarkdownStream(console, written.append)
    for piece in pieces:
        stream.feed(piece)
        stream.flush()
    stream.close()
    return "".join(written)


def written(raw: str, lines: list[str]) -> dict[str, int]:
    """How often each distinctive final line occurs whole in the text written (escape
    sequences removed): a row written again would occur twice."""
    text = OURS.sub("", raw)
    distinctive = [line for line in lines if len(line.strip()) >= 12 and any(char.isalnum() for char in line)]
    return {line: text.count(line.strip()) for line in distinctive if lines.count(line) == 1}


def printed_twice(raw: str, lines: list[str]) -> dict[str, int]:
    return {line: count for line, count in written(raw, lines).items() if count > 1}


def committed_rows_that_changed(pieces: list[str], width: int, height: int = 25) -> list[str]:
    """Feed `pieces` one at a time; after each, every row above the live ones is committed:
    the rows whose content on screen is not already their final content, ever."""
    console = Console(file=io.StringIO(), force_terminal=True, width=width, height=height, no_color=True)
    terminal = pyte.Screen(width, 3000)
    feed = pyte.Stream(terminal).feed
    stream = MarkdownStream(console, lambda text: feed(text.replace("\n", "\r\n")))
    snapshots = []
    for piece in pieces:
        stream.feed(piece)
        stream.flush()
        live = len(stream.region.shown)
        cursor = terminal.cursor
        first_live = cursor.y - live + 1 if live else cursor.y + (0 if cursor.x == 0 else 1)
        rows = terminal.buffer
        snapshots.append(["".join(rows[y][x].data for x in range(width)).rstrip() for y in range(first_live)])
    stream.close()
    final = trimmed_lines(terminal.display)
    return [row for snapshot in snapshots for index, row in enumerate(snapshot) if row != final[index]]


def answer(sections: int) -> str:
    """A long mixed answer whose lines are all different."""
    return "".join(
        ANSWER.replace("Llama", f"Llama{number}").replace("item", f"item{number}")
        for number in range(sections)
    )


# --- the elements -----------------------------------------------------------------------


def test_every_markdown_element_is_rendered(api):
    api.behave(Behavior(tokens=words(ANSWER)))
    run = on_terminal(["infer", "-m", MODEL, "--no-history", "hi"], width=80)
    assert run.exit_code == 0, run.stderr
    lines = screen(run.stdout, 80)
    text = "\n".join(lines)
    assert any(line.strip(" ┃") == "Llamas" for line in lines[:3])  # its marks gone (boxed before Rich 14)
    assert "#" not in text and "**" not in text and "`pack" not in text
    assert "Llamas are domesticated South American camelids, used as pack animals by the" in text
    assert "Inca (https://en.wikipedia.org/wiki/Inca_Empire)" in text  # a link shows where it goes
    assert any(line.startswith(" • They hum when") for line in lines)
    assert any(line.startswith("    • a lead male") for line in lines)  # nested, indented further
    assert any(line.startswith(" 1 first numbered item") for line in lines)
    assert any(line.startswith("▌ A quote from a llama keeper") for line in lines)
    header = next(line for line in lines if "Animal" in line)
    assert header.split() == ["Animal", "Weight", "Height"] and "|" not in text
    assert any(set(line.strip()) in ({"─"}, {"━"}) for line in lines)  # the table's rule
    assert any(set(line) in ({"-"}, {"─"}) and len(line) == 80 for line in lines)  # the horizontal rule
    assert " def greet(name):" in lines and '     return f"Hello, {name}!"' in lines
    assert "```" not in text
    assert lines[-1] == "That is all 🦙, 全角の文字 too."
    assert max(len(line) for line in lines) <= 80


def test_code_is_highlighted_by_the_fences_language(api):
    code = "```python\ndef f():\n    return 1\n```\n"
    api.behave(Behavior(tokens=words(code)))
    python = on_terminal(["infer", "-m", MODEL, "--no-history", "hi"], color=True).stdout
    api.behave(Behavior(tokens=words(code.replace("python", "text"))))
    plain = on_terminal(["infer", "-m", MODEL, "--no-history", "hi"], color=True).stdout
    assert screen(python, 100) == screen(plain, 100)  # the same text ...
    colours = re.compile(r"\x1b\[[0-9;]*m")
    assert len(set(colours.findall(python))) > len(set(colours.findall(plain))) + 1  # ... coloured as Python


def test_the_streamed_screen_is_the_whole_text_rendered(api):
    api.behave(Behavior(tokens=words(ANSWER)))
    run = on_terminal(["infer", "-m", MODEL, "--no-history", "hi"], width=72)
    assert run.exit_code == 0, run.stderr
    assert screen(run.stdout, 72) == rendered_whole(ANSWER, 72)


def test_words_wrap_at_word_boundaries_within_the_width(api):
    reply = " ".join(f"word{index}" for index in range(60))
    api.behave(Behavior(reply=reply))
    lines = screen(on_terminal(["infer", "-m", MODEL, "--no-history", "hi"], width=37).stdout, 37)
    assert len(lines) > 5 and max(len(line) for line in lines) <= 37
    assert " ".join(lines).split() == reply.split()  # no word cut in two


def test_a_single_newline_breaks_the_line_as_the_model_wrote_it(api):
    api.behave(
        Behavior(
            tokens=["An old silent pond\n", "A frog jumps into", " the pond\n", "Splash! Silence again."]
        )
    )
    lines = screen(on_terminal(["infer", "-m", MODEL, "--no-history", "a haiku"]).stdout, 100)
    assert lines == ["An old silent pond", "A frog jumps into the pond", "Splash! Silence again."]


def test_wide_characters_and_emoji_wrap_by_their_width(api):
    reply = " ".join(["全角文字"] * 12 + ["🦙🦙"] * 6)
    api.behave(Behavior(reply=reply))
    lines = screen(on_terminal(["infer", "-m", MODEL, "--no-history", "hi"], width=30).stdout, 30)
    from rich.cells import cell_len

    assert all(cell_len(line) <= 30 for line in lines) and len(lines) >= 4
    assert " ".join(lines).split() == reply.split()


def test_crlf_line_endings_are_newlines(api):
    api.behave(Behavior(tokens=["- one\r", "\n- two\r\n", "\r\n", "done\r\n"]))
    run = on_terminal(["infer", "-m", MODEL, "--no-history", "hi"])
    assert screen(run.stdout, 100) == [" • one", " • two", "", "done"]
    assert "^M" not in run.stdout


def test_a_fence_that_never_closes_shows_its_code_and_ends_clean(api):
    api.behave(Behavior(tokens=words("Here:\n\n```js\nlet a = 1;\nlet b = 2;")))
    run = on_terminal(["infer", "-m", MODEL, "--no-history", "hi"], width=60)
    assert run.exit_code == 0, run.stderr
    lines = screen(run.stdout, 60)
    assert lines[0] == "Here:" and " let a = 1;" in lines and " let b = 2;" in lines
    assert run.stdout.endswith("\n") and "```" not in run.stdout


def test_an_answer_that_ends_mid_table_shows_the_rows_it_has(api):
    api.behave(Behavior(tokens=words("| a | b |\n|---|---|\n| 1 | 2 |\n| 3 |")))
    run = on_terminal(["infer", "-m", MODEL, "--no-history", "hi"], width=40)
    assert run.exit_code == 0, run.stderr
    rows = [line.split() for line in screen(run.stdout, 40) if set(line.strip()) - set("─━┃ ")]
    assert rows == [["a", "b"], ["1", "2"], ["3"]]
    assert run.stdout.endswith("\n")


def test_rich_markup_and_emoji_codes_in_the_answer_are_literal(api):
    api.behave(Behavior(tokens=words("Use [bold]this[/bold] and :smile: as typed.")))
    lines = screen(on_terminal(["infer", "-m", MODEL, "--no-history", "hi"], color=True).stdout, 100)
    assert lines == ["Use [bold]this[/bold] and :smile: as typed."]


def test_no_md_prints_the_text_as_it_came(api):
    api.behave(Behavior(tokens=words("# Title\n\n**bold**")))
    run = on_terminal(["infer", "-m", MODEL, "--no-history", "--no-md", "hi"])
    assert run.stdout == "# Title\n\n**bold**\n"


def test_pipes_and_files_get_the_exact_text_whatever_the_flag(api, tmp_path):
    api.behave(Behavior(tokens=words(ANSWER)))
    for flag in ("--md", "--no-md"):
        run = invoke(["infer", "-m", MODEL, "--no-history", flag, "hi"])
        assert run.stdout == ANSWER


def test_several_results_are_panels_with_their_markdown_rendered(api):
    api.behave(Behavior(reply="Some **bold** words"))
    run = on_terminal(["infer", "-m", MODEL, "-i", "num_responses=2", "--no-history", "hi"], width=50)
    assert run.exit_code == 0, run.stderr
    lines = screen(run.stdout, 50)
    assert [line.split("─")[1].strip() for line in lines if line.startswith("╭")] == [
        "result 1 of 2",
        "result 2 of 2",
    ]
    assert "│ Some bold words" in "\n".join(lines) and "**" not in run.stdout


def test_a_reply_that_is_not_streamed_is_rendered_the_same(api):
    api.behave(Behavior(tokens=words(ANSWER)))
    run = on_terminal(["infer", "-m", MODEL, "--no-history", "--no-stream", "hi"], width=72)
    assert screen(run.stdout, 72) == rendered_whole(ANSWER, 72)


def test_history_show_and_rerun_render_the_result_as_markdown(api):
    api.behave(Behavior(tokens=words("## Plan\n\n- **one**\n- two\n")))
    assert invoke(["infer", "-m", MODEL, "-q", "plan"]).exit_code == 0
    shown = screen(on_terminal(["history", "show", "1"], width=60).stdout, 60)
    result = shown[
        next(index for index, line in enumerate(shown) if "result" in line and line.startswith("╭")) :
    ]
    assert (
        "Plan" in result[1] and any("│  • one" in line for line in result) and "**" not in "\n".join(result)
    )
    rerun = on_terminal(["history", "rerun", "1", "-q"], width=60)
    assert rerun.exit_code == 0, rerun.stderr
    assert [line.strip() for line in screen(rerun.stdout, 60)][-3:] == ["", "• one", "• two"]
    assert "Plan" in screen(rerun.stdout, 60)[0]
    assert invoke(["history", "show", "1"]).stdout.count("- **one**") == 1  # a pipe: the exact text


# --- safety -------------------------------------------------------------------------------

HOSTILE = "\x1b]0;owned\x07 \x1b]52;c;aGk=\x07 \x1b[2J \x1b[6n \x9b31m \x07 \x00"


@pytest.mark.parametrize(
    "answer",
    [
        f"A paragraph {HOSTILE} end",
        f"# Heading {HOSTILE}",
        f"- item {HOSTILE}\n- item two",
        f"```python\nx = 1  # {HOSTILE}\n```",
        f"| a | b |\n|---|---|\n| {HOSTILE} | 2 |",
        f"> quote {HOSTILE}",
        f"[link {HOSTILE}](http://x/{HOSTILE})",
    ],
    ids=["paragraph", "heading", "list", "code", "table", "quote", "link"],
)
def test_control_sequences_from_the_api_are_shown_never_obeyed(api, answer):
    api.behave(Behavior(tokens=words(answer)))
    run = on_terminal(["infer", "-m", MODEL, "--no-history", "hi"], width=200, color=True)
    assert run.exit_code == 0, run.stderr
    assert not RAW_CONTROL.search(OURS.sub("", run.stdout).replace("\n", "")), repr(run.stdout)
    assert "\x1b]" not in run.stdout and "\x1b[2J" not in run.stdout and "\x1b[6n" not in run.stdout
    shown = OURS.sub("", run.stdout)
    assert "^[]0;owned^G" in shown and "^[[6n" in shown


# --- streaming: linear, nothing twice ----------------------------------------------------


def test_no_row_is_ever_printed_twice():
    raw = streamed(words(answer(3)), width=60)
    lines = screen(raw, 60, 2000)
    counts = written(raw, lines)
    assert len(counts) >= 10 and printed_twice(raw, lines) == {}
    assert sum(count == 1 for count in counts.values()) > 0.9 * len(counts)  # written whole, once


def test_committed_rows_are_never_rewritten():
    assert committed_rows_that_changed(words(answer(2)), width=60) == []
    assert committed_rows_that_changed(words(answer(2)), width=33, height=8) == []


def test_the_cursor_never_goes_above_the_live_rows_even_when_taller_than_the_terminal():
    raw = streamed(words(answer(4)), width=50, height=12)
    assert len(screen(raw, 50, 2000)) > 3 * 12  # far taller than the terminal
    assert max((int(n) for n in CURSOR_UP.findall(raw)), default=0) < 12 - 2


def test_the_bytes_written_grow_with_the_answer_not_faster():
    once, four_times = len(streamed(words(ANSWER))), len(streamed(words(ANSWER * 4)))
    assert four_times < 4.2 * once


def test_a_long_code_block_keeps_only_its_last_line_live():
    code = (
        "```python\n"
        + "".join(f"value_{index} = compute({index}, 'text')\n" for index in range(300))
        + "```\n"
    )
    raw = streamed(words(code), width=60)
    lines = screen(raw, 60, 2000)
    assert lines[1] == " value_0 = compute(0, 'text')" and lines[-1] == " value_299 = compute(299, 'text')"
    assert max((int(n) for n in CURSOR_UP.findall(raw)), default=0) == 0  # lines only ever extend
    assert set(written(raw, lines).values()) == {1}


def test_a_long_paragraph_and_a_long_list_stay_correct_after_their_heads_are_cut():
    paragraph = " ".join(f"w{index}" for index in range(900)) + "\n\n"
    items = "".join(f"- item number {index} of the list\n" for index in range(120))
    text = paragraph + items
    assert screen(streamed(words(text), width=70), 70, 2000) == rendered_whole(text, 70)


def test_a_code_line_shown_plain_then_highlighted_is_not_written_again_without_colour():
    """An open code line is shown plain and highlighted once it ends: without colour both look
    the same, so the row is left as it is (the chunking test below once found this cut)."""
    end = ANSWER.index("def greet(name):") + len("def greet(name):")
    raw = streamed([ANSWER[:end], ANSWER[end:]], width=64)
    lines = screen(raw, 64)
    assert lines == rendered_whole(ANSWER, 64)
    assert printed_twice(raw, lines) == {}


@settings(max_examples=12, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=len(ANSWER)), max_size=60))
def test_any_chunking_ends_on_the_same_screen_with_no_row_written_twice(cuts):
    points = sorted(set(cuts))
    pieces = [ANSWER[start:end] for start, end in zip([0, *points], [*points, len(ANSWER)], strict=True)]
    raw = streamed(pieces, width=64)
    lines = screen(raw, 64)
    assert lines == rendered_whole(ANSWER, 64)
    assert printed_twice(raw, lines) == {}
    assert committed_rows_that_changed(pieces, width=64) == []


def layout_steps(pieces: list[str], width: int, fast: bool) -> list[tuple[list, list]]:
    """Each update the layout makes, piece by piece, styles and all: with the fast paths,
    or rendering every update in full."""
    from llamactl.output.markdown_layout import MarkdownLayout

    console = Console(file=io.StringIO(), force_terminal=True, width=width, height=25, color_system="256")
    layout = MarkdownLayout(console, width)
    layout.fast = fast
    steps = [layout.feed(visible(piece)) for piece in pieces]
    return [*steps, (layout.close(), [])]


# Markdown as models write it, in small pieces that can land anywhere: words, marks, wide
# characters, runs of spaces, line starts that change what a line is.
PLAIN_BITS = st.sampled_from(
    [
        " word",
        " a",
        "longerword",
        " 12",
        "1",
        ".",
        ",",
        " (x)",
        " -",
        ":",
        "!",
        "'",
        "全角",
        " 🦙",
        "é",
        "  ",
        " ",
    ]
)
MARK_BITS = st.sampled_from(
    [
        " **",
        "**",
        "*",
        " *",
        "`",
        " `code`",
        "`x",
        " `a_b`",
        "_",
        "~~",
        "[",
        "]",
        "(http://x)",
        "<",
        ">",
        "&amp",
        ";",
        "\\",
        "#",
        "|",
        "\t",
        "\u200d",
        " **bold",
        " *it",
        "al*",
        "``",
        "a  **",
        "ly**",
        " *em*",
        "*.",
        "x*",
        "***",
    ]
)
LINE_BITS = st.sampled_from(
    [
        "\n",
        "\n\n",
        "\n- ",
        "\n1. ",
        "\n> ",
        "\n    ",
        "\n## ",
        "\n```py\n",
        "\n```\n",
        "\n|---|---|\n",
        "\n  - ",
        "\n| a | b |",
    ]
)
FRAGMENTS = st.one_of(PLAIN_BITS, PLAIN_BITS, PLAIN_BITS, PLAIN_BITS, MARK_BITS, LINE_BITS)


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(FRAGMENTS, min_size=1, max_size=80), width=st.integers(min_value=12, max_value=50))
@example(pieces=["`", "\n- ", "`", " a", " `code`"], width=12)  # a backtick paired with one a line before
def test_every_fast_update_is_what_a_full_rendering_draws(pieces, width):
    assert layout_steps(pieces, width, fast=True) == layout_steps(pieces, width, fast=False)


@pytest.mark.parametrize(
    "pieces",
    [
        ["Some", " **bold", " ", "**", " after"],  # a closer after a space closes nothing
        ["Some", " **bold", " on", "**", "x y"],
        ["Some", " *it", "al*", "ic", " and"],
        ["Some", " *it", " ", "al*", " and"],
        ["Some", " `a b`", ".", " `c`", "d"],
        ["Some", " ` a`", " x"],
        ["Some", " *x.*", "y"],  # a closer after punctuation: the next character decides
        ["Some", " x", "**", " y"],
        ["- item", " **one**", ", two", "\n- item", " *three*"],
        ["A very long line of words", " **that", " wraps**", " around", " the", " edge", " here"],
        ["\n- ", "#", " word", " word"],  # a list item that is a heading: centred, never appended to
        ["1. # a", " b", " c"],
    ],
)
def test_marked_up_words_are_appended_as_a_full_rendering_draws_them(pieces):
    for width in (20, 30, 80):
        assert layout_steps(pieces, width, fast=True) == layout_steps(pieces, width, fast=False)


def test_the_fast_paths_draw_the_long_answer_as_a_full_rendering_does():
    for width in (33, 64, 100):
        pieces = words(answer(2))
        assert layout_steps(pieces, width, fast=True) == layout_steps(pieces, width, fast=False)


def test_most_words_of_a_paragraph_take_the_fast_path():
    """A guard on the speed: plain words are appended, not rendered (docs/performance.md)."""
    from llamactl.output.markdown_layout import MarkdownLayout

    console = Console(file=io.StringIO(), force_terminal=True, width=80, height=25)
    layout = MarkdownLayout(console, 80)
    renders = []
    layout.render = lambda source, render=layout.render: renders.append(source) or render(source)
    paragraph = words(" ".join(f"plain word{index}, and more." for index in range(40)))
    for piece in paragraph:
        layout.feed(piece)
    assert len(renders) < len(paragraph) / 5


def test_each_piece_is_on_screen_as_soon_as_it_is_flushed():
    console = Console(file=io.StringIO(), force_terminal=True, width=80, no_color=True)
    written: list[str] = []
    stream = MarkdownStream(console, written.append)
    shown = []
    for piece in ["Hello", " **wor", "ld**", " and", " `co", "de`", "\n\n- item", " two"]:
        stream.feed(piece)
        stream.flush()
        shown.append(screen("".join(written), 80))
    assert shown == [
        ["Hello"],
        ["Hello wor"],
        ["Hello world"],
        ["Hello world and"],
        ["Hello world and co"],
        ["Hello world and code"],
        ["Hello world and code", "", " • item"],
        ["Hello world and code", "", " • item two"],
    ]


# --- the end of an answer ----------------------------------------------------------------


def test_the_summary_says_when_the_answer_stopped_at_the_token_limit(api):
    api.behave(Behavior(reply="one two three four five six"))
    cut = on_terminal(["infer", "-m", MODEL, "--no-history", "-i", "max_new_tokens=3", "hi"])
    assert cut.exit_code == 0, cut.stderr
    assert "stopped at max_new_tokens=3" in cut.stderr
    whole = on_terminal(["infer", "-m", MODEL, "--no-history", "hi"])
    assert "stopped" not in whole.stderr


# --- real terminals ----------------------------------------------------------------------


class OpenOnce(threading.Event):
    """An emulator gate that stays open once set (a plain Event is cleared after each event)."""

    def clear(self) -> None:
        pass


def spawn(env: dict, *args: str, rows: int = 24, columns: int = 80):
    pexpect = pytest.importorskip("pexpect")
    child = pexpect.spawn(
        llamactl_command()[0],
        llamactl_command(*args)[1:],
        env=env,
        cwd=str(REPO),
        encoding="utf-8",
        timeout=HANG_GUARD,
        dimensions=(rows, columns),
    )
    child.logfile_read = io.StringIO()  # every byte the terminal received, whatever was expected
    return pexpect, child


def transcript(child) -> str:
    return child.logfile_read.getvalue()


def test_a_real_terminal_shows_a_long_answer_once_even_when_it_scrolls(emulator, env):
    text = ANSWER * 3
    emulator.behave(Behavior(tokens=words(text)))
    pexpect, child = spawn(env, "infer", "-m", MODEL, "-q", "hi", rows=15, columns=60)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert scrolled_screen(transcript(child), 60, 15) == rendered_whole(text, 60)


def test_the_spinner_shows_the_wait_and_leaves_no_trace(emulator, env):
    gate = OpenOnce()  # the stream's first event (no text) goes out, then the rest waits
    emulator.behave(Behavior(tokens=["", *words("**Done** waiting.")], gate=gate))
    pexpect, child = spawn(env, "infer", "-m", MODEL, "hi", rows=10, columns=150)
    child.expect(r"waiting for the first token \d+\.\d s")
    gate.set()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    lines = scrolled_screen(transcript(child), 150, 10)
    assert lines[0] == "Done waiting." and MODEL in lines[1] and len(lines) == 2


def test_ctrl_c_while_waiting_leaves_the_screen_clean(emulator, env):
    emulator.behave(Behavior(stall_after=0))
    pexpect, child = spawn(env, "infer", "-m", MODEL, "hi", rows=10, columns=70)
    child.expect("waiting for the first token")
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    lines = scrolled_screen(transcript(child), 70, 10)
    assert lines == ["error: interrupted"]


def test_ctrl_c_mid_answer_keeps_what_arrived_and_leaves_the_screen_clean(emulator, env):
    text = "Intro line.\n\n```python\nfirst = 1\nsecond = 2\n"
    emulator.behave(Behavior(tokens=words(text) + [" never"], stall_after=len(words(text))))
    pexpect, child = spawn(env, "infer", "-m", MODEL, "hi", rows=12, columns=60)
    child.expect("second")
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    raw = transcript(child)
    lines = [line for line in scrolled_screen(raw, 60, 12) if line.strip() not in ("", "^C")]
    # what arrived before the ^C the terminal echoed is kept, in place
    assert lines[:2] == ["Intro line.", " first = 1"] and lines[2].startswith(" second")
    assert lines[-1] == "error: interrupted; the output above is incomplete" and len(lines) == 4
    assert raw.rfind("\x1b[?2026h") <= raw.rfind("\x1b[?2026l"), repr(raw)  # not left mid-redraw
    assert raw.endswith("\x1b[0m\r\n"), repr(raw)  # the styles reset, the prompt on a fresh line
    assert "never" not in raw
