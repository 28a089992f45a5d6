"""Hiding the API token in every message llamactl builds, whatever the token's source.

A token is remembered the moment it is resolved: every `ResolvedToken` (from an environment
variable, the keyring, the token file, or just typed at `auth login`) calls `remember`. Every
message is scrubbed where it is built: `LlamactlError` scrubs its message and hint (so the
final error, `auth status --json`, history's error column and batch records never hold the
token), and the API client scrubs its retry notices and `--debug` lines; the `--debug`
traceback is scrubbed as a whole. A server that echoes `Bearer <token>` back (gateways and
WAFs do) therefore never gets it shown or stored.

A real token is long, so every occurrence is hidden, even inside other text. A short one
(`DEEPINFRA_TOKEN=x`, a test value) would match inside ordinary words ("e***actly"), so it
is hidden only where it stands alone, as a server echoing `Bearer x` would show it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

REDACTED = "***"
SHORT_TOKEN = 16  # below this many characters, only whole-token matches are hidden

# This command's tokens, longest first (a short token inside a long one cannot leave the
# long one's rest behind). Replaced, never changed in place, so a thread scrubbing while
# another remembers reads one whole tuple.
_remembered: tuple[str, ...] = ()


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if not secret:
            continue
        if len(secret) >= SHORT_TOKEN:
            text = text.replace(secret, REDACTED)
        else:
            text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(secret)}(?![A-Za-z0-9])", REDACTED, text)
    return text


def remember(secret: str) -> None:
    """Hide `secret` from every message built from now on."""
    global _remembered
    if secret and secret not in _remembered:
        _remembered = tuple(sorted({*_remembered, secret}, key=len, reverse=True))


def forget_all() -> None:
    """A new command starts with no tokens (tests run many commands in one process)."""
    global _remembered
    _remembered = ()


def scrub(text: str) -> str:
    """`text` without any token this command has resolved."""
    secrets = _remembered
    return redact(text, secrets) if secrets else text


def scrub_data(value: Any) -> Any:
    """A parsed JSON value with every string in it (keys too) scrubbed, in place where it can
    be: a server's error event is shown whole by `--json`. Iterative, as server JSON can
    nest deeper than Python's recursion limit."""
    if not _remembered:
        return value
    if isinstance(value, str):
        return scrub(value)
    pending = [value]
    while pending:
        container = pending.pop()
        if isinstance(container, dict):
            items = list(container.items())
            container.clear()
            for key, item in items:
                container[scrub(key) if isinstance(key, str) else key] = _scrubbed(item, pending)
        elif isinstance(container, list):
            container[:] = [_scrubbed(item, pending) for item in container]
    return value


def _scrubbed(item: Any, pending: list[Any]) -> Any:
    if isinstance(item, str):
        return scrub(item)
    if isinstance(item, (dict, list)):
        pending.append(item)
    return item
