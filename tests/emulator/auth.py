"""Who may call the API: a bearer token (any case of "Bearer") or an `xi-api-key` header
(deepinfra-api.md §6), checked against the tokens the emulator accepts."""

from __future__ import annotations

from collections.abc import Container

VALID_TOKEN = "emu-test-token-9f3b2c71d4"


def presented_token(headers) -> str:
    """The token a request carries, "" when it carries none usable."""
    value = headers.get("authorization")
    if value is None and headers.get("xi-api-key"):
        return headers["xi-api-key"].strip()
    scheme, _, token = (value or "").strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def auth_error(headers, tokens: Container[str]) -> tuple[int, str] | None:
    """(403, "Not authenticated") without usable credentials, (401, ...) for a wrong token."""
    token = presented_token(headers)
    if not token:
        return 403, "Not authenticated"
    if token not in tokens:
        return 401, "Invalid token"
    return None
