"""Run the DeepInfra API emulator in the foreground, for trying llamactl by hand.

    python -m tests.emulator [--port 8080] [--host 127.0.0.1] [--token TOKEN]... [--quiet]
    python -m tests.emulator --run -- COMMAND [ARG]...

It prints its base URL and the accepted token, logs each request on stderr and serves
until Ctrl-C or SIGTERM.  Point llamactl at it with, for example:

    DEEPINFRA_HOST=http://127.0.0.1:8080 DEEPINFRA_TOKEN=emu-test-token-9f3b2c71d4 \\
        llamactl infer -m meta-llama/Llama-2-70b-chat-hf "Hello there"

`--token` may be repeated; without it the emulator accepts `VALID_TOKEN`.  Run it from the
repository root so that `tests` is importable.

`--run -- COMMAND...` serves on a free port, runs COMMAND with DEEPINFRA_HOST and
DEEPINFRA_TOKEN pointing at the emulator (tokens paced like a real model, so streaming
shows), then stops and exits with COMMAND's exit code.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading

from . import VALID_TOKEN, Behavior, Emulator

RUN_TOKEN_DELAY = 0.04  # seconds between tokens in --run mode, about a real model's pace


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.emulator", description="Serve the local DeepInfra API emulator."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=8080, help="port to bind; 0 picks a free one (default 8080)"
    )
    parser.add_argument("--token", action="append", help=f"accepted bearer token (default {VALID_TOKEN})")
    parser.add_argument("--quiet", action="store_true", help="do not log requests")
    parser.add_argument(
        "--run",
        action="store_true",
        help="--run -- COMMAND...: serve on a free port, run COMMAND against it, exit with its code",
    )
    argv = sys.argv[1:] if argv is None else argv
    if "--run" in argv:  # everything after it is the command, whatever it looks like
        at = argv.index("--run")
        command = argv[at + 1 :]
        parser.parse_args(argv[:at])
        sys.exit(run_command(command[1:] if command[:1] == ["--"] else command))
    args = parser.parse_args(argv)
    emulator = Emulator(
        tokens=set(args.token or [VALID_TOKEN]), host=args.host, port=args.port, log_requests=not args.quiet
    )
    # Also when started in the background, where a shell may have set SIGINT to "ignore".
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        emulator.start()
        print(f"DeepInfra emulator listening on {emulator.url}", flush=True)
        for token in sorted(emulator.tokens):
            print(f"accepted token: {token}", flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()


def run_command(command: list[str]) -> int:
    """Run one command against a fresh emulator on a free port."""
    if not command:
        print("--run needs a command after --", file=sys.stderr)
        return 2
    with Emulator(port=0) as emulator:
        emulator.behave(Behavior(token_delay=RUN_TOKEN_DELAY))
        env = {**os.environ, "DEEPINFRA_HOST": emulator.url, "DEEPINFRA_TOKEN": VALID_TOKEN}
        try:
            return subprocess.call(command, env=env)
        except FileNotFoundError:
            print(f"--run: command not found: {command[0]}", file=sys.stderr)
            return 127
        except KeyboardInterrupt:
            return 130


if __name__ == "__main__":
    main()
