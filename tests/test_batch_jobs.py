"""The jobs `llamactl batch` keeps: batch ids are the API's, so two servers (or one started
again, whose ids repeat) can give the same one, and each job must stay its own; a batch
the API created is never lost when this machine cannot record it; and jobs kept by an
older llamactl are carried through the migrations."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import pytest

from llamactl.env import Environment
from llamactl.errors import Interrupted
from tests.emulator import VALID_TOKEN, BatchPlan, Emulator
from tests.helpers import invoke

MODEL = "meta-llama/Llama-2-70b-chat-hf"
BATCH_TABLES = ("batch_jobs", "batch_parts", "batch_lines")


def submit(tmp_path, text: str, *args: str, env: dict | None = None):
    path = tmp_path / "prompts.jsonl"
    path.write_text(text, encoding="utf-8")
    return invoke(["batch", "submit", "-m", MODEL, str(path), *args], env=env)


def records(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def collected_inputs(job: str, env: dict | None = None) -> list[str]:
    """The prompts of a job's records, from `batch results`, once it has run."""
    assert invoke(["batch", "wait", job, "--interval", "0"], env=env).exit_code == 0
    run = invoke(["batch", "results", job], env=env)
    assert run.exit_code == 0, run.stderr
    return [row["results"][0] for row in records(run.stdout)]


def test_a_second_server_giving_the_same_batch_id_keeps_both_jobs(api, tmp_path):
    """A second emulator starts its ids where the first did: same id, another job."""
    first = submit(tmp_path, '"the first server\'s prompt"\n')
    assert first.exit_code == 0, first.stderr
    with Emulator() as other:
        there = {"DEEPINFRA_HOST": other.url, "DEEPINFRA_TOKEN": VALID_TOKEN}
        second = submit(tmp_path, '"the second server\'s prompt"\n"and another"\n', env=there)
        assert second.exit_code == 0, second.stderr
        job = first.stdout.strip()
        assert second.stdout.strip() == job  # the collision this is about
        assert len(collected_inputs(job, there)) == 2
        listed = json.loads(invoke(["batch", "list", "--json"], env=there).stdout)
        assert [(row["api_host"], row["lines"]) for row in listed] == [(other.url.split("//")[1], 2)]
    here = collected_inputs(job)
    assert len(here) == 1 and "the first server's prompt" in here[0]
    assert json.loads(invoke(["batch", "status", job, "--json"]).stdout)["lines"] == 1


def test_history_of_a_batch_id_two_hosts_gave_is_the_current_hosts_job(api, tmp_path):
    """history list/stats --batch at each host: that host's job, the other's named on stderr;
    at a third host, which of the two is meant is asked (exit 2)."""
    first = submit(tmp_path, '"the first server\'s prompt"\n')
    job = first.stdout.strip()
    collected_inputs(job)
    with Emulator() as other:
        there = {"DEEPINFRA_HOST": other.url, "DEEPINFRA_TOKEN": VALID_TOKEN}
        assert submit(tmp_path, '"the second"\n"and another"\n', env=there).stdout.strip() == job
        collected_inputs(job, there)
    here_host, there_host = (url.split("//")[1] for url in (api.url, other.url))
    for env, host, lines, elsewhere in (
        (None, here_host, 1, (there_host, 2)),
        (there, there_host, 2, (here_host, 1)),
    ):
        listed = invoke(["history", "list", "--batch", job, "--json"], env=env)
        assert listed.exit_code == 0, listed.stderr
        assert [row["api_host"] for row in json.loads(listed.stdout)] == [host] * lines
        note = f"batch {job} also names {elsewhere[1]} request{'s' if elsewhere[1] > 1 else ''} sent to {elsewhere[0]}"
        assert listed.stderr.startswith(note), listed.stderr
        stats = invoke(["history", "stats", "--batch", job, "--json"], env=env)
        assert json.loads(stats.stdout)["total"]["requests"] == lines and stats.stderr.startswith(note)
        exported = invoke(["history", "export", "--batch", job], env=env)
        assert len(exported.stdout.splitlines()) == lines
    third = {"DEEPINFRA_HOST": "http://127.0.0.1:9", "DEEPINFRA_TOKEN": VALID_TOKEN}
    asked = invoke(["history", "list", "--batch", job], env=third)
    assert (asked.exit_code, asked.stdout) == (2, "")
    assert f"sent to 2 API hosts ({there_host}, {here_host}), none of them 127.0.0.1:9" in asked.stderr
    assert invoke(["history", "list", "--json"]).stdout.count(job) == 3  # without --batch: every request
    by_batch = json.loads(invoke(["history", "stats", "--by", "batch", "--json"]).stdout)["groups"]
    assert sorted((group["batch"], group["api_host"], group["requests"]) for group in by_batch) == sorted(
        [(job, here_host, 1), (job, there_host, 2)]
    )  # two jobs, not one of 3 requests
    piped = invoke(["history", "stats", "--by", "batch"]).stdout
    assert sorted(line.split("\t")[:2] for line in piped.splitlines()) == sorted(
        [[f"{job} ({here_host})", "1"], [f"{job} ({there_host})", "2"]]
    )


def test_a_server_started_again_repeats_an_id_and_the_newest_job_answers_to_it(api, tmp_path):
    first = submit(tmp_path, '"before the restart"\n')
    api.reset()  # the same host and port, its batches forgotten, its ids from the start again
    second = submit(tmp_path, '"after the restart"\n')
    assert second.exit_code == 0, second.stderr
    assert second.stdout == first.stdout
    inputs = collected_inputs(second.stdout.strip())
    assert len(inputs) == 1 and "after the restart" in inputs[0]
    listed = json.loads(invoke(["batch", "list", "--json"]).stdout)
    assert [row["id"] for row in listed] == [second.stdout.strip()] * 2  # both kept, newest first


def test_a_job_of_another_host_is_named_with_its_host(api, tmp_path):
    job = submit(tmp_path, '"x"\n').stdout.strip()
    elsewhere = {"DEEPINFRA_HOST": "http://127.0.0.1:9", "DEEPINFRA_TOKEN": VALID_TOKEN}
    run = invoke(["batch", "status", job], env=elsewhere)
    assert run.exit_code == 2
    assert f"batch job {job!r} was submitted to {api.url.split('//')[1]}, not to 127.0.0.1:9" in run.stderr
    assert invoke(["batch", "list", "--json"], env=elsewhere).stdout.strip() == "[]"


def test_a_list_at_another_host_says_on_stderr_where_the_jobs_are(api, tmp_path):
    for text in ('"x"\n', '"y"\n'):
        assert submit(tmp_path, text).exit_code == 0
    elsewhere = {"DEEPINFRA_HOST": "http://127.0.0.1:9", "DEEPINFRA_TOKEN": VALID_TOKEN}
    here = api.url.split("//")[1]
    note = f"no batch jobs for 127.0.0.1:9; 2 on other hosts: {here} (2)"
    for args, stdout in ((["batch", "list"], ""), (["batch", "list", "--json"], "[]\n")):
        run = invoke(args, env=elsewhere)
        assert (run.exit_code, run.stdout) == (0, stdout)
        assert run.stderr.startswith(note), run.stderr
        assert "--api-url" in run.stderr and len(run.stderr.splitlines()) == 1
    listed = invoke(["batch", "list", "--json"])  # at their own host: the jobs, and no note
    assert len(json.loads(listed.stdout)) == 2 and listed.stderr == ""


def refuse_inserts(home: Path, table: str, when: str = "1") -> None:
    """The history database refuses a row of `table` (as a full disk or a lock would)."""
    invoke(["batch", "list"])  # the database, at the current schema
    with sqlite3.connect(home / "history.db") as db:
        db.execute(
            f"CREATE TRIGGER refused BEFORE INSERT ON {table} WHEN {when}"
            " BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
        )


def test_a_batch_created_but_not_recorded_is_named_on_stderr(api, home, tmp_path):
    refuse_inserts(home, "batch_jobs")
    run = submit(tmp_path, '"x"\n')
    (batch_id,) = api.batch_store.batches  # created on the server
    assert run.exit_code == 6 and run.stdout == ""
    error, hint = run.stderr.splitlines()
    assert error.startswith(f"error: batch {batch_id} was created on ") and "disk I/O error" in error
    assert hint == f"hint: it runs and is billed all the same: keep its id, {batch_id}, to follow it"


def test_a_later_part_created_but_not_recorded_is_named_with_its_part(api, home, tmp_path, monkeypatch):
    from llamactl.batch_api import lines

    monkeypatch.setattr(lines, "MAX_LINES", 1)
    refuse_inserts(home, "batch_parts", "NEW.part = 2")
    run = submit(tmp_path, '"a"\n"b"\n')
    first, second = api.batch_store.batches
    assert run.exit_code == 6
    assert f"error: batch {second} (part 2 of 2) was created on " in run.stderr
    assert json.loads(invoke(["batch", "status", first, "--json"]).stdout)["status"] == "submitting"


def kept_by_an_older_llamactl(home: Path, before) -> None:
    """history.db rebuilt as the llamactl before migration `before` kept it: that schema,
    and the rows of its requests, results and batch tables, the jobs keyed by their ids."""
    from llamactl.history.migrations import MIGRATIONS

    path = home / "history.db"
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        kept = {
            table: [dict(row) for row in db.execute(f"SELECT * FROM {table}")]
            for table in ("requests", "results", *BATCH_TABLES)
        }
    db.close()
    for stale in (path, path.with_name("history.db-wal"), path.with_name("history.db-shm")):
        stale.unlink(missing_ok=True)
    ids = {job["key"]: job["id"] for job in kept["batch_jobs"]}
    db = sqlite3.connect(path)
    steps = MIGRATIONS[: MIGRATIONS.index(before)]
    for step in steps:
        step(db)
    for table, rows in kept.items():
        columns = [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
        for row in rows:
            if table != "batch_jobs" and table.startswith("batch_"):
                row["job"] = ids[row["job"]]
            names = [name for name in columns if name in row]
            marks = ", ".join("?" * len(names))
            db.execute(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})", [row[n] for n in names])
    db.execute(f"PRAGMA user_version = {len(steps)}")
    db.commit()
    db.close()


def test_a_job_collected_before_the_local_keys_is_collected_again_from_its_folder(api, home, tmp_path):
    """Its downloads and kept records stay where they were (batch-jobs/ID): collecting
    again after the migration copies them, downloads nothing and records nothing twice."""
    from llamactl.history.migrations import key_batch_jobs_locally

    api.batch_plan = BatchPlan(rows_per_step=1, expire_after_rows=2)
    job = submit(tmp_path, "".join(f'"prompt {n}"\n' for n in range(1, 5))).stdout.strip()
    assert invoke(["batch", "wait", job, "--interval", "0"]).exit_code == 5
    first = invoke(["batch", "results", job])
    assert first.exit_code == 5, first.stderr
    kept_by_an_older_llamactl(home, key_batch_jobs_locally)
    folders = home / "batch-jobs"
    (folders / "job-1").rename(folders / job)  # where the older llamactl kept them
    downloads = len([r for r in api.requests if r.path.endswith("/content")])
    again = invoke(["batch", "results", job])
    assert (again.exit_code, again.stdout) == (5, first.stdout), again.stderr
    assert len([r for r in api.requests if r.path.endswith("/content")]) == downloads
    assert len(json.loads(invoke(["history", "list", "--json"]).stdout)) == 2
    with sqlite3.connect(home / "history.db") as db:
        assert db.execute("SELECT key, id, directory FROM batch_jobs").fetchall() == [(1, job, job)]
    later = submit(tmp_path, '"after the migration"\n')  # a new job, in a folder of its own
    assert later.exit_code == 0, later.stderr
    with sqlite3.connect(home / "history.db") as db:
        assert db.execute("SELECT directory FROM batch_jobs WHERE key = 2").fetchone() == ("job-2",)


def test_a_first_collection_cut_between_its_commits_records_each_line_once_when_run_again(
    api, home, tmp_path, monkeypatch
):
    """Its first chunk was committed when the second failed: collecting again must not
    record the first chunk's lines a second time."""
    from llamactl.batch_api import recorded

    monkeypatch.setattr(recorded, "HISTORY_CHUNK", 1)  # a commit a line
    job = submit(tmp_path, '"one"\n"two"\n"three"\n').stdout.strip()
    assert invoke(["batch", "wait", job, "--interval", "0"]).exit_code == 0
    refuse_inserts(home, "requests", "(SELECT count(*) FROM requests) >= 1")  # the second commit fails
    cut = invoke(["batch", "results", job])
    assert cut.exit_code == 6 and "disk I/O error" in cut.stderr
    with sqlite3.connect(home / "history.db") as db:
        assert db.execute("SELECT count(*) FROM requests").fetchone() == (1,)  # the first line's
        db.execute("DROP TRIGGER refused")
    same = str(tmp_path / "same.jsonl")
    refused = invoke(["batch", "results", job, "--output", same, "--errors", same])
    assert refused.exit_code == 2  # a collection that stops before writing forgets nothing
    with sqlite3.connect(home / "history.db") as db:
        assert db.execute("SELECT count(*) FROM requests").fetchone() == (1,)
    again = invoke(["batch", "results", job])
    assert again.exit_code == 0, again.stderr
    listed = json.loads(invoke(["history", "list", "--batch", job, "--json"]).stdout)
    assert sorted(row["fields"]["input"] for row in listed) == ["one", "three", "two"]
    found = json.loads(invoke(["history", "search", "one", "--json"]).stdout)
    assert [row["fields"]["input"] for row in found] == ["one"]  # the search index has it once too


@pytest.mark.parametrize(
    "interrupt", [Interrupted(), KeyboardInterrupt()], ids=["signal", "KeyboardInterrupt"]
)
def test_an_interrupt_while_a_created_batch_is_recorded_names_it_and_keeps_its_exit_status(interrupt):
    """The window between the API creating a batch and this machine recording it: the
    interrupt goes on (exit 130/143), but only after the batch's id is on stderr."""
    from llamactl.batch_api.submit import _told_if_unrecorded

    stderr = io.StringIO()
    env = Environment(stderr=stderr)
    with pytest.raises(type(interrupt)), _told_if_unrecorded(env, {"id": "batch_abc"}, 2, 3):
        raise interrupt
    assert stderr.getvalue() == (
        f"warning: batch batch_abc (part 2 of 3) was created on {env.api_host} but could not be recorded on this"
        " machine; it runs and is billed all the same: keep its id, batch_abc, to follow it\n"
    )
