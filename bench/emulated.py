"""The benchmarks' DeepInfra: the test emulator, started in this process."""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time

from timing import REPO

sys.path.insert(0, str(REPO))

from tests.emulator import VALID_TOKEN, Behavior, Emulator  # noqa: E402

MODEL = "meta-llama/Llama-2-70b-chat-hf"


def client_env(emulator: Emulator, **extra: str) -> dict[str, str]:
    """A user with a token from the environment and a private, empty state directory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEEPINFRA_", "LLAMACTL_"))}
    env.update(
        DEEPINFRA_HOST=emulator.url,
        DEEPINFRA_TOKEN=VALID_TOKEN,
        LLAMACTL_HOME=tempfile.mkdtemp(prefix="llamactl-bench-"),
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
    )
    env.update(extra)
    return env


def first_token_watched(
    emulator: Emulator, **behaviour
) -> tuple[threading.Event, list[float], threading.Thread]:
    """Serve the one token "first" (the final event held until the returned gate is set),
    and a started thread that appends to the list the moment the emulator wrote it: the
    start of a first-token latency, whatever reads it on the client's side."""
    gate = threading.Event()
    emulator.reset()
    emulator.behave(Behavior(tokens=["first"], gate=gate, **behaviour))
    written_at: list[float] = []
    watcher = threading.Thread(
        target=lambda: emulator.wait_written(1, 30) and written_at.append(time.perf_counter())
    )
    watcher.start()
    return gate, written_at, watcher


__all__ = ["Behavior", "Emulator", "MODEL", "VALID_TOKEN", "client_env", "first_token_watched"]
