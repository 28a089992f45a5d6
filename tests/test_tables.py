"""Tables at real widths (60, 80, 120, 200 columns), in-process: the identifying column never
goes and is never cut, figures are never cut, free text shrinks or goes first, and every
row stays on one line."""

from __future__ import annotations

import re
import time

import pytest
from typer.testing import CliRunner

from llamactl.cli import app
from llamactl.env import Environment
from llamactl.history.records import HistoryRecord
from llamactl.history.store import HistoryStore, history_path
from llamactl.output.format import cost_text
from llamactl.output.tables import Column, Role, fit, render
from tests.emulator import catalogue
from tests.helpers import Run

WIDTHS = (60, 80, 120, 200)
STYLE = re.compile(r"\x1b\[[0-9;]*m")
LONG_MODEL = "some-organisation/a-rather-long-model-name-that-goes-on-v2"
LONG_PROMPT = "Explain, in the voice of a patient teacher, why llamas hum and alpacas do not " * 3


def on_terminal(args: list[str], width: int) -> Run:
    result = CliRunner().invoke(
        app, args, obj={"stdout_isatty": True, "width": width, "no_color": True}, prog_name="llamactl"
    )
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout, result.stderr)


def screen(run: Run) -> list[str]:
    assert run.exit_code == 0, run.stderr
    return STYLE.sub("", run.stdout).splitlines()


def column_cells(lines: list[str], header: str) -> list[str]:
    """The cells under `header`, read by its position in the header line (right-aligned
    columns end where their header ends)."""
    start = lines[0].index(header)
    end = start + len(header)
    cells = []
    for line in lines[1:]:
        left = line.rfind("  ", 0, start) + 2 if "  " in line[:start] else 0
        right = line.find("  ", end)
        cells.append(line[min(left, start) : right if right != -1 else len(line)].strip())
    return cells


# --- the layout itself --------------------------------------------------------------------


def test_the_key_column_is_never_cut_even_when_it_alone_is_wider_than_the_terminal():
    key = Column("Version", ["x" * 64], Role.KEY)
    other = Column("Uploaded", ["2023-11-02T10:14:51+00:00"], Role.FIGURE)
    assert [(column.header, width) for column, width in fit([key, other], 60)] == [("Version", 64)]
    assert render([key, other], 60).plain.splitlines() == ["Version", "x" * 64]


def test_free_text_shrinks_with_an_ellipsis_before_anything_goes():
    columns = [
        Column("ID", ["7"], Role.KEY),
        Column("Prompt", ["a b c d e f g h i j k l m n o p"], Role.TEXT),
        Column("Cost", ["$0.000123"], Role.FIGURE, right=True, drop=1),
    ]
    lines = render(columns, 30).plain.splitlines()
    assert lines[1].startswith("7   a b c d e f") and lines[1].endswith("…  $0.000123")
    assert all(len(line) <= 30 for line in lines)


def test_columns_go_in_their_drop_order_and_a_figure_is_compacted_before_it_goes():
    columns = [
        Column("Name", ["model"], Role.KEY),
        Column("Uploaded", ["2023-11-02T10:14:51.118203+00:00"], Role.FIGURE, drop=2, compact=["2023-11-02"]),
        Column("Notes", ["deprecated, replaced by another model"], Role.TEXT, drop=1),
    ]
    assert [c.header for c, _ in fit(columns, 200)] == ["Name", "Uploaded", "Notes"]
    assert [c.header for c, _ in fit(columns, 50)] == ["Name", "Uploaded"]  # notes first
    assert render(columns, 20).plain.splitlines() == ["Name   Uploaded", "model  2023-11-02"]
    assert [c.header for c, _ in fit(columns, 10)] == ["Name"]


def test_spare_width_goes_to_the_text_columns_evenly_up_to_what_they_need():
    short = Column("Model", ["m" * 20], Role.TEXT)
    long = Column("Prompt", ["p" * 100], Role.TEXT)
    widths = {column.header: width for column, width in fit([Column("ID", ["1"], Role.KEY), short, long], 60)}
    assert widths == {"ID": 2, "Model": 20, "Prompt": 60 - 2 - 20 - 4}


def test_cells_are_shown_with_their_control_characters_visible_and_measured_so():
    columns = [Column("Model", ["evil\x1b]0;title\x07model"], Role.KEY), Column("Type", ["x"], Role.TEXT)]
    text = render(columns, 80).plain
    assert "\x1b" not in text and "\x07" not in text
    assert "evil^[]0;title^Gmodel  x" in text


def test_no_line_ends_in_spaces():
    columns = [Column("A", ["1", "22"], Role.KEY), Column("B", ["", "x"], Role.TEXT)]
    assert all(line == line.rstrip() for line in render(columns, 40).plain.splitlines())


# --- models list / models versions -----------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_models_list_keeps_every_name_and_figure_whole_on_one_line_a_model(api, width):
    lines = screen(on_terminal(["models", "list"], width))
    names = [model["model_name"] for model in catalogue.MODELS]
    assert len(lines) == 1 + len(names)  # a header, then one line per model: nothing wraps
    assert sorted(line.split()[0] for line in lines[1:]) == sorted(names)
    assert max(len(line) for line in lines) <= width
    shown = lines[0].split()
    assert shown[0] == "Model" and "Input" in shown  # the name and the first price always
    for header in ("Input", "Output", "Context"):
        if header in shown:
            assert not any("…" in cell for cell in column_cells(lines, header)), header
    seed = next(line for line in lines if line.startswith(catalogue.LLAMA_70B + " "))
    assert "$0.64/Mtoken" in seed
    if width >= 80:
        assert {"Output", "Context"} <= set(shown)
        assert "$0.80/Mtoken" in seed and "4096" in seed
        assert "32768" in next(line for line in lines if line.startswith(catalogue.MISTRAL_7B))


def test_models_list_shows_the_notes_on_one_line_at_120_columns(api):
    lines = screen(on_terminal(["models", "list"], 120))
    assert lines[0].split() == ["Model", "Type", "Input", "Output", "Context", "Notes"]
    deprecated = next(line for line in lines if line.startswith(catalogue.LLAMA_13B_DEPRECATED))
    assert deprecated.endswith("…") and "deprecated, " in deprecated


def test_models_list_drops_the_notes_before_any_price_at_80_columns(api):
    lines = screen(on_terminal(["models", "list"], 80))
    assert lines[0].split() == ["Model", "Input", "Output", "Context"]


@pytest.mark.parametrize("width", WIDTHS)
def test_models_versions_always_shows_the_whole_version(api, width):
    lines = screen(on_terminal(["models", "versions", "-m", catalogue.LLAMA_70B], width))
    versions = [item["version"] for item in catalogue.VERSIONS[catalogue.LLAMA_70B]]
    assert [line.split()[0] for line in lines[1:]] == versions
    uploaded = [item["uploaded_at"] for item in catalogue.VERSIONS[catalogue.LLAMA_70B]]
    if width >= 120:
        assert [line.split()[1] for line in lines[1:]] == uploaded
    elif width == 80:
        assert [line.split()[1] for line in lines[1:]] == [time[:10] for time in uploaded]


# --- history list / history stats -------------------------------------------------------------


@pytest.fixture
def history(home, monkeypatch):
    """Three recorded requests, the newest with a long model name and a long prompt."""
    monkeypatch.setenv("LLAMACTL_HOME", str(home))
    now = time.time()
    records = [
        HistoryRecord(
            created_at=now - 60,
            api_host="api.deepinfra.com",
            fields={"input": "hi"},
            status="ok",
            model=catalogue.LLAMA_70B,
            results=["hello"],
            tokens_in=2,
            tokens_out=3,
            cost=0.0000123,
        ),
        HistoryRecord(
            created_at=now - 30,
            api_host="api.deepinfra.com",
            fields={"input": "stop"},
            status="interrupted",
            model=catalogue.MISTRAL_7B,
            results=[],
            tokens_in=12345,
            tokens_out=None,
            cost=None,
        ),
        HistoryRecord(
            created_at=now,
            api_host="api.deepinfra.com",
            fields={"input": LONG_PROMPT},
            status="error",
            model=LONG_MODEL,
            results=[],
            error="boom",
            tokens_in=40,
            tokens_out=0,
            cost=0.00044416,
            cost_estimated=True,
        ),
    ]
    with HistoryStore.open(history_path(Environment())) as store:
        return store.add_all(records)


@pytest.mark.parametrize("width", WIDTHS)
def test_history_list_always_shows_the_ids_and_whole_figures(history, width):
    lines = screen(on_terminal(["history", "list"], width))
    assert len(lines) == 4 and lines[0].split()[0] == "ID"
    assert [line.split()[0] for line in lines[1:]] == ["3", "2", "1"]
    assert max(len(line) for line in lines) <= width
    shown = lines[0].split()
    for header in ("Status", "Tokens", "Cost"):
        assert header in shown
        assert not any("…" in cell for cell in column_cells(lines, header)), header
    assert column_cells(lines, "Tokens") == ["40/0", "12345/-", "2/3"]
    assert column_cells(lines, "Cost") == [cost_text(0.00044416, True), "-", cost_text(0.0000123, False)]
    # the text goes first: the model, then the prompt (beside an 11-column cost and status)
    assert ("Model" in shown, "Prompt" in shown) == ((True, True) if width >= 80 else (False, False))
    newest = lines[1]
    assert (LONG_PROMPT[:60] in newest) == (width >= 200)


def test_history_list_shares_the_spare_width_between_the_model_and_the_prompt(history):
    at_120 = screen(on_terminal(["history", "list"], 120))[1]
    assert LONG_MODEL[:25] in at_120 and LONG_MODEL not in at_120 and at_120.endswith("…")
    assert LONG_PROMPT[:30] in at_120
    at_200 = screen(on_terminal(["history", "list"], 200))[1]
    assert LONG_MODEL in at_200 and " ".join(LONG_PROMPT.split())[:79] + "…" in at_200


@pytest.mark.parametrize("width", WIDTHS)
def test_history_stats_never_cuts_a_model_name_or_a_total(history, width):
    lines = screen(on_terminal(["history", "stats"], width))
    assert [line.split()[0] for line in lines[1:]] == sorted(
        [catalogue.LLAMA_70B, catalogue.MISTRAL_7B, LONG_MODEL]
    ) + ["total"]
    assert "…" not in "".join(lines)
    if width >= 80:  # beside a 58-column model name, the cost is the last figure to go
        assert column_cells(lines, "Cost")[-1] == cost_text(0.0000123 + 0.00044416, True)
    if width >= 120:
        assert lines[0].split() == ["Model", "Requests", "Tokens", "in", "Tokens", "out", "Cost"]
        assert column_cells(lines, "Requests")[-1] == "3"
