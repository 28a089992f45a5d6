"""`llamactl infer --batch` against the emulator with a fixed latency per request (50 ms):
1,000 prompts at concurrency 8 against the ideal, 1000 x 50 ms / 8 (target: within 1.25x),
and against a shell loop that starts llamactl once per line. The loop runs on the first
--loop-lines prompts and is extrapolated to all of them (it is the slow one).

    /tmp/v/bin/python bench/batch_bench.py [--lines 1000] [--concurrency 8] [--latency 0.05]
                                           [--loop-lines 100] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
from pathlib import Path

from emulated import MODEL, Behavior, Emulator, client_env
from timing import llamactl_script, run_once

TARGET = 1.25


def write_prompts(directory: Path, count: int) -> tuple[Path, Path]:
    """The same prompts as JSON lines (for --batch) and as plain lines (for the loop)."""
    prompts = [f"Prompt number {number}: name a llama fact" for number in range(1, count + 1)]
    jsonl, plain = directory / "prompts.jsonl", directory / "prompts.txt"
    jsonl.write_text("".join(json.dumps(prompt) + "\n" for prompt in prompts))
    plain.write_text("".join(prompt + "\n" for prompt in prompts))
    return jsonl, plain


def check_batch(command: list[str], env: dict, output: Path, lines: int) -> None:
    """One run with --output, to be sure every line came back ok before timing anything."""
    subprocess.run(
        [*command, "--output", str(output)],
        env=env,
        check=True,
        stdin=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    statuses = [json.loads(line)["status"] for line in output.read_text().splitlines()]
    if len(statuses) != lines or set(statuses) != {"ok"}:
        raise SystemExit(f"the batch did not answer every line: {len(statuses)} records, {set(statuses)}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--loop-lines", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    llamactl = llamactl_script()
    with Emulator() as emulator, tempfile.TemporaryDirectory() as scratch:
        emulator.behave(Behavior(first_byte_delay=args.latency))
        env = client_env(emulator)
        jsonl, plain = write_prompts(Path(scratch), args.lines)
        batch = [
            llamactl,
            "infer",
            "-m",
            MODEL,
            "--batch",
            str(jsonl),
            "--concurrency",
            str(args.concurrency),
            "-q",
        ]
        check_batch(batch, env, Path(scratch) / "check.jsonl", args.lines)
        batch_times = [run_once(batch, env)[0] for _ in range(args.runs)]
        loop_input = Path(scratch) / "loop.txt"
        loop_input.write_text("".join(plain.read_text().splitlines(keepends=True)[: args.loop_lines]))
        # Each llamactl gets /dev/null as stdin: a piped stdin would become its prompt
        # and swallow the rest of the loop's input.
        loop = [
            "bash",
            "-c",
            f'while IFS= read -r line; do "{llamactl}" infer -m {MODEL} --no-stream -q "$line"'
            f' < /dev/null > /dev/null || exit 1; done < "{loop_input}"',
        ]
        loop_seconds = run_once(loop, env)[0] * args.lines / args.loop_lines

    ideal = args.lines * args.latency / args.concurrency
    batch_seconds = statistics.median(batch_times)
    ratio = batch_seconds / ideal
    print(
        f"\n{args.lines} prompts, {args.latency * 1000:.0f} ms per request, concurrency {args.concurrency}"
        f" (median of {args.runs} runs, history on)"
    )
    print(f"  ideal ({args.lines} x {args.latency * 1000:.0f} ms / {args.concurrency})   {ideal:8.2f} s")
    print(
        f"  llamactl infer --batch               {batch_seconds:8.2f} s   {ratio:5.2f}x ideal"
        f"   (target <= {TARGET}x: {'ok' if ratio <= TARGET else 'MISSED'})"
        f"   runs: {', '.join(f'{t:.2f}' for t in batch_times)}"
    )
    print(
        f"  shell loop, one llamactl per line    {loop_seconds:8.2f} s   {loop_seconds / batch_seconds:5.1f}x the batch"
        f"   ({args.loop_lines} lines timed, x{args.lines / args.loop_lines:g})"
    )
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
