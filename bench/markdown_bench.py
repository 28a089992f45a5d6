"""Markdown on a terminal, measured in a real pseudo-terminal against the emulator (issue 15):

1. a mixed Markdown answer (headings, paragraphs, lists, a table, code blocks) of 500,
   2,000, 8,000 and 32,000 tokens: CPU per token beyond start-up, Markdown on and --no-md
   (targets: 32,000 at most 1.5x the per-token cost of 500; Markdown at most 2x --no-md);
2. one code block of 4,000 lines: the same, still flat;
3. the bytes written to the terminal per byte of the answer (linear: no re-render of
   committed text);
4. first-token latency: the server writes one token, then waits; the time until it is
   readable on the pty's master side, Markdown on (target 10 ms).

    .venv/bin/python bench/markdown_bench.py [--sizes 500,2000,8000,32000] [--runs 3]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import re
import select
import statistics
import struct
import termios
import time

from emulated import MODEL, Behavior, Emulator, client_env, first_token_watched
from timing import llamactl_script

ROWS, COLUMNS = 40, 100
WORDS = re.compile(r"\s*\S+|\s+$")  # a model's tokens: words with the whitespace before them


def mixed_tokens(count: int) -> list[str]:
    """A long answer as a model streams it (words with the whitespace before them)."""
    section = 0
    tokens: list[str] = []
    while len(tokens) < count:
        section += 1
        text = (
            f"## Part {section}\n\n"
            + " ".join(
                f"This is **sentence {n}** of part {section}, with `code` and *words*." for n in range(6)
            )
            + "\n\n"
            + "".join(f"- item {n} of part {section}, a few words long\n" for n in range(5))
            + "\n| name | value |\n|------|-------|\n"
            + "".join(f"| row {n} | {n * section} |\n" for n in range(4))
            + "\n```python\n"
            + "".join(f"def f_{section}_{n}(x):\n    return x * {n}  # line {n}\n" for n in range(10))
            + "```\n\n"
        )
        tokens += WORDS.findall(text)
    return tokens[:count]


def code_block_tokens(lines: int) -> list[str]:
    tokens = ["```python\n"]
    for n in range(lines):
        tokens += [f"value_{n}", " =", f" compute({n},", " 'text')", "\n"]
    return tokens + ["```\n"]


def run_in_pty(env: dict, args: list[str]) -> tuple[float, int]:
    """CPU seconds of one run in a pseudo-terminal ROWS x COLUMNS, and the bytes it wrote."""
    pid, master = pty.fork()
    if pid == 0:
        os.execve(llamactl_script(), [llamactl_script(), *args], env)
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
    written = 0
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        written += len(chunk)
    _, _, usage = os.wait4(pid, 0)
    os.close(master)
    return usage.ru_utime + usage.ru_stime, written


def measure(
    emulator: Emulator, env: dict, tokens: list[str], flags: list[str], runs: int
) -> tuple[float, int]:
    emulator.behave(Behavior(tokens=tokens))
    samples = [
        run_in_pty(env, ["infer", "-m", MODEL, "-q", "--no-history", *flags, "hi"]) for _ in range(runs)
    ]
    return min(cpu for cpu, _ in samples), samples[0][1]


def per_token_table(
    emulator: Emulator, env: dict, title: str, cases: dict[int, list[str]], runs: int
) -> None:
    print(f"\n{title}: CPU per token beyond start-up (best of {runs}), {ROWS}x{COLUMNS} pty")
    idle = {
        flag: measure(emulator, env, ["hi"], flags, runs)[0]
        for flag, flags in (("md", []), ("plain", ["--no-md"]))
    }
    first = None
    for size, tokens in cases.items():
        answer_bytes = len("".join(tokens).encode())
        md_cpu, md_bytes = measure(emulator, env, tokens, [], runs)
        plain_cpu, plain_bytes = measure(emulator, env, tokens, ["--no-md"], runs)
        md_per = (md_cpu - idle["md"]) / len(tokens)
        plain_per = (plain_cpu - idle["plain"]) / len(tokens)
        first = first or md_per
        print(
            f"  {size:>6} {'lines' if 'code' in title else 'tokens'} ({len(tokens):>6} tokens): "
            f"md {md_per * 1e6:6.1f} µs/token ({md_per / first:4.2f}x the first size)   "
            f"--no-md {plain_per * 1e6:5.1f} µs/token   md/no-md {md_per / plain_per:4.2f}x   "
            f"bytes to the terminal / answer bytes: md {md_bytes / answer_bytes:4.2f}, "
            f"--no-md {plain_bytes / answer_bytes:4.2f}"
        )


def first_token_latency(emulator: Emulator, env: dict, runs: int, delay: float, flags: list[str]) -> None:
    """`delay`: the model's time to its first token (the renderer warms up meanwhile)."""
    samples = []
    for _ in range(runs):
        gate, stamps, watcher = first_token_watched(emulator, first_byte_delay=delay)
        pid, master = pty.fork()
        if pid == 0:
            os.execve(
                llamactl_script(),
                [llamactl_script(), "infer", "-m", MODEL, "-q", "--no-history", *flags, "hi"],
                env,
            )
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
        seen = b""
        while b"first" not in seen:
            ready, _, _ = select.select([master], [], [], 30)
            assert ready, "no first token"
            seen += os.read(master, 65536)
        read_at = time.perf_counter()
        watcher.join()
        samples.append(read_at - stamps[0])
        gate.set()
        while True:
            try:
                if not os.read(master, 65536):
                    break
            except OSError:
                break
        os.waitpid(pid, 0)
        os.close(master)
    print(
        f"  {' '.join(flags) or 'Markdown on':<12} first token after {delay:.1f} s: median "
        f"{statistics.median(samples) * 1000:6.2f} ms   max {max(samples) * 1000:6.2f} ms   (target 10 ms)"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="500,2000,8000,32000")
    parser.add_argument("--code-lines", type=int, default=4000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--latency-runs", type=int, default=20)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    with Emulator() as emulator:
        env = client_env(emulator, TERM="xterm-256color")
        per_token_table(
            emulator, env, "mixed Markdown answer", {size: mixed_tokens(size) for size in sizes}, args.runs
        )
        code = {lines: code_block_tokens(lines) for lines in (args.code_lines // 8, args.code_lines)}
        per_token_table(emulator, env, "one code block", code, args.runs)
        print(
            f"\nfirst-token latency in a pty: server write -> readable on the master ({args.latency_runs} runs)"
        )
        for delay in (0.0, 0.5):
            for flags in ([], ["--no-md"]):
                first_token_latency(emulator, env, args.latency_runs, delay, flags)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
