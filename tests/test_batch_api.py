"""`llamactl batch` against the emulator's Files and Batch API: submit (checks before any
upload, conversion, the split), wait (exit codes, polling faults), results (input order,
history, a cut download resumed, rows that did not run and --only-missing), cancel, and a
second process that sees the job the first submitted."""

from __future__ import annotations

import json
import signal
import sqlite3

import pytest

from tests.emulator import BatchPlan, Behavior
from tests.helpers import exit_code, invoke, run_llamactl, start_llamactl

MODEL = "meta-llama/Llama-2-70b-chat-hf"


def write(tmp_path, text: str, name: str = "prompts.jsonl"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def submit(path, *args: str):
    return invoke(["batch", "submit", "-m", MODEL, str(path), *args])


def uploads(emulator) -> list:
    return [r for r in emulator.requests if r.method == "POST" and r.path.endswith("/files")]


def uploaded_lines(emulator, since: int = 0) -> list[dict]:
    """The lines of every upload (after the first `since` of them)."""
    return [json.loads(line) for r in uploads(emulator)[since:] for line in r.files["file"][2].splitlines()]


def records(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def submitted(api, tmp_path, text: str, *args: str) -> str:
    run = submit(write(tmp_path, text), *args)
    assert run.exit_code == 0, run.stderr
    return run.stdout.strip()


def test_submit_wait_results_in_input_order_with_history(api, tmp_path):
    api.batch_plan = BatchPlan(rows_per_step=2)
    job = submitted(
        api,
        tmp_path,
        '"first"\n\n{"input": "second", "max_new_tokens": 3}\n"third"\n',
        "--metadata",
        "team=docs",
    )
    (line_1, line_3, line_4) = uploaded_lines(api)
    assert line_1 == {
        "custom_id": "line-1",
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": MODEL, "messages": [{"role": "user", "content": "first"}]},
    }
    assert line_3["body"]["max_tokens"] == 3 and "max_new_tokens" not in line_3["body"]
    assert line_4["custom_id"] == "line-4"
    assert uploads(api)[0].files["file"][0] == "prompts.jsonl"  # the base name, never the path
    waited = invoke(["batch", "wait", job, "--interval", "0"])
    assert waited.exit_code == 0, waited.stderr
    assert f"batch job {job} completed: 3/3 done, 0 failed" in waited.stderr
    collected = invoke(["batch", "results", job])
    assert collected.exit_code == 0, collected.stderr
    rows = records(collected.stdout)
    assert [(row["line"], row["custom_id"], row["status"]) for row in rows] == [
        (1, "line-1", "ok"),
        (3, "line-3", "ok"),
        (4, "line-4", "ok"),
    ]
    assert "first" in rows[0]["results"][0] and "third" in rows[2]["results"][0]
    assert all(row["cost"] > 0 and row["tokens_out"] > 0 and row["request_id"] for row in rows)
    history = json.loads(invoke(["history", "list", "--batch", job, "--json"]).stdout)
    assert sorted(row["fields"]["input"] for row in history) == ["first", "second", "third"]
    stats = json.loads(invoke(["history", "stats", "--batch", job, "--json"]).stdout)
    assert stats["total"]["requests"] == 3
    assert stats["total"]["cost"] == pytest.approx(sum(row["cost"] for row in rows))
    again = invoke(["batch", "results", job])  # collecting twice records nothing twice
    assert again.stdout == collected.stdout
    assert len(json.loads(invoke(["history", "list", "--json"]).stdout)) == 3


def test_history_keeps_each_line_that_ran_as_a_history_record_of_it_would_be(api, tmp_path, home):
    """The rows made straight from each line's record are the rows HistoryRecord.to_row
    gives for that line: ok, failed (recorded) and not run (not recorded)."""
    from llamactl.history.records import INSERT_COLUMNS, HistoryRecord

    api.batch_plan = BatchPlan(rows_per_step=1, expire_after_rows=2)
    chat = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello é"}]
    lines = [
        {"custom_id": "a", "body": {"model": MODEL, "messages": chat, "max_tokens": 5}},
        {"custom_id": "b", "body": {"model": MODEL, "prompt": "no messages"}},
        {"custom_id": "c", "body": {"model": MODEL, "messages": chat}},
    ]
    path = write(tmp_path, "".join(json.dumps(line) + "\n" for line in lines))
    job = submitted(api, tmp_path, path.read_text(), "--batch-format", "openai")
    invoke(["batch", "wait", job, "--interval", "0"])
    collected = invoke(["batch", "results", job])
    rows = records(collected.stdout)
    assert [row["status"] for row in rows] == ["ok", "error", "not_run"], collected.stderr
    batch = api.batch_store.batches[rows[0]["batch_id"]].object()
    db = sqlite3.connect(home / "history.db")
    (api_host,) = db.execute("SELECT api_host FROM batch_jobs").fetchone()
    fields = [
        {"input": "hello é", "messages": chat, "max_tokens": 5},
        {"input": "no messages", "prompt": "no messages"},
    ]
    expected = [
        HistoryRecord(
            created_at=batch["expired_at"],
            model=MODEL,
            api_host=api_host,
            fields=line_fields,
            results=row["results"],
            status=row["status"],
            error=row["error"],
            tokens_in=row["tokens_in"],
            tokens_out=row["tokens_out"],
            cost=row["cost"],
            request_id=row["request_id"],
            batch_id=job,
        )
        for line_fields, row in zip(fields, rows, strict=False)
    ]
    stored = db.execute(f"SELECT {', '.join(INSERT_COLUMNS)} FROM requests ORDER BY id").fetchall()
    assert stored == [record.to_row() for record in expected]
    assert db.execute("SELECT text FROM results ORDER BY request").fetchall() == [(rows[0]["results"][0],)]
    found = json.loads(invoke(["history", "search", "brief", "--json"]).stdout)
    assert [row["fields"]["input"] for row in found] == ["hello é"]
    stats = json.loads(invoke(["history", "stats", "--batch", job, "--json"]).stdout)
    assert stats["total"]["requests"] == 2
    assert stats["total"]["cost"] == pytest.approx(rows[0]["cost"])


@pytest.mark.parametrize(
    "text, args, words",
    [
        ('"ok"\nnot json\n', [], "line 2: not valid JSON"),
        ('"ok"\n"unterminated\n', [], "line 2: not valid JSON"),
        ('"ok"\n"bad \\x escape"\n', [], "line 2: not valid JSON"),
        (
            '{"input": "a", "model": "m/other"}\n"b"\n',
            [],
            f"line 2: model '{MODEL}', but line 1 has 'm/other'",
        ),
        ('"a"\n"b"\n', ["-i", "stream=true"], "line 2: stream: a batch is never streamed"),
        ('"ok"\n{"max_new_tokens": 3}\n', [], "line 2: no input"),
        ('{"input": "x", "stream": true}\n', [], "line 1: stream: a batch is never streamed"),
        ("\n\n", [], "the input has no lines to submit"),
        (
            '{"custom_id": "a", "body": {"model": "m/one", "messages": []}}\n'
            '{"custom_id": "b", "body": {"model": "m/two", "messages": []}}\n',
            ["--batch-format", "openai"],
            "line 2: model 'm/two', but line 1 has 'm/one'",
        ),
        (
            '{"custom_id": "a", "body": {"model": "m/one"}}\n{"custom_id": "a", "body": {"model": "m/one"}}\n',
            ["--batch-format", "openai"],
            "line 2: custom_id 'a' is also line 1's",
        ),
        (
            '{"custom_id": "a", "url": "/v1/embeddings", "body": {}}\n',
            ["--batch-format", "openai"],
            "is not the batch's endpoint /v1/chat/completions",
        ),
        ('"x"\n', ["--endpoint", "images"], "--endpoint: expected chat, completions, embeddings"),
        ('"x"\n', ["--metadata", "novalue"], "--metadata: expected KEY=VALUE"),
        ('"x"\n', ["--endpoint", "completions", "--system", "s"], "--system needs --endpoint chat"),
    ],
)
def test_what_the_api_would_reject_is_found_before_anything_is_uploaded(api, tmp_path, text, args, words):
    model = [] if "openai" in args else ["-m", MODEL]  # openai lines carry their model
    run = invoke(["batch", "submit", *model, str(write(tmp_path, text)), *args])
    assert run.exit_code == 2, run.stderr
    assert words in run.stderr
    assert api.requests == []


def test_prompt_lines_become_the_same_batch_lines_as_objects_do(api, tmp_path):
    """A bare prompt is converted by a template, an object line field by field: both give
    the one body, -i fields and the system message included, whatever the escapes."""
    text = (
        '"plain"\n  "spaced"  \n"caf\\u00e9 \\"quoted\\" \\\\ \\u2028"\n{"input": "object"}\n"\U0001f999"\n'
    )
    args = ["-i", "max_new_tokens=5", "-i", "temperature=0.5", "--system", "Be brief"]
    submitted(api, tmp_path, text, *args)
    prompts = ["plain", "spaced", 'caf\u00e9 "quoted" \\ \u2028', "object", "\U0001f999"]
    assert uploaded_lines(api) == [
        {
            "custom_id": f"line-{number}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {
                "model": MODEL,
                "messages": [{"role": "system", "content": "Be brief"}, {"role": "user", "content": prompt}],
                "max_tokens": 5,
                "temperature": 0.5,
            },
        }
        for number, prompt in enumerate(prompts, 1)
    ]
    plain = tmp_path / "plain.txt"
    plain.write_text('say "hi" \\ there\n\nand\ttab\n', encoding="utf-8")
    submit(plain, "--batch-format", "lines", "--endpoint", "completions")
    assert [(line["custom_id"], line["body"]) for line in uploaded_lines(api, since=1)] == [
        ("line-1", {"model": MODEL, "prompt": 'say "hi" \\ there'}),
        ("line-3", {"model": MODEL, "prompt": "and\ttab"}),
    ]


def test_every_bad_line_is_named_and_the_error_counts_them(api, tmp_path):
    run = submit(write(tmp_path, "".join(f"bad {n}\n" for n in range(25))))
    assert run.exit_code == 2
    assert "line 1: not valid JSON" in run.stderr and "line 20: not valid JSON" in run.stderr
    assert "line 21:" not in run.stderr and "... and 5 more" in run.stderr
    assert "error: 25 lines the Batch API would reject; nothing was uploaded" in run.stderr


def test_an_input_beyond_one_batch_is_split_and_tracked_as_one_job(api, tmp_path, monkeypatch):
    from llamactl.batch_api import lines

    monkeypatch.setattr(lines, "MAX_LINES", 2)  # one batch's limit, lowered: 5 lines make 3 batches
    job = submitted(api, tmp_path, "".join(f'"prompt {n}"\n' for n in range(1, 6)))
    assert len(uploads(api)) == 3
    status = json.loads(invoke(["batch", "status", job, "--json"]).stdout)
    assert status["id"] == job and len(status["batches"]) == 3 and status["lines"] == 5
    assert invoke(["batch", "wait", job, "--interval", "0"]).exit_code == 0
    second_batch = status["batches"][1]["id"]
    collected = invoke(["batch", "results", second_batch])  # any of its batch ids names the job
    assert [row["line"] for row in records(collected.stdout)] == [1, 2, 3, 4, 5]
    assert [row["batch_id"] for row in records(collected.stdout)][2:4] == [second_batch] * 2


def test_history_batch_names_a_jobs_requests_by_any_of_its_batch_ids_once_collected(
    api, tmp_path, monkeypatch
):
    """Before `batch results` the job has no requests in history: exit 2 saying so and how
    to record them, not an empty list; after, a later batch's id lists the job's requests."""
    from llamactl.batch_api import lines

    monkeypatch.setattr(lines, "MAX_LINES", 2)
    job = submitted(api, tmp_path, "".join(f'"prompt {n}"\n' for n in range(1, 4)))
    second_batch = json.loads(invoke(["batch", "status", job, "--json"]).stdout)["batches"][1]["id"]
    for name in (job, second_batch):
        early = invoke(["history", "list", "--batch", name])
        assert (early.exit_code, early.stdout) == (2, "")
        assert early.stderr.splitlines() == [
            f"error: batch job {job} has no results in history yet",
            f"hint: 'llamactl batch results {job}' collects them and records them",
        ]
    assert invoke(["batch", "wait", job, "--interval", "0"]).exit_code == 0
    assert invoke(["batch", "results", job]).exit_code == 0
    by_job, by_part = (
        json.loads(invoke(["history", "list", "--batch", name, "--json"]).stdout)
        for name in (job, second_batch)
    )
    assert len(by_job) == 3 and by_part == by_job
    stats = json.loads(invoke(["history", "stats", "--batch", second_batch, "--json"]).stdout)
    assert stats["total"]["requests"] == 3


def test_openai_format_lines_keep_their_custom_ids_and_model(api, tmp_path):
    text = "".join(
        json.dumps(
            {
                "custom_id": f"q{n}",
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": {"model": MODEL, "messages": [{"role": "user", "content": f"q {n}"}]},
            }
        )
        + "\n"
        for n in range(2)
    )
    path = write(tmp_path, text)
    run = invoke(["batch", "submit", "--batch-format", "openai", str(path)])
    assert run.exit_code == 0, run.stderr
    job = run.stdout.strip()
    assert [line["custom_id"] for line in uploaded_lines(api)] == ["q0", "q1"]
    assert invoke(["batch", "wait", job, "--interval", "0"]).exit_code == 0
    rows = records(invoke(["batch", "results", job]).stdout)
    assert [(row["line"], row["custom_id"]) for row in rows] == [(1, "q0"), (2, "q1")]


def test_custom_ids_named_like_other_lines_still_map_to_their_own(api, tmp_path):
    ids = ["line-2", "line-1", "line-9"]  # as llamactl would name lines 2, 1 and 9
    text = "".join(
        json.dumps(
            {
                "custom_id": custom_id,
                "body": {"model": MODEL, "messages": [{"role": "user", "content": custom_id}]},
            }
        )
        + "\n"
        for custom_id in ids
    )
    run = invoke(["batch", "submit", "--batch-format", "openai", str(write(tmp_path, text))])
    assert run.exit_code == 0, run.stderr
    assert invoke(["batch", "wait", run.stdout.strip(), "--interval", "0"]).exit_code == 0
    rows = records(invoke(["batch", "results", run.stdout.strip()]).stdout)
    assert [(row["line"], row["custom_id"]) for row in rows] == [(1, "line-2"), (2, "line-1"), (3, "line-9")]
    assert all(row["custom_id"] in row["results"][0] for row in rows)  # each its own answer


def test_a_batch_that_fails_validation_exits_4_with_the_api_reasons_on_input_lines(api, tmp_path):
    line = {
        "custom_id": "q",
        "url": "/v1/chat/completions",
        "body": {"model": "no-such/model", "messages": []},
    }
    path = write(tmp_path, "\n" + json.dumps(line) + "\n")  # the API counts from 0, and no blank lines
    api.batch_plan = BatchPlan(steps_per_poll=2)  # validated at --wait's first poll, not after 5 s
    run = invoke(["batch", "submit", "--batch-format", "openai", str(path), "--wait"])
    assert run.exit_code == 4
    assert "line 2: model 'no-such/model' does not exist" in run.stderr
    assert "failed validation" in run.stderr


def test_an_expired_job_lists_what_did_not_run_and_only_missing_sends_just_that(api, tmp_path):
    api.batch_plan = BatchPlan(rows_per_step=1, expire_after_rows=2)
    path = write(tmp_path, "".join(f'"prompt {n}"\n' for n in range(1, 5)))
    job = submit(path).stdout.strip()
    waited = invoke(["batch", "wait", job, "--interval", "0"])
    assert waited.exit_code == 5
    assert f"batch job {job} expired before all its lines ran: 2 ok, 0 failed, 2 not run" in waited.stderr
    errors = tmp_path / "missing.jsonl"
    collected = invoke(
        ["batch", "results", job, "--output", str(tmp_path / "all.jsonl"), "--errors", str(errors)]
    )
    assert collected.exit_code == 5
    assert collected.stdout == ""
    rows = records((tmp_path / "all.jsonl").read_text())
    assert [row["status"] for row in rows] == ["ok", "ok", "not_run", "not_run"]
    assert [row["line"] for row in records(errors.read_text())] == [3, 4]
    resent = submit(path, "--only-missing", job)
    assert resent.exit_code == 0, resent.stderr
    sent_again = uploaded_lines(api, since=1)
    assert [line["body"]["messages"][0]["content"] for line in sent_again] == ["prompt 3", "prompt 4"]
    assert [line["custom_id"] for line in sent_again] == ["line-3", "line-4"]
    changed = write(tmp_path, '"another input"\n', "other.jsonl")
    refused = submit(changed, "--only-missing", job)
    assert refused.exit_code == 2 and "not the one that job was submitted from" in refused.stderr


def batch_lines_rows(home) -> list[tuple]:
    import sqlite3

    with sqlite3.connect(home / "history.db") as db:
        return db.execute(
            "SELECT line, custom_id, part, position, status FROM batch_lines ORDER BY line"
        ).fetchall()


@pytest.mark.parametrize("ending", ["expired", "cancelled"])
def test_wait_status_and_results_agree_on_what_failed_and_what_did_not_run(api, tmp_path, ending):
    """The API counts the rows an expired or cancelled batch never ran as failed; wait, like
    results, tells them from the line that did fail (and results reuses wait's download)."""
    api.batch_plan = BatchPlan(rows_per_step=1, expire_after_rows=2 if ending == "expired" else None)
    lines = [
        {"custom_id": "a", "body": {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}},
        {"custom_id": "b", "body": {"model": MODEL, "prompt": "no messages"}},  # this row fails
        {"custom_id": "c", "body": {"model": MODEL, "messages": [{"role": "user", "content": "late"}]}},
    ]
    path = write(tmp_path, "".join(json.dumps(line) + "\n" for line in lines))
    job = submitted(api, tmp_path, path.read_text(), "--batch-format", "openai")
    if ending == "cancelled":
        api.batch_steps(4)  # validated (two steps), then two rows run before the cancel
        assert invoke(["batch", "cancel", job]).exit_code == 0
    waited = invoke(["batch", "wait", job, "--interval", "0"])
    assert waited.exit_code == 5
    tally = "1 ok, 1 failed, 1 not run"
    assert f"batch job {job} {ending} before all its lines ran: {tally}" in waited.stderr
    assert f"{ending}, 1/3 done, 2 failed or not run" in waited.stderr  # the API's counts, said as such
    assert "1/3 done, 2 failed or not run" in invoke(["batch", "status", job]).stdout
    collected = invoke(["batch", "results", job])
    assert f"batch job {job}: {tally}" in collected.stderr
    assert [row["status"] for row in records(collected.stdout)] == ["ok", "error", "not_run"]
    assert len([r for r in api.requests if r.path.endswith("_error/content")]) == 1


def test_a_line_n_job_keeps_a_row_only_for_each_line_whose_status_is_not_the_common_one(
    api, home, tmp_path, monkeypatch
):
    """Its mapping is three columns of the job: no row a line at submit, and after the
    results a row for each line that did not end as most did, on the right part and place."""
    from llamactl.batch_api import lines

    monkeypatch.setattr(lines, "MAX_LINES", 3)  # two parts
    api.batch_plan = BatchPlan(rows_per_step=1, expire_after_rows=2)
    path = write(tmp_path, '"p1"\n\n"p3"\n"p4"\n"p5"\n"p6"\n"p7"\n')
    job = submit(path).stdout.strip()
    assert job and batch_lines_rows(home) == []
    assert invoke(["batch", "wait", job, "--interval", "0"]).exit_code == 5
    collected = invoke(["batch", "results", job, "--output", str(tmp_path / "all.jsonl")])
    assert collected.exit_code == 5, collected.stderr
    rows = records((tmp_path / "all.jsonl").read_text())
    done = [row["line"] for row in rows if row["status"] == "ok"]
    assert [row["line"] for row in rows] == [1, 3, 4, 5, 6, 7] and len(done) == 4  # 2 a part
    assert batch_lines_rows(home) == [
        (line, f"line-{line}", part, position, "not_run")
        for line, part, position in ((1, 1, 0), (3, 1, 1), (4, 1, 2), (5, 2, 0), (6, 2, 1), (7, 2, 2))
        if line not in done
    ]
    resent = submit(path, "--only-missing", job)
    assert resent.exit_code == 0, resent.stderr
    assert [line["custom_id"] for line in uploaded_lines(api, since=2)] == [
        f"line-{line}" for line in (1, 3, 4, 5, 6, 7) if line not in done
    ]


def test_a_validation_failure_of_a_line_n_job_names_the_input_lines(api, tmp_path, monkeypatch):
    from llamactl.batch_api import lines

    monkeypatch.setattr(lines, "MAX_LINES", 2)  # the API's line 0 of part 2 is input line 5
    path = write(tmp_path, '\n"a"\n\n"b"\n"c"\n')  # and its 0 and 1 of part 1 are 2 and 4
    api.batch_plan = BatchPlan(steps_per_poll=2)
    run = invoke(["batch", "submit", "-m", "no-such/model", str(path), "--wait"])
    assert run.exit_code == 4, run.stderr
    assert "line 2: model 'no-such/model' does not exist" in run.stderr
    assert "line 4: model 'no-such/model' does not exist" in run.stderr
    assert "line 5: model 'no-such/model' does not exist" in run.stderr


def test_a_job_submitted_before_the_compact_mapping_is_collected_from_its_rows(api, home, tmp_path):
    """A database from before `map_batch_lines_compactly`: its job has a batch_lines row a
    line and no line_numbers; wait, results and --only-missing work on it as they did."""
    import sqlite3

    from llamactl.history.migrations import map_batch_lines_compactly
    from tests.test_batch_jobs import kept_by_an_older_llamactl

    api.batch_plan = BatchPlan(rows_per_step=1, expire_after_rows=2)
    path = write(tmp_path, "".join(f'"prompt {n}"\n' for n in range(1, 5)))
    job = submit(path).stdout.strip()
    kept_by_an_older_llamactl(home, map_batch_lines_compactly)
    with sqlite3.connect(home / "history.db") as db:  # the job as the older llamactl kept it
        db.executemany(
            "INSERT INTO batch_lines (job, line, custom_id, part, position) VALUES (?, ?, ?, 1, ?)",
            [(job, line, f"line-{line}", line - 1) for line in range(1, 5)],
        )
    assert invoke(["batch", "wait", job, "--interval", "0"]).exit_code == 5
    collected = invoke(["batch", "results", job, "--output", str(tmp_path / "all.jsonl")])
    assert collected.exit_code == 5, collected.stderr
    assert [row["status"] for row in records((tmp_path / "all.jsonl").read_text())] == [
        "ok",
        "ok",
        "not_run",
        "not_run",
    ]
    assert [row[4] for row in batch_lines_rows(home)] == ["ok", "ok", "not_run", "not_run"]
    resent = submit(path, "--only-missing", job)
    assert resent.exit_code == 0, resent.stderr
    assert [line["custom_id"] for line in uploaded_lines(api, since=1)] == ["line-3", "line-4"]


def test_a_job_collected_again_gives_the_same_records_errors_and_exit(api, tmp_path):
    api.batch_plan = BatchPlan(rows_per_step=1, expire_after_rows=2)
    job = submit(write(tmp_path, "".join(f'"prompt {n}"\n' for n in range(1, 5)))).stdout.strip()
    assert invoke(["batch", "wait", job, "--interval", "0"]).exit_code == 5
    runs = []
    for name in ("first", "again"):
        output, errors = tmp_path / f"{name}.jsonl", tmp_path / f"{name}-errors.jsonl"
        run = invoke(["batch", "results", job, "--output", str(output), "--errors", str(errors)])
        runs.append((run.exit_code, run.stderr, output.read_text(), errors.read_text()))
    assert runs[0] == runs[1]
    assert runs[0][0] == 5 and "2 ok, 0 failed, 2 not run" in runs[0][1]
    assert [row["line"] for row in records(runs[0][3])] == [3, 4]
    on_stdout = invoke(["batch", "results", job])
    assert on_stdout.stdout == runs[0][2] and on_stdout.exit_code == 5
    assert len(json.loads(invoke(["history", "list", "--json"]).stdout)) == 2
    found = json.loads(invoke(["history", "search", "prompt", "--json"]).stdout)
    assert sorted(row["fields"]["input"] for row in found) == ["prompt 1", "prompt 2"]


def test_a_cut_download_is_resumed_by_running_results_again(api, tmp_path):
    job = submitted(api, tmp_path, "".join(f'"prompt number {n}"\n' for n in range(30)))
    assert invoke(["batch", "wait", job, "--interval", "0"]).exit_code == 0
    api.queue(Behavior(cut_after=700, scope="all", for_path="/content"))
    cut = invoke(["batch", "results", job])
    assert cut.exit_code == 5
    assert "the download was cut before its end" in cut.stderr
    assert "resumes where it stopped" in cut.stderr
    resumed = invoke(["batch", "results", job])
    assert resumed.exit_code == 0, resumed.stderr
    assert [row["line"] for row in records(resumed.stdout)] == list(range(1, 31))
    ranged = [r for r in api.requests if r.path.endswith("/content") and r.headers.get("range")]
    assert ranged and ranged[0].headers["range"].startswith("bytes=")


def test_polling_rides_out_rate_limits(api, tmp_path):
    job = submitted(api, tmp_path, '"x"\n')
    api.queue(Behavior(status=429, headers={"Retry-After": "0"}, scope="all", for_path=job))
    waited = invoke(["batch", "wait", job, "--interval", "0"])
    assert waited.exit_code == 0, waited.stderr
    assert "429" in waited.stderr  # the retry notice


def test_results_of_a_running_job_say_to_wait(api, tmp_path):
    api.batch_plan = BatchPlan(validating_steps=100)
    job = submitted(api, tmp_path, '"x"\n')
    run = invoke(["batch", "results", job])
    assert run.exit_code == 5 and "its results are not ready" in run.stderr
    assert f"llamactl batch wait {job}" in run.stderr


@pytest.mark.parametrize("completes, code, status", [(False, 5, "cancelled"), (True, 0, "completed")])
def test_cancel_is_best_effort(api, tmp_path, completes, code, status):
    api.batch_plan = BatchPlan(validating_steps=5, cancel_completes=completes)
    job = submitted(api, tmp_path, '"x"\n"y"\n')
    cancelled = invoke(["batch", "cancel", job])
    assert cancelled.exit_code == 0, cancelled.stderr
    assert "best effort" in cancelled.stderr
    assert [r.path for r in api.requests if r.path.endswith("/cancel")] == [
        f"/v1/openai/batches/{job}/cancel"
    ]
    waited = invoke(["batch", "wait", job, "--interval", "0", "--json"])
    assert waited.exit_code == code
    assert json.loads(waited.stdout)["status"] == status
    assert "nothing to cancel" in invoke(["batch", "cancel", job]).stderr


def test_an_unknown_job_is_a_usage_error_before_any_request(api):
    run = invoke(["batch", "status", "batch_nope"])
    assert run.exit_code == 2 and "no batch job 'batch_nope' was submitted from this machine" in run.stderr
    assert api.requests == []


def test_wait_gives_up_after_its_timeout_and_the_job_goes_on(api, tmp_path):
    api.batch_plan = BatchPlan(validating_steps=1000)
    job = submitted(api, tmp_path, '"x"\n')
    run = invoke(["batch", "wait", job, "--interval", "0", "--timeout", "0"])
    assert run.exit_code == 5 and f"batch job {job} is still validating" in run.stderr
    assert not [r for r in api.requests if r.path.endswith("/cancel")]


def test_a_second_process_lists_the_job_and_ctrl_c_stops_only_the_waiting(api, env, tmp_path):
    api.batch_plan = BatchPlan(validating_steps=1000)
    job = submitted(api, tmp_path, '"x"\n')
    listed = run_llamactl(["batch", "list"], env)
    assert listed.exit_code == 0 and listed.stdout.split("\t")[:2] == [job, "validating"]
    proc = start_llamactl(env, "batch", "wait", job, "--interval", "30")
    try:
        from tests.test_batch_e2e import wait_until

        wait_until(lambda: any(r.path.endswith(job) for r in api.requests))
        proc.send_signal(signal.SIGINT)
        assert exit_code(proc) == 130
        stderr = proc.stderr.read().decode()
    finally:
        proc.kill()
        proc.wait()
    assert f"stopped waiting; batch job {job} goes on" in stderr
    assert not [r for r in api.requests if r.path.endswith("/cancel")]


def test_a_big_upload_shows_a_bar_on_a_terminal_and_stdout_keeps_only_the_id(api, tmp_path):
    from typer.testing import CliRunner

    from llamactl.cli import app

    path = write(tmp_path, "".join(f'"{n:07d} {"x" * 200}"\n' for n in range(25_000)))  # over 5 MB
    run = CliRunner().invoke(
        app, ["batch", "submit", "-m", MODEL, str(path)], obj={"stderr_isatty": True, "width": 80}
    )
    assert run.exit_code == 0, run.stderr
    assert run.stdout == run.stdout.strip() + "\n" and run.stdout.startswith("batch_")
    assert "uploading" in run.stderr and "MB" in run.stderr


def test_submit_takes_the_model_as_infer_does_an_alias_or_the_default(api, tmp_path, monkeypatch):
    assert invoke(["models", "alias", "llama", MODEL]).exit_code == 0
    run = invoke(["batch", "submit", "-m", "llama", str(write(tmp_path, '"x"\n'))])
    assert run.exit_code == 0, run.stderr
    assert uploaded_lines(api)[0]["body"]["model"] == MODEL
    monkeypatch.setenv("LLAMACTL_MODEL", "llama")
    assert invoke(["batch", "submit", str(write(tmp_path, '"y"\n'))]).exit_code == 0
    assert uploaded_lines(api, since=1)[0]["body"]["model"] == MODEL
    monkeypatch.delenv("LLAMACTL_MODEL")
    refused = invoke(["batch", "submit", str(write(tmp_path, '"z"\n'))])
    assert refused.exit_code == 2 and "no model given" in refused.stderr


def test_a_rows_cost_is_written_without_float_noise(api, tmp_path):
    """Prices times tokens leave digits nobody is billed for (`1.1040000000000001e-05`):
    records carry costs as history keeps them, to 12 significant digits."""
    api.batch_plan = BatchPlan(rows_per_step=100)
    prompts = "".join(json.dumps(" ".join(["llama"] * words)) + "\n" for words in range(1, 41))
    job = submitted(api, tmp_path, prompts)
    assert invoke(["batch", "wait", job, "--interval", "0"]).exit_code == 0
    costs = [row["cost"] for row in records(invoke(["batch", "results", job]).stdout)]
    assert len(costs) == 40 and all(cost > 0 for cost in costs)
    assert [cost for cost in costs if cost != float(f"{cost:.12g}")] == []


def test_results_output_is_written_where_a_shells_redirection_would(api, tmp_path):
    """--output through a symlink writes its target (the link stays), and into a named pipe
    as it is: a file that is not a regular one is never replaced by a file of the records
    (as root, `--output /dev/null` once became a file)."""
    import os
    import stat
    import threading

    job = submitted(api, tmp_path, '"one"\n"two"\n')
    assert invoke(["batch", "wait", job, "--interval", "0"]).exit_code == 0
    target = tmp_path / "records.jsonl"
    target.write_text("old\n")
    link = tmp_path / "link.jsonl"
    link.symlink_to(target)
    assert invoke(["batch", "results", job, "--output", str(link)]).exit_code == 0
    assert link.is_symlink() and [row["line"] for row in records(target.read_text())] == [1, 2]
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(pipe.read_bytes()))
    reader.start()
    run = invoke(["batch", "results", job, "--output", str(pipe)])
    reader.join()
    assert run.exit_code == 0, run.stderr
    assert stat.S_ISFIFO(os.stat(pipe).st_mode)
    assert received[0] == target.read_bytes()


def test_the_downloaded_files_are_private_whatever_the_umask(api, tmp_path, home):
    """The state directory's files are 0600 (the contract): the API's output files too."""
    import os
    import stat

    job = submitted(api, tmp_path, '"one"\n')
    assert invoke(["batch", "wait", job, "--interval", "0"]).exit_code == 0
    old = os.umask(0o022)
    try:
        assert invoke(["batch", "results", job]).exit_code == 0
    finally:
        os.umask(old)
    files = [path for path in home.rglob("*") if path.is_file() and "batch-jobs" in path.parts]
    assert any(path.name.endswith("_output.jsonl") for path in files), files
    assert {path.name: stat.S_IMODE(path.stat().st_mode) for path in files} == {
        path.name: 0o600 for path in files
    }


def test_a_job_the_api_no_longer_knows_is_a_404_about_the_batch_not_the_model(api, tmp_path):
    job = submitted(api, tmp_path, '"one"\n')
    api.reset()  # the same host, its batches forgotten
    run = invoke(["batch", "status", job])
    assert run.exit_code == 4
    assert run.stderr.splitlines()[1] == (
        "hint: the API does not know this batch: check that llamactl points at the API it was sent to"
    )


def test_an_embeddings_job_keeps_the_vectors_in_each_record(api, tmp_path):
    """An embedding has no text: the record carries the API's answer as `response`, as
    `infer --batch` does (it had `results: []` and no vector)."""
    job = submitted(
        api, tmp_path, '"one"\n"two"\n', "-m", "BAAI/bge-large-en-v1.5", "--endpoint", "embeddings"
    )
    assert invoke(["batch", "wait", job, "--interval", "0"]).exit_code == 0
    rows = records(invoke(["batch", "results", job]).stdout)
    assert [row["status"] for row in rows] == ["ok", "ok"]
    vectors = [row["response"]["data"][0]["embedding"] for row in rows]
    assert all(len(vector) > 1 and all(isinstance(x, float) for x in vector) for vector in vectors)
    assert vectors[0] != vectors[1]


def test_submit_wait_prints_the_id_first_and_takes_wait_options(api, tmp_path):
    """ID=$(llamactl batch submit --wait ...) gets the id as without --wait (it got nothing);
    --timeout bounds the wait (exit 5, the job goes on); without --wait both are exit 2
    before anything is uploaded."""
    path = write(tmp_path, '"one"\n')
    done = invoke(["batch", "submit", "-m", MODEL, str(path), "--wait", "--interval", "0"])
    assert done.exit_code == 0, done.stderr
    (job,) = done.stdout.splitlines()
    assert job == json.loads(invoke(["batch", "list", "--json"]).stdout)[0]["id"]
    assert f"submitted batch job {job} (1 line)" in done.stderr
    api.batch_plan = BatchPlan(validating_steps=1000)  # never ends while we wait
    cut = invoke(["batch", "submit", "-m", MODEL, str(path), "--wait", "--timeout", "0"])
    assert cut.exit_code == 5 and len(cut.stdout.splitlines()) == 1
    sent = len(uploads(api))
    refused = invoke(["batch", "submit", "-m", MODEL, str(path), "--timeout", "60"])
    assert (refused.exit_code, refused.stdout) == (2, "")
    assert "--timeout and --interval need --wait" in refused.stderr and len(uploads(api)) == sent


def test_results_refuse_to_write_over_the_jobs_input(api, tmp_path):
    path = write(tmp_path, '"one"\n')
    job = submitted(api, tmp_path, '"one"\n')
    assert invoke(["batch", "wait", job, "--interval", "0"]).exit_code == 0
    for option in ("--output", "--errors"):
        run = invoke(["batch", "results", job, option, str(path)])
        assert (run.exit_code, run.stdout) == (2, ""), run.stderr
        assert f"error: {option} {path} is the job's input file" in run.stderr
    assert path.read_text() == '"one"\n'
