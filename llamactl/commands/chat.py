"""`llamactl chat`: an interactive conversation (or one message a line from a pipe)."""

from __future__ import annotations

from typing import Annotated

import typer

from llamactl.api.retry import DEFAULT_RETRIES, DEFAULT_TIMEOUT
from llamactl.commands.helptext import command_help
from llamactl.commands.infer_options import (
    CONVERSATION_PANEL,
    ContinueLatest,
    ConversationId,
    DeployId,
    Inputs,
    Model,
    NoHistory,
    Quiet,
    Retries,
    Timeout,
    Version,
)
from llamactl.commands.options import Declarations
from llamactl.env import Environment

app = typer.Typer(add_completion=False)
chat_opts = Declarations("chat")


def complete_api(incomplete: str) -> list[str]:
    from llamactl.chat.conversation import APIS

    return [name for name in APIS if name.startswith(incomplete)]


@app.command(**command_help("chat"))
def chat(
    ctx: typer.Context,
    model: Model = None,
    api: Annotated[
        str | None,
        chat_opts.option("--api", metavar="native|openai", panel=CONVERSATION_PANEL, complete=complete_api),
    ] = None,
    system: Annotated[
        str | None, chat_opts.option("--system", metavar="TEXT", panel=CONVERSATION_PANEL)
    ] = None,
    continue_latest: ContinueLatest = False,
    conversation_id: ConversationId = None,
    version: Version = None,
    deploy_id: DeployId = None,
    inputs: Inputs = None,
    quiet: Quiet = False,
    timeout: Timeout = DEFAULT_TIMEOUT,
    retries: Retries = DEFAULT_RETRIES,
    no_history: NoHistory = False,
) -> None:
    """`llamactl chat`; its help is in help.md."""
    from llamactl.api.request import InferenceTarget
    from llamactl.chat.start import ChatStart, run_chat

    env: Environment = ctx.obj
    env.output.quiet = quiet

    def report(exc) -> None:
        from llamactl.cli import report as report_error

        report_error(env, exc.message, exc.hint)

    run_chat(
        env,
        ChatStart(
            target=InferenceTarget(model, version, deploy_id),
            api=api,
            system=system,
            continue_latest=continue_latest,
            conversation_id=conversation_id,
            inputs=inputs or [],
            timeout=timeout,
            retries=retries,
            history=not no_history,
        ),
        report,
    )
