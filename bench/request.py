"""One non-streamed request end to end: `llamactl infer -m M "hi" --no-stream` against a
bare script that imports typer and requests and makes the same POST (target 1.3x), with
history on and off, plus which heavy modules each path imports.

    .venv/bin/python bench/request.py [--runs 30]
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from emulated import MODEL, Emulator, client_env
from timing import compare, llamactl_script, report

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
        [sys.executable, "-X", "importtime", *command[1:]]
        if command[0] == sys.executable
        else [sys.executable, "-X", "importtime", "-m", "llamactl", *command[1:]],
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
    runs = parser.parse_args().runs
    with Emulator() as emulator:
        env = client_env(emulator)
        commands = {
            "bare typer+requests POST": [sys.executable, "-c", BARE, MODEL, "hi"],
            "llamactl infer --no-stream": [
                llamactl_script(),
                "infer",
                "-m",
                MODEL,
                "--no-stream",
                "-q",
                "hi",
            ],
            "llamactl infer --no-stream --no-history": [
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
        ok = report(
            "one request, no streaming", compare(commands, runs, env), "bare typer+requests POST", 1.3
        )
        print("\nheavy modules imported:")
        for name, command in commands.items():
            print(f"  {name:<40} {', '.join(imported_heavy(command, env)) or '-'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
