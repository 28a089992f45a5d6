"""History keeps why an answer stopped (its finish reason, shown by `history show` and in
the JSON), and `history search` finds a request by any message it sent, system, user or
assistant; both with the migrations that bring an older database along."""

from __future__ import annotations

import json

from tests.emulator import Behavior
from tests.helpers import invoke, older_history

MODEL = "meta-llama/Llama-2-70b-chat-hf"


def ok(*args: str):
    run = invoke(list(args))
    assert run.exit_code == 0, run.stderr
    return run


def exported() -> list[dict]:
    return [json.loads(line) for line in ok("history", "export").stdout.splitlines()]


def found(text: str) -> list[int]:
    return [record["id"] for record in json.loads(ok("history", "search", text, "--json").stdout)]


# the finish reason


def test_the_finish_reason_is_kept_shown_and_exported(api):
    api.behave(Behavior(reply="one two three four five six"))
    ok("infer", "-m", MODEL, "-q", "-i", "max_new_tokens=3", "count")  # native stream, cut
    ok("infer", "-m", MODEL, "-q", "count")  # native stream, whole
    ok("infer", "-m", MODEL, "--api", "openai", "--no-stream", "-q", "-i", "max_tokens=2", "count")
    ok("infer", "-m", MODEL, "--chat", "-q", "-i", "max_tokens=4", "count")  # an OpenAI stream
    ok("infer", "-m", MODEL, "--no-stream", "-q", "count")  # the native response has none
    assert [record["finish_reason"] for record in exported()] == [
        "length",
        "eos_token",
        "length",
        "length",
        None,
    ]
    shown = ok("history", "show", "1").stdout
    assert "\nfinish:     length (stopped at max_new_tokens=3)\n" in shown
    assert "\nfinish:     eos_token\n" in ok("history", "show", "2").stdout
    assert "\nfinish:     length (stopped at max_tokens=4)\n" in ok("history", "show", "4").stdout
    assert "finish" not in ok("history", "show", "5").stdout
    assert json.loads(ok("history", "show", "3", "--json").stdout)["finish_reason"] == "length"


def test_an_older_database_gains_the_finish_reason_and_keeps_its_rows(api, home):
    from llamactl.history.migrations import add_finish_reason

    db = older_history(home, add_finish_reason)
    db.commit()
    db.close()
    api.behave(Behavior(reply="one two three four five six"))
    ok("infer", "-m", MODEL, "-q", "-i", "max_new_tokens=2", "a new one")
    old, new = exported()
    assert (old["fields"]["input"], old["results"], old["finish_reason"]) == (
        "from before",
        ["an old answer"],
        None,
    )
    assert (new["results"], new["finish_reason"]) == (["one two"], "length")
    assert "finish" not in ok("history", "show", "1").stdout
    assert found("answer") == [1]


# search over every message


def test_search_finds_any_message_of_an_openai_request(api, tmp_path):
    conversation = tmp_path / "messages.json"
    conversation.write_text(
        json.dumps(
            [
                {"role": "system", "content": "You are a quokka expert."},
                {"role": "user", "content": "Where do wombats live?"},
                {"role": "assistant", "content": [{"type": "text", "text": "In burrows near Canberra."}]},
            ]
        ),
        encoding="utf-8",
    )
    ok("infer", "--api", "openai", "-m", MODEL, "-q", "-i", f"messages=@{conversation}", "and numbats?")
    ok("infer", "-m", MODEL, "-q", "an unrelated question")
    for word in ("quokka", "wombats", "Canberra", "numbats"):  # system, user, assistant, the prompt
        assert found(word) == [1], word
    assert found("unrelated") == [2]


def test_search_finds_a_chat_turns_system_prompt_and_only_that_turn(api):
    ok("infer", "-m", MODEL, "--chat", "--system", "Speak like a pangolin.", "-q", "zebu facts")
    ok("infer", "-c", "-q", "again")  # sent with the system prompt and the first exchange
    assert found("pangolin") == [1]  # set at the first turn: not what the second one said
    assert found("zebu") == [1]  # the second turn is found by its own words only
    assert found("again") == [2]


def test_an_older_database_is_reindexed_over_every_message_and_removal_still_works(api, home):
    from llamactl.history.migrations import index_every_message

    db = older_history(home, index_every_message)  # request 1, native
    messages = [
        {"role": "system", "content": "You are a quokka expert."},
        {"role": "user", "content": "Where do wombats live?"},
    ]
    db.execute(
        "INSERT INTO requests (created_at, model, api_host, fields, status, api)"
        " VALUES (2.0, ?, 'h', ?, 'ok', 'openai')",
        (MODEL, json.dumps({"messages": messages})),
    )
    db.execute("INSERT INTO results (request, position, text) VALUES (2, 0, 'In burrows.')")
    # as the index had them: the native input, and only the last user message of the other
    db.executemany(
        "INSERT INTO requests_search (rowid, input, output) VALUES (?, ?, ?)",
        [(1, "from before", "an old answer"), (2, "Where do wombats live?", "In burrows.")],
    )
    db.commit()
    db.close()
    ok("infer", "-m", MODEL, "-q", "a new request about echidnas")
    assert found("quokka") == [2]  # the system message, indexed now
    assert found("echidnas") == [3] and found("before") == [1]
    assert found("wombats") == [2] and found("burrows") == [2]
    ok("history", "rm", "2", "1")
    assert found("wombats") == found("burrows") == found("quokka") == found("before") == []
    assert found("echidnas") == [3]
