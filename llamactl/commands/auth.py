"""`llamactl auth`: log in, show and remove the API token for the current API host."""

from __future__ import annotations

from typing import Annotated

import typer

from llamactl.commands.helptext import command_help
from llamactl.commands.options import Declarations
from llamactl.env import Environment

WITH_TOKEN_HINT = 'pipe the token in: echo "$TOKEN" | llamactl auth login --with-token'
SET_TOKEN_HINT = 'pipe the token in: echo "$TOKEN" | llamactl auth set-token -'


def pipe_hint(hint: str, insecure_storage: bool) -> str:
    """The piping example, keeping the flag the user gave: without it, the command shown
    would fail again where there is no keyring."""
    return hint + (" --insecure-storage" if insecure_storage else "")


InsecureStorage = Annotated[bool, Declarations("auth").option("--insecure-storage")]

app = typer.Typer(no_args_is_help=True, **command_help("auth"))


@app.command(**command_help("auth login"))
def login(
    ctx: typer.Context,
    with_token: Annotated[bool, Declarations("auth login").option("--with-token")] = False,
    insecure_storage: InsecureStorage = False,
) -> None:
    from llamactl.auth.actions import login as log_in
    from llamactl.auth.actions import read_token

    env: Environment = ctx.obj
    out = env.output
    log_in(
        env,
        lambda: read_token(
            env, from_stdin=with_token, pipe_hint=pipe_hint(WITH_TOKEN_HINT, insecure_storage), tell=out.info
        ),
        insecure_storage,
        info=out.info,
        warn=out.warn,
    )


@app.command("set-token", **command_help("auth set-token"))
def set_token(
    ctx: typer.Context,
    token: Annotated[str | None, Declarations("auth set-token").argument("[TOKEN|-]")] = None,
    insecure_storage: InsecureStorage = False,
) -> None:
    from llamactl.auth.actions import login as log_in
    from llamactl.auth.actions import read_token
    from llamactl.auth.credentials import clean_token

    env: Environment = ctx.obj

    def ask_token() -> str:
        if token in (None, "-"):
            from_stdin = token == "-" or not env.stdin_isatty
            return read_token(
                env,
                from_stdin=from_stdin,
                pipe_hint=pipe_hint(SET_TOKEN_HINT, insecure_storage),
                tell=out.info,
            )
        return clean_token(token)

    out = env.output
    log_in(env, ask_token, insecure_storage, info=out.info, warn=out.warn)


@app.command("token", **command_help("auth token"))
def print_token(ctx: typer.Context) -> None:
    from llamactl.auth.credentials import require_token

    env: Environment = ctx.obj
    env.output.text(require_token(env, env.output.warn).value + "\n")


@app.command(**command_help("auth status"))
def status(
    ctx: typer.Context,
    json_output: Annotated[bool, Declarations("auth status").option("--json")] = False,
) -> None:
    from llamactl.auth.actions import gather_status
    from llamactl.auth.display import show_status

    env: Environment = ctx.obj
    show_status(env.output, gather_status(env, env.output.warn), as_json=json_output)


@app.command(**command_help("auth logout"))
def logout(ctx: typer.Context) -> None:
    from llamactl.auth.actions import logout as log_out

    env: Environment = ctx.obj
    log_out(env, info=env.output.info, warn=env.output.warn)
