"""`llamactl infer --batch` while another program holds the history database's write lock
for the whole run (SQLite's busy timeout is 5 s): the wall time of the batch, and how long
a Ctrl-C takes once every line is answered and the batch only waits for history.

    .venv/bin/python bench/batch_locked_history.py [--lines 20] [--llamactl PATH]

`--llamactl` runs another installation (an older checkout's .venv/bin/llamactl) for a
before/after figure.
"""

from __future__ import annotations

import argparse
import signal
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

from emulated import MODEL, Emulator, client_env
from timing import REPO, llamactl_script


def locked(env: dict, llamactl: str) -> sqlite3.Connection:
    subprocess.run([llamactl, "history", "list"], env=env, check=True, stdout=subprocess.DEVNULL)
    blocker = sqlite3.connect(Path(env["LLAMACTL_HOME"]) / "history.db", isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    return blocker


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=20)
    parser.add_argument("--llamactl", default=None)
    args = parser.parse_args()
    llamactl = args.llamactl or llamactl_script()
    with Emulator() as emulator, tempfile.TemporaryDirectory() as scratch:
        prompts = Path(scratch) / "prompts.jsonl"
        prompts.write_text("".join(f'"prompt {n}"\n' for n in range(args.lines)))
        output = Path(scratch) / "out.jsonl"
        command = [llamactl, "infer", "-m", MODEL, "--batch", str(prompts), "-q", "--output", str(output)]

        env = client_env(emulator)
        blocker = locked(env, llamactl)
        start = time.perf_counter()
        code = subprocess.run(command, env=env, cwd=REPO, stdin=subprocess.DEVNULL, capture_output=True)
        whole = time.perf_counter() - start
        blocker.close()

        env = client_env(emulator)
        blocker = locked(env, llamactl)
        output.write_text("")
        before = output.stat().st_ino
        proc = subprocess.Popen(command, env=env, cwd=REPO, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
        while output.stat().st_ino == before:  # the final rewrite: every line is answered
            time.sleep(0.005)
        sent = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        proc.wait()
        after_ctrl_c = time.perf_counter() - sent
        blocker.close()

    print(f"\n{args.lines} lines, history database locked for the whole run ({llamactl})")
    print(f"  the batch                     {whole:7.2f} s   exit {code.returncode}")
    print(f"  Ctrl-C while history waits    {after_ctrl_c:7.2f} s   exit {proc.returncode}")
    print(f"  stderr after Ctrl-C: {proc.stderr.read().decode().strip()!r}" if proc.stderr else "")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
