"""`llamactl auth`: log in, show and remove the API token for the current API host."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from llamactl.env import Environment

HELP = """\
Log in, inspect and remove the API token.

The token is looked up in this order: DEEPINFRA_TOKEN, DEEPINFRA_API_KEY, the system
keyring (service 'llamactl', one entry per API host), the token file written by
'auth login --insecure-storage'. Tokens are stored per API host, so --api-url to a
staging or local server never receives the production token.
"""

LOGIN_HELP = """\
Verify a token with the API and store it for this API host.

On a terminal the token is read from a hidden prompt; with --with-token it is read from
stdin (for CI). Nothing is stored unless GET /v1/me accepts the token.

Examples:

  llamactl auth login

  echo "$DEEPINFRA_TOKEN" | llamactl auth login --with-token --insecure-storage
"""

WITH_TOKEN_HINT = 'pipe the token in: echo "$TOKEN" | llamactl auth login --with-token'
SET_TOKEN_HINT = 'pipe the token in: echo "$TOKEN" | llamactl auth set-token -'

InsecureStorage = Annotated[bool, typer.Option(
    "--insecure-storage",
    help="Store the token in a 0600 file in the state directory instead of the system keyring.",
)]

app = typer.Typer(no_args_is_help=True, help=HELP)


@app.command(help=LOGIN_HELP)
def login(
    ctx: typer.Context,
    with_token: Annotated[bool, typer.Option("--with-token", help="Read the token from stdin.")] = False,
    insecure_storage: InsecureStorage = False,
) -> None:
    from llamactl.accounts import login as log_in, read_token

    env: Environment = ctx.obj
    log_in(env, lambda: read_token(env, from_stdin=with_token, pipe_hint=WITH_TOKEN_HINT), insecure_storage)


@app.command("set-token")
def set_token(
    ctx: typer.Context,
    token: Annotated[Optional[str], typer.Argument(metavar="[TOKEN|-]", help="The token; '-' or nothing reads stdin (or prompts on a terminal).", show_default=False)] = None,
    insecure_storage: InsecureStorage = False,
) -> None:
    """Verify and store a token given as an argument or on stdin (deepctl parity)."""
    from llamactl.accounts import login as log_in, read_token
    from llamactl.credentials import clean_token

    env: Environment = ctx.obj

    def ask_token() -> str:
        if token in (None, "-"):
            from_stdin = token == "-" or not env.stdin_isatty
            return read_token(env, from_stdin=from_stdin, pipe_hint=SET_TOKEN_HINT)
        return clean_token(token)

    log_in(env, ask_token, insecure_storage)


@app.command("token")
def print_token(ctx: typer.Context) -> None:
    """Print the token in use, and nothing else.

    For other tools: curl -H "Authorization: Bearer $(llamactl auth token)" ...
    """
    from llamactl.credentials import require_token
    from llamactl.output import write_flushed

    env: Environment = ctx.obj
    write_flushed(env.stdout, require_token(env).value + "\n")


@app.command()
def status(
    ctx: typer.Context,
    json_output: Annotated[bool, typer.Option("--json", help="Print a JSON object: host, source, location, token (masked), valid, account, error.")] = False,
) -> None:
    """Show where the token comes from (masked), whether the API accepts it, and the account.

    Exit 3 when there is no token or the API rejects it, 5 when the API cannot be reached.
    """
    from llamactl.accounts import show_status

    show_status(ctx.obj, as_json=json_output)


@app.command()
def logout(ctx: typer.Context) -> None:
    """Remove the stored token for this API host (keyring and token file)."""
    from llamactl.accounts import logout as log_out

    log_out(ctx.obj)
