"""History across real llamactl processes: many at once on one database, Ctrl-C mid-stream,
and the confirmation prompt of `history clear` on a real terminal."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading

import pexpect

from tests.emulator import VALID_TOKEN, Behavior
from tests.helpers import REPO, invoke, llamactl_command, run_llamactl, subprocess_env

MODEL = "meta-llama/Llama-2-70b-chat-hf"
WORKERS = 8
ROUNDS = 2  # the first races creation and migration, the second inserts into the database it left
IN_PROCESS = ("LLAMACTL_HOME", "DEEPINFRA_HOST", "DEEPINFRA_TOKEN")


def environment(emulator, home, **extra):
    return subprocess_env(
        DEEPINFRA_TOKEN=VALID_TOKEN, DEEPINFRA_HOST=emulator.url, LLAMACTL_HOME=str(home), **extra
    )


def in_process(env, *args: str):
    """llamactl ARGS run in this process by the same user: where the test is about another
    process (the racers, the terminal), a subprocess to set up or read history adds nothing."""
    run = invoke(list(args), env={name: env[name] for name in IN_PROCESS})
    assert run.exit_code == 0, run.stderr
    return run


def exported(env) -> list[dict]:
    return [json.loads(line) for line in in_process(env, "history", "export").stdout.splitlines()]


def test_parallel_processes_each_record_every_request_exactly_once(emulator, tmp_path):
    """8 workers start their llamactl processes together, round after round, on a database
    that does not exist yet: creation, migration and inserts all race. (tests/test_history_store.py
    races the creation alone ten times over, in forked processes.)"""
    env = environment(emulator, tmp_path / "home")
    start_together = threading.Barrier(WORKERS)
    runs: dict[str, object] = {}

    def worker(number: int) -> None:
        for request in range(ROUNDS):
            prompt = f"worker {number} request {request}"
            start_together.wait()
            runs[prompt] = run_llamactl(["infer", "-m", MODEL, "-q", prompt], env)

    threads = [threading.Thread(target=worker, args=(number,)) for number in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(runs) == WORKERS * ROUNDS
    for prompt, run in runs.items():
        assert run.exit_code == 0, (prompt, run.stderr)
        assert run.stderr == "", (prompt, run.stderr)
        assert prompt in run.stdout
    records = exported(env)
    assert sorted(record["fields"]["input"] for record in records) == sorted(runs)
    assert all(record["status"] == "ok" for record in records)


def test_parallel_processes_continuing_one_conversation_lose_no_turn_and_keep_each_answer_with_its_question(
    emulator, tmp_path
):
    """8 shells continue the same conversation at once (`infer -c`): every turn is recorded
    in it, each answer beside its own question, and the next turn is sent with all of
    them in the order they were recorded."""
    from tests.helpers import sent_messages

    env = environment(emulator, tmp_path / "home")
    in_process(env, "infer", "-m", MODEL, "--chat", "-q", "the opening turn")
    start_together = threading.Barrier(WORKERS)
    runs: dict[str, object] = {}

    def worker(number: int) -> None:
        prompt = f"worker {number} continues"
        start_together.wait()
        runs[prompt] = run_llamactl(["infer", "-c", "-q", prompt], env)

    threads = [threading.Thread(target=worker, args=(number,)) for number in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for prompt, run in runs.items():
        assert (run.exit_code, run.stderr) == (0, ""), prompt
        assert prompt in run.stdout

    turns = exported(env)
    assert [turn["conversation_id"] for turn in turns] == [1] * (WORKERS + 1)
    asked = [turn["messages"][-1]["content"] for turn in turns]
    assert sorted(asked[1:]) == sorted(runs)
    for turn in turns:  # each answer echoes its own question, never another worker's
        assert turn["results"] == [f"Hello! You said: {turn['messages'][-1]['content']}. Voilà, café 🦙"]

    in_process(env, "infer", "-c", "-q", "the closing turn")
    sent = sent_messages(emulator)
    assert len(sent) == 2 * (WORKERS + 1) + 1
    assert sent[::2] == [{"role": "user", "content": text} for text in [*asked, "the closing turn"]]
    assert sent[1::2] == [{"role": "assistant", "content": turn["results"][0]} for turn in turns]


def test_ctrl_c_mid_stream_records_interrupted_with_the_partial_text(emulator, tmp_path):
    env = environment(emulator, tmp_path / "home")
    emulator.behave(Behavior(tokens=["one", " two", " three", " four", " five"], stall_after=3))
    proc = subprocess.Popen(
        llamactl_command("infer", "-m", MODEL, "count to five"),
        env=env,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        printed = os.read(proc.stdout.fileno(), 4096)  # the first tokens are on screen
        proc.send_signal(signal.SIGINT)
        rest, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
        emulator.release()
    assert proc.returncode == 130, stderr
    [record] = exported(env)
    assert record["status"] == "interrupted"
    assert printed
    assert (printed + rest).decode("utf-8") == record["results"][0] + "\n"  # the line is ended on stdout only
    assert b"warning" not in stderr


def spawn_clear(env) -> pexpect.spawn:
    return pexpect.spawn(
        sys.executable,
        ["-m", "llamactl", "history", "clear"],
        env=env,
        cwd=str(REPO),
        encoding="utf-8",
        timeout=20,
    )


def test_clear_asks_on_a_terminal(emulator, tmp_path):
    env = environment(emulator, tmp_path / "home")
    for prompt in ("keep me", "and me"):
        in_process(env, "infer", "-m", MODEL, "-q", prompt)

    declined = spawn_clear(env)
    declined.expect(r"Remove all 2 requests from .*history\.db\? \[y/N\]: ")
    declined.sendline("n")
    declined.expect("nothing removed")
    declined.expect(pexpect.EOF)
    declined.close()
    assert declined.exitstatus == 0
    assert len(exported(env)) == 2

    accepted = spawn_clear(env)
    accepted.expect(r"\[y/N\]: ")
    accepted.sendline("y")
    accepted.expect("removed 2 requests from history")
    accepted.expect(pexpect.EOF)
    accepted.close()
    assert accepted.exitstatus == 0
    assert exported(env) == []


def test_ctrl_c_at_the_clear_question_is_an_interruption(emulator, tmp_path):
    env = environment(emulator, tmp_path / "home")
    in_process(env, "infer", "-m", MODEL, "-q", "keep me")
    asked = spawn_clear(env)
    asked.expect(r"\[y/N\]: ")
    asked.sendintr()
    asked.expect("error: interrupted")
    asked.expect(pexpect.EOF)
    asked.close()
    assert asked.exitstatus == 130
    assert len(exported(env)) == 1


def terminal_output(env, *args: str) -> str:
    """What `llamactl ARGS` shows on a 120-column terminal, styles stripped."""
    child = pexpect.spawn(
        sys.executable,
        ["-m", "llamactl", *args],
        env={**env, "COLUMNS": "120"},
        cwd=str(REPO),
        encoding="utf-8",
        timeout=20,
        dimensions=(40, 120),
    )
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    return re.sub(r"\x1b\[[0-9;]*m", "", child.before)


def test_on_a_terminal_history_prints_tables_and_panels(emulator, tmp_path):
    env = environment(emulator, tmp_path / "home")
    emulator.behave(Behavior(tokens=["Soft", " wool"]))
    in_process(env, "infer", "-m", MODEL, "-q", "a haiku about llamas")
    in_process(env, "infer", "-m", "mistralai/Mistral-7B-Instruct-v0.1", "-q", "alpacas")

    listing = terminal_output(env, "history", "list")
    header, *rows = [line for line in listing.splitlines() if line.strip()]
    assert header.split() == ["ID", "Time", "Model", "Status", "Tokens", "Cost", "Prompt"]
    assert rows[1].split()[0] == "1" and rows[1].rstrip().endswith("a haiku about llamas")
    assert "\t" not in listing

    shown = terminal_output(env, "history", "show", "1")
    assert re.search(r"╭─ input ─+╮\s*\n│ a haiku about llamas +│", shown)
    assert re.search(r"╭─ result ─+╮\s*\n│ Soft wool +│", shown)

    totals = terminal_output(env, "history", "stats")
    assert re.search(r"^total +2 ", totals, re.M)
