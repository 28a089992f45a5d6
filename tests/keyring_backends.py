"""Keyring backends that misbehave the way real ones do, plugged in through keyring's own
mechanism (PYTHON_KEYRING_BACKEND=tests.keyring_backends.<Name>), not by patching llamactl.

HangingKeyring is a Secret Service whose D-Bus call never returns; HangingOnLoadKeyring
hangs while keyring checks whether it is usable (a D-Bus session bus that accepts the
connection and never answers); LockedKeyring is a collection whose unlock prompt was
dismissed; ReadOnlyKeyring refuses to store anything.

Their priority is below keyring's `fail` backend, so automatic detection never picks them;
use them only in a subprocess (HangingOnLoadKeyring would hang detection in this one).
"""

from __future__ import annotations

import threading

from keyring.backend import KeyringBackend
from keyring.compat import properties
from keyring.errors import KeyringLocked, PasswordDeleteError, PasswordSetError

_NEVER = threading.Event()


class HangingKeyring(KeyringBackend):
    priority = -10

    def get_password(self, service, username):
        _NEVER.wait()

    set_password = delete_password = get_password


class HangingOnLoadKeyring(HangingKeyring):
    @properties.classproperty
    def priority(cls):
        _NEVER.wait()


class LockedKeyring(KeyringBackend):
    priority = -10

    def get_password(self, service, username):
        raise KeyringLocked("Failed to unlock the collection!")

    set_password = delete_password = get_password


class ReadOnlyKeyring(KeyringBackend):
    """Reads work, writes fail with an error that (carelessly) quotes the password."""

    priority = -10

    def get_password(self, service, username):
        return None

    def set_password(self, service, username, password):
        raise PasswordSetError(f"collection is read-only, cannot store {password!r}")

    def delete_password(self, service, username):
        raise PasswordDeleteError("Password not found")
