"""One non-streamed request end to end: `llamactl infer -m M "hi" --no-stream` against a
bare script that imports typer and requests and makes the same POST (target 1.1x), with
history on and off, plus which heavy modules each path imports.

    .venv/bin/python bench/request.py [--runs 30]
    .venv/bin/python bench/request.py --instructions     # valgrind instruction counts

Wall time on a loaded machine is noisy; `--instructions` counts the CPU instructions of
one run of each command under valgrind's callgrind instead (deterministic, ~1 min each),
after one unmeasured run, as the timed runs have: the history database then exists, as it
does for every run but a user's first (creating it costs about 7 M instructions once).
Both modes first compile llamactl's bytecode (timing.ensure_bytecode), as an install does.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from emulated import MODEL, Emulator, client_env
from timing import compare, ensure_bytecode, instructions, llamactl_script, report, report_counts, run_once

BARE = """
import os, sys, typer, requests
url = os.environ["DEEPINFRA_HOST"] + "/v1/inference/" + sys.argv[1]
answer = requests.post(url, json={"input": sys.argv[2]},
                       headers={"Authorization": "Bearer " + os.environ["DEEPINFRA_TOKEN"]})
sys.stdout.write(answer.json()["results"][0]["generated_text"])
"""
HEAVY = ("rich", "keyring", "sqlite3", "sseclient", "pydantic")


def imported_heavy(command: list[str], env: dict) -> list[str]:
    probe = subprocess.run(
        [sys.executable, "-X", "importtime", *command[1:]],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    names = {
        line.split("|")[-1].strip() for line in probe.stderr.splitlines() if line.startswith("import time:")
    }
    return sorted(name for name in names if name.split(".")[0] in HEAVY and "." not in name)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--instructions", action="store_true", help="count instructions (valgrind)")
    given = parser.parse_args()
    runs = given.runs
    ensure_bytecode()
    with Emulator() as emulator:
        env = client_env(emulator)
        commands = {
            "bare typer+requests POST": [sys.executable, "-c", BARE, MODEL, "hi"],
            "llamactl infer --no-stream": [
                sys.executable,
                llamactl_script(),
                "infer",
                "-m",
                MODEL,
                "--no-stream",
                "-q",
                "hi",
            ],
            "llamactl infer --no-stream --no-history": [
                sys.executable,
                llamactl_script(),
                "infer",
                "-m",
                MODEL,
                "--no-stream",
                "-q",
                "--no-history",
                "hi",
            ],
        }
        if given.instructions:
            for command in commands.values():  # as the timed runs: the history database exists
                run_once(command, env)
            counts = {name: instructions(command, env) for name, command in commands.items()}
            ok = report_counts("one request, no streaming", counts, "bare typer+requests POST", 1.1)
            return 0 if ok else 1
        ok = report(
            "one request, no streaming", compare(commands, runs, env), "bare typer+requests POST", 1.1
        )
        print("\nheavy modules imported:")
        for name, command in commands.items():
            print(f"  {name:<40} {', '.join(imported_heavy(command, env)) or '-'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
