"""`llamactl infer`: run a model on a prompt."""

# No `from __future__ import annotations`: see commands/infer_options.py.

from typing import Annotated

import typer

from llamactl.commands.infer_options import ContinueLatest, ConversationId, RequestFlags, with_request_options
from llamactl.env import Environment

BATCH_PANEL = "Batch"


def complete_batch_format(incomplete: str) -> list[str]:
    from llamactl.batch.input import FORMATS

    return [name for name in FORMATS if name.startswith(incomplete)]


@with_request_options
def infer(
    ctx: typer.Context,
    flags: RequestFlags,
    prompt: Annotated[
        str | None,
        typer.Argument(
            metavar="PROMPT",
            help="The prompt. Piped stdin comes first, then a blank line, then PROMPT.",
            show_default=False,
        ),
    ] = None,
    batch: Annotated[
        str | None,
        typer.Option(
            "--batch",
            metavar="FILE|-",
            help="Run every line of FILE (- for stdin): a JSON string (the prompt) or a JSON object of request fields over the -i defaults. One JSON result a line, in input order.",
            rich_help_panel=BATCH_PANEL,
            show_default=False,
        ),
    ] = None,
    batch_format: Annotated[
        str | None,
        typer.Option(
            "--batch-format",
            metavar="jsonl|lines",
            help="lines: each line is one plain prompt. \\[default: jsonl]",
            autocompletion=complete_batch_format,
            rich_help_panel=BATCH_PANEL,
            show_default=False,
        ),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency",
            metavar="N",
            min=1,
            max=64,
            help="Requests in flight at once. \\[default: 4]",
            rich_help_panel=BATCH_PANEL,
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            metavar="FILE",
            help="Write the results to FILE instead of stdout; running again with the same FILE sends only the lines not done yet.",
            rich_help_panel=BATCH_PANEL,
            show_default=False,
        ),
    ] = None,
    no_stdin: Annotated[
        bool,
        typer.Option(
            "--no-stdin",
            help="Never read stdin, even when it is a pipe: for while-read loops and daemons that hand over a pipe.",
            rich_help_panel="Input",
        ),
    ] = False,
    continue_latest: ContinueLatest = False,
    conversation_id: ConversationId = None,
    max_cost: Annotated[
        float | None,
        typer.Option(
            "--max-cost",
            metavar="DOLLARS",
            help="Stop sending once the batch has cost this much (server-reported or estimated).",
            rich_help_panel=BATCH_PANEL,
            show_default=False,
        ),
    ] = None,
) -> None:
    """`llamactl infer`; its help is in help.md."""
    from llamactl.catalogue.model_choice import chosen_model
    from llamactl.inference.prepare import InferOptions, prepare_request
    from llamactl.plain import replace

    env: Environment = ctx.obj
    continuing = continue_latest or conversation_id is not None  # the conversation names its model
    if flags.model is not None or not (flags.deploy_id or continuing):  # -d alone: no model
        flags = replace(flags, model=chosen_model(env, flags.model))
    if batch is not None:
        from llamactl.batch.run import run_batch
        from llamactl.batch.settings import BatchSettings, refuse_single_flags

        if continue_latest or conversation_id is not None:
            from llamactl.errors import UsageError

            raise UsageError("-c/--continue and --cid continue one conversation: drop --batch")
        if no_stdin and batch == "-":
            from llamactl.errors import UsageError

            raise UsageError("--batch - reads stdin, which --no-stdin ignores: drop one of them")
        if flags.api == "openai":
            from llamactl.errors import UsageError

            raise UsageError("--batch runs on the native API: drop --api openai")
        refuse_single_flags(
            prompt=prompt,
            stream=flags.stream,
            json=flags.json_output,
            selections=flags.selections,
            dry_run=flags.dry_run,
        )
        settings = BatchSettings.from_flags(
            batch,
            batch_format=batch_format,
            concurrency=concurrency,
            output=output,
            max_cost=max_cost,
            quiet=flags.quiet,
            timeout=flags.timeout,
            max_time=flags.max_time,
            retries=flags.retries,
            history=not flags.no_history,
        )
        options = InferOptions(
            model=flags.model,
            version=flags.version,
            deploy_id=flags.deploy_id,
            inputs=flags.inputs or [],
            chat=flags.chat,
            system=flags.system,
        )
        run_batch(env, options, settings)
        return
    given = [
        name
        for name, value in (
            ("--batch-format", batch_format),
            ("--concurrency", concurrency),
            ("--output", output),
            ("--max-cost", max_cost),
        )
        if value is not None
    ]
    if given:  # name only the flags given: the message is about what the user typed
        from llamactl.errors import UsageError

        raise UsageError(
            f"{' and '.join(given)} {'needs' if len(given) == 1 else 'need'} --batch FILE",
            hint="to keep one answer in a file, redirect stdout: llamactl infer ... > FILE"
            if output is not None
            else None,
        )
    from llamactl.commands.common import infer_options, send

    options = infer_options(flags, prompt=prompt)
    options.no_stdin = no_stdin
    env.output.quiet = flags.quiet
    if flags.chat or flags.system is not None or continue_latest or conversation_id is not None:
        from llamactl.chat.single import ChatChoice, run_single_turn

        run_single_turn(
            env,
            options,
            ChatChoice(continue_latest=continue_latest, conversation_id=conversation_id, api=flags.api),
            timeout=flags.timeout,
            retries=flags.retries,
            history=not flags.no_history,
            dry_run=flags.dry_run,
        )
        return
    request = prepare_request(
        options, env, warn=env.output.warn, fetch_schema=not flags.dry_run, info=env.output.info
    )
    send(env, request, options, flags)
