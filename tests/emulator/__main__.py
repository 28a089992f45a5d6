"""Run the DeepInfra API emulator in the foreground, for trying llamactl by hand.

    python -m tests.emulator [--port 8080] [--host 127.0.0.1] [--token TOKEN]... [--quiet]

It prints its base URL and the accepted token, logs each request on stderr and serves
until Ctrl-C.  Point llamactl at it with, for example:

    DEEPINFRA_HOST=http://127.0.0.1:8080 DEEPINFRA_TOKEN=emu-test-token-9f3b2c71d4 \\
        llamactl infer -m meta-llama/Llama-2-70b-chat-hf "Hello there"

`--token` may be repeated; without it the emulator accepts `VALID_TOKEN`.  Run it from the
repository root so that `tests` is importable.
"""

from __future__ import annotations

import argparse
import threading

from .server import VALID_TOKEN, Emulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.emulator",
                                     description="Serve the local DeepInfra API emulator.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to bind; 0 picks a free one (default 8080)")
    parser.add_argument("--token", action="append", help=f"accepted bearer token (default {VALID_TOKEN})")
    parser.add_argument("--quiet", action="store_true", help="do not log requests")
    args = parser.parse_args(argv)
    emulator = Emulator(tokens=set(args.token or [VALID_TOKEN]), host=args.host, port=args.port,
                        log_requests=not args.quiet)
    emulator.start()
    print(f"DeepInfra emulator listening on {emulator.url}", flush=True)
    for token in sorted(emulator.tokens):
        print(f"accepted token: {token}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()


if __name__ == "__main__":
    main()
