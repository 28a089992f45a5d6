"""Where `llamactl auth login` keeps tokens: the system keyring, or a 0600 token file.

One token per API host, so a staging or local `--api-url` never receives the production
token and vice versa. Every keyring call (loading the backend included) runs in a worker
thread that is abandoned after a few seconds: a hung D-Bus or a locked collection waiting
for an unlock prompt must not hang the CLI. `keyring` is imported only inside that thread.
"""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from llamactl.env import ensure_private_dir

KEYRING_SERVICE = "llamactl"
TOKEN_FILE_NAME = "tokens.json"


class KeyringUnavailable(Exception):
    """The keyring cannot be used. `missing` means there is no backend at all (a headless
    machine), as opposed to a backend that failed or did not answer in time."""

    def __init__(self, reason: str, missing: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.missing = missing


def _load_backend():
    """The backend keyring's own configuration selects (PYTHON_KEYRING_BACKEND, keyringrc,
    else the best one installed), detected afresh for each command."""
    import keyring.core
    from keyring.backends import fail, null

    try:
        keyring.core.init_backend()
    except Exception as exc:  # a configured backend that cannot load or is not viable here
        raise KeyringUnavailable(
            f"the configured keyring backend cannot be used ({type(exc).__name__}: {exc})"
        ) from None
    backend = keyring.core.get_keyring()
    if type(backend).__module__.startswith("keyrings.alt") and not _configured_by_user():
        # keyrings.alt's file backends (plain or base64 text in ~/.local/share) are what
        # keyring's detection falls back to when only they are installed: not a system
        # keyring. They are used only when the user selects one explicitly.
        raise KeyringUnavailable(
            f"no system keyring is available here (only {backend.name}, a plain file, which is "
            "used only when selected with PYTHON_KEYRING_BACKEND or keyringrc.cfg)",
            missing=True,
        )
    if isinstance(backend, fail.Keyring):
        raise KeyringUnavailable(
            "no system keyring is available here (no Secret Service, KWallet or other backend)", missing=True
        )
    if isinstance(backend, null.Keyring):
        raise KeyringUnavailable(
            "the system keyring is disabled (keyring's null backend is configured)", missing=True
        )
    return backend


def _configured_by_user() -> bool:
    """Whether keyring's own configuration names a backend (environment or keyringrc.cfg)."""
    import keyring.core

    return bool(os.environ.get("PYTHON_KEYRING_BACKEND")) or keyring.core.load_config() is not None


class SystemKeyring:
    """The `llamactl` entries of the system keyring, one per API host, with bounded calls."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        self._backend = None

    @property
    def name(self) -> str:
        """The backend's display name, e.g. `SecretService Keyring`."""
        return self._backend.name if self._backend is not None else "unknown backend"

    def _loaded_backend(self) -> Any:
        """The backend, loaded on first use; KeyringUnavailable unless a usable one is there."""
        if self._backend is None:
            self._backend = self._bounded(_load_backend, "load")
        return self._backend

    def get(self, host: str) -> str | None:
        backend = self._loaded_backend()
        return self._bounded(lambda: backend.get_password(KEYRING_SERVICE, host), "read")

    def set(self, host: str, token: str) -> None:
        backend = self._loaded_backend()
        self._bounded(lambda: backend.set_password(KEYRING_SERVICE, host, token), "write", secret=token)

    def delete(self, host: str) -> bool:
        """Remove the entry for `host`; False when there was none."""
        backend = self._loaded_backend()

        def delete() -> bool:
            from keyring.errors import PasswordDeleteError

            if backend.get_password(KEYRING_SERVICE, host) is None:
                return False
            try:
                backend.delete_password(KEYRING_SERVICE, host)
            except PasswordDeleteError:
                return False
            return True

        return self._bounded(delete, "delete")

    def _bounded(self, call: Callable[[], Any], action: str, secret: str | None = None) -> Any:
        """Run `call` in a daemon thread; give up after `timeout` seconds and leave it behind."""
        outcome: dict[str, Any] = {}
        done = threading.Event()

        def work() -> None:
            try:
                outcome["value"] = call()
            except KeyringUnavailable as exc:
                outcome["error"] = exc
            except Exception as exc:
                text = f"{type(exc).__name__}: {exc}"
                if secret:
                    text = text.replace(secret, "***")
                outcome["error"] = KeyringUnavailable(f"the system keyring failed to {action} ({text})")
            finally:
                done.set()

        threading.Thread(target=work, name=f"llamactl-keyring-{action}", daemon=True).start()
        if not done.wait(self.timeout):
            raise KeyringUnavailable(f"the system keyring did not answer within {self.timeout:g} s")
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]


class TokenFile:
    """`tokens.json` under the state directory: {api host: token}, mode 0600 in a 0700 directory.

    Written atomically (a temporary file in the same directory, then os.replace), so a
    crash or a concurrent reader never sees half a file.
    """

    def __init__(self, path: Path, warn: Callable[[str], None]):
        self.path = path
        self.warn = warn

    def get(self, host: str) -> str | None:
        return self._read().get(host)

    def set(self, host: str, token: str) -> None:
        tokens = self._read()
        tokens[host] = token
        self._write(tokens)

    def delete(self, host: str) -> bool:
        tokens = self._read()
        if tokens.pop(host, None) is None:
            return False
        self._write(tokens)
        return True

    def _read(self) -> dict[str, str]:
        try:
            with open(self.path, encoding="utf-8") as file:
                mode = stat.S_IMODE(os.fstat(file.fileno()).st_mode)
                text = file.read()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            self.warn(f"cannot read {self.path}: {exc.strerror}")
            return {}
        if mode & 0o077:
            self.warn(
                f"{self.path} can be read by other users (mode {mode:04o}): run 'chmod 600 {self.path}'"
            )
        try:
            tokens = json.loads(text)
        except ValueError:
            tokens = None
        if not isinstance(tokens, dict) or not all(isinstance(v, str) for v in tokens.values()):
            self.warn(f"ignoring {self.path}: it is not a JSON object of API host to token")
            return {}
        return tokens

    def _write(self, tokens: dict[str, str]) -> None:
        from llamactl.files import write_atomically

        ensure_private_dir(self.path.parent)
        if not tokens:
            self.path.unlink(missing_ok=True)
            return
        write_atomically(self.path, json.dumps(tokens, indent=2, sort_keys=True) + "\n")
