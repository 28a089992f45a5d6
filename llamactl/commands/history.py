"""`llamactl history`: list, show, search, total, export, rerun and remove past inferences."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from llamactl.env import Environment

HELP = """\
Past inferences: every `infer` is recorded (unless --no-history or LLAMACTL_NO_HISTORY=1)
in a SQLite database under the state directory; see `llamactl history path`.
"""
INFER_PANEL = "Infer options"

app = typer.Typer(no_args_is_help=True, help=HELP)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
SinceOption = Annotated[Optional[str], typer.Option("--since", metavar="DATE", help="Only requests since a date (2024-05-01), a local time (2024-05-01T14:30) or a duration back from now (30m, 12h, 7d, 2w).", show_default=False)]
LimitOption = Annotated[int, typer.Option("-n", "--limit", metavar="N", min=1, help="At most N requests, newest first.")]


def _choice(option: str, value: Optional[str], allowed: tuple[str, ...]) -> None:
    from llamactl.errors import UsageError

    if value is not None and value not in allowed:
        raise UsageError(f"{option}: expected one of {', '.join(allowed)}, got {value!r}")


def _since(text: Optional[str]) -> Optional[float]:
    import time

    from llamactl.history.queries import parse_since

    return None if text is None else parse_since(text, time.time())


def _not_found(request_id: int):
    from llamactl.errors import UsageError

    return UsageError(f"no request {request_id} in history", hint="'llamactl history list' shows the recent ones")


def _print_records(env: Environment, records, json_output: bool) -> None:
    from llamactl.history.display import print_records
    from llamactl.output import Messages, print_json

    if json_output:
        print_json(env.stdout, [record.to_json() for record in records])
    elif records:
        print_records(env, records)
    elif env.stdout_isatty:
        Messages(env).info("no requests found")


@app.command("list")
def list_requests(
    ctx: typer.Context,
    limit: LimitOption = 20,
    model: Annotated[Optional[str], typer.Option("-m", "--model", help="Only this model.", show_default=False)] = None,
    status: Annotated[Optional[str], typer.Option("--status", help="Only this status: ok, error, incomplete, interrupted or queued.", show_default=False)] = None,
    json_output: JsonOption = False,
) -> None:
    """The most recent requests: id, time, model, status, tokens, cost and prompt."""
    from llamactl.history.records import STATUSES
    from llamactl.history.store import open_history

    _choice("--status", status, STATUSES)
    env: Environment = ctx.obj
    with open_history(env) as store:
        records = store.recent(limit, model=model, status=status)
    _print_records(env, records, json_output)


@app.command()
def show(
    ctx: typer.Context,
    request_id: Annotated[int, typer.Argument(metavar="ID", help="A request's id, as `history list` shows it.")],
    json_output: JsonOption = False,
) -> None:
    """One request in full: its fields, every result, tokens, cost and timings."""
    from llamactl.history.display import print_record
    from llamactl.history.store import open_history
    from llamactl.output import print_json

    env: Environment = ctx.obj
    with open_history(env) as store:
        record = store.get(request_id)
    if record is None:
        raise _not_found(request_id)
    if json_output:
        print_json(env.stdout, record.to_json())
    else:
        print_record(env, record)


@app.command()
def search(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="Words that must all appear in the prompt or the output (prefixes match: 'llam' finds 'llamas').")],
    limit: LimitOption = 20,
    json_output: JsonOption = False,
) -> None:
    """Full-text search over prompts and outputs, newest first."""
    from llamactl.history.store import open_history

    env: Environment = ctx.obj
    with open_history(env) as store:
        records = store.search(text, limit)
    _print_records(env, records, json_output)


@app.command()
def stats(
    ctx: typer.Context,
    since: SinceOption = None,
    by: Annotated[str, typer.Option("--by", metavar="model|day", help="Group by model or by (local) day.")] = "model",
    json_output: JsonOption = False,
) -> None:
    """Requests, tokens in and out, and cost, totalled by model or by day."""
    from llamactl.history.display import print_stats, stats_json
    from llamactl.history.queries import STATS_KEYS
    from llamactl.history.records import local_time
    from llamactl.history.store import open_history
    from llamactl.output import print_json

    _choice("--by", by, tuple(STATS_KEYS))
    start = _since(since)
    env: Environment = ctx.obj
    with open_history(env) as store:
        rows = store.stats(start, by)
    if json_output:
        print_json(env.stdout, stats_json(rows, by, None if start is None else local_time(start)))
    else:
        print_stats(env, rows, by)


@app.command()
def export(ctx: typer.Context, since: SinceOption = None) -> None:
    """Every request as one JSON object a line (JSON Lines), oldest first."""
    from llamactl.history.store import open_history
    from llamactl.output import print_json_line

    start = _since(since)
    env: Environment = ctx.obj
    with open_history(env) as store:
        for record in store.since(start):
            print_json_line(env.stdout, record.to_json())


@app.command()
def rerun(
    ctx: typer.Context,
    request_id: Annotated[int, typer.Argument(metavar="ID", help="The request to send again.")],
    model: Annotated[Optional[str], typer.Option("-m", "--model", help="Another model.", rich_help_panel=INFER_PANEL, show_default=False)] = None,
    version: Annotated[Optional[str], typer.Option("--version", help="Pin a model version.", rich_help_panel=INFER_PANEL, show_default=False)] = None,
    deploy_id: Annotated[Optional[str], typer.Option("-d", "--deploy-id", help="Run a deployment instead.", rich_help_panel=INFER_PANEL, show_default=False)] = None,
    inputs: Annotated[Optional[list[str]], typer.Option("-i", "--input", metavar="KEY=VALUE", help="Override a request field, repeatable (as infer's -i).", rich_help_panel=INFER_PANEL, show_default=False)] = None,
    stream: Annotated[Optional[bool], typer.Option("--stream/--no-stream", help="Stream tokens as they are generated (default for text output).", rich_help_panel=INFER_PANEL, show_default=False)] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the API's JSON response.", rich_help_panel=INFER_PANEL)] = False,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="No summary line on stderr.", rich_help_panel=INFER_PANEL)] = False,
    timeout: Annotated[float, typer.Option("--timeout", metavar="SECONDS", min=0.1, help="Longest wait for the next byte from the API.", rich_help_panel=INFER_PANEL)] = 600.0,
    retries: Annotated[int, typer.Option("--retries", metavar="N", min=0, help="Retries after 429/502/503/504 or a failed connection.", rich_help_panel=INFER_PANEL)] = 2,
    no_history: Annotated[bool, typer.Option("--no-history", help="Do not record this run in history.", rich_help_panel=INFER_PANEL)] = False,
) -> None:
    """Send a recorded request again, with infer's options on top.

    It goes to the current API URL, streams as infer would, and is recorded as a new request.
    """
    from llamactl.commands.infer import run
    from llamactl.history.rerun import rebuild_request
    from llamactl.history.store import open_history
    from llamactl.prepare import InferOptions

    env: Environment = ctx.obj
    with open_history(env) as store:
        record = store.get(request_id)
    if record is None:
        raise _not_found(request_id)
    options = InferOptions(model=model, version=version, deploy_id=deploy_id, inputs=inputs or [],
                           stream=stream, json=json_output)
    request = rebuild_request(record, options, env)
    run(env, request, options, quiet=quiet, timeout=timeout, retries=retries, history=not no_history)


@app.command()
def rm(
    ctx: typer.Context,
    request_ids: Annotated[list[int], typer.Argument(metavar="ID...", help="The requests to remove.")],
) -> None:
    """Remove requests from history: all of them, or none if an id is unknown."""
    from llamactl.errors import UsageError
    from llamactl.history.store import open_history
    from llamactl.output import Messages

    env: Environment = ctx.obj
    with open_history(env) as store:
        missing = store.remove(request_ids)
    if missing:
        raise UsageError(f"no request {', '.join(map(str, missing))} in history; nothing was removed")
    count = len(set(request_ids))
    Messages(env).info(f"removed {count} request{'s' if count != 1 else ''} from history")


@app.command()
def clear(
    ctx: typer.Context,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask (needed when not on a terminal).")] = False,
) -> None:
    """Remove every request from history. Asks first on a terminal."""
    from llamactl.errors import UsageError
    from llamactl.history.store import history_path, open_history
    from llamactl.output import Messages

    env: Environment = ctx.obj
    if not yes:
        if not env.stdin_isatty:
            raise UsageError("history clear asks for confirmation on a terminal; pass --yes in scripts")
        if not typer.confirm(f"Remove every request from {history_path(env)}?", default=False, err=True):
            Messages(env).info("nothing removed")
            return
    with open_history(env) as store:
        count = store.clear()
    Messages(env).info(f"removed {count} request{'s' if count != 1 else ''} from history")


@app.command()
def path(ctx: typer.Context) -> None:
    """Print where the history database is (it may not exist yet)."""
    from llamactl.history.store import history_path
    from llamactl.output import write_flushed

    env: Environment = ctx.obj
    write_flushed(env.stdout, f"{history_path(env)}\n")
