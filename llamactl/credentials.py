"""Where the API token comes from.

Order (the contract's): DEEPINFRA_TOKEN, DEEPINFRA_API_KEY, then stored credentials for
the API host. Environment variables are checked first so the (slow, possibly prompting)
keyring is never touched when CI provides a token.
"""

from __future__ import annotations

from dataclasses import dataclass

from llamactl.env import Environment
from llamactl.errors import AuthError

TOKEN_VARIABLES = ("DEEPINFRA_TOKEN", "DEEPINFRA_API_KEY")
NO_TOKEN_MESSAGE = "no API token: set DEEPINFRA_TOKEN or run 'llamactl auth login'"


@dataclass(frozen=True)
class ResolvedToken:
    value: str
    source: str  # e.g. "env:DEEPINFRA_TOKEN"

    def __repr__(self) -> str:  # never show the value in a debug dump
        return f"ResolvedToken(source={self.source!r})"


def token_from_environment(env: Environment) -> ResolvedToken | None:
    for name in TOKEN_VARIABLES:
        value = (env.environ.get(name) or "").strip()
        if value:
            return ResolvedToken(value, f"env:{name}")
    return None


def stored_token(env: Environment) -> ResolvedToken | None:
    """Credentials stored by `llamactl auth login` for this API host (keyring or file)."""
    return None


def resolve_token(env: Environment) -> ResolvedToken | None:
    return token_from_environment(env) or stored_token(env)


def require_token(env: Environment) -> ResolvedToken:
    token = resolve_token(env)
    if token is None:
        raise AuthError(NO_TOKEN_MESSAGE)
    return token
