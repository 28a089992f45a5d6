"""Where the API token comes from, and where it came from.

Order (the contract's): DEEPINFRA_TOKEN, DEEPINFRA_API_KEY, then what `llamactl auth login`
stored for this API host: the system keyring, then the token file. Environment variables
are checked first so the (slow, possibly prompting) keyring is never touched when CI
provides a token; `keyring` is not even imported then.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from llamactl.api.retry import MAX_TIMEOUT
from llamactl.env import DEFAULT_API_URL, Environment
from llamactl.errors import AuthError, UsageError
from llamactl.plain import record

if TYPE_CHECKING:  # the stores load only when a token is not in the environment
    from llamactl.auth.token_store import SystemKeyring, TokenFile

TOKEN_VARIABLES = ("DEEPINFRA_TOKEN", "DEEPINFRA_API_KEY")
NO_TOKEN_MESSAGE = "no API token: set DEEPINFRA_TOKEN or run 'llamactl auth login'"
KEYRING_TIMEOUT_VARIABLE = "LLAMACTL_KEYRING_TIMEOUT"
DEFAULT_KEYRING_TIMEOUT = 5.0
VISIBLE_TAIL = 4

Warn = Callable[[str], None]  # where a skipped keyring or a bad token file is reported


@record(frozen=True)
class ResolvedToken:
    value: str
    source: str  # "env:DEEPINFRA_TOKEN", "keyring:<backend name>" or "file:<path>"

    def __post_init__(self) -> None:
        """From here on no message shows it, wherever it came from (llamactl/redact.py)."""
        from llamactl.redact import remember

        remember(self.value)

    def __repr__(self) -> str:  # never show the value in a debug dump
        return f"ResolvedToken(source={self.source!r})"

    @property
    def kind(self) -> str:
        """`env`, `keyring` or `file`."""
        return self.source.partition(":")[0]

    @property
    def location(self) -> str:
        """The variable name, the keyring backend or the file path."""
        return self.source.partition(":")[2]

    @property
    def masked(self) -> str:
        return mask_token(self.value)


def mask_token(value: str) -> str:
    """`****` and the last 4 characters; nothing of a token too short to spare them."""
    return "****" + (value[-VISIBLE_TAIL:] if len(value) >= 3 * VISIBLE_TAIL else "")


MALFORMED = "contains spaces or unprintable characters"  # never the token itself: it is secret


def is_well_formed(token: str) -> bool:
    """A token is one word of printable ASCII (it goes into an HTTP header)."""
    return bool(token) and all(char.isascii() and char.isprintable() and not char.isspace() for char in token)


def clean_token(text: str) -> str:
    """The token a user typed or piped, without surrounding whitespace; exit 2 if unusable."""
    token = text.strip()
    if not token:
        raise UsageError("no token was given")
    if not is_well_formed(token):
        raise UsageError(f"the token {MALFORMED}", hint="give only the token itself")
    return token


def token_from_environment(env: Environment) -> ResolvedToken | None:
    """The first token variable set; one that no HTTP header can carry (a newline, a
    character beyond printable ASCII) is refused before anything is sent."""
    for name in TOKEN_VARIABLES:
        value = (env.environ.get(name) or "").strip()
        if value and not is_well_formed(value):
            raise AuthError(f"the token in {name} {MALFORMED}", hint=f"set {name} to the token alone")
        if value:
            return ResolvedToken(value, f"env:{name}")
    return None


def keyring_timeout(env: Environment) -> float:
    """Seconds to wait for any one keyring call (LLAMACTL_KEYRING_TIMEOUT, default 5)."""
    text = env.environ.get(KEYRING_TIMEOUT_VARIABLE)
    if not text:
        return DEFAULT_KEYRING_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds <= MAX_TIMEOUT:  # NaN fails this too
        raise UsageError(
            f"{KEYRING_TIMEOUT_VARIABLE} must be a number of seconds above 0 and at most {MAX_TIMEOUT:g},"
            f" not {text!r}"
        )
    return seconds


def system_keyring(env: Environment) -> SystemKeyring:
    from llamactl.auth.token_store import SystemKeyring

    return SystemKeyring(keyring_timeout(env))


def token_file(env: Environment, warn: Warn) -> TokenFile:
    from llamactl.auth.token_store import TOKEN_FILE_NAME, TokenFile

    return TokenFile(env.state_dir / TOKEN_FILE_NAME, warn=warn)


def stored_token(env: Environment, warn: Warn) -> ResolvedToken | None:
    """Credentials stored by `llamactl auth login` for this API host (keyring, then file).

    A keyring that fails or does not answer in time is skipped with a warning; a machine
    without any keyring backend is skipped silently (that is what headless CI looks like).
    """
    from llamactl.auth.token_store import KeyringUnavailable

    host = env.api_host
    keyring = system_keyring(env)
    try:
        value = keyring.get(host)
    except KeyringUnavailable as exc:
        if not exc.missing:
            warn(f"{exc.reason}; skipped it")
        value = None
    if value and not is_well_formed(value):
        warn(f"ignoring the token for {host} in the system keyring: it {MALFORMED}")
        value = None
    if value:
        return ResolvedToken(value, f"keyring:{keyring.name}")
    file = token_file(env, warn)
    value = file.get(host)
    if value and not is_well_formed(value):
        warn(f"ignoring the token for {host} in {file.path}: it {MALFORMED}")
        return None
    if value:
        return ResolvedToken(value, f"file:{file.path}")
    return None


def resolve_token(env: Environment, warn: Warn) -> ResolvedToken | None:
    return token_from_environment(env) or stored_token(env, warn)


def require_token(env: Environment, warn: Warn) -> ResolvedToken:
    token = resolve_token(env, warn)
    if token is None:
        hint = None
        if env.api_url != DEFAULT_API_URL:
            hint = (
                f"tokens are stored per API host: log in with 'llamactl --api-url {env.api_url} auth login'"
            )
        raise AuthError(NO_TOKEN_MESSAGE, hint=hint)
    return token
