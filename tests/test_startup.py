"""Start-up work that no import set shows: the garbage collector's first threshold, raised
before Typer loads so that importing does not rescan its young objects some 50 times
(docs/performance.md). Checked on a real run, not by timing it."""

from __future__ import annotations

import subprocess
import sys

from llamactl.entry import GC_THRESHOLD
from tests.helpers import REPO

MODEL = "meta-llama/Llama-2-70b-chat-hf"
PROBE = """
import gc, sys
from llamactl.entry import main
before = gc.get_stats()[0]["collections"]
code = main(sys.argv[1:])
sys.stderr.write(f"\\nGC {code} {gc.get_threshold()[0]} {gc.get_stats()[0]['collections'] - before}\\n")
"""


def run_probe(args: list[str], env: dict) -> tuple[int, int, int]:
    run = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    line = next(line for line in run.stderr.splitlines() if line.startswith("GC "))
    code, threshold, collections = (int(word) for word in line.split()[1:])
    return code, threshold, collections


def test_a_request_starts_up_without_collecting(env):
    """About 50 young-generation collections at the default threshold; none at ours."""
    code, threshold, collections = run_probe(["infer", "-m", MODEL, "--no-stream", "-q", "hi"], env)
    assert code == 0
    assert threshold == GC_THRESHOLD > 700  # Python's default is 700
    assert collections == 0


def test_version_leaves_the_collector_alone(env):
    assert run_probe(["--version"], env)[:2] == (0, 700)
