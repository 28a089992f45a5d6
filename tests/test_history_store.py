"""The history store directly: migrations, round trips, query plans, search and `--since`."""

from __future__ import annotations

import sqlite3
import string
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llamactl import plain
from llamactl.errors import UsageError
from llamactl.history import queries
from llamactl.history.database import busy_timeout
from llamactl.history.migrations import MIGRATIONS
from llamactl.history.records import HistoryRecord
from llamactl.history.store import HistoryStore


def test_the_schema_version_is_the_number_of_migrations():
    """store.SCHEMA_VERSION is written out so that an up-to-date database loads no migration;
    a migration added without it would never run."""
    from llamactl.history.database import SCHEMA_VERSION

    assert SCHEMA_VERSION == len(MIGRATIONS)


def make_record(prompt: str = "hello llamas", results=("a reply",), **changes) -> HistoryRecord:
    record = HistoryRecord(
        created_at=1_700_000_000.5,
        api_host="api.deepinfra.com",
        fields={"input": prompt, "max_new_tokens": 12},
        status="ok",
        model="meta-llama/Llama-2-70b-chat-hf",
        results=list(results),
    )
    return plain.replace(record, **changes)


@pytest.fixture
def store(tmp_path):
    with HistoryStore.open(tmp_path / "history.db") as opened:
        yield opened


def test_a_new_database_has_every_migration_and_runs_in_wal_mode(store):
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_an_older_database_is_migrated_and_keeps_its_rows(tmp_path):
    path = tmp_path / "history.db"
    old = sqlite3.connect(path)
    for step in MIGRATIONS[:2]:
        step(old)
    old.execute(
        "INSERT INTO requests (created_at, model, api_host, fields, status) "
        "VALUES (1.0, 'm', 'h', '{\"input\": \"from before\"}', 'ok')"
    )
    old.execute("PRAGMA user_version = 2")
    old.commit()
    old.close()
    with HistoryStore.open(path) as store:
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert [(record.prompt, record.api) for record in store.recent(10)] == [("from before", "native")]
        new_id = store.add_all([make_record("after the upgrade")])[0]
        assert [record.id for record in store.search("upgrade", 10)] == [new_id]


def test_the_conversation_index_holds_only_chat_turns_and_serves_every_conversation_query(tmp_path):
    from llamactl.history.conversations import LATEST_CONVERSATION
    from llamactl.history.migrations import index_only_conversation_turns

    path = tmp_path / "history.db"
    old = sqlite3.connect(path)
    steps = MIGRATIONS[: MIGRATIONS.index(index_only_conversation_turns)]
    for step in steps:
        step(old)
    old.execute(f"PRAGMA user_version = {len(steps)}")
    old.commit()
    old.close()
    with HistoryStore.open(path) as store:
        (sql,) = store.db.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'requests_by_conversation'"
        ).fetchone()
        assert sql.endswith("WHERE conversation_id IS NOT NULL")
        for query in (
            queries.turns_of(1, 0, None),
            queries.recent(5, queries.Filters(conversation=1)),
            (LATEST_CONVERSATION, ()),
        ):
            assert "INDEX requests_by_conversation" in plan(store, query)


def test_a_record_comes_back_as_it_was_stored(store):
    record = make_record(
        results=["first", "second"],
        version="abc",
        uploads={"image": {"filename": "cat.png", "size": 3, "content_type": "image/png"}},
        error="boom",
        tokens_in=3,
        tokens_out=7,
        cost=0.00012,
        cost_estimated=True,
        runtime_ms=12,
        wall_seconds=0.25,
        request_id="Rxyz",
        streamed=True,
        status="incomplete",
    )
    [record_id] = store.add_all([record])
    assert store.get(record_id) == plain.replace(record, id=record_id)


def test_missing_figures_stay_missing(store):
    [record_id] = store.add_all([make_record(results=[])])
    stored = store.get(record_id)
    assert (stored.tokens_in, stored.cost, stored.request_id, stored.results) == (None, None, None, [])


def test_remove_is_all_or_nothing(store):
    ids = store.add_all([make_record("one"), make_record("two")])
    assert store.remove([ids[0], 999]) == [999]
    assert store.count() == 2
    assert store.remove([ids[0]]) == []
    assert [record.id for record in store.recent(10)] == [ids[1]]
    assert store.search("one", 10) == []


def indexed_ids(store, word: str) -> list[int]:
    return [
        row[0]
        for row in store.db.execute(
            "SELECT rowid FROM requests_search WHERE requests_search MATCH ?", (word,)
        )
    ]


def test_removed_and_cleared_texts_leave_the_search_index(store):
    ids = store.add_all([make_record("alpha", results=["omega"]), make_record("beta", results=["omega"])])
    store.remove([ids[1]])
    assert indexed_ids(store, "beta") == [] and indexed_ids(store, "omega") == [ids[0]]
    store.clear()
    assert indexed_ids(store, "alpha") == [] and indexed_ids(store, "omega") == []


def test_ids_are_never_reused(store):
    ids = store.add_all([make_record("one"), make_record("two")])
    store.remove([ids[1]])
    [later] = store.add_all([make_record("three")])
    store.clear()
    [latest] = store.add_all([make_record("four")])
    assert ids[1] < later < latest


def plan(store, query) -> str:
    return " | ".join(row[3] for row in store.db.execute("EXPLAIN QUERY PLAN " + query[0], query[1]))


@pytest.mark.parametrize("model, status", [(None, None), ("m", None), (None, "ok"), ("m", "error")])
def test_listing_walks_an_index_without_sorting_the_table(store, model, status):
    store.add_all([make_record()])
    text = plan(store, queries.recent(20, queries.Filters(models=(model,) if model else None, status=status)))
    assert "TEMP B-TREE" not in text
    if model or status:
        assert "USING INDEX requests_by_" in text


@pytest.mark.parametrize("by", ["model", "day"])
@pytest.mark.parametrize("since", [None, 1_700_000_000.0])
def test_stats_read_only_the_covering_time_index(store, by, since):
    store.add_all([make_record()])
    assert "USING COVERING INDEX requests_by_time" in plan(
        store, queries.stats(by, queries.Filters(since=since))
    )


def test_search_asks_the_full_text_index(store):
    store.add_all([make_record()])
    assert "VIRTUAL TABLE INDEX" in plan(store, queries.search("llama", 20))


def test_stats_add_up_in_sql(store):
    store.add_all(
        [
            make_record(tokens_in=2, tokens_out=5, cost=0.5),
            make_record(tokens_in=3, tokens_out=7, cost=0.25, cost_estimated=True),
            make_record(model=None, deploy_id="Dp1", tokens_in=1, tokens_out=1),
        ]
    )
    rows = {row.key: row for row in store.stats("model")}
    assert set(rows) == {"meta-llama/Llama-2-70b-chat-hf", "deploy:Dp1"}
    llama = rows["meta-llama/Llama-2-70b-chat-hf"]
    assert (llama.requests, llama.tokens_in, llama.tokens_out, llama.cost, llama.estimated_cost) == (
        2,
        5,
        12,
        0.75,
        0.25,
    )
    assert rows["deploy:Dp1"].cost is None
    assert store.stats("model", queries.Filters(since=1_800_000_000.0)) == []


words = st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=12)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60, deadline=None)
@given(text=st.text(max_size=40))
def test_any_search_text_is_a_valid_query_or_a_usage_error(store, text):
    try:
        store.search(text, 5)
    except UsageError as exc:
        assert exc.message == "search needs at least one word" and not text.replace("\0", " ").split()


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=40, deadline=None)
@given(word=words, in_output=st.booleans())
def test_a_recorded_word_is_found_by_itself_and_by_its_prefix(store, word, in_output):
    prompt, output = ("x", f"said {word}.") if in_output else (f"before {word} after", "x")
    [record_id] = store.add_all([make_record(prompt, results=[output])])
    assert record_id in [record.id for record in store.search(word, 1000)]
    assert record_id in [record.id for record in store.search(word[: max(1, len(word) // 2)], 1000)]


NOW = datetime(2024, 5, 10, 12, 0).timestamp()


@pytest.mark.parametrize(
    "text, seconds_back", [("30m", 1800), ("12h", 43200), ("7d", 7 * 86400), ("2w", 14 * 86400)]
)
def test_since_accepts_durations_back_from_now(text, seconds_back):
    assert queries.parse_since(text, NOW) == NOW - seconds_back


def test_since_accepts_local_dates_and_times():
    assert queries.parse_since("2024-05-01", NOW) == datetime(2024, 5, 1).timestamp()
    assert queries.parse_since("2024-05-01T14:30", NOW) == datetime(2024, 5, 1, 14, 30).timestamp()


@pytest.mark.parametrize("text", ["yesterday", "7 days", "2024-13-01", "5y", ""])
def test_since_rejects_anything_else(text):
    with pytest.raises(UsageError, match="--since"):
        queries.parse_since(text, NOW)


def _open_at_once(path, barrier, results):
    from llamactl.history.store import HistoryStore

    barrier.wait()
    try:
        with HistoryStore.open(path):
            results.put("ok")
    except Exception as exc:  # reported to the test, which names it
        results.put(repr(exc))


def test_processes_opening_a_brand_new_database_together_all_succeed(tmp_path):
    """Switching a new file to WAL mode is where SQLite does not wait for a lock: eight
    processes opening a fresh database at the same instant, ten times over."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    for round_ in range(10):
        path = tmp_path / f"round{round_}" / "history.db"
        barrier, results = context.Barrier(8), context.Queue()
        processes = [context.Process(target=_open_at_once, args=(path, barrier, results)) for _ in range(8)]
        for process in processes:
            process.start()
        outcomes = [results.get(timeout=30) for _ in processes]
        for process in processes:
            process.join()
        assert outcomes == ["ok"] * 8


def test_a_chat_request_is_found_by_every_message_it_sent(store):
    record = make_record("unused")
    record.api, record.fields = (
        "openai",
        {
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "first question"},
                {"role": "assistant", "content": "an answer"},
                {"role": "user", "content": "the alpaca question"},
            ]
        },
    )
    [new_id] = store.add_all([record])
    [found] = store.search("alpaca", 10)
    assert (found.id, found.api, found.prompt) == (new_id, "openai", "the alpaca question")
    for word in ("brief", "first", "answer"):  # the system, an earlier user, the assistant message
        assert [record.id for record in store.search(word, 10)] == [new_id], word
    assert store.search("unsaid", 10) == []


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(None, 5.0), ("0.2", 0.2), ("0", 0.0), ("soon", 5.0), ("-1", 5.0), ("nan", 5.0), ("1e9", 5.0)],
)
def test_the_busy_timeout_is_five_seconds_unless_the_test_knob_sets_a_sane_one(monkeypatch, value, seconds):
    if value is not None:
        monkeypatch.setenv("LLAMACTL_HISTORY_TIMEOUT", value)
    assert busy_timeout() == seconds
