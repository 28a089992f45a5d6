"""Hostile answers of 1 GB, served by the emulator: llamactl must end each with one error
line and exit 5, within seconds, its memory bounded (docs/troubleshooting.md, the limits).

1. a stream whose second event is one 1 GB `data:` line;
2. a stream of 1 GB of comment lines after its first token;
3. the same comments gzip-compressed (a gzip bomb: a few MB that inflate to 1 GB);
4. a stream event of 1 GB of `data:` lines without a blank line;
5. a 1 GB JSON answer (--no-stream);
6. a 1 GB JSON answer gzip-compressed (a gzip bomb);
7. a slowloris (a byte every 10 ms, for ever) with --timeout 1 and --max-time 3.

Each row: exit code, wall time, peak RSS (GNU time) and the error line; the first row is a
normal answer, for scale.

    .venv/bin/python bench/hostile.py [--gigabytes 1]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time

from emulated import MODEL, Behavior, Emulator, client_env
from timing import REPO, llamactl_script

GB = 1024**3


def cases(size: int) -> list[tuple[str, Behavior, list[str]]]:
    first = {"tokens": ["Alpha", " beta"], "flood_after": 1, "flood_bytes": size}
    return [
        ("a normal streamed answer", Behavior(tokens=["Alpha", " beta"]), []),
        ("stream: one 1 GB data line", Behavior(flood="data_line", **first), []),
        ("stream: 1 GB of comment lines", Behavior(flood="comments", **first), []),
        ("stream: 1 GB of comments, gzip", Behavior(flood="comments", gzip=True, **first), []),
        ("stream: an event of 1 GB of data lines", Behavior(flood="data_lines", **first), []),
        ("JSON answer of 1 GB", Behavior(flood="body", flood_bytes=size), ["--no-stream"]),
        ("JSON answer of 1 GB, gzip", Behavior(flood="body", gzip=True, flood_bytes=size), ["--no-stream"]),
        (
            "slowloris: a byte every 10 ms, --max-time 3",
            Behavior(tokens=["Alpha"], flood="comments", flood_after=1, drip=0.01),
            ["--timeout", "1", "--max-time", "3"],
        ),
    ]


def run(command: list[str], env: dict) -> tuple[int, float, float, str]:
    """Exit code, wall seconds, peak RSS in MiB and the last stderr line of one run."""
    with tempfile.NamedTemporaryFile("r") as rss, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        proc = subprocess.run(
            ["/usr/bin/time", "-f", "%M", "-o", rss.name, *command],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            cwd=REPO,
            timeout=600,
        )
        wall = time.monotonic() - started
        err.seek(0)
        lines = [
            line for line in err.read().decode("utf-8", "replace").splitlines() if line.startswith("error:")
        ]
        return proc.returncode, wall, int(rss.read().split()[-1]) / 1024, lines[-1] if lines else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gigabytes", type=float, default=1.0)
    size = int(parser.parse_args().gigabytes * GB)
    if not os.path.exists("/usr/bin/time"):
        raise SystemExit("needs GNU time (/usr/bin/time) for the peak RSS")
    command = [llamactl_script(), "infer", "-m", MODEL, "--no-history", "hi"]
    print(f"{'case':<45} {'exit':>4} {'wall':>8} {'peak RSS':>10}  error")
    with Emulator() as emulator:
        env = client_env(emulator)
        for name, behavior, args in cases(size):
            emulator.reset()
            emulator.behave(behavior)
            code, wall, rss, error = run([*command[:-1], *args, command[-1]], env)
            print(f"{name:<45} {code:>4} {wall:>7.2f}s {rss:>7.1f} MiB  {error[:90]}")


if __name__ == "__main__":
    main()
