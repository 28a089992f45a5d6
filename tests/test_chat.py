"""`llamactl chat`: on a real terminal (a pty, driven with pexpect), from a pipe, and its
in-chat commands (in-process, with the terminal facts set)."""

from __future__ import annotations

import json
import os
import sys

import pexpect
import pytest

from tests.emulator import Behavior
from tests.helpers import HANG_GUARD, REPO, invoke, run_llamactl, sent_chats, sent_messages

MODEL = "meta-llama/Llama-2-70b-chat-hf"
OTHER = "meta-llama/Llama-2-7b-chat-hf"


def answer(prompt: str) -> str:
    return f"Hello! You said: {' '.join(prompt.split()[:5])}. Voilà, café 🦙"


def spawn_chat(env, *args: str) -> pexpect.spawn:
    return pexpect.spawn(
        sys.executable,
        ["-m", "llamactl", "chat", *args],
        env={**env, "COLUMNS": "200", "TERM": "xterm"},
        cwd=str(REPO),
        encoding="utf-8",
        timeout=HANG_GUARD,
        dimensions=(40, 200),
    )


def exported(env) -> list[dict]:
    run = run_llamactl(["history", "export"], env)
    assert run.exit_code == 0, run.stderr
    return [json.loads(line) for line in run.stdout.splitlines()]


PROMPT = "\n> "


def test_two_turns_then_ctrl_c_mid_answer_then_another_turn_then_exit(emulator, env):
    chat = spawn_chat(env, "-m", MODEL)
    chat.expect_exact("a new conversation with meta-llama/Llama-2-70b-chat-hf (openai API)")
    chat.expect_exact("> ")
    chat.sendline("Name a llama")
    chat.expect_exact(answer("Name a llama"))
    chat.expect_exact("conversation 1 · 1 turn, ")
    chat.expect_exact(PROMPT)
    chat.sendline("And an alpaca")
    chat.expect_exact(answer("And an alpaca"))
    chat.expect_exact("2 turns, ")
    chat.expect_exact(PROMPT)

    emulator.queue(Behavior(tokens=["Once", " upon", " a", " time"], stall_after=2))
    chat.sendline("Tell me a story")
    chat.expect_exact("Once upon")
    assert emulator.wait_written(2, HANG_GUARD)
    chat.sendintr()
    chat.expect_exact("interrupted: what arrived is kept in the conversation, marked interrupted")
    chat.expect_exact(PROMPT)

    chat.sendline("Go on")
    chat.expect_exact(answer("Go on"))
    chat.expect_exact("4 turns, ")
    chat.expect_exact(PROMPT)
    assert sent_messages(emulator)[-3:] == [
        {"role": "user", "content": "Tell me a story"},
        {"role": "assistant", "content": "Once upon"},  # as far as it went
        {"role": "user", "content": "Go on"},
    ]
    chat.sendline("/exit")
    chat.expect(pexpect.EOF)
    chat.close()
    assert chat.exitstatus == 0, chat.before

    turns = exported(env)
    assert [turn["status"] for turn in turns] == ["ok", "ok", "interrupted", "ok"]
    assert turns[2]["results"] == ["Once upon"]
    assert {turn["conversation_id"] for turn in turns} == {1}


def test_input_history_is_kept_across_sessions_and_ctrl_d_ends(emulator, env, home):
    chat = spawn_chat(env, "-m", MODEL)
    chat.expect_exact("> ")
    chat.sendline("Remember this line")
    chat.expect_exact(answer("Remember this line"))
    chat.expect_exact(PROMPT)
    chat.sendeof()
    chat.expect(pexpect.EOF)
    chat.close()
    assert chat.exitstatus == 0
    assert "Remember this line" in (home / "chat_history").read_text()
    assert (home / "chat_history").stat().st_mode & 0o777 == 0o600

    again = spawn_chat(env, "-c")
    again.expect_exact("conversation 1 with meta-llama/Llama-2-70b-chat-hf")
    again.expect_exact("> Remember this line")  # chat -c shows the last turns first
    again.expect_exact(answer("Remember this line"))
    again.expect_exact("> ")
    again.send("\x1b[A\r")  # the up arrow brings back the last session's line
    again.expect_exact("conversation 1 · 2 turns")
    again.sendline("/exit")
    again.expect(pexpect.EOF)
    again.close()
    assert [turn["messages"][-1]["content"] for turn in exported(env)] == ["Remember this line"] * 2


def test_piped_messages_are_answered_one_a_line_with_the_text_only(emulator, env):
    run = run_llamactl(["chat", "-m", MODEL], env, input=b"Name a llama\n\nAnd an alpaca\n")
    assert run.exit_code == 0, run.stderr
    assert run.stdout == answer("Name a llama") + "\n" + answer("And an alpaca") + "\n"
    assert "conversation 1 · 2 turns" in run.stderr
    assert sent_messages(emulator) == [
        {"role": "user", "content": "Name a llama"},
        {"role": "assistant", "content": answer("Name a llama")},
        {"role": "user", "content": "And an alpaca"},
    ]
    assert [turn["conversation_id"] for turn in exported(env)] == [1, 1]


def test_piped_chat_with_nothing_to_read_ends_at_once(emulator, env):
    run = run_llamactl(["chat", "-m", MODEL, "-q"], env)  # stdin is /dev/null: no terminal, no pipe
    assert (run.exit_code, run.stdout, run.stderr) == (0, "", "")
    assert emulator.requests == []


def test_a_failed_piped_turn_ends_with_its_exit_code_and_keeps_the_turns_before(emulator, env):
    emulator.queue(Behavior(), Behavior(status=422, message="bad field"))
    run = run_llamactl(["chat", "-m", MODEL, "-q"], env, input=b"one\ntwo\nthree\n")
    assert run.exit_code == 4
    assert run.stdout == answer("one") + "\n"
    assert run.stderr == "error: the API rejected the request: bad field (HTTP 422 Unprocessable Entity)\n"
    assert [turn["status"] for turn in exported(env)] == ["ok", "error"]


@pytest.mark.parametrize("env_locale", ["C", "C.UTF-8"])  # stdin read with surrogateescape, or strictly
def test_a_piped_line_that_is_not_utf8_is_exit_2_and_keeps_the_turns_before(emulator, env, env_locale):
    run = run_llamactl(
        ["chat", "-m", MODEL, "-q"], {**env, "LC_ALL": env_locale}, input=b"one\ncaf\xe9\nthree\n"
    )
    assert run.exit_code == 2
    assert run.stdout == answer("one") + "\n"
    assert run.stderr.startswith("error: stdin line 2 is not UTF-8 text (byte 0xe9 at position 3)\n")
    assert len(sent_chats(emulator)) == 1 and [turn["status"] for turn in exported(env)] == ["ok"]


def test_piped_lines_that_start_with_a_slash_are_commands_whose_output_goes_to_stderr(emulator, env):
    """A pipe runs the same in-chat commands as a terminal: none is sent (or billed) as a
    message, what they show goes to stderr, stdout has the answers only; // sends a
    literal /, and /exit ends the session there (exit 0)."""
    piped = ["one", "/system Be brief.", f"/model {OTHER}", "/cost", "/help", "//slash", "/reset"]
    piped += ["two", "/exit", "never sent"]
    run = run_llamactl(["chat", "-m", MODEL], env, input="\n".join(piped).encode() + b"\n")
    assert run.exit_code == 0, run.stderr
    assert run.stdout == "".join(answer(line) + "\n" for line in ["one", "/slash", "two"])
    assert "\nconversation 1: 1 turn, " in run.stderr  # /cost
    assert "\n/retry          ask for the last answer again" in run.stderr  # /help
    assert f"\nmodel: {OTHER} from the next turn on\n" in run.stderr
    sent = sent_chats(emulator)
    assert [(chat["model"], chat["messages"][-1]["content"]) for chat in sent] == [
        (MODEL, "one"),
        (OTHER, "/slash"),
        (OTHER, "two"),
    ]
    assert sent[1]["messages"][0] == {"role": "system", "content": "Be brief."}
    assert [turn["conversation_id"] for turn in exported(env)] == [1, 1, 2]  # /reset: a new one


def test_an_unknown_piped_command_is_exit_2_with_its_line_and_is_never_sent(emulator, env):
    run = run_llamactl(["chat", "-m", MODEL, "-q"], env, input=b"one\n/nope this\ntwo\n")
    assert run.exit_code == 2
    assert run.stdout == answer("one") + "\n"
    assert run.stderr.splitlines() == [  # -q keeps an error's hint
        "error: stdin line 2: unknown command /nope",
        "hint: /help lists the commands; start a message with // to send one that starts with /",
    ]
    assert len(sent_chats(emulator)) == 1 and [turn["status"] for turn in exported(env)] == ["ok"]


def test_an_answer_with_a_lone_surrogate_goes_back_as_valid_json_and_is_kept(emulator, env):
    """The API's `\\ud800` escape is no character: the next turn sends it (and history keeps
    it) as U+FFFD, instead of failing to encode the turn and to record it."""
    body = b'{"id": "c1", "object": "chat.completion", "choices": [{"index": 0, "message": {"role":'
    body += b' "assistant", "content": "a\\ud800b"}, "finish_reason": "stop"}], "usage": {}}'
    emulator.queue(Behavior(body=body))
    run = run_llamactl(["chat", "-m", MODEL, "-q"], env, input=b"one\ntwo\n")
    assert (run.exit_code, run.stderr) == (0, "")
    assert sent_messages(emulator)[1] == {"role": "assistant", "content": "a\ufffdb"}
    turns = exported(env)
    assert [turn["results"] for turn in turns] == [["a\ufffdb"], [answer("two")]]
    assert [turn["conversation_id"] for turn in turns] == [1, 1]  # the first turn made it, once
    rerun = run_llamactl(["history", "rerun", str(turns[1]["id"]), "-q"], env)
    assert rerun.exit_code == 0, rerun.stderr
    assert sent_chats(emulator)[-1]["messages"] == sent_chats(emulator)[1]["messages"]


def test_a_typed_message_that_is_not_utf8_is_refused_and_the_chat_goes_on(emulator, env):
    """On a C locale the bytes come as lone surrogates; in a UTF-8 locale reading them
    fails (the next test): either way one error line, nothing sent, the prompt again."""
    chat = pexpect.spawn(
        sys.executable,
        ["-m", "llamactl", "chat", "-m", MODEL, "-q"],
        env={**env, "LC_ALL": "C", "TERM": "xterm"},
        cwd=str(REPO),
        encoding="utf-8",
        codec_errors="replace",  # the terminal echoes the byte
        timeout=HANG_GUARD,
    )
    chat.expect_exact("> ")
    os.write(chat.child_fd, b"caf\xe9\r")  # a Latin-1 terminal's byte
    chat.expect_exact("error: what was typed is not UTF-8 text (byte 0xe9 at position 3)")
    chat.sendline("Next")
    chat.expect_exact(answer("Next"))
    chat.sendline("/exit")
    chat.expect(pexpect.EOF)
    chat.close()
    assert chat.exitstatus == 0
    assert [turn["messages"][-1]["content"] for turn in exported(env)] == ["Next"]


def test_a_message_read_strictly_that_is_not_utf8_is_refused(api):
    result = terminal(["-m", MODEL, "-q"], b"caf\xe9\n")
    assert result.exit_code == 0, result.stderr
    assert "error: what was typed is not UTF-8 text" in result.stderr
    assert invoke(["history", "export"]).stdout == ""


def test_cost_counts_what_was_billed_and_shows_unknown_figures_as_unknown(api):
    """A turn the API refused was not billed; one cut before its usage was, by an amount
    not known: the totals are the first turn's, marked `+` (at least)."""
    api.queue(
        Behavior(), Behavior(status=422, message="bad field"), Behavior(tokens=["Par", "tial"], cut_after=1)
    )
    result = terminal(["-m", MODEL], "one\ntwo\nthree\n/cost\n")
    first = json.loads(invoke(["history", "list", "--json"]).stdout)[-1]
    assert first["status"] == "ok" and first["tokens_in"] and first["cost"]
    totals = f"2 turns, {first['tokens_in']}+ in / {first['tokens_out'] + 1} out tokens, $"  # 1 more came
    assert f"conversation 1: {totals}" in result.stderr, result.stderr
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("conversation 1: ")]
    assert line.endswith("+ so far")  # the cut turn's cost is unknown: the first's, at least


def test_cost_of_turns_whose_figures_are_all_unknown_says_so(api):
    api.queue(Behavior(tokens=["Par", "tial"], cut_after=1))
    result = terminal(["-m", MODEL], "one\n/cost\n")
    assert "conversation 1: 1 turn, ? in / 1 out tokens, n/a so far" in result.stderr, result.stderr  # 1 came


def terminal(args: list[str], typed: str):
    """`llamactl chat ARGS` in-process, as on a terminal, with `typed` as the keyboard."""
    from typer.testing import CliRunner

    from llamactl.cli import app

    result = CliRunner().invoke(
        app, ["chat", *args], input=typed, obj={"stdin_isatty": True, "stdout_isatty": False, "width": 80}
    )
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def test_multi_line_entry_with_a_backslash_or_a_block(api):
    typed = 'first line\\\nsecond line\n"""\nin a block\n\nwith a blank line\n"""\n'
    result = terminal(["-m", MODEL, "-q"], typed)
    assert result.exit_code == 0, result.stderr
    turns = [json.loads(line) for line in invoke(["history", "export"]).stdout.splitlines()]
    assert [turn["messages"][-1]["content"] for turn in turns] == [
        "first line\nsecond line",
        "in a block\n\nwith a blank line",
    ]


def test_in_chat_commands(api, tmp_path):
    saved = tmp_path / "answer.md"
    typed = "\n".join(
        [
            "/help",
            "/system Answer in one word.",
            "Name a llama",
            f"/save {saved}",
            "/retry",
            "/model meta-llama/Llama-2-7b-chat-hf",
            "//slash is sent",
            "/cost",
            "/nope",
            "/reset",
            "Fresh start",
            "/exit",
            "never sent",
        ]
    )
    result = terminal(["-m", MODEL], typed + "\n")
    assert result.exit_code == 0, result.stderr
    assert "/retry" in result.stderr and "end a line with \\ to go on" in result.stderr  # /help
    assert saved.read_text() == answer("Name a llama") + "\n"
    assert "error: unknown command /nope\nhint: /help lists the commands; " in result.stderr
    assert (
        "conversation 1: 2 turns (3 requests billed), " in result.stderr
    )  # /cost: /retry's first answer too
    turns = [json.loads(line) for line in invoke(["history", "export"]).stdout.splitlines()]
    assert [(turn["conversation_id"], turn["model"], turn["messages"]) for turn in turns] == [
        (
            1,
            MODEL,
            [
                {"role": "system", "content": "Answer in one word."},
                {"role": "user", "content": "Name a llama"},
            ],
        ),
        (1, MODEL, [{"role": "user", "content": "Name a llama"}]),
        (1, "meta-llama/Llama-2-7b-chat-hf", [{"role": "user", "content": "/slash is sent"}]),
        (
            2,
            "meta-llama/Llama-2-7b-chat-hf",
            [
                {"role": "system", "content": "Answer in one word."},
                {"role": "user", "content": "Fresh start"},
            ],
        ),
    ]
    assert turns[1]["retry_of"] == turns[0]["id"]
    sent = [chat["messages"] for chat in sent_chats(api)]
    # the retried turn replaced the first: the third turn is sent with the retry only
    assert sent[2] == [
        {"role": "system", "content": "Answer in one word."},
        {"role": "user", "content": "Name a llama"},
        {"role": "assistant", "content": answer("Name a llama")},
        {"role": "user", "content": "/slash is sent"},
    ]
    assert [chat["model"] for chat in sent_chats(api)] == [MODEL, MODEL, OTHER, OTHER]
    assert "never sent" not in json.dumps(turns)


def model_list_fetches(api) -> int:
    return sum(request.path == "/models/list" for request in api.requests)


def test_model_refuses_a_name_the_model_list_does_not_have_and_stays_on_the_old_model(api):
    result = terminal(["-m", MODEL], "/model meta-llama/Llama-2-7b-chat\none\n/model\n")
    assert result.exit_code == 0, result.stderr
    assert (
        "error: no model 'meta-llama/Llama-2-7b-chat' in the model list\n"
        f"hint: did you mean {OTHER}, " in result.stderr
    )
    assert f"model: {MODEL}\n" in result.stderr
    assert [chat["model"] for chat in sent_chats(api)] == [MODEL]


def test_model_takes_an_alias_and_a_listed_name_without_fetching_the_list_again(api):
    assert invoke(["models", "list"]).exit_code == 0  # the cached list
    assert invoke(["models", "alias", "small", OTHER]).exit_code == 0
    fetched = model_list_fetches(api)
    result = terminal(["-m", "small", "-q"], f"one\n/model {MODEL}\ntwo\n/model small\nthree\n")
    assert result.exit_code == 0, result.stderr
    assert [chat["model"] for chat in sent_chats(api)] == [OTHER, MODEL, OTHER]
    assert model_list_fetches(api) == fetched


def test_model_fetches_the_list_again_for_a_name_the_cache_lacks(api, home):
    """A model added since the list was cached is found in the list as it is now."""
    assert invoke(["models", "list"]).exit_code == 0
    [cache] = home.rglob("models-*.json")
    cached = json.loads(cache.read_text())
    cached["models"] = [entry for entry in cached["models"] if entry["model_name"] != OTHER]
    cache.write_text(json.dumps(cached))
    fetched = model_list_fetches(api)
    result = terminal(["-m", MODEL, "-q"], f"/model {OTHER}\none\n")
    assert result.exit_code == 0, result.stderr
    assert [chat["model"] for chat in sent_chats(api)] == [OTHER]
    assert model_list_fetches(api) == fetched + 1


def test_model_of_another_openai_server_is_not_looked_up_in_deepinfras_list(api, emulator, monkeypatch):
    monkeypatch.setenv("LLAMACTL_OPENAI_URL", emulator.url + "/local/v1/")
    result = terminal(["-m", "local", "-q"], "/model my-own-model\none\n")
    assert result.exit_code == 0, result.stderr
    assert model_list_fetches(api) == 0
    assert [request.json["model"] for request in api.requests] == ["my-own-model"]


def test_a_piped_model_the_list_does_not_have_is_exit_2_before_anything_more_is_sent(emulator, env):
    run = run_llamactl(
        ["chat", "-m", MODEL, "-q"], env, input=b"one\n/model meta-llama/Llama-2-7b-chat\ntwo\n"
    )
    assert run.exit_code == 2
    assert run.stdout == answer("one") + "\n"
    assert (
        run.stderr.splitlines()[0]
        == "error: stdin line 2: no model 'meta-llama/Llama-2-7b-chat' in the model list"
    )
    assert run.stderr.splitlines()[1].startswith("hint: did you mean ")
    assert [chat["model"] for chat in sent_chats(emulator)] == [MODEL]


def test_save_ends_the_file_with_one_newline(api, tmp_path):
    api.queue(Behavior(tokens=["Two lines\n", "of it\n"]), Behavior(tokens=["No newline"]))
    first, second = tmp_path / "first.md", tmp_path / "second.md"
    result = terminal(["-m", MODEL, "-q"], f"one\n/save {first}\ntwo\n/save {second}\n")
    assert result.exit_code == 0, result.stderr
    assert first.read_text() == "Two lines\nof it\n"  # not doubled
    assert second.read_text() == "No newline\n"


def test_save_writes_through_a_symlink_as_a_shell_would(api, tmp_path):
    target, link = tmp_path / "answer.md", tmp_path / "link.md"
    target.write_text("old\n")
    link.symlink_to(target)
    result = terminal(["-m", MODEL, "-q"], f"one\n/save {link}\n")
    assert result.exit_code == 0, result.stderr
    assert link.is_symlink() and target.read_text() == answer("one") + "\n"


def test_save_that_cannot_write_says_so_and_the_chat_goes_on(api, tmp_path):
    """A directory, a missing directory, a file for a directory, a full disk (a link to
    /dev/full: written as it is, never replaced by a file) each give one error line."""
    (tmp_path / "a-file").write_text("")
    full = tmp_path / "full.md"
    full.symlink_to("/dev/full")
    failures = {
        tmp_path: "Is a directory",
        tmp_path / "missing" / "answer.md": "No such file or directory",
        tmp_path / "a-file" / "answer.md": "Not a directory",
        full: "No space left on device",
    }
    typed = "one\n" + "".join(f"/save {path}\n" for path in failures) + "/save a\0b\ntwo\n"
    result = terminal(["-m", MODEL, "-q"], typed)
    assert result.exit_code == 0, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [f"error: cannot write {path}: {why}" for path, why in failures.items()] + [
        "error: /save: a file name cannot contain a NUL byte"
    ]
    assert full.is_symlink() and os.readlink(full) == "/dev/full"
    assert [chat["messages"][-1]["content"] for chat in sent_chats(api)] == ["one", "two"]


def test_a_piped_save_that_cannot_write_is_exit_6_and_keeps_the_turns_before(emulator, env, tmp_path):
    full = tmp_path / "full.md"
    full.symlink_to("/dev/full")
    run = run_llamactl(["chat", "-m", MODEL, "-q"], env, input=f"one\n/save {full}\ntwo\n".encode())
    assert run.exit_code == 6
    assert run.stdout == answer("one") + "\n"
    assert run.stderr.startswith(f"error: cannot write {full}: No space left on device\n")
    assert len(sent_chats(emulator)) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--api", "soap"], "error: --api: expected one of native, openai, got 'soap'"),
        ([], "error: no model: give -m MODEL"),
        (
            ["-m", "mistralai/Mistral-7B-Instruct-v0.1", "--api", "native"],
            "error: no chat template is known for",
        ),
        (["-m", MODEL, "-i", "max_tokens=0"], "error: -i max_tokens: must be at least 1, got 0"),
        (
            ["-m", MODEL, "--api", "native", "-i", "max_new_tokens=0"],
            "error: -i max_new_tokens: must be at least 1, got 0",
        ),
        (["-m", MODEL, "-i", "messages=[]"], "error: chat sends each message as the input"),
        (["-m", MODEL, "-d", "DpLlama70b"], "error: give exactly one of -m/--model or -d/--deploy-id"),
    ],
)
def test_chat_refuses_what_cannot_work_before_the_first_prompt(api, args, message):
    run = invoke(["chat", *args], input="hello\n")
    assert run.exit_code == 2
    assert run.stderr.startswith(message)
    assert [request for request in api.requests if request.method == "POST"] == []


VERSION = "b3582270d33e5c1c0e9f2ce3acbe1494e4f27a8d0468a079121d9b66572fd018"  # not the newest


@pytest.mark.parametrize(
    ("args", "sent_model"),
    [
        (["-m", MODEL, "--version", VERSION], f"{MODEL}:{VERSION}"),
        (["-d", "DpLlama70b"], "deploy_id:DpLlama70b"),
    ],
    ids=["--version", "-d"],
)
def test_chat_talks_to_a_model_version_or_a_deployment_as_infer_does(api, args, sent_model):
    run = invoke(["chat", *args, "-q"], input="one\ntwo\n")
    assert run.exit_code == 0, run.stderr
    assert [chat["model"] for chat in sent_chats(api)] == [sent_model] * 2  # §5: NAME:VERSION, deploy_id:ID


READLINE_PROBE = (
    "import sys; from llamactl.entry import main; code = main(sys.argv[1:]); "
    "sys.stderr.write('\\nREADLINE %s %s\\n' % (code, 'readline' in sys.modules))"
)


@pytest.mark.parametrize(
    "args",
    [["infer", "-m", MODEL, "--chat", "-q", "hi"], ["chat", "-m", MODEL, "-q"]],
    ids=["infer --chat", "piped chat"],
)
def test_readline_is_loaded_only_for_a_chat_on_a_terminal(env, args):
    import subprocess

    probe = subprocess.run(
        [sys.executable, "-c", READLINE_PROBE, *args],
        env=env,
        cwd=REPO,
        input=b"hello\n",
        capture_output=True,
        timeout=HANG_GUARD,
    )
    assert probe.stderr.decode().splitlines()[-1] == "READLINE 0 False", probe.stderr


def test_history_show_of_a_retry_leaves_out_the_turn_it_replaced(api):
    result = terminal(["-m", MODEL, "-q"], "Name a llama\nAnd an alpaca\n/retry\n/exit\n")
    assert result.exit_code == 0, result.stderr
    shown = invoke(["history", "show", "3"])
    assert shown.exit_code == 0, shown.stderr
    assert "retry of:   2" in shown.stdout
    # the retry was sent with turn 1 only, so that is the conversation it continued
    assert "== turn 1: user ==\nName a llama\n" in shown.stdout
    assert "== turn 2: user ==" not in shown.stdout
    assert "== input ==\nAnd an alpaca\n" in shown.stdout
