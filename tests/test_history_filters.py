"""The history filters are the same wherever they make sense: `list`, `search`, `stats` and
`export` all take --model (a prefix matches), --status, --since and --batch, and the same
filters select the same requests in each of them."""

from __future__ import annotations

import json
import time

import pytest

from llamactl.env import Environment
from llamactl.history import queries
from llamactl.history.records import HistoryRecord
from llamactl.history.store import HistoryStore, history_path
from tests.emulator import catalogue
from tests.helpers import invoke

DAY = 86400
NOW = time.time()
# id: (model, status, age in days, batch); every prompt mentions llamas, so `search llamas`
# finds them all and the filters alone decide.
REQUESTS = {
    1: (catalogue.LLAMA_70B, "ok", 30, None),
    2: (catalogue.LLAMA_7B, "error", 10, None),
    3: (catalogue.MISTRAL_7B, "ok", 3, "b1"),
    4: (catalogue.LLAMA_70B, "interrupted", 3, "b1"),
    5: (catalogue.LLAMA_70B + "-turbo", "ok", 0.4, None),
    6: (None, "ok", 0.1, None),  # a deployment: no model name
}
FILTERS = {
    ("--model", "meta-llama/"): {1, 2, 4, 5},
    ("--model", catalogue.LLAMA_70B): {1, 4, 5},  # a whole name is a prefix too
    ("--model", "meta-llama/Llama-2-7b"): {2},
    ("--model", "mistralai/Mistral-7B-Instruct-v0.1"): {3},
    ("--model", "nobody/"): set(),
    ("--status", "ok"): {1, 3, 5, 6},
    ("--status", "interrupted"): {4},
    ("--since", "7d"): {3, 4, 5, 6},
    ("--since", "12h"): {5, 6},
    ("--batch", "b1"): {3, 4},
}


@pytest.fixture
def history(home, monkeypatch):
    monkeypatch.setenv("LLAMACTL_HOME", str(home))
    records = [
        HistoryRecord(
            created_at=NOW - age * DAY,
            api_host="api.deepinfra.com",
            status=status,
            model=model,
            deploy_id=None if model else "Dp1",
            fields={"input": f"request {request_id} about llamas"},
            results=[] if status == "error" else ["an answer"],
            tokens_in=request_id,
            tokens_out=1,
            batch_id=batch,
        )
        for request_id, (model, status, age, batch) in REQUESTS.items()
    ]
    with HistoryStore.open(history_path(Environment())) as store:
        assert store.add_all(records) == list(REQUESTS)


def listed(args: list[str]) -> list[int]:
    run = invoke(args + ["--json"])
    assert run.exit_code == 0, run.stderr
    return [record["id"] for record in json.loads(run.stdout)]


def exported(args: list[str]) -> list[int]:
    run = invoke(["history", "export", *args])
    assert run.exit_code == 0, run.stderr
    return [json.loads(line)["id"] for line in run.stdout.splitlines()]


def stats_total(args: list[str]) -> tuple[int, int]:
    run = invoke(["history", "stats", *args, "--json"])
    assert run.exit_code == 0, run.stderr
    total = json.loads(run.stdout)["total"]
    return total["requests"], total["tokens_in"]


@pytest.mark.parametrize("flag, value", list(FILTERS), ids=[" ".join(key) for key in FILTERS])
def test_each_filter_selects_the_same_requests_in_list_search_stats_and_export(history, flag, value):
    expected = FILTERS[flag, value]
    newest_first = sorted(expected, reverse=True)
    assert listed(["history", "list", flag, value]) == newest_first
    assert listed(["history", "search", "llamas", flag, value]) == newest_first
    assert exported([flag, value]) == sorted(expected)
    assert stats_total([flag, value]) == (len(expected), sum(expected))  # tokens_in is the id


def test_filters_combine(history):
    args = ["--model", "meta-llama/", "--since", "7d", "--status", "interrupted", "--batch", "b1"]
    assert listed(["history", "list", *args]) == [4]
    assert listed(["history", "search", "llamas", *args]) == [4]
    assert exported(args) == [4]
    assert stats_total(args) == (1, 4)
    assert listed(["history", "list", "--model", "meta-llama/", "--status", "ok"]) == [5, 1]


def test_search_with_filters_still_stops_at_the_limit_newest_first(history):
    assert listed(["history", "search", "llamas", "--model", "meta-llama/", "-n", "2"]) == [5, 4]
    assert listed(["history", "search", "llamas", "-n", "2"]) == [6, 5]


def test_a_model_prefix_groups_stats_by_each_model_it_matched(history):
    run = invoke(["history", "stats", "--model", "meta-llama/", "--json"])
    groups = {group["model"]: group["requests"] for group in json.loads(run.stdout)["groups"]}
    assert groups == {catalogue.LLAMA_70B: 2, catalogue.LLAMA_70B + "-turbo": 1, catalogue.LLAMA_7B: 1}


@pytest.mark.parametrize("command", [["list"], ["search", "llamas"], ["stats"], ["export"]])
def test_a_bad_status_or_since_is_exit_2_in_every_command(history, command):
    bad_status = invoke(["history", *command, "--status", "done"])
    assert bad_status.exit_code == 2
    assert (
        "--status: expected one of ok, error, incomplete, interrupted, queued, got 'done'"
        in bad_status.stderr
    )
    bad_since = invoke(["history", *command, "--since", "last week"])
    assert bad_since.exit_code == 2 and "--since: expected a date" in bad_since.stderr
    assert bad_status.stdout == bad_since.stdout == ""


@pytest.mark.parametrize("command", [["list"], ["search", "llamas"], ["stats"], ["export"]])
def test_a_batch_id_history_never_had_is_exit_2_in_every_command(history, command):
    """As `show 99` is: an empty answer would hide the typo."""
    run = invoke(["history", *command, "--batch", "b2"])
    assert (run.exit_code, run.stdout) == (2, "")
    assert run.stderr.startswith("error: no batch b2 in history\nhint: ")


@pytest.mark.parametrize("command", [["list"], ["export"]])
def test_a_conversation_history_never_had_is_exit_2(history, command):
    run = invoke(["history", *command, "--conversation", "99"])
    assert (run.exit_code, run.stdout) == (2, "")
    assert run.stderr.startswith("error: no conversation 99 in history\nhint: ")


def test_stats_mark_the_tokens_a_request_did_not_report(home, monkeypatch):
    """A stream cut before its usage came has no token counts: its group's total is at least
    what is shown (`+`), `-` when no request in it has one; an error used none, so it adds 0."""
    monkeypatch.setenv("LLAMACTL_HOME", str(home))
    rows = [  # (model, status, tokens in, tokens out)
        ("a/known", "ok", 5, 7),
        ("a/known", "error", None, None),
        ("b/partly", "ok", 5, 7),
        ("b/partly", "incomplete", None, None),
        ("c/none", "interrupted", None, None),
    ]
    with HistoryStore.open(history_path(Environment())) as store:
        store.add_all(
            [
                HistoryRecord(
                    created_at=NOW,
                    api_host="h",
                    status=status,
                    model=model,
                    fields={"input": "x"},
                    results=[],
                    tokens_in=tokens_in,
                    tokens_out=tokens_out,
                )
                for model, status, tokens_in, tokens_out in rows
            ]
        )
    lines = invoke(["history", "stats"]).stdout.splitlines()
    assert [line.split("\t")[:4] for line in lines] == [
        ["a/known", "2", "5", "7"],
        ["b/partly", "2", "5+", "7+"],
        ["c/none", "1", "-", "-"],
    ]
    report = json.loads(invoke(["history", "stats", "--json"]).stdout)
    assert [(group["tokens_in"], group["tokens_in_unknown"]) for group in report["groups"]] == [
        (5, 0),
        (5, 1),
        (0, 1),
    ]
    assert (report["total"]["tokens_out"], report["total"]["tokens_out_unknown"]) == (14, 2)


def test_every_filter_is_in_the_help_of_every_command():
    for command in ("list", "search", "stats", "export"):
        shown = invoke(["history", command, "--help"]).stdout
        for option in ("--model", "--status", "--since", "--batch"):
            assert option in shown, (command, option)


# --- the queries behind them ----------------------------------------------------------------


def test_a_prefix_upper_bound_admits_exactly_the_names_that_start_with_it():
    upper = queries.prefix_upper_bound("meta-llama/")
    assert upper == "meta-llama0"
    for name in ("meta-llama/", "meta-llama/Llama-2-70b-chat-hf", "meta-llama/\U0010ffff"):
        assert "meta-llama/" <= name < upper
    for name in ("meta-llama", "meta-llama0", "meta-llamb/x", "mistralai/x"):
        assert not "meta-llama/" <= name < upper
    assert queries.prefix_upper_bound("") == "\U0010ffff"


def test_a_model_prefix_is_resolved_through_the_model_index_not_the_table(tmp_path):
    with HistoryStore.open(tmp_path / "history.db") as store:
        plan = " | ".join(
            row[3]
            for row in store.db.execute(
                "EXPLAIN QUERY PLAN " + queries.models_starting("meta-llama/")[0],
                ("meta-llama/", "meta-llama0"),
            )
        )
        assert "COVERING INDEX requests_by_model" in plan and "SCAN requests" not in plan


def test_listing_one_matched_model_walks_its_index_without_sorting(tmp_path):
    with HistoryStore.open(tmp_path / "history.db") as store:
        query = queries.recent(20, queries.Filters(models=("m",), status="ok", since=0.0))
        plan = " | ".join(row[3] for row in store.db.execute("EXPLAIN QUERY PLAN " + query[0], query[1]))
        assert "USING INDEX requests_by_" in plan and "TEMP B-TREE" not in plan


# --- history clear ----------------------------------------------------------------------------


def clear_on_a_terminal(answer: str):
    from typer.testing import CliRunner

    from llamactl.cli import app

    return CliRunner().invoke(app, ["history", "clear"], input=answer, obj={"stdin_isatty": True})


def test_history_clear_says_how_many_it_will_remove_before_asking(history):
    declined = clear_on_a_terminal("n\n")
    assert declined.exit_code == 0, declined.stderr
    assert f"Remove all {len(REQUESTS)} requests from {history_path(Environment())}? [y/N]" in declined.stderr
    assert "nothing removed" in declined.stderr
    assert len(exported([])) == len(REQUESTS)
    accepted = clear_on_a_terminal("y\n")
    assert f"removed {len(REQUESTS)} requests from history" in accepted.stderr
    assert exported([]) == []


def test_history_clear_of_an_empty_history_does_not_ask(home, monkeypatch):
    monkeypatch.setenv("LLAMACTL_HOME", str(home))
    run = clear_on_a_terminal("")
    assert run.exit_code == 0, run.stderr
    assert "[y/N]" not in run.stderr and "history is empty: nothing to remove" in run.stderr
