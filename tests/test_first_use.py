"""Messages a new user meets on a first run through the README and docs, worded as a
careful user expects (found by trying llamactl from a fresh clone)."""

from __future__ import annotations

import json

from tests.helpers import invoke

MODEL = "meta-llama/Llama-2-70b-chat-hf"


def test_a_one_line_batch_is_submitted_as_one_line(api, tmp_path):
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text('"Name a llama"\n', encoding="utf-8")
    run = invoke(["batch", "submit", "-m", MODEL, str(prompts)])
    assert run.exit_code == 0, run.stderr
    assert run.stderr.startswith(
        f"submitted 1 line; follow it with: llamactl batch wait {run.stdout.strip()}\n"
    )


def test_chat_help_says_how_to_send_a_message_that_starts_with_a_slash(api):
    from tests.test_chat import terminal

    result = terminal(["-m", MODEL, "-q"], "/help\n//etc/hosts is a file\n/exit\n")
    assert result.exit_code == 0, result.stderr
    assert "\nTo send a message that starts with /, type // (the first / is dropped).\n" in result.stderr
    turns = [json.loads(line) for line in invoke(["history", "export"]).stdout.splitlines()]
    assert [turn["messages"] for turn in turns] == [[{"role": "user", "content": "/etc/hosts is a file"}]]


def test_chat_commands_that_ask_for_something_answer_it_under_q(api):
    from tests.test_chat import terminal

    result = terminal(
        ["-m", MODEL, "-q", "--system", "Be brief."], "Name a llama\n/cost\n/model\n/system\n/help\n/exit\n"
    )
    assert result.exit_code == 0, result.stderr
    assert "conversation 1: 1 turn, " in result.stderr
    assert f"model: {MODEL}\n" in result.stderr
    assert "system prompt: Be brief.\n" in result.stderr
    assert "/retry  " in result.stderr
    assert " · conversation 1 · " not in result.stderr  # -q still drops the turn's summary


def test_chat_help_names_the_one_backslash_a_user_types():
    page = invoke(["chat", "--help"], env={"COLUMNS": "200"}).stdout
    assert "end a line with \\ to go on" in page
    assert "\\\\" not in page


def test_a_cut_stream_says_what_happened_in_words_not_an_exception_name(emulator, env):
    from tests.emulator import Behavior
    from tests.helpers import run_llamactl

    emulator.behave(Behavior(cut_after=2))
    run = run_llamactl(["infer", "-m", MODEL, "hi"], env)
    assert (run.exit_code, run.stdout) == (5, "Hello! You\n")
    assert run.stderr == (
        "error: the stream broke after 2 tokens (the connection was closed before a complete response); "
        "the output is incomplete\n"
    )


def test_chat_save_after_a_failed_turn_saves_the_last_answer(api, tmp_path):
    from tests.emulator import Behavior
    from tests.test_chat import terminal

    api.queue(Behavior(), Behavior(status=422, message="bad field"))
    saved = tmp_path / "answer.md"
    result = terminal(["-m", MODEL, "-q"], f"one\ntwo\n/save {saved}\n/exit\n")
    assert result.exit_code == 0, result.stderr
    assert saved.read_text(encoding="utf-8") == "Hello! You said: one. Voilà, café 🦙\n"


def test_chat_save_before_any_answer_says_so(api, tmp_path):
    from tests.emulator import Behavior
    from tests.test_chat import terminal

    api.queue(Behavior(status=422, message="bad field"))
    saved = tmp_path / "answer.md"
    result = terminal(["-m", MODEL, "-q"], f"one\n/save {saved}\n/exit\n")
    assert result.exit_code == 0, result.stderr
    assert "error: no answer yet to save\n" in result.stderr
    assert not saved.exists()
