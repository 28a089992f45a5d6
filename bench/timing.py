"""Shared helpers for the benchmarks: run commands repeatedly, interleaved, and compare
medians. Ratios against a baseline measured in the same run are what we report, since
absolute times drift on a shared machine."""

from __future__ import annotations

import compileall
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def llamactl_script() -> str:
    """The installed console script, as users run it."""
    script = BIN / "llamactl"
    if not script.exists():
        raise SystemExit(f"no llamactl script next to {sys.executable}: pip install -e . first")
    return str(script)


def ensure_bytecode() -> None:
    """Compile llamactl's modules to __pycache__ as `pip install` does for a wheel. With
    PYTHONDONTWRITEBYTECODE set (as on the development machines) an editable install would
    otherwise compile every llamactl module from source on every run, while the bare
    scripts' site-packages have their bytecode: that is not what a user's run costs."""
    compileall.compile_dir(REPO / "llamactl", quiet=1)


def instructions(command: list[str], env: dict | None = None) -> int:
    """CPU instructions one run of `command` executes, counted by valgrind's callgrind:
    deterministic where wall time on a loaded machine is not (PYTHONHASHSEED=0 fixes the
    one source of variation inside Python)."""
    if shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind (apt-get install valgrind)")
    env = {**(os.environ if env is None else env), "PYTHONHASHSEED": "0"}
    probe = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    found = re.search(r"Collected : (\d+)", probe.stderr)
    if probe.returncode != 0 or found is None:
        raise SystemExit(f"{command} under valgrind exited {probe.returncode}: {probe.stderr[-2000:]}")
    return int(found.group(1))


def report_counts(title: str, counts: dict[str, int], baseline: str, target: float | None = None) -> bool:
    """`report` for instruction counts."""
    return report(title, counts, baseline, target, shown=lambda value: f"{value / 1e6:8.1f} M instructions")


def run_once(
    command: list[str], env: dict | None = None, stdin=subprocess.DEVNULL
) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user+sys) and peak RSS in KiB of one run of `command`."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        command, env=env, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{command} exited {proc.returncode}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def compare(commands: dict[str, list[str]], runs: int, env: dict | None = None) -> dict[str, float]:
    """Median wall time of each command, the runs interleaved so drift hits all alike."""
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for command in commands.values():  # warm the page cache first
        run_once(command, env)
    for _ in range(runs):
        for name, command in commands.items():
            samples[name].append(run_once(command, env)[0])
    return {name: statistics.median(values) for name, values in samples.items()}


def report(
    title: str,
    medians: dict[str, float] | dict[str, int],
    baseline: str,
    target: float | None = None,
    shown=lambda value: f"{value * 1000:8.1f} ms",
) -> bool:
    print(f"\n{title}")
    ok = True
    for name, value in medians.items():
        ratio = value / medians[baseline]
        line = f"  {name:<40} {shown(value)}   {ratio:5.3f}x {baseline}"
        if name != baseline and target is not None:
            passed = ratio <= target
            ok = ok and passed
            line += f"   (target <= {target}x: {'ok' if passed else 'MISSED'})"
        print(line)
    return ok


def run_watched(command: list[str], env: dict | None = None) -> tuple[float, float, int]:
    """run_once, with the peak RSS read from the child's own /proc/PID/status (VmHWM) as it
    runs. rusage's maxrss also counts the parent's size at fork, which is large when the
    benchmark's emulator holds big files; VmHWM starts afresh at exec."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        command,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=REPO,
    )
    peak = 0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        try:
            for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except OSError:
            pass
        time.sleep(0.005)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{command} exited {proc.returncode}")
    return wall, usage.ru_utime + usage.ru_stime, peak


def children_peak_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
