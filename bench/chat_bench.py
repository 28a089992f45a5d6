"""`llamactl chat`'s costs, as ratios and differences measured in one run:

1. a chat turn's overhead beyond the same request made the way `infer` makes it (the
   same message list, folded into the same prompt, sent and recorded in history): goal
   under 5 ms per turn;
2. that overhead at the 50th turn against the 1st: the client does no more per turn as
   the conversation grows, beyond sending the longer message list (no re-reading of the
   whole history per turn);
3. `llamactl chat` from start to its first prompt on a terminal, against
   `llamactl infer --help` (target 1.3x).

    .venv/bin/python bench/chat_bench.py [--turns 60] [--runs 15]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time

from emulated import MODEL, Emulator, client_env
from timing import llamactl_script, run_once

OVERHEAD_GOAL_MS = 5.0
STARTUP_TARGET = 1.3


def turn_overheads(emulator: Emulator, turns: int) -> list[tuple[float, float]]:
    """For turn 1..`turns`: (infer-style request ms, chat turn ms) for the same message list."""
    from llamactl.chat.conversation import Conversation
    from llamactl.chat.repl import ChatSession
    from llamactl.chat.turn import TurnSettings, prepare_turn
    from llamactl.env import Environment
    from llamactl.history.conversation_log import ConversationLog
    from llamactl.inference.session import RunSettings, run_request
    from llamactl.output.views import view_for

    environ = client_env(emulator)
    sink = open(os.devnull, "w")  # noqa: SIM115 - for the whole measurement
    env = Environment(
        api_url=emulator.url,
        environ=environ,
        stdin=io.StringIO(),
        stdout=sink,
        stderr=sink,
        stdin_isatty=False,
        stdout_isatty=False,
        stderr_isatty=False,
    )
    settings = TurnSettings(api="native", fields={"stream": True}, timeout=30, retries=0)
    conversation = Conversation.new(MODEL, "native", "Be brief.")
    log = ConversationLog(env, env.output.warn)
    session = ChatSession(env, conversation, log, settings, MODEL, report=lambda exc: None)
    times = []
    for number in range(1, turns + 1):
        text = f"message number {number} of the benchmark"
        _turn, request = prepare_turn(conversation, text, MODEL, settings)
        view = view_for(env.output, [], False)
        started = time.perf_counter()
        run_request(env, request, view, RunSettings(timeout=30, retries=0))  # infer's way, recorded
        view.finish()
        infer_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        session.turn(text)
        times.append((infer_ms, (time.perf_counter() - started) * 1000))
    log.close()
    return times


def chat_startup(env: dict) -> float:
    """Seconds from starting `llamactl chat` on a pty to its first prompt."""
    import pexpect

    started = time.perf_counter()
    child = pexpect.spawn(
        llamactl_script(), ["chat", "-m", MODEL, "-q"], env=env, encoding="utf-8", timeout=30
    )
    child.expect_exact("> ")
    elapsed = time.perf_counter() - started
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=60)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    ok = True
    with Emulator() as emulator:
        times = turn_overheads(emulator, args.turns)
        overheads = [chat - infer for infer, chat in times]
        first, late = overheads[:10], overheads[40:50] if len(overheads) >= 50 else overheads[-10:]
        median_all = statistics.median(overheads)
        print("\nchat turn against the same request sent infer's way (ms, medians)")
        print(f"  infer-style request, turns 1-10      {statistics.median(t[0] for t in times[:10]):7.2f}")
        print(f"  chat turn,           turns 1-10      {statistics.median(t[1] for t in times[:10]):7.2f}")
        print(f"  infer-style request, turns 41-50     {statistics.median(t[0] for t in times[40:50]):7.2f}")
        print(f"  chat turn,           turns 41-50     {statistics.median(t[1] for t in times[40:50]):7.2f}")
        print(f"  overhead, turns 1-10                 {statistics.median(first):7.2f}")
        print(f"  overhead, turns 41-50                {statistics.median(late):7.2f}")
        passed = median_all < OVERHEAD_GOAL_MS
        ok &= passed
        print(
            f"  overhead, all {len(overheads)} turns               {median_all:7.2f}"
            f"   (goal < {OVERHEAD_GOAL_MS} ms: {'ok' if passed else 'MISSED'})"
        )
        growth = statistics.median(late) - statistics.median(first)
        print(f"  overhead growth, 50th vs 1st         {growth:+7.2f}   (goal: about 0)")

        env = client_env(emulator)
        help_command = [llamactl_script(), "infer", "--help"]
        run_once(help_command, env)
        chat_startup(env)  # warm the page cache
        helps, chats = [], []
        for _ in range(args.runs):
            helps.append(run_once(help_command, env)[0])
            chats.append(chat_startup(env))
        ratio = statistics.median(chats) / statistics.median(helps)
        passed = ratio <= STARTUP_TARGET
        ok &= passed
        print("\nstartup")
        print(f"  llamactl infer --help                {statistics.median(helps) * 1000:7.1f} ms")
        print(
            f"  llamactl chat to its first prompt    {statistics.median(chats) * 1000:7.1f} ms"
            f"   {ratio:.2f}x   (target <= {STARTUP_TARGET}x: {'ok' if passed else 'MISSED'})"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(__file__))
    raise SystemExit(main())
