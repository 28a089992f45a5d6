"""`batch results` when the collection itself meets trouble: a row of the API's output
file that is not valid JSON, and two collections of the same job at once (two shells)."""

from __future__ import annotations

import json
import sqlite3

from tests.emulator import BatchPlan
from tests.helpers import invoke

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
