"""What `llamactl auth` does: read a token without ever hanging, verify it with GET /v1/me
before storing anything, store or forget it for this API host, and report where the
token in use comes from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO, cast

from llamactl.auth.credentials import (
    NO_TOKEN_MESSAGE,
    ResolvedToken,
    clean_token,
    resolve_token,
    system_keyring,
    token_file,
    token_from_environment,
)
from llamactl.auth.token_store import KeyringUnavailable, SystemKeyring
from llamactl.env import Environment
from llamactl.errors import ApiRejected, AuthError, LlamactlError, RequestFailed, UsageError

Say = Callable[[str], None]  # a notice or warning for the user (the command passes the sink's)

TOKENS_PAGE = "https://deepinfra.com/dash/api_keys"
VERIFY_TIMEOUT = 30.0
MAX_TOKEN_INPUT = 65536
ACCOUNT_FIELDS = ("uid", "email", "display_name")


def read_token(env: Environment, from_stdin: bool, pipe_hint: str, tell: Say) -> str:
    """The token from stdin, or from a hidden prompt on a terminal; exit 2 rather than wait
    for input that cannot come (stdin is /dev/null, or a pipe without --with-token)."""
    if from_stdin:
        if not env.stdin_readable():
            raise UsageError(
                "expected the token on stdin, but stdin is a terminal or an empty device", hint=pipe_hint
            )
        from llamactl.files import read_stdin

        return clean_token(read_stdin(env.stdin, MAX_TOKEN_INPUT).decode("utf-8", "replace"))
    if not env.stdin_isatty:
        raise UsageError("stdin is not a terminal, so there is nobody to ask for the token", hint=pipe_hint)
    return clean_token(prompt_hidden(env, tell))


def prompt_hidden(env: Environment, tell: Say) -> str:
    import getpass

    tell(f"Paste an API token from {TOKENS_PAGE}")
    try:
        return getpass.getpass("Token (input hidden): ", stream=cast(TextIO, env.stderr))
    except EOFError:
        raise UsageError("no token was given") from None


def fetch_account(env: Environment, token: ResolvedToken) -> dict[str, Any]:
    """GET /v1/me: who the token belongs to. 401/403 raise AuthError, network trouble RequestFailed."""
    from llamactl.api.client import ApiClient

    client = ApiClient(env, token, timeout=VERIFY_TIMEOUT, trace=env.output.tracer)
    account = client.get_json("/v1/me")
    return account if isinstance(account, dict) else {}


def account_label(account: dict[str, Any]) -> str:
    name = account.get("display_name") or account.get("name") or account.get("uid") or "unknown account"
    email = account.get("email")
    return f"{name} <{email}>" if email else str(name)


def _storage_hint(env: Environment) -> str:
    return (
        f"add --insecure-storage to keep the token in a 0600 file in {env.state_dir} instead, "
        "or set DEEPINFRA_TOKEN"
    )


def _keyring_for_storing(env: Environment) -> SystemKeyring:
    """The system keyring, tried (a read, which also brings up an unlock prompt if needed)
    before any token is asked for, so nobody pastes a token only to learn that it cannot
    be kept."""
    keyring = system_keyring(env)
    try:
        keyring.get(env.api_host)
    except KeyringUnavailable as exc:
        raise UsageError(
            f"{exc.reason}, so the token cannot be stored there", hint=_storage_hint(env)
        ) from None
    return keyring


def _verify(env: Environment, token: str) -> dict[str, Any]:
    try:
        return fetch_account(env, ResolvedToken(token, "input:"))
    except (AuthError, ApiRejected, RequestFailed) as exc:
        exc.message = f"{exc.message}; nothing was stored"
        if isinstance(exc, AuthError):
            exc.hint = f"check the token (see {TOKENS_PAGE}) and try again"
        raise


def _store(env: Environment, token: str, keyring: SystemKeyring | None, warn: Say) -> str:
    """Keep `token` in one place for this host and remove it from the other, so an older
    copy never shadows it. Returns where it went, in words."""
    host, file = env.api_host, token_file(env, warn)
    if keyring is None:
        file.set(host, token)
        try:
            system_keyring(env).delete(host)
        except KeyringUnavailable as exc:
            if not exc.missing:
                warn(
                    f"could not remove an older token from the system keyring ({exc.reason}); "
                    "one stored there would still be used first"
                )
        return f"the token file {file.path}"
    try:
        keyring.set(host, token)
    except KeyringUnavailable as exc:
        raise UsageError(f"{exc.reason}; the token was not stored", hint=_storage_hint(env)) from None
    file.delete(host)
    return f"the system keyring ({keyring.name})"


def login(
    env: Environment, ask_token: Callable[[], str], insecure_storage: bool, info: Say, warn: Say
) -> None:
    """Check where the token will go, read it, verify it, then store it."""
    keyring = None if insecure_storage else _keyring_for_storing(env)
    token = ask_token()
    account = _verify(env, token)
    place = _store(env, token, keyring, warn)
    info(f"Logged in to {env.api_host} as {account_label(account)}; the token is in {place}.")
    shadow = token_from_environment(env)
    if shadow:
        warn(f"{shadow.location} is set and takes precedence over the stored token")


def logout(env: Environment, info: Say, warn: Say) -> None:
    """Remove the stored token for this API host from the keyring and the token file."""
    host = env.api_host
    removed: list[str] = []
    failure = None
    keyring = system_keyring(env)
    try:
        if keyring.delete(host):
            removed.append(f"the system keyring ({keyring.name})")
    except KeyringUnavailable as exc:
        if not exc.missing:
            failure = exc
    file = token_file(env, warn)
    if file.delete(host):
        removed.append(str(file.path))
    if removed:
        info(f"Removed the token for {host} from {' and '.join(removed)}.")
    elif failure is None:
        info(f"No token was stored for {host}.")
    shadow = token_from_environment(env)
    if shadow:
        warn(f"{shadow.location} is still set, so llamactl goes on using that token")
    if failure:
        raise UsageError(
            f"{failure.reason}; a token stored there for {host} may remain",
            hint=f"try again, or delete it with your keyring tool (service 'llamactl', user '{host}')",
        )


def describe_source(token: ResolvedToken) -> str:
    where = {"env": "environment variable", "keyring": "system keyring", "file": "token file"}[token.kind]
    return f"{where} ({token.location})"


@dataclass
class AuthStatus:
    """Where the token comes from and what the API says about it."""

    host: str
    token: ResolvedToken | None
    valid: bool | None = None  # None: the API could not be asked
    account: dict[str, Any] | None = None
    problem: LlamactlError | None = None

    def as_json(self) -> dict[str, Any]:
        token = self.token
        return {
            "host": self.host,
            "source": token.kind if token else None,
            "location": token.location if token else None,
            "token": token.masked if token else None,
            "valid": self.valid,
            "account": {key: self.account.get(key) for key in ACCOUNT_FIELDS} if self.account else None,
            "error": self.problem.message if self.problem else None,
        }

    def lines(self) -> list[tuple[str, str]]:
        token = self.token
        return [
            ("host", self.host),
            ("source", describe_source(token) if token else "none"),
            ("token", token.masked if token else "none"),
            ("valid", {True: "yes", False: "no", None: "unknown"}[self.valid]),
            ("account", account_label(self.account) if self.account else "none"),
        ]


def gather_status(env: Environment, warn: Say) -> AuthStatus:
    """Resolve the token as every command does, then ask GET /v1/me about it."""
    token = resolve_token(env, warn)
    status = AuthStatus(env.api_host, token)
    if token is None:
        status.valid = False
        status.problem = AuthError(NO_TOKEN_MESSAGE)
        return status
    try:
        status.account = fetch_account(env, token)
        status.valid = True
    except AuthError as exc:
        status.valid = False
        status.problem = exc
    except (ApiRejected, RequestFailed) as exc:
        status.problem = exc
    return status
