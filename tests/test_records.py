"""One definition of what a request produced (OutcomeFields): InferenceOutcome, the history
record, its database row, `history --json` and a batch line's record all derive from it."""

from __future__ import annotations

import pytest

from llamactl import plain
from llamactl.api.request import FileUpload, InferenceRequest, InferenceTarget
from llamactl.batch.input import BatchLine
from llamactl.batch.output import ANSWER_FIELDS, batch_record
from llamactl.history.records import COLUMNS, INSERT_COLUMNS, HistoryRecord, RowsLike
from llamactl.history.search_text import search_input
from llamactl.history.store import HistoryStore
from llamactl.inference.outcome import OUTCOME_FIELDS, InferenceOutcome, OutcomeFields

REQUEST = InferenceRequest(
    InferenceTarget("meta-llama/Llama-2-70b-chat-hf", "v1"),
    {"input": "hi"},
    {"image": FileUpload("cat.png", b"png", "image/png")},
)
# a value for every outcome field that is not its default, so a field left uncopied shows
DISTINCT = {
    "results": ["a", "b"],
    "status": "incomplete",
    "error": "boom",
    "tokens_in": 3,
    "tokens_out": 7,
    "cost": 0.25,
    "cost_estimated": True,
    "runtime_ms": 12,
    "wall_seconds": 1.23456,
    "request_id": "R1",
    "streamed": True,
    "batch_id": "b1",
}


def outcome() -> InferenceOutcome:
    return InferenceOutcome(REQUEST, "https://api.deepinfra.com", started_at=1_700_000_000.0, **DISTINCT)


def test_the_distinct_values_cover_every_outcome_field():
    assert set(DISTINCT) == set(OUTCOME_FIELDS)
    defaults = OutcomeFields()
    assert all(getattr(defaults, name) != value for name, value in DISTINCT.items())


def test_a_history_record_takes_every_outcome_field():
    record = HistoryRecord.from_outcome(outcome(), "api.deepinfra.com")
    assert {name: getattr(record, name) for name in OUTCOME_FIELDS} == DISTINCT
    assert (record.model, record.version, record.created_at) == (
        "meta-llama/Llama-2-70b-chat-hf",
        "v1",
        1_700_000_000.0,
    )
    assert record.uploads == {"image": {"filename": "cat.png", "size": 3, "content_type": "image/png"}}


def test_history_json_keeps_its_keys_in_their_order():
    record = HistoryRecord.from_outcome(outcome(), "api.deepinfra.com")
    data = record.to_json()
    assert list(data) == [
        "id",
        "time",
        "model",
        "version",
        "deploy_id",
        "api",
        "api_host",
        "fields",
        "uploads",
        "conversation_id",
        "retry_of",
        "messages",
        "finish_reason",
        "results",
        "status",
        "error",
        "tokens_in",
        "tokens_out",
        "cost",
        "cost_estimated",
        "runtime_ms",
        "wall_seconds",
        "request_id",
        "streamed",
        "batch_id",
    ]
    assert data["wall_seconds"] == 1.235
    assert {name: data[name] for name in OUTCOME_FIELDS if name != "wall_seconds"} == {
        name: value for name, value in DISTINCT.items() if name != "wall_seconds"
    }


def test_the_columns_are_the_requests_table(tmp_path):
    with HistoryStore.open(tmp_path / "history.db") as store:
        table = {row[1] for row in store.db.execute("PRAGMA table_info(requests)")}
        assert set(COLUMNS) == table
        (row_id,) = store.add_all([HistoryRecord.from_outcome(outcome(), "api.deepinfra.com")])
        back = store.get(row_id)
    assert {name: getattr(back, name) for name in OUTCOME_FIELDS} == DISTINCT
    assert back.fields == {"input": "hi"} and back.uploads["image"]["size"] == 3


def test_a_batch_record_shows_the_outcome_as_history_json_does():
    line = BatchLine(4, request=REQUEST)
    record = batch_record(line, "b1", "incomplete", "boom", outcome())
    assert list(record) == ["line", "status", "fields", *ANSWER_FIELDS, "error", "batch_id", "request_hash"]
    history = HistoryRecord.from_outcome(outcome(), "api.deepinfra.com").to_json()
    assert {name: record[name] for name in ANSWER_FIELDS} == {name: history[name] for name in ANSWER_FIELDS}


def test_a_batch_record_without_an_answer_has_the_outcome_defaults():
    record = batch_record(BatchLine(2, error="bad"), "b1", "invalid", "bad")
    defaults = plain.as_dict(OutcomeFields())
    assert {name: record[name] for name in ANSWER_FIELDS} == {name: defaults[name] for name in ANSWER_FIELDS}
    assert (record["fields"], record["request_hash"], record["results"]) == (None, None, [])


def prototype() -> HistoryRecord:
    return HistoryRecord.from_outcome(outcome(), "api.deepinfra.com")


# another value for each field a batch's lines differ in, none the prototype's own
OTHER = {"fields": {"input": "é", "n": 2}, "status": "error", "error": "e2", "tokens_in": 9, "cost": 1.5}


def test_rows_like_gives_the_row_to_row_gives():
    make = RowsLike(prototype(), tuple(OTHER))
    expected = plain.replace(prototype(), **OTHER).to_row()
    assert all(getattr(prototype(), name) != value for name, value in OTHER.items())
    assert make(tuple(OTHER.values())) == expected
    assert make(tuple(OTHER.values())) != prototype().to_row()


def test_rows_like_takes_only_columns():
    with pytest.raises(ValueError, match="results"):
        RowsLike(prototype(), ("status", "results"))


def test_rows_like_without_nulls_leaves_out_the_null_columns_it_does_not_vary():
    make = RowsLike(prototype(), ("fields", "error"), without_nulls=True)
    full = RowsLike(prototype(), ("fields", "error"))((OTHER["fields"], None))
    assert "error" in make.columns and "deploy_id" not in make.columns and "model" in make.columns
    row = dict(zip(make.columns, make((OTHER["fields"], None)), strict=True))
    assert row == {
        name: value for name, value in zip(INSERT_COLUMNS, full, strict=True) if name in make.columns
    }
    assert all(
        value is None for name, value in zip(INSERT_COLUMNS, full, strict=True) if name not in make.columns
    )


def dump(store: HistoryStore) -> dict[str, list]:
    """Every table a record is written to, the search index's own tables too."""
    tables = ("requests", "results", "requests_search_data", "requests_search_idx", "requests_search_docsize")
    return {table: store.db.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall() for table in tables}


def test_add_rows_stores_what_add_all_stores(tmp_path):
    records = [
        HistoryRecord(
            created_at=1.0 + n,
            api_host="h",
            fields={"input": f"prompt {n}", "messages": [{"role": "user", "content": f"asked {n}"}]},
            results=[f"answer {n}", "second"][: n % 3],
            batch_id="job",
        )
        for n in range(7)
    ]
    with HistoryStore.open(tmp_path / "slow.db") as slow, HistoryStore.open(tmp_path / "fast.db") as fast:
        slow.add_all([records[0]])
        fast.add_all([records[0]])  # ids follow what is there already
        rows = [(r.to_row(), r.results, search_input(r.fields, [])) for r in records[1:]]
        assert fast.add_rows(rows) == range(2, 8)
        slow.add_all(records[1:])
        assert dump(fast) == dump(slow)
        assert [r.id for r in fast.search("asked", 10)] == [r.id for r in slow.search("asked", 10)] != []
        assert fast.add_rows([]) == range(0)


def test_add_rows_without_the_null_columns_stores_what_add_all_stores(tmp_path):
    records = [
        plain.replace(prototype(), fields={"input": f"p{n}"}, error=f"e{n}" if n else None) for n in range(3)
    ]
    make = RowsLike(prototype(), ("fields", "error"), without_nulls=True)
    assert len(make.columns) < len(INSERT_COLUMNS)
    with HistoryStore.open(tmp_path / "slow.db") as slow, HistoryStore.open(tmp_path / "fast.db") as fast:
        rows = [(make((r.fields, r.error)), r.results, search_input(r.fields, [])) for r in records]
        assert fast.add_rows(rows, make.columns) == range(1, 4)
        slow.add_all(records)
        assert dump(fast) == dump(slow)
        with pytest.raises(ValueError, match="results"):
            fast.add_rows(rows, (*make.columns, "results"))


def test_add_rows_keeps_a_lone_surrogate_as_add_all_does(tmp_path):
    """A Batch API answer's `\\ud800` escape: both ways store U+FFFD, which SQLite can hold."""
    records = [
        plain.replace(prototype(), fields={"input": f"p{n}\ud800"}, results=[f"a{n}\udcff"]) for n in range(2)
    ]
    with HistoryStore.open(tmp_path / "slow.db") as slow, HistoryStore.open(tmp_path / "fast.db") as fast:
        assert fast.add_rows([(r.to_row(), r.results, search_input(r.fields, [])) for r in records]) == range(
            1, 3
        )
        assert slow.add_all(records) == [1, 2]
        assert dump(fast) == dump(slow)
        (kept,) = slow.search("p1", 10)
        assert (kept.fields, kept.results) == ({"input": "p1\ufffd"}, ["a1\ufffd"])
