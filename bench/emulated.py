"""The benchmarks' DeepInfra: the test emulator, started in this process."""

from __future__ import annotations

import os
import sys
import tempfile

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


__all__ = ["Behavior", "Emulator", "MODEL", "VALID_TOKEN", "client_env"]
