"""The streaming path, measured against the emulator:

1. throughput: a 100,000-token stream piped to /dev/null; llamactl's CPU per token against
   sseclient-py parsing the same bytes in a bare loop (target 1.5x), and peak memory
   against the same stream at 1,000 tokens (it should grow by about the text, no more);
2. first-token latency: a stream that sends one token and then pauses; the time from the
   server writing it to the token being readable on llamactl's stdout pipe (target
   10 ms), chunked and close-delimited;
3. terminal rendering: 500, 2,000 and 8,000 tokens into a pseudo-terminal with Rich on;
   the per-token cost must stay flat (8,000 tokens at most 20x the cost of 500);
4. peak memory of a simple infer (target 60 MiB);
5. the OpenAI-compatible chat stream (`infer --api openai`) against the native stream:
   CPU per token of the same tokens, each on its own API (target: within 1.1x).

    .venv/bin/python bench/streaming.py [--tokens 100000] [--latency-runs 20] [--only openai]
"""

from __future__ import annotations

import argparse
import os
import pty
import select
import statistics
import subprocess
import sys
import tempfile
import time

from emulated import MODEL, Behavior, Emulator, client_env, first_token_watched
from timing import llamactl_script, run_once


def words(count: int) -> list[str]:
    return [f" w{index % 1000}" for index in range(count)]


def peak_rss_mib(command: list[str], env: dict) -> float | None:
    """Peak RSS of `command` measured by GNU time, which starts it from a small process
    (a child forked from this large one would inherit its high-water mark)."""
    if not os.path.exists("/usr/bin/time"):
        return None
    with tempfile.NamedTemporaryFile("r") as out:
        subprocess.run(
            ["/usr/bin/time", "-f", "%M", "-o", out.name, *command],
            env=env,
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return int(out.read().split()[-1]) / 1024


def cpu_per_token(command: list[str], env: dict, emulator: Emulator, tokens: int) -> float:
    """CPU per token beyond start-up: (a long stream - a one-token stream) / tokens."""
    emulator.behave(Behavior(tokens=words(1)))
    idle = min(run_once(command, env)[1] for _ in range(3))
    emulator.behave(Behavior(tokens=words(tokens)))
    busy = min(run_once(command, env)[1] for _ in range(3))
    return (busy - idle) / tokens


BARE_SSECLIENT = """
import os, sys, requests
from sseclient import SSEClient
answer = requests.post(os.environ["DEEPINFRA_HOST"] + "/v1/inference/" + sys.argv[1], stream=True,
                       json={"input": "hi", "stream": True},
                       headers={"Authorization": "Bearer " + os.environ["DEEPINFRA_TOKEN"]})
for event in SSEClient(answer).events():
    pass
"""


def stream_bytes(emulator: Emulator, count: int) -> bytes:
    import requests
    from emulated import VALID_TOKEN

    emulator.behave(Behavior(tokens=words(count)))
    answer = requests.post(
        f"{emulator.url}/v1/inference/{MODEL}",
        json={"input": "x", "stream": True},
        headers={"Authorization": f"Bearer {VALID_TOKEN}"},
    )
    return answer.content


def in_memory_sseclient_per_event(raw: bytes, events: int) -> float:
    from sseclient import SSEClient

    chunks = [raw[i : i + 65536] for i in range(0, len(raw), 65536)]
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        seen = sum(1 for _ in SSEClient(iter(chunks)).events())
        best = min(best, time.process_time() - start)
    assert seen >= events
    return best / events


def throughput(emulator: Emulator, env: dict, tokens: int) -> None:
    llamactl = [llamactl_script(), "infer", "-m", MODEL, "-q", "--no-history", "hi"]
    bare = [sys.executable, "-c", BARE_SSECLIENT, MODEL]
    raw = stream_bytes(emulator, tokens)
    baseline = cpu_per_token(bare, env, emulator, tokens)
    ours = cpu_per_token(llamactl, env, emulator, tokens)
    print(
        f"\nthroughput: {tokens:,} tokens, as fast as the emulator sends, to /dev/null ({len(raw) / 1e6:.1f} MB of SSE)"
    )
    print(f"  sseclient-py over requests, bare loop   {baseline * 1e6:6.2f} µs/event   (CPU beyond start-up)")
    print(
        f"  llamactl infer | /dev/null              {ours * 1e6:6.2f} µs/token   {ours / baseline:4.2f}x   (target <= 1.5x)"
    )
    print(
        f"  (sseclient-py alone on the bytes in memory: {in_memory_sseclient_per_event(raw, tokens) * 1e6:.2f} µs/event)"
    )
    text_mib = sum(len(w.encode()) for w in words(tokens)) / 2**20
    for name, command in (("llamactl", llamactl), ("bare loop (keeps no text)", bare)):
        emulator.behave(Behavior(tokens=words(1000)))
        small = peak_rss_mib(command, env)
        emulator.behave(Behavior(tokens=words(tokens)))
        big = peak_rss_mib(command, env)
        if small is not None and big is not None:
            print(
                f"  peak RSS, {name}: 1,000 tokens {small:.1f} MiB, {tokens:,} tokens {big:.1f} MiB "
                f"(+{big - small:.1f} MiB; the text is {text_mib:.1f} MiB)"
            )


def first_token_latency(emulator: Emulator, env: dict, runs: int) -> None:
    print(f"\nfirst-token latency: server write -> readable on llamactl's stdout pipe ({runs} runs)")
    for framing in ("chunked", "close"):
        samples = []
        for _ in range(runs):
            gate, written_at, watcher = first_token_watched(emulator, framing=framing)
            proc = subprocess.Popen(
                [llamactl_script(), "infer", "-m", MODEL, "-q", "--no-history", "hi"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            ready, _, _ = select.select([proc.stdout], [], [], 30)
            read_at = time.perf_counter()
            assert ready and os.read(proc.stdout.fileno(), 64) == b"first"
            watcher.join()
            samples.append(read_at - written_at[0])
            gate.set()
            proc.wait()
        print(
            f"  {framing:<8} median {statistics.median(samples) * 1000:6.2f} ms   max {max(samples) * 1000:6.2f} ms   (target 10 ms)"
        )


def render_in_terminal(emulator: Emulator, env: dict) -> None:
    print("\nrendering in a pseudo-terminal (Rich on): CPU per run")
    costs = {}
    for count in (1, 500, 2000, 8000):
        emulator.behave(Behavior(tokens=words(count)))
        runs = []
        for _ in range(3):
            pid, master = pty.fork()
            if pid == 0:
                os.execve(
                    llamactl_script(), [llamactl_script(), "infer", "-m", MODEL, "--no-history", "hi"], env
                )
            while True:
                try:
                    if not os.read(master, 65536):
                        break
                except OSError:
                    break
            _, _, usage = os.wait4(pid, 0)
            os.close(master)
            runs.append(usage.ru_utime + usage.ru_stime)
        costs[count] = min(runs)
    idle = costs.pop(1)
    for count, cost in costs.items():
        print(
            f"  {count:>5} tokens  {cost * 1000:7.1f} ms CPU  {(cost - idle) / count * 1e6:6.1f} µs/token beyond start-up"
        )
    print(
        f"  8000 / 500 = {costs[8000] / costs[500]:.2f}x   (target <= 20x); "
        f"per-token 8000 vs 500: {((costs[8000] - idle) / 8000) / ((costs[500] - idle) / 500):.2f}x"
    )


def simple_infer_memory(emulator: Emulator, env: dict) -> None:
    emulator.behave(Behavior())
    streamed = peak_rss_mib([llamactl_script(), "infer", "-m", MODEL, "hi"], env)
    whole = peak_rss_mib([llamactl_script(), "infer", "-m", MODEL, "--no-stream", "hi"], env)
    if streamed is None or whole is None:
        print("\npeak memory: /usr/bin/time (Debian package 'time') is needed")
        return
    print(
        f"\npeak memory of a simple infer (history on): streamed {streamed:.1f} MiB, "
        f"--no-stream {whole:.1f} MiB   (target < 60 MiB)"
    )


def openai_against_native(emulator: Emulator, env: dict, tokens: int) -> None:
    """The same tokens streamed by each API into /dev/null: the chat chunks are larger JSON
    (id, model, choices, delta), so this is the price of the OpenAI stream's parsing."""
    command = [llamactl_script(), "infer", "-m", MODEL, "-q", "--no-history", "hi"]
    native = cpu_per_token(command, env, emulator, tokens)
    chat = cpu_per_token([*command[:2], "--api", "openai", *command[2:]], env, emulator, tokens)
    print(f"\nOpenAI chat stream against the native stream: {tokens:,} tokens to /dev/null")
    print(f"  llamactl infer (native)        {native * 1e6:6.2f} µs/token   (CPU beyond start-up)")
    print(
        f"  llamactl infer --api openai    {chat * 1e6:6.2f} µs/token   {chat / native:4.2f}x   (target <= 1.1x)"
    )


SECTIONS = ("throughput", "latency", "terminal", "memory", "openai")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=100_000)
    parser.add_argument("--latency-runs", type=int, default=20)
    parser.add_argument("--only", choices=SECTIONS, action="append", help="run only these sections")
    args = parser.parse_args()
    chosen = set(args.only or SECTIONS)
    with Emulator() as emulator:
        env = client_env(emulator)
        if "throughput" in chosen:
            throughput(emulator, env, args.tokens)
        if "latency" in chosen:
            first_token_latency(emulator, env, args.latency_runs)
        if "terminal" in chosen:
            render_in_terminal(emulator, env)
        if "memory" in chosen:
            simple_infer_memory(emulator, env)
        if "openai" in chosen:
            openai_against_native(emulator, env, args.tokens)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
