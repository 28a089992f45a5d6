"""`llamactl infer`: run a model on a prompt, or on every line of a --batch file."""

# No `from __future__ import annotations`: see commands/options.py.

import typer

from llamactl.commands.infer_options import (
    BatchFlags,
    ContinueLatest,
    ConversationId,
    NoStdin,
    Prompt,
    RequestFlags,
)
from llamactl.commands.options import with_options
from llamactl.env import Environment


@with_options
def infer(
    ctx: typer.Context,
    prompt: Prompt = None,
    *,
    flags: RequestFlags,
    batch: BatchFlags,
    no_stdin: NoStdin = False,
    continue_latest: ContinueLatest = False,
    conversation_id: ConversationId = None,
) -> None:
    """`llamactl infer`; its help is in help.md."""
    from llamactl.catalogue.model_choice import chosen_model
    from llamactl.plain import replace

    env: Environment = ctx.obj
    continuing = continue_latest or conversation_id is not None  # the conversation names its model
    if flags.model is not None or not (flags.deploy_id or continuing):  # -d alone: no model
        flags = replace(flags, model=chosen_model(env, flags.model))
    if batch.source is not None:
        _refuse_with_batch(batch.source, prompt, flags, no_stdin=no_stdin, continuing=continuing)
        _run_batch(env, batch.source, flags, batch)
        return
    _refuse_batch_options(batch)
    from llamactl.commands.common import infer_options, send

    options = infer_options(flags, prompt=prompt)
    options.no_stdin = no_stdin
    env.output.quiet = flags.quiet
    if flags.chat or flags.system is not None or continuing:
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
    from llamactl.inference.prepare import prepare_request

    request = prepare_request(
        options, env, warn=env.output.warn, fetch_schema=not flags.dry_run, info=env.output.info
    )
    send(env, request, options, flags)


def _refuse_with_batch(
    source: str, prompt: str | None, flags: RequestFlags, *, no_stdin: bool, continuing: bool
) -> None:
    """The options that mean nothing with --batch (exit 2)."""
    from llamactl.batch.settings import refuse_single_flags
    from llamactl.errors import UsageError

    if continuing:
        raise UsageError("-c/--continue and --cid continue one conversation: drop --batch")
    if no_stdin and source == "-":
        raise UsageError("--batch - reads stdin, which --no-stdin ignores: drop one of them")
    if flags.api == "openai":
        raise UsageError("--batch runs on the native API: drop --api openai")
    refuse_single_flags(
        prompt=prompt,
        stream=flags.stream,
        json=flags.json_output,
        selections=flags.selections,
        dry_run=flags.dry_run,
    )


def _run_batch(env: Environment, source: str, flags: RequestFlags, batch: BatchFlags) -> None:
    from llamactl.batch.run import run_batch
    from llamactl.batch.settings import BatchSettings
    from llamactl.commands.common import infer_options

    settings = BatchSettings.from_flags(
        source,
        batch.batch_format,
        batch.concurrency,
        batch.output,
        batch.max_cost,
        quiet=flags.quiet,
        **flags.run_settings(),
    )
    run_batch(env, infer_options(flags), settings)


def _refuse_batch_options(batch: BatchFlags) -> None:
    """--batch-format, --concurrency, --output and --max-cost without --batch (exit 2), naming
    only those given: the message is about what the user typed."""
    given = batch.given()
    if given:
        from llamactl.errors import UsageError

        raise UsageError(
            f"{' and '.join(given)} {'needs' if len(given) == 1 else 'need'} --batch FILE",
            hint="to keep one answer in a file, redirect stdout: llamactl infer ... > FILE"
            if batch.output is not None
            else None,
        )
