"""`llamactl infer` recording into history, and the `history` commands, in-process against
the emulator with a temporary LLAMACTL_HOME."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from datetime import date, timedelta

import pytest

from tests.emulator import VALID_TOKEN, Behavior, catalogue
from tests.helpers import invoke, last_inference

MODEL = "meta-llama/Llama-2-70b-chat-hf"
OTHER_MODEL = "mistralai/Mistral-7B-Instruct-v0.1"


def infer(*args: str, input: str | bytes | None = None):
    run = invoke(["infer", *args], input=input)
    assert "warning" not in run.stderr, run.stderr
    return run


def history(*args: str):
    run = invoke(["history", *args])
    assert run.exit_code == 0, run.stderr
    return run


def history_json(*args: str):
    return json.loads(history(*args, "--json").stdout)


def exported() -> list[dict]:
    return [json.loads(line) for line in history("export").stdout.splitlines()]


def only_record() -> dict:
    records = history_json("list")
    assert len(records) == 1, records
    return records[0]


# what infer records


def test_records_a_json_request_with_every_figure_of_the_response(api):
    run = infer(
        "-m",
        MODEL,
        "--json",
        "-i",
        "max_new_tokens=40",
        "-i",
        "temperature=0.5",
        "-i",
        "num_responses=2",
        "Tell me about llamas",
    )
    assert run.exit_code == 0, run.stderr
    response = json.loads(run.stdout)
    record = only_record()
    assert record["model"] == MODEL and record["version"] is None and record["deploy_id"] is None
    assert record["api_host"] == api.url.split("//", 1)[1]
    assert record["fields"] == {
        "input": "Tell me about llamas",
        "max_new_tokens": 40,
        "temperature": 0.5,
        "num_responses": 2,
    }
    assert record["results"] == [result["generated_text"] for result in response["results"]]
    assert len(record["results"]) == 2
    assert record["tokens_in"] == response["num_input_tokens"]
    assert record["tokens_out"] == response["num_tokens"]
    assert record["cost"] == response["inference_status"]["cost"]
    assert record["cost_estimated"] is False
    assert record["runtime_ms"] == response["inference_status"]["runtime_ms"]
    assert record["request_id"] == response["request_id"]
    assert record["status"] == "ok" and record["error"] is None
    assert record["streamed"] is False
    assert record["wall_seconds"] is not None


def test_records_a_streamed_request_with_the_text_printed(api):
    api.behave(Behavior(tokens=["Roses", " are", " red"]))
    run = infer("-m", MODEL, "Write a poem")
    assert run.exit_code == 0, run.stderr
    record = only_record()
    assert record["streamed"] is True
    assert (
        record["results"] == [run.stdout.removesuffix("\n")] == ["Roses are red"]
    )  # printed with its line ended
    assert record["fields"] == {"input": "Write a poem", "stream": True}


def test_records_the_figures_of_the_final_stream_event(api):
    run = infer("-m", MODEL, "--stream", "--json", "Write a poem")
    final = json.loads(run.stdout.splitlines()[-1])
    record = only_record()
    assert record["results"] == [final["generated_text"]]
    assert record["tokens_in"] == final["details"]["input_tokens"]
    assert record["tokens_out"] == final["details"]["generated_tokens"]
    assert record["streamed"] is True and record["status"] == "ok"


def test_records_a_broken_stream_as_incomplete_with_the_partial_text(api):
    api.behave(Behavior(tokens=["one", " two", " three", " four"], cut_after=2))
    run = infer("-m", MODEL, "count")
    assert run.exit_code == 5
    record = only_record()
    assert record["status"] == "incomplete"
    assert record["results"] == [run.stdout.removesuffix("\n")] == ["one two"]  # printed with its line ended
    assert "incomplete" in record["error"]


def test_records_an_api_error_with_its_message(api):
    api.behave(Behavior(status=400, body_shape="detail_str", message="prompt too long"))
    run = infer("-m", MODEL, "hi")
    assert run.exit_code == 4
    record = only_record()
    assert record["status"] == "error"
    assert "prompt too long" in record["error"]
    assert record["results"] == []


def test_records_a_webhook_request_as_queued(api):
    run = infer("-m", MODEL, "-i", "webhook=http://127.0.0.1:9/hook", "hi")
    assert run.exit_code == 0, run.stderr
    assert only_record()["status"] == "queued"


def test_records_deployments_and_versions(api):
    version = catalogue.VERSIONS[MODEL][1]["version"]
    infer("-m", MODEL, "--version", version, "hi")
    infer("-d", "DpLlama70b", "hi")
    deployed, pinned = history_json("list")
    assert (pinned["model"], pinned["version"], pinned["deploy_id"]) == (MODEL, version, None)
    assert (deployed["model"], deployed["version"], deployed["deploy_id"]) == (None, None, "DpLlama70b")
    labels = [line.split("\t")[2] for line in history("list").stdout.splitlines()]
    assert labels == ["deploy:DpLlama70b", f"{MODEL}@{version}"]


def test_an_upload_is_described_never_stored(api, home, tmp_path):
    clip = tmp_path / "clip.wav"
    content = b"RIFF\x00\x01UPLOADED-BYTES-7d1c\xff\xfe" * 50
    clip.write_bytes(content)
    run = infer("-m", "openai/whisper-small", "-i", f"audio=@{clip}", "transcribe")
    assert run.exit_code == 0, run.stderr
    record = only_record()
    assert record["uploads"] == {
        "audio": {"filename": str(clip), "size": len(content), "content_type": "audio/x-wav"}
    }
    assert "audio" not in record["fields"]
    assert not any(b"UPLOADED-BYTES-7d1c" in data for data in files_under(home).values())


@pytest.mark.parametrize(
    "flags, variable", [(["--no-history"], None), ([], "1"), ([], "true"), ([], "banana")]
)
def test_no_history_records_nothing(api, monkeypatch, flags, variable):
    if variable:
        monkeypatch.setenv("LLAMACTL_NO_HISTORY", variable)
    run = infer("-m", MODEL, *flags, "secret question")
    assert run.exit_code == 0, run.stderr
    monkeypatch.delenv("LLAMACTL_NO_HISTORY", raising=False)
    assert history_json("list") == []


@pytest.mark.parametrize("variable", ["0", "false", "no", ""])
def test_an_explicit_no_keeps_history_on(api, monkeypatch, variable):
    monkeypatch.setenv("LLAMACTL_NO_HISTORY", variable)
    assert infer("-m", MODEL, "kept").exit_code == 0
    monkeypatch.delenv("LLAMACTL_NO_HISTORY")
    assert len(history_json("list")) == 1


def files_under(directory) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in directory.rglob("*") if path.is_file()}


def test_the_token_never_reaches_the_history_files(api, home, monkeypatch):
    infer("-m", MODEL, "streamed prompt marker-a1")
    infer("-m", MODEL, "--no-stream", "--json", "json prompt marker-b2")
    invoke(["--debug", "infer", "-m", MODEL, "debug prompt marker-c3"])
    api.behave(Behavior(status=500))
    infer("-m", MODEL, "--retries", "0", "failing prompt marker-d4")
    wrong_token = "wrong-token-5e8a0c4b"
    monkeypatch.setenv("DEEPINFRA_TOKEN", wrong_token)
    api.behave(Behavior())
    assert infer("-m", MODEL, "rejected prompt marker-e5").exit_code == 3
    files = files_under(home)
    everything = b"".join(files.values())
    for marker in ("a1", "b2", "c3", "d4", "e5"):  # the scan does see what was recorded
        assert f"marker-{marker}".encode() in everything
    assert VALID_TOKEN.encode() not in everything
    assert wrong_token.encode() not in everything


def test_database_and_directory_are_private(api, home):
    infer("-m", MODEL, "hi")
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    database = home / "history.db"
    for path in home.glob("history.db*"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert database.exists()


# history never breaks an inference


def test_a_damaged_database_warns_once_and_the_answer_stands(api, home):
    home.mkdir(mode=0o700)
    (home / "history.db").write_bytes(b"this is not a database at all\n" * 200)
    api.behave(Behavior(tokens=["still", " here"]))
    run = invoke(["infer", "-m", MODEL, "hi"])
    assert run.exit_code == 0
    assert run.stdout == "still here\n"
    warnings = [line for line in run.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1
    assert str(home / "history.db") in warnings[0] and "not saved" in warnings[0]

    listing = invoke(["history", "list"])
    assert listing.exit_code == 6  # a local failure, not a bug
    assert listing.stderr.startswith(f"error: the history database {home / 'history.db'} is damaged")
    assert "hint: move it aside" in listing.stderr
    assert "Traceback" not in listing.stderr


def test_a_database_locked_past_the_timeout_warns_and_the_answer_stands(api, home, monkeypatch):
    infer("-m", MODEL, "first")
    monkeypatch.setattr("llamactl.history.database.BUSY_TIMEOUT_SECONDS", 0.05)  # the lock outlasts any wait
    blocker = sqlite3.connect(home / "history.db", isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        api.behave(Behavior(tokens=["answer"]))
        run = invoke(["infer", "-m", MODEL, "-q", "second"])
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert run.exit_code == 0
    assert run.stdout == "answer\n"
    assert run.stderr.count("\n") == 1
    assert run.stderr.startswith("warning: history: this request was not saved to ")
    assert "locked" in run.stderr
    assert [record["fields"]["input"] for record in history_json("list")] == ["first"]


def test_an_unwritable_place_warns_and_the_answer_stands(api, home):
    (home / "history.db").mkdir(parents=True)  # something in the way of the database file
    api.behave(Behavior(tokens=["fine"]))
    run = invoke(["infer", "-m", MODEL, "-q", "hi"])
    assert run.exit_code == 0
    assert run.stdout == "fine\n"
    assert run.stderr.count("\n") == 1 and "not saved to" in run.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through read-only permissions")
def test_a_read_only_directory_warns_and_the_answer_stands(api, home):
    home.mkdir(mode=0o500)
    try:
        run = invoke(["infer", "-m", MODEL, "-q", "hi"])
    finally:
        home.chmod(0o700)
    assert run.exit_code == 0 and run.stdout
    assert run.stderr.count("\n") == 1 and "not saved to" in run.stderr


# list, show, search


def record_three(api):
    api.behave(Behavior(tokens=["zebrafish", " swim"]))
    infer("-m", MODEL, "llamas graze in the Andes")
    api.behave(Behavior(status=400, body_shape="detail_str", message="nope"))
    infer("-m", OTHER_MODEL, "alpacas hum softly")
    api.behave(Behavior(tokens=["fine"]))
    infer("-m", MODEL, "--no-stream", "vicuñas are shy")


def test_list_is_newest_first_and_filters_by_model_and_status(api):
    record_three(api)
    prompts = [record["fields"]["input"] for record in history_json("list")]
    assert prompts == ["vicuñas are shy", "alpacas hum softly", "llamas graze in the Andes"]
    assert [r["fields"]["input"] for r in history_json("list", "-n", "2")] == prompts[:2]
    assert [r["fields"]["input"] for r in history_json("list", "--model", MODEL)] == [prompts[0], prompts[2]]
    assert [r["fields"]["input"] for r in history_json("list", "--status", "error")] == [prompts[1]]


def test_list_in_a_pipe_is_one_tab_separated_line_per_request(api):
    record_three(api)
    lines = history("list").stdout.splitlines()
    assert len(lines) == 3
    ids = [record["id"] for record in history_json("list")]
    columns = [line.split("\t") for line in lines]
    assert [int(c[0]) for c in columns] == ids
    assert [c[2] for c in columns] == [MODEL, OTHER_MODEL, MODEL]
    assert [c[3] for c in columns] == ["ok", "error", "ok"]
    assert columns[0][7] == "vicuñas are shy"
    assert "\x1b" not in history("list").stdout


def test_list_rejects_an_unknown_status(api):
    run = invoke(["history", "list", "--status", "done"])
    assert run.exit_code == 2
    assert "--status" in run.stderr and "interrupted" in run.stderr


def test_show_prints_the_request_every_result_and_the_figures(api):
    infer("-m", MODEL, "--no-stream", "-i", "num_responses=2", "-i", "stop=</s>", "compare llamas")
    record = only_record()
    text = history("show", str(record["id"])).stdout
    assert f"model:      {MODEL}" in text
    assert '-i:         stop=["</s>"]' in text
    assert f"tokens:     {record['tokens_in']} in / {record['tokens_out']} out" in text
    assert "== input ==\ncompare llamas\n" in text
    for index, result in enumerate(record["results"], 1):
        assert f"== result {index} of 2 ==\n{result}" in text
    assert history_json("show", str(record["id"])) == record


def test_show_of_an_unknown_id_is_exit_2(api):
    run = invoke(["history", "show", "42"])
    assert run.exit_code == 2
    assert run.stderr.startswith("error: no request 42 in history")


@pytest.mark.parametrize("command", [["show"], ["rerun"], ["rm", "1"]])
def test_a_negative_request_id_is_said_to_be_no_id_not_an_unknown_option(api, command):
    """Click reads `-1` as an option; the user meant an id (no such thing as `-1` ones)."""
    run = invoke(["history", *command, "-1"])
    assert (run.exit_code, run.stdout) == (2, "")
    assert run.stderr == (
        "error: no request -1 in history: request ids are positive numbers\n"
        "hint: 'llamactl history list' shows the recent ones\n"
    )


def test_search_finds_prompts_and_outputs_newest_first(api):
    record_three(api)
    assert [r["fields"]["input"] for r in history_json("search", "andes")] == ["llamas graze in the Andes"]
    assert [r["fields"]["input"] for r in history_json("search", "zebrafish")] == [
        "llamas graze in the Andes"
    ]
    assert [r["fields"]["input"] for r in history_json("search", "alpac")] == ["alpacas hum softly"]
    assert [r["fields"]["input"] for r in history_json("search", "vicunas")] == ["vicuñas are shy"]
    assert history_json("search", "llamas alpacas") == []


SYNTAX_SEARCHES = {  # FTS5 query syntax searched for as text: what it finds among record_three's and a note
    '"unbalanced': ['a note on "unbalanced syntax'],
    "AND": ["a note on AND syntax", "llamas graze in the Andes"],  # a prefix, not the operator
    "NEAR(": ["a note on NEAR( syntax"],
    "col:umn": ["a note on col:umn syntax"],  # not a column filter
    "*": [],  # no word in it, so nothing to find, and no error
    "-x": ["a note on -x syntax"],  # not a NOT
}


@pytest.mark.parametrize("text", SYNTAX_SEARCHES)
def test_search_treats_query_syntax_as_plain_text(api, text):
    record_three(api)
    infer("-m", MODEL, f"a note on {text} syntax")
    run = invoke(["history", "search", "--json", "--", text])
    assert run.exit_code == 0, run.stderr
    assert [record["fields"]["input"] for record in json.loads(run.stdout)] == SYNTAX_SEARCHES[text]


def test_search_needs_a_word(api):
    run = invoke(["history", "search", "  "])
    assert run.exit_code == 2
    assert run.stderr == "error: search needs at least one word\n"


# stats and export


def test_stats_by_model_add_up_the_recorded_requests(api):
    record_three(api)
    infer("-m", OTHER_MODEL, "-i", "max_new_tokens=3", "more")
    records = exported()
    stats = history_json("stats")
    by_model = {group["model"]: group for group in stats["groups"]}
    assert set(by_model) == {MODEL, OTHER_MODEL}
    for model, group in by_model.items():
        mine = [r for r in records if r["model"] == model]
        assert group["requests"] == len(mine)
        assert group["tokens_in"] == sum(r["tokens_in"] or 0 for r in mine)
        assert group["tokens_out"] == sum(r["tokens_out"] or 0 for r in mine)
        costs = [r["cost"] for r in mine if r["cost"] is not None]
        assert group["cost"] == (pytest.approx(sum(costs)) if costs else None)
    assert stats["total"]["requests"] == len(records) == 4


def test_stats_by_day_and_since(api):
    record_three(api)
    today = exported()[0]["time"][:10]
    stats = history_json("stats", "--by", "day", "--since", "1d")
    assert [(group["day"], group["requests"]) for group in stats["groups"]] == [(today, 3)]
    tomorrow = (date.fromisoformat(today) + timedelta(days=1)).isoformat()
    assert history_json("stats", "--since", tomorrow)["total"]["requests"] == 0


def test_stats_in_a_pipe_is_tab_separated(api):
    record_three(api)
    lines = sorted(history("stats").stdout.splitlines())
    assert [line.split("\t")[:2] for line in lines] == [[MODEL, "2"], [OTHER_MODEL, "1"]]
    no_cost = history_json("stats")["groups"][1]
    assert (no_cost["model"], no_cost["cost"]) == (OTHER_MODEL, None)  # its one request failed
    assert lines[1].split("\t")[4] == "-"


@pytest.mark.parametrize("args", [("--since", "last tuesday"), ("--by", "week")])
def test_stats_rejects_bad_options(api, args):
    run = invoke(["history", "stats", *args])
    assert run.exit_code == 2
    assert run.stderr.startswith(f"error: {args[0]}")


def test_export_is_json_lines_oldest_first(api):
    record_three(api)
    lines = history("export").stdout.splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["fields"]["input"] for r in records] == [
        "llamas graze in the Andes",
        "alpacas hum softly",
        "vicuñas are shy",
    ]
    assert records == list(reversed(history_json("list")))
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    assert history("export", "--since", tomorrow).stdout == ""


# rerun


def inference_requests(api):
    return [request for request in api.requests if request.path.startswith("/v1/inference/")]


def test_rerun_sends_the_same_request_again_and_records_it(api):
    infer("-m", MODEL, "-i", "max_new_tokens=9", "-i", "stop=END", "again please")
    first = inference_requests(api)[-1]  # a first run also fetches the model list, for its price
    run = invoke(["history", "rerun", str(only_record()["id"]), "-q"])
    assert run.exit_code == 0, run.stderr
    again = inference_requests(api)[-1]
    assert again is not first
    assert (again.path, again.json) == (first.path, first.json)
    records = history_json("list")
    assert len(records) == 2 and records[0]["fields"] == records[1]["fields"]


def test_rerun_takes_infer_options_on_top(api):
    infer("-m", MODEL, "-i", "temperature=0.9", "rerun me")
    record_id = str(only_record()["id"])
    run = invoke(
        ["history", "rerun", record_id, "-m", OTHER_MODEL, "-i", "temperature=0.1", "--json", "--no-history"]
    )
    assert run.exit_code == 0, run.stderr
    sent = last_inference(api)
    assert sent.path == f"/v1/inference/{OTHER_MODEL}"
    assert sent.json == {"input": "rerun me", "temperature": 0.1}
    assert json.loads(run.stdout)["results"]
    assert len(history_json("list")) == 1


def test_rerun_of_an_upload_needs_the_file_again(api, tmp_path):
    clip = tmp_path / "clip.wav"
    clip.write_bytes(b"RIFF\x00\xff" * 20)
    infer("-m", "openai/whisper-small", "-i", f"audio=@{clip}", "transcribe")
    record_id = str(only_record()["id"])
    run = invoke(["history", "rerun", record_id])
    assert run.exit_code == 2
    assert f"uploaded audio ({clip}, 120 bytes)" in run.stderr
    assert f"hint: give it again: llamactl history rerun {record_id} -i audio=@PATH" in run.stderr
    again = invoke(["history", "rerun", record_id, "-i", f"audio=@{clip}"])
    assert again.exit_code == 0, again.stderr
    assert last_inference(api).files["audio"][2] == clip.read_bytes()


def test_rerun_of_an_unknown_id_is_exit_2(api):
    run = invoke(["history", "rerun", "7"])
    assert run.exit_code == 2 and "no request 7" in run.stderr
    assert api.requests == []


# rm, clear, path


def test_rm_removes_requests_everywhere(api):
    record_three(api)
    ids = [record["id"] for record in history_json("list")]
    run = history("rm", str(ids[2]), str(ids[1]))
    assert "removed 2 requests" in run.stderr
    assert [record["id"] for record in history_json("list")] == [ids[0]]
    assert history_json("search", "andes") == []


def test_rm_with_an_unknown_id_removes_nothing(api):
    record_three(api)
    ids = [record["id"] for record in history_json("list")]
    run = invoke(["history", "rm", str(ids[0]), "999"])
    assert run.exit_code == 2
    assert "no request 999" in run.stderr and "nothing was removed" in run.stderr
    assert [record["id"] for record in history_json("list")] == ids


def test_clear_needs_yes_outside_a_terminal(api):
    record_three(api)
    run = invoke(["history", "clear"])
    assert run.exit_code == 2 and "--yes" in run.stderr
    assert len(history_json("list")) == 3
    assert "removed 3 requests" in history("clear", "--yes").stderr
    assert history_json("list") == []
    assert history_json("search", "andes") == []


def test_path_is_under_llamactl_home(api, home):
    assert history("path").stdout == f"{home / 'history.db'}\n"
    assert not home.exists()  # asking where it is creates nothing


def test_path_follows_xdg_without_llamactl_home(monkeypatch, tmp_path):
    monkeypatch.delenv("LLAMACTL_HOME", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert history("path").stdout == f"{tmp_path / 'data' / 'llamactl' / 'history.db'}\n"
