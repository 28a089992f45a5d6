"""`llamactl auth`: log in, show and remove the API token for the current API host."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from llamactl.env import Environment

# Help paragraphs are single lines: Typer's Rich help keeps every line break it is given.
# Epilogs are blocks that keep theirs, each line within 80 columns; they start with a
# newline because Typer dedents help like a docstring, which would strip their indent.
HELP = (
    "Log in, inspect and remove the API token.\n\n"
    "The token is looked up in this order: DEEPINFRA_TOKEN, DEEPINFRA_API_KEY, the system "
    "keyring (service 'llamactl', one entry per API host), then the token file written by "
    "'auth login --insecure-storage'. Tokens are stored per API host, so --api-url to a "
    "staging or local server never receives the production token."
)
EPILOG = """
Examples:
  # on a desktop: paste the token once, it is kept in the system keyring
  llamactl auth login
  # in CI: no keyring; the token from a secret, kept in a 0600 file
  echo "$TOKEN" | llamactl auth login --with-token --insecure-storage
  # where does the token come from, and does the API accept it?
  llamactl auth status
"""

LOGIN_HELP = (
    "Verify a token with the API and store it for this API host.\n\n"
    "On a terminal the token is read from a hidden prompt; with --with-token it is read "
    "from stdin (for CI). Nothing is stored unless GET /v1/me accepts the token: a rejected "
    "token exits 3, an unreachable API 5. Without a terminal and without --with-token, login "
    "exits 2 instead of waiting for input."
)
LOGIN_EPILOG = """
Examples:
  # on a desktop: a hidden prompt; the token goes to the system keyring
  llamactl auth login
  # in CI: the token on stdin, kept in a 0600 file (there is no keyring)
  echo "$TOKEN" | llamactl auth login --with-token --insecure-storage
"""

SET_TOKEN_HELP = (
    "Verify and store a token given as an argument or on stdin (deepctl parity).\n\n"
    "Like 'auth login', it checks the token with GET /v1/me before storing anything. An "
    "argument is visible in 'ps' and in your shell history: prefer '-' and a pipe."
)
SET_TOKEN_EPILOG = """
Examples:
  # the token on stdin (not in 'ps' or shell history), into the keyring
  echo "$TOKEN" | llamactl auth set-token -
  # in CI, where there is no keyring
  echo "$TOKEN" | llamactl auth set-token - --insecure-storage
"""

TOKEN_HELP = (
    "Print the token in use, and nothing else.\n\n"
    "The only command that ever prints the token: for handing it to another tool. Exit 3 "
    "when there is none."
)
TOKEN_EPILOG = """
Examples:
  # hand the stored token to another tool (deepctl, curl, an SDK)
  export DEEPINFRA_TOKEN="$(llamactl auth token)"
  # in CI: fail early, with exit 3, when no token is configured
  llamactl auth token > /dev/null
"""

STATUS_HELP = (
    "Show where the token comes from (masked), whether the API accepts it, and the account.\n\n"
    "On a terminal a short block, in a pipe plain 'key: value' lines. Exit 3 when there is "
    "no token or the API rejects it, 5 when the API cannot be reached."
)
STATUS_EPILOG = """
Examples:
  llamactl auth status
  # in a script: the source of the token (env, keyring, file or null)
  llamactl auth status --json | jq -r .source
"""

LOGOUT_HELP = (
    "Remove the stored token for this API host (keyring and token file).\n\n"
    "A token in DEEPINFRA_TOKEN or DEEPINFRA_API_KEY is not touched: logout says so."
)
LOGOUT_EPILOG = """
Examples:
  llamactl auth logout
  # tokens are kept per API host: log out of a local or staging server
  llamactl --api-url http://127.0.0.1:8080 auth logout
"""

WITH_TOKEN_HINT = 'pipe the token in: echo "$TOKEN" | llamactl auth login --with-token'
SET_TOKEN_HINT = 'pipe the token in: echo "$TOKEN" | llamactl auth set-token -'


def pipe_hint(hint: str, insecure_storage: bool) -> str:
    """The piping example, keeping the flag the user gave: without it, the command shown
    would fail again where there is no keyring."""
    return hint + (" --insecure-storage" if insecure_storage else "")

InsecureStorage = Annotated[bool, typer.Option(
    "--insecure-storage",
    help="Store the token in a 0600 file in the state directory instead of the system keyring.",
)]

app = typer.Typer(no_args_is_help=True, help=HELP, epilog=EPILOG)


@app.command(help=LOGIN_HELP, epilog=LOGIN_EPILOG)
def login(
    ctx: typer.Context,
    with_token: Annotated[bool, typer.Option("--with-token", help="Read the token from stdin.")] = False,
    insecure_storage: InsecureStorage = False,
) -> None:
    from llamactl.auth.actions import login as log_in, read_token

    env: Environment = ctx.obj
    out = env.output
    log_in(env, lambda: read_token(env, from_stdin=with_token, pipe_hint=pipe_hint(WITH_TOKEN_HINT, insecure_storage), tell=out.info),
           insecure_storage, info=out.info, warn=out.warn)


@app.command("set-token", help=SET_TOKEN_HELP, epilog=SET_TOKEN_EPILOG)
def set_token(
    ctx: typer.Context,
    token: Annotated[Optional[str], typer.Argument(metavar="[TOKEN|-]", help="The token; '-' or nothing reads stdin (or prompts on a terminal).", show_default=False)] = None,
    insecure_storage: InsecureStorage = False,
) -> None:
    from llamactl.auth.actions import login as log_in, read_token
    from llamactl.auth.credentials import clean_token

    env: Environment = ctx.obj

    def ask_token() -> str:
        if token in (None, "-"):
            from_stdin = token == "-" or not env.stdin_isatty
            return read_token(env, from_stdin=from_stdin, pipe_hint=pipe_hint(SET_TOKEN_HINT, insecure_storage), tell=out.info)
        return clean_token(token)

    out = env.output
    log_in(env, ask_token, insecure_storage, info=out.info, warn=out.warn)


@app.command("token", help=TOKEN_HELP, epilog=TOKEN_EPILOG)
def print_token(ctx: typer.Context) -> None:
    from llamactl.auth.credentials import require_token

    env: Environment = ctx.obj
    env.output.text(require_token(env, env.output.warn).value + "\n")


@app.command(help=STATUS_HELP, epilog=STATUS_EPILOG)
def status(
    ctx: typer.Context,
    json_output: Annotated[bool, typer.Option("--json", help="Print a JSON object: host, source, location, token (masked), valid, account, error.")] = False,
) -> None:
    from llamactl.auth.actions import gather_status
    from llamactl.auth.display import show_status

    env: Environment = ctx.obj
    show_status(env.output, gather_status(env, env.output.warn), as_json=json_output)


@app.command(help=LOGOUT_HELP, epilog=LOGOUT_EPILOG)
def logout(ctx: typer.Context) -> None:
    from llamactl.auth.actions import logout as log_out

    env: Environment = ctx.obj
    log_out(env, info=env.output.info, warn=env.output.warn)
