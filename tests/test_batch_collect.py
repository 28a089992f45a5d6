"""`batch results` when the collection itself meets trouble: a row of the API's output
file that is not valid JSON, and two collections of the same job at once (two shells)."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

from tests.emulator import BatchPlan, Behavior
from tests.helpers import HANG_GUARD, exit_code, invoke, start_llamactl
from tests.test_batch_safety import read_stderr_until

MODEL = "meta-llama/Llama-2-70b-chat-hf"


def submitted(tmp_path, count: int) -> str:
    path = tmp_path / "prompts.jsonl"
    path.write_text("".join(f'"prompt {n}"\n' for n in range(1, count + 1)), encoding="utf-8")
    run = invoke(["batch", "submit", "-m", MODEL, str(path)])
    assert run.exit_code == 0, run.stderr
    job = run.stdout.strip()
    assert invoke(["batch", "wait", job, "--interval", "0"]).exit_code == 0
    return job


def records(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def history_inputs(home) -> list[tuple[int, str, str]]:
    """(id, prompt, status) of every history row, in id order."""
    with sqlite3.connect(home / "history.db") as db:
        rows = db.execute("SELECT id, fields, status FROM requests ORDER BY id").fetchall()
    return [(row_id, json.loads(fields)["input"], status) for row_id, fields, status in rows]


def test_an_output_row_cut_short_is_that_lines_error_and_the_others_are_written(api, home, tmp_path):
    api.batch_plan = BatchPlan(cut_rows=("line-2",))
    job = submitted(tmp_path, 3)
    run = invoke(["batch", "results", job])
    assert run.exit_code == 4, run.stderr
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr
    assert f"batch job {job}: 2 ok, 1 failed, 0 not run" in run.stderr
    rows = records(run.stdout)
    assert [(row["line"], row["status"]) for row in rows] == [(1, "ok"), (2, "error"), (3, "ok")]
    assert rows[1]["error"] == "the API's row for this line is not valid JSON"
    assert rows[1]["results"] == [] and rows[1]["batch_id"] == job
    assert [(prompt, status) for _, prompt, status in history_inputs(home)] == [
        ("prompt 1", "ok"),
        ("prompt 2", "error"),
        ("prompt 3", "ok"),
    ]
    again = invoke(["batch", "results", job])  # from the kept records: the same
    assert (again.exit_code, again.stdout) == (4, run.stdout)


@contextmanager
def held_and_waiting(api, env, job: str) -> Iterator[tuple[subprocess.Popen, subprocess.Popen]]:
    """Two shells' `batch results` of the job: the first held in its first download (until
    api.release()), the second started meanwhile, once it says it waits for the first."""
    api.queue(Behavior(stall_after=0, scope="all", for_path="/content"))
    procs = [start_llamactl(env, "batch", "results", job)]
    try:
        assert api.wait_dequeued(HANG_GUARD)  # the first is in its first download, held
        procs.append(start_llamactl(env, "batch", "results", job))
        read_stderr_until(procs[1], f"waiting for another 'batch results {job}'")
        yield procs[0], procs[1]
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def test_two_first_collections_at_once_record_the_lines_once(api, env, home, tmp_path):
    """Two shells: the first is held in its first download; the second waits for it
    (saying so), then copies what the first collected. Each file is downloaded once, and
    history has every line once, as the first recorded it."""
    job = submitted(tmp_path, 3)
    with held_and_waiting(api, env, job) as (first, second):
        api.release()
        codes = exit_code(first), exit_code(second)
        stdouts = first.stdout.read(), second.stdout.read()
        stderr = first.stderr.read().decode()
    assert codes == (0, 0), stderr
    assert stdouts[0] == stdouts[1] and [row["line"] for row in records(stdouts[0].decode())] == [1, 2, 3]
    assert len([r for r in api.requests if r.path.endswith("/content")]) == 3  # input, output, error: once
    assert history_inputs(home) == [(1, "prompt 1", "ok"), (2, "prompt 2", "ok"), (3, "prompt 3", "ok")]


def test_ctrl_c_while_waiting_for_the_other_collection_stops_only_the_waiting(api, env, home, tmp_path):
    """The second shell gives up waiting (exit 130, no traceback, nothing on stdout); the
    first goes on and records every line once."""
    job = submitted(tmp_path, 2)
    with held_and_waiting(api, env, job) as (first, second):
        second.send_signal(signal.SIGINT)
        stopped = exit_code(second), second.stdout.read(), second.stderr.read().decode()
        api.release()
        assert exit_code(first) == 0, first.stderr.read().decode()
    assert stopped == (130, b"", "error: interrupted\n")
    assert history_inputs(home) == [(1, "prompt 1", "ok"), (2, "prompt 2", "ok")]


def test_a_collection_killed_in_its_download_leaves_no_lock_behind(api, env, home, tmp_path):
    """kill -9 while it holds the job's folder: the next `results` neither waits nor
    records anything twice."""
    job = submitted(tmp_path, 2)
    api.queue(Behavior(stall_after=0, scope="all", for_path="/content"))
    first = start_llamactl(env, "batch", "results", job)
    try:
        assert api.wait_dequeued(HANG_GUARD)
    finally:
        first.kill()
        first.wait()
    api.release()
    again = invoke(["batch", "results", job])
    assert again.exit_code == 0, again.stderr
    assert "waiting" not in again.stderr
    assert history_inputs(home) == [(1, "prompt 1", "ok"), (2, "prompt 2", "ok")]


def test_output_and_errors_the_same_file_is_a_usage_error_before_any_request(api, tmp_path):
    job = submitted(tmp_path, 1)
    sent = len(api.requests)
    same = str(tmp_path / "records.jsonl")
    run = invoke(["batch", "results", job, "--output", same, "--errors", same])
    assert (run.exit_code, run.stdout) == (2, "")
    assert "--output and --errors are the same file" in run.stderr
    assert api.requests[sent:] == [] and not (tmp_path / "records.jsonl").exists()
