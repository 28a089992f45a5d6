"""`llamactl infer --batch` in-process (CliRunner) against the emulator: input forms, output
order, concurrency, failures and exit codes, resuming, the budget, rate limits and history."""

from __future__ import annotations

import json
import threading
import time
from contextlib import closing

import pytest

from tests.emulator import Behavior
from tests.helpers import HANG_GUARD, invoke

MODEL = "meta-llama/Llama-2-70b-chat-hf"


def write(tmp_path, text: str, name: str = "prompts.jsonl"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def batch(*args: str, input: str | None = None):
    return invoke(["infer", "-m", MODEL, *args], input=input)


def records(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def inference_requests(emulator) -> list:
    return [request for request in emulator.requests if request.path.startswith("/v1/inference/")]


def sent_inputs(emulator) -> list[str]:
    return sorted(request.json["input"] for request in inference_requests(emulator))


def wait_until(predicate) -> None:
    deadline = time.monotonic() + HANG_GUARD
    while not predicate():
        assert time.monotonic() < deadline, "the condition never came true"
        time.sleep(0.01)


def in_background(*args: str) -> tuple[threading.Thread, dict]:
    """Run a batch in a thread, so the test can steer the emulator meanwhile."""
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(run=batch(*args)))
    thread.start()
    return thread, result


def release_until_done(emulator, thread) -> None:
    """Let stalled answers go on. A request can arrive just after a release and stall on
    the next one, so release again until the batch is over."""
    deadline = time.monotonic() + HANG_GUARD
    while thread.is_alive() and time.monotonic() < deadline:
        emulator.release()
        thread.join(0.05)


def history_rows(home) -> int:
    """Rows in history so far, read without ever creating or migrating the database."""
    import sqlite3

    try:
        with closing(sqlite3.connect(f"file:{home / 'history.db'}?mode=ro", uri=True)) as db:
            return db.execute("SELECT count(*) FROM requests").fetchone()[0]
    except sqlite3.Error:
        return 0


def exported_inputs(*extra: str) -> list[str]:
    run = invoke(["history", "export", *extra])
    assert run.exit_code == 0, run.stderr
    return [json.loads(line)["fields"]["input"] for line in run.stdout.splitlines()]


# input and output


def test_each_line_gets_one_json_result_in_input_order(api, tmp_path):
    prompts = write(
        tmp_path, '"first prompt"\n{"input": "second prompt", "max_new_tokens": 3}\n\n"third prompt"\n'
    )
    run = batch("--batch", str(prompts), "-i", "temperature=0.2", "--concurrency", "3")
    assert run.exit_code == 0, run.stderr
    results = records(run.stdout)
    assert [result["line"] for result in results] == [1, 2, 4]
    assert {result["status"] for result in results} == {"ok"}
    assert results[1]["fields"] == {"temperature": 0.2, "input": "second prompt", "max_new_tokens": 3}
    assert "first prompt" in results[0]["results"][0]
    assert "third prompt" in results[2]["results"][0]
    for result in results:
        assert result["tokens_in"] > 0 and result["tokens_out"] > 0 and result["cost"] > 0
        assert result["request_id"].startswith("R") and result["error"] is None
    bodies = sorted((request.json for request in inference_requests(api)), key=lambda body: body["input"])
    assert bodies == [
        {"input": "first prompt", "temperature": 0.2},
        {"input": "second prompt", "max_new_tokens": 3, "temperature": 0.2},
        {"input": "third prompt", "temperature": 0.2},
    ]
    (summary,) = run.stderr.splitlines()
    assert summary.startswith(f"batch {results[0]['batch_id']}: 3 lines (3 ok)")


def test_answers_that_finish_early_wait_for_the_lines_before_them(api, home, tmp_path):
    """The first request to arrive stalls; the other lines finish first, yet the output
    keeps the input order (history, written as answers come, shows the real order)."""
    prompts = write(tmp_path, '"one"\n"two"\n"three"\n')
    api.queue(Behavior(stall_after=0))
    thread, result = in_background("--batch", str(prompts), "--concurrency", "2")
    wait_until(lambda: history_rows(home) == 2)
    release_until_done(api, thread)
    run = result["run"]
    assert run.exit_code == 0, run.stderr
    assert [(r["line"], r["fields"]["input"]) for r in records(run.stdout)] == [
        (1, "one"),
        (2, "two"),
        (3, "three"),
    ]
    finished = exported_inputs()
    assert finished[-1] in ("one", "two") and finished != ["one", "two", "three"]


def test_at_most_concurrency_requests_are_in_flight(api, tmp_path):
    prompts = write(tmp_path, "".join(f'"prompt {n}"\n' for n in range(5)))
    api.behave(Behavior(stall_after=0))
    thread, result = in_background("--batch", str(prompts), "--concurrency", "3")
    wait_until(lambda: len(inference_requests(api)) >= 3)
    assert len(inference_requests(api)) == 3  # all three stalled: no fourth may go out
    api.behave(Behavior())
    release_until_done(api, thread)
    assert result["run"].exit_code == 0, result["run"].stderr
    assert len(inference_requests(api)) == 5


def test_lines_format_takes_each_line_as_a_plain_prompt(api, tmp_path):
    prompts = write(tmp_path, 'Summarise "Dune"\r\n{"not": "json fields"}\n', name="prompts.txt")
    run = batch("--batch", str(prompts), "--batch-format", "lines")
    assert run.exit_code == 0, run.stderr
    assert sent_inputs(api) == sorted(['Summarise "Dune"', '{"not": "json fields"}'])


def test_the_batch_can_come_from_stdin(api):
    run = batch("--batch", "-", "-q", input='"from stdin"\n')
    assert run.exit_code == 0, run.stderr
    assert sent_inputs(api) == ["from stdin"]
    assert records(run.stdout)[0]["status"] == "ok"


def test_several_responses_are_all_in_the_result(api, tmp_path):
    prompts = write(tmp_path, '{"input": "twice", "num_responses": 2}\n')
    run = batch("--batch", str(prompts))
    assert run.exit_code == 0, run.stderr
    assert len(records(run.stdout)[0]["results"]) == 2


@pytest.mark.parametrize(
    "model, line, answer",
    [
        ("BAAI/bge-large-en-v1.5", {"inputs": ["hi"]}, "embeddings"),
        ("stabilityai/stable-diffusion-2-1", {"prompt": "a cat"}, "images"),
        ("hexgrad/Kokoro-82M", {"text": "hello"}, "audio"),
    ],
)
def test_another_kind_of_models_answer_is_in_the_lines_record_as_json(api, tmp_path, model, line, answer):
    """Billed, with no text: the line's record carries the API's answer as `infer --json`
    prints it (not "no results", exit 5), and a line needs no `input` for such a model,
    as `infer` needs none."""
    output = tmp_path / "out.jsonl"
    run = invoke(
        ["infer", "-m", model, "--batch", "-", "--output", str(output)], input=json.dumps(line) + "\n"
    )
    assert run.exit_code == 0, run.stderr
    (record,) = records(output.read_text(encoding="utf-8"))
    assert record["status"] == "ok" and record["error"] is None and record["results"] == []
    ((key, value),) = line.items()
    asked = json.loads(invoke(["infer", "-m", model, "-i", f"{key}={json.dumps(value)}", "--json"]).stdout)
    assert record["response"][answer] == asked[answer] and record["response"].keys() == asked.keys()
    assert record["request_id"] == record["response"]["request_id"] and record["cost"] is not None
    assert list(record)[3:5] == ["results", "response"]
    again = invoke(
        ["infer", "-m", model, "--batch", "-", "--output", str(output)], input=json.dumps(line) + "\n"
    )
    assert again.exit_code == 0 and len(inference_requests(api)) == 2  # done: not sent again
    assert records(output.read_text(encoding="utf-8")) == [record]


def test_an_answer_with_no_text_and_no_other_models_fields_fails_its_line(api, tmp_path):
    api.queue(
        Behavior(body=b'{"results": null, "request_id": "R1", "inference_status": {"status": "succeeded"}}')
    )
    run = batch("--batch", str(write(tmp_path, '"a"\n"b"\n')), "--concurrency", "1")
    assert run.exit_code == 5
    assert "line 1: the API's answer has no results" in run.stderr
    assert [(r["status"], "response" in r) for r in records(run.stdout)] == [("error", False), ("ok", False)]


def test_a_line_of_only_generation_parameters_still_has_no_input(api, tmp_path):
    run = batch("--batch", str(write(tmp_path, '{"max_new_tokens": 5}\n"fine"\n')))
    assert run.exit_code == 4
    assert "line 1: no input" in run.stderr
    assert [(r["status"], "response" in r) for r in records(run.stdout)] == [
        ("invalid", False),
        ("ok", False),
    ]


def test_quiet_leaves_stderr_empty(api, tmp_path):
    run = batch("--batch", str(write(tmp_path, '"a"\n"b"\n')), "-q")
    assert run.exit_code == 0
    assert run.stderr == ""
    assert len(records(run.stdout)) == 2


# bad input


def test_malformed_lines_are_reported_and_the_others_still_run(api, tmp_path):
    prompts = write(tmp_path, '"good"\nnot json\n{"input": "x", "top_k": "many"}\n"also good"\n')
    run = batch("--batch", str(prompts))
    assert run.exit_code == 4
    assert "line 2: not valid JSON" in run.stderr
    assert 'line 3: top_k: expected an integer, got "many"' in run.stderr
    assert "2 of 4 lines failed: 2 rejected by the API or malformed (lines 2, 3)" in run.stderr
    assert [(r["line"], r["status"]) for r in records(run.stdout)] == [
        (1, "ok"),
        (2, "invalid"),
        (3, "invalid"),
        (4, "ok"),
    ]
    assert sent_inputs(api) == ["also good", "good"]


def test_plain_text_read_as_json_lines_says_how_to_read_it(api, tmp_path):
    run = batch("--batch", str(write(tmp_path, "What is a llama?\nAnd an alpaca?\n")))
    assert run.exit_code == 2
    assert "no line of" in run.stderr and "line 1: not valid JSON" in run.stderr
    assert "--batch-format lines" in run.stderr
    assert inference_requests(api) == []


@pytest.mark.parametrize(
    "args, message",
    [
        (["--batch", "{prompts}", "a prompt"], "--batch cannot be combined with a PROMPT"),
        (["--batch", "{prompts}", "--stream"], "--batch cannot be combined with --stream"),
        (
            ["--batch", "{prompts}", "--json", "--dry-run"],
            "--batch cannot be combined with --json, --dry-run",
        ),
        (["--batch", "{prompts}", "-o", "results=-"], "--batch cannot be combined with -o"),
        (["--concurrency", "2", "hi"], "error: --concurrency needs --batch FILE\n"),
        (["--output", "x.jsonl", "hi"], "error: --output needs --batch FILE\n"),
        (["--batch", "{prompts}", "--batch-format", "csv"], "--batch-format: expected jsonl or lines"),
        (["--batch", "{prompts}", "--max-cost", "0"], "--max-cost: expected an amount of dollars above 0"),
        (["--batch", "{prompts}", "--concurrency", "0"], "--concurrency"),
        (["--batch", "{missing}"], "cannot read --batch"),
        (["--batch", "{empty}"], "no prompts in"),
        (["--batch", "{prompts}", "--output", "{prompts}"], "--output is the --batch file"),
        (
            ["--batch", "{prompts}", *"-i stop=a -i stop=b -i stop=c -i stop=d -i stop=e".split()],
            "at most 4 stop strings",
        ),
        (["--batch", "-", "-i", "context=@-"], "stdin already carries the batch"),
    ],
)
def test_usage_errors_are_found_before_any_request(api, tmp_path, args, message):
    paths = {
        "prompts": write(tmp_path, '"hi"\n'),
        "missing": tmp_path / "missing.jsonl",
        "empty": write(tmp_path, "\n\n", name="empty.jsonl"),
    }
    run = invoke(["infer", "-m", MODEL, *(arg.format(**paths) for arg in args)], input='"x"\n')
    assert run.exit_code == 2, run.stderr
    assert message in run.stderr
    assert run.stdout == ""
    assert inference_requests(api) == []


def test_an_output_file_that_is_not_a_batch_output_is_left_alone(api, tmp_path):
    notes = write(tmp_path, "my precious notes\n", name="notes.txt")
    run = batch("--batch", str(write(tmp_path, '"hi"\n')), "--output", str(notes))
    assert run.exit_code == 2
    assert "not the output of a batch" in run.stderr
    assert notes.read_text() == "my precious notes\n"
    assert inference_requests(api) == []


# failures of single lines


def test_a_line_the_api_rejects_is_exit_4_and_the_rest_still_run(api, tmp_path):
    api.queue(Behavior(), Behavior(status=422, message="max_new_tokens is too large"))
    run = batch("--batch", str(write(tmp_path, '"a"\n"b"\n"c"\n')), "--concurrency", "1")
    assert run.exit_code == 4
    assert "line 2: the API rejected the request: max_new_tokens is too large" in run.stderr
    assert "1 of 3 lines failed: 1 rejected by the API or malformed (line 2)" in run.stderr
    results = records(run.stdout)
    assert [result["status"] for result in results] == ["ok", "error", "ok"]
    assert "max_new_tokens is too large" in results[1]["error"]


def test_a_line_that_cannot_be_completed_is_exit_5(api, tmp_path):
    api.queue(Behavior(status=503))
    run = batch("--batch", str(write(tmp_path, '"a"\n"b"\n')), "--concurrency", "1", "--retries", "0")
    assert run.exit_code == 5
    assert "1 of 2 lines failed: 1 could not be completed (line 1)" in run.stderr
    assert [result["status"] for result in records(run.stdout)] == ["error", "ok"]


def test_a_refused_token_stops_the_batch(api, tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPINFRA_TOKEN", "not-the-token")
    run = batch("--batch", str(write(tmp_path, '"a"\n"b"\n"c"\n')), "--concurrency", "1")
    assert run.exit_code == 3
    assert "the API rejected the token" in run.stderr and "the batch stopped: 2 lines not sent" in run.stderr
    assert len(inference_requests(api)) == 1
    assert [result["status"] for result in records(run.stdout)] == ["error", "skipped", "skipped"]


def test_an_unknown_model_stops_the_batch(api, tmp_path):
    run = invoke(
        [
            "infer",
            "-m",
            "meta-llama/no-such-model",
            "--batch",
            str(write(tmp_path, '"a"\n"b"\n')),
            "--concurrency",
            "1",
        ]
    )
    assert run.exit_code == 4
    assert "the batch stopped: 1 lines not sent" in run.stderr
    assert len(inference_requests(api)) == 1


def test_a_rate_limit_holds_back_the_whole_batch_then_it_goes_on(api, tmp_path):
    api.queue(Behavior(status=429, message="Rate limited", headers={"Retry-After": "0"}))
    run = batch("--batch", str(write(tmp_path, '"a"\n"b"\n')), "--concurrency", "1")
    assert run.exit_code == 0, run.stderr
    assert "HTTP 429 from the API: holding new requests back for 0.0 s" in run.stderr
    assert "retrying in 0.0 s after 429 Rate limited" in run.stderr
    assert [result["status"] for result in records(run.stdout)] == ["ok", "ok"]


# resuming


def test_running_again_with_the_same_output_sends_only_what_is_left(api, tmp_path):
    prompts = write(tmp_path, '"a"\n"b"\n"c"\n')
    output = tmp_path / "results.jsonl"
    args = ("--batch", str(prompts), "--output", str(output), "--concurrency", "1", "--retries", "0")
    api.queue(Behavior(), Behavior(status=500))
    first = batch(*args)
    assert first.exit_code == 5
    assert first.stdout == ""
    assert "run the same command again" in first.stderr
    before = records(output.read_text())
    assert [result["status"] for result in before] == ["ok", "error", "ok"]

    api.reset()
    second = batch(*args)
    assert second.exit_code == 0, second.stderr
    assert sent_inputs(api) == ["b"]
    after = records(output.read_text())
    assert [(result["line"], result["status"]) for result in after] == [(1, "ok"), (2, "ok"), (3, "ok")]
    assert after[0] == before[0] and after[2] == before[2]
    assert {result["batch_id"] for result in after} == {before[0]["batch_id"]}
    assert "2 done before" in second.stderr


def test_a_changed_request_is_sent_again(api, tmp_path):
    output = tmp_path / "results.jsonl"
    prompts = write(tmp_path, '"a"\n"b"\n')
    assert batch("--batch", str(prompts), "--output", str(output)).exit_code == 0
    write(tmp_path, '"a"\n"b changed"\n')
    api.reset()
    assert batch("--batch", str(prompts), "--output", str(output)).exit_code == 0
    assert sent_inputs(api) == ["b changed"]
    api.reset()
    assert batch("--batch", str(prompts), "--output", str(output), "-i", "max_new_tokens=5").exit_code == 0
    assert sent_inputs(api) == ["a", "b changed"]
    assert len(records(output.read_text())) == 2


# budget


def test_max_cost_stops_sending_and_lets_the_requests_in_flight_finish(api, tmp_path):
    prompts = write(tmp_path, "".join(f'"prompt {n}"\n' for n in range(1, 6)))
    output = tmp_path / "results.jsonl"
    run = batch(
        "--batch", str(prompts), "--output", str(output), "--concurrency", "2", "--max-cost", "0.000001"
    )
    assert run.exit_code == 5
    assert "--max-cost $0.000001 reached" in run.stderr and "3 lines not sent" in run.stderr
    results = records(output.read_text())
    assert [result["status"] for result in results] == ["ok", "ok", "skipped", "skipped", "skipped"]
    assert results[2]["error"].startswith("not sent: --max-cost $0.000001 reached")
    assert len(inference_requests(api)) == 2

    api.reset()
    again = batch("--batch", str(prompts), "--output", str(output), "--max-cost", "1")
    assert again.exit_code == 0, again.stderr
    assert sent_inputs(api) == ["prompt 3", "prompt 4", "prompt 5"]


# history


def test_every_request_is_in_history_tagged_with_the_batch(api, tmp_path):
    assert invoke(["infer", "-m", MODEL, "-q", "not in the batch"]).exit_code == 0
    run = batch("--batch", str(write(tmp_path, '"a"\n"b"\nbroken\n')), "-q")
    results = [result for result in records(run.stdout) if result["status"] == "ok"]
    batch_id = results[0]["batch_id"]

    listed = json.loads(invoke(["history", "list", "--batch", batch_id, "--json"]).stdout)
    assert sorted(record["fields"]["input"] for record in listed) == ["a", "b"]
    assert {record["batch_id"] for record in listed} == {batch_id}

    stats = json.loads(invoke(["history", "stats", "--batch", batch_id, "--json"]).stdout)
    assert stats["total"]["requests"] == 2
    assert stats["total"]["tokens_out"] == sum(result["tokens_out"] for result in results)
    assert stats["total"]["cost"] == pytest.approx(sum(result["cost"] for result in results))

    by_batch = json.loads(invoke(["history", "stats", "--by", "batch", "--json"]).stdout)
    assert {group["batch"]: group["requests"] for group in by_batch["groups"]} == {"-": 1, batch_id: 2}


def test_no_history_records_nothing(api, home, tmp_path):
    run = batch("--batch", str(write(tmp_path, '"a"\n')), "--no-history")
    assert run.exit_code == 0, run.stderr
    assert not (home / "history.db").exists()


def test_batch_queries_read_an_index_not_the_whole_table(tmp_path):
    from llamactl.history import queries
    from llamactl.history.store import HistoryStore

    with HistoryStore.open(tmp_path / "history.db") as store:

        def plan(query) -> str:
            return " | ".join(row[3] for row in store.db.execute("EXPLAIN QUERY PLAN " + query[0], query[1]))

        listing = plan(queries.recent(20, queries.Filters(batch="b1")))
        assert "USING INDEX requests_by_batch" in listing and "TEMP B-TREE" not in listing
        assert "USING INDEX requests_by_batch" in plan(queries.stats("model", queries.Filters(batch="b1")))
        assert "USING COVERING INDEX requests_by_time" in plan(queries.stats("batch"))


def test_an_older_history_database_gains_the_batch_column_and_keeps_its_rows(tmp_path):
    import sqlite3

    from llamactl.history.migrations import MIGRATIONS, add_batch_id
    from llamactl.history.store import HistoryStore

    path = tmp_path / "history.db"
    old = sqlite3.connect(path, isolation_level=None)
    before = MIGRATIONS.index(add_batch_id)
    for step in MIGRATIONS[:before]:
        step(old)
    old.execute(f"PRAGMA user_version = {before}")
    old.execute(
        "INSERT INTO requests (created_at, api_host, fields, status) VALUES (1.0, 'h', '{\"input\": \"x\"}', 'ok')"
    )
    old.close()
    with HistoryStore.open(path) as store:
        (record,) = store.recent(5)
        assert (record.prompt, record.batch_id) == ("x", None)
        assert [row.key for row in store.stats("batch")] == ["-"]


def test_a_budget_reached_by_the_last_line_stops_nothing(api, tmp_path):
    run = batch("--batch", str(write(tmp_path, '"only line"\n')), "--max-cost", "0.000001")
    assert run.exit_code == 0, run.stderr
    assert records(run.stdout)[0]["status"] == "ok"
