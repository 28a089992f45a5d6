"""Hiding the API token in text bound for the user, without mangling llamactl's own words.

A real token is long, so every occurrence is hidden, even inside other text. A short one
(`DEEPINFRA_TOKEN=x`, a test value) would match inside ordinary words ("e***actly"), so it
is hidden only where it stands alone, as a server echoing `Bearer x` would show it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

REDACTED = "***"
SHORT_TOKEN = 16  # below this many characters, only whole-token matches are hidden


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if not secret:
            continue
        if len(secret) >= SHORT_TOKEN:
            text = text.replace(secret, REDACTED)
        else:
            text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(secret)}(?![A-Za-z0-9])", REDACTED, text)
    return text
