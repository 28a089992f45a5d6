"""Start-up cost: `llamactl --version` against `python -c pass` (target 2x), and
`llamactl --help` / `llamactl infer --help` against a minimal Typer app with the same
command tree (target 1.3x).

    .venv/bin/python bench/startup.py [--runs 30]
"""

from __future__ import annotations

import argparse
import sys

from timing import REPO, compare, ensure_bytecode, llamactl_script, report


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    runs = parser.parse_args().runs
    ensure_bytecode()  # as an install has it: no module compiled from source on each run
    python, llamactl, minimal = sys.executable, llamactl_script(), str(REPO / "bench" / "minimal_app.py")
    ok = report(
        "--version",
        compare(
            {
                "python -c pass": [python, "-c", "pass"],
                "llamactl --version": [llamactl, "--version"],
            },
            runs,
        ),
        "python -c pass",
        2.0,
    )
    ok &= report(
        "--help",
        compare(
            {
                "minimal typer app --help": [python, minimal, "--help"],
                "llamactl --help": [llamactl, "--help"],
            },
            runs,
        ),
        "minimal typer app --help",
        1.3,
    )
    ok &= report(
        "infer --help",
        compare(
            {
                "minimal typer app infer --help": [python, minimal, "infer", "--help"],
                "llamactl infer --help": [llamactl, "infer", "--help"],
            },
            runs,
        ),
        "minimal typer app infer --help",
        1.3,
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
