"""`llamactl history`: list, show, search, total, export, rerun and remove past inferences."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from llamactl.commands.infer_options import RequestFlags, with_request_options
from llamactl.env import Environment
from llamactl.history.completion import complete_request_id
from llamactl.catalogue.names import complete_model_name

# Help paragraphs are single lines: Typer's Rich help keeps every line break it is given.
# Epilogs are blocks that keep theirs, each line within 80 columns; they start with a
# newline because Typer dedents help like a docstring, which would strip their indent.
HELP = (
    "Every past inference: list, show, search, totals, export, rerun, remove.\n\n"
    "Every infer is recorded (unless --no-history or LLAMACTL_NO_HISTORY=1) in a SQLite "
    "database under the state directory; 'llamactl history path' prints where. The token "
    "is never recorded. In a pipe, listings are tab-separated lines: id, time, model, "
    "status, tokens in, tokens out, cost, prompt. list, search, stats and export take the "
    "same filters: --model (a name or its start, such as meta-llama/), --status, --since "
    "and --batch."
)
EPILOG = """
Examples:
  llamactl history list -n 5
  llamactl history show 1
  # in a pipeline: the prompts of the requests that failed
  llamactl history list --status error | cut -f8
  # in CI: what this job's requests cost
  llamactl history stats --since 1h --json | jq .total.cost
"""

LIST_HELP = (
    "The most recent requests: id, time, model, status, tokens, cost and prompt.\n\n"
    "On a terminal a table; in a pipe one tab-separated line per request, ready for cut "
    "and awk. A cost is '-' when unknown and starts with '~' when estimated."
)
LIST_EPILOG = """
Examples:
  llamactl history list -n 5
  # the last week's requests to any of Meta's models
  llamactl history list --model meta-llama/ --since 7d
  # in a pipeline: the ids of the requests that did not finish
  llamactl history list --status incomplete | cut -f1
  # in CI: the prompt of the last request, from JSON
  llamactl history list -n 1 --json | jq -r '.[0].fields.input'
"""

SHOW_HELP = (
    "One request in full: its fields, every result, tokens, cost and timings.\n\n"
    "The ID is the first column of 'history list'; TAB completes the recent ones."
)
SHOW_EPILOG = """
Examples:
  llamactl history show 1
  # in a pipeline: the text of the first result
  llamactl history show 1 --json | jq -r '.results[0]'
"""

SEARCH_HELP = (
    "Full-text search over prompts and outputs, newest first.\n\n"
    "Every word must appear, as a word or the start of one ('alpac' finds 'alpacas'); "
    "quotes, AND or NEAR are plain text."
)
SEARCH_EPILOG = """
Examples:
  llamactl history search alpaca
  llamactl history search alpaca --status error --since 1d
  # in a pipeline: the answers to every prompt about llamas
  llamactl history search llama --json | jq -r '.[].results[0]'
"""

STATS_HELP = (
    "Requests, tokens in and out, and cost, totalled by model, day or batch.\n\n"
    "On a terminal a table; in a pipe one tab-separated line per group: key, requests, "
    "tokens in, tokens out, cost. --json adds the totals of all groups."
)
STATS_EPILOG = """
Examples:
  llamactl history stats --since 7d
  llamactl history stats --by day --since 2w
  llamactl history stats --by day --model meta-llama/
  # in CI: the cost of the last hour's requests
  llamactl history stats --since 1h --json | jq .total.cost
"""

EXPORT_HELP = (
    "Every request as one JSON object a line (JSON Lines), oldest first.\n\n"
    "Each object has every recorded field (as 'history show --json'): for a backup, jq, "
    "pandas or a spreadsheet."
)
EXPORT_EPILOG = """
Examples:
  llamactl history export > history.jsonl
  # in a pipeline: requests per model over the last week
  llamactl history export --since 7d | jq -r .model | sort | uniq -c
  # the requests of one batch that failed, for a second try
  llamactl history export --batch b-1 --status error > failed.jsonl
"""

RERUN_HELP = (
    "Send a recorded request again, with infer's options on top.\n\n"
    "It goes to the current API URL, streams as infer would, and is recorded as a new "
    "request. -i overrides one field; a request that uploaded a file needs it again "
    "(-i audio=@clip.wav)."
)
RERUN_EPILOG = """
Examples:
  llamactl history rerun 1
  # the same request with one field changed, the API's JSON saved
  llamactl history rerun 1 -i temperature=0.2 --json > answer.json
  # what would be sent in Llama 2's chat format, as a curl command
  llamactl history rerun 1 --chat --dry-run
"""

RM_HELP = (
    "Remove requests from history: all of them, or none if an id is unknown.\n\n"
    "Unknown ids are exit 2, and nothing is removed."
)
RM_EPILOG = """
Examples:
  llamactl history rm 2 3
  # in a pipeline: forget every request that mentions a password
  llamactl history search password | cut -f1 | xargs -r llamactl history rm
"""

CLEAR_HELP = (
    "Remove every request from history.\n\n"
    "Asks first on a terminal; without one (a script, CI) it needs --yes and exits 2 "
    "without it."
)
CLEAR_EPILOG = """
Examples:
  llamactl history clear
  # in a script or CI job, where nobody can answer
  llamactl history clear --yes
"""

PATH_HELP = (
    "Print where the history database is (it may not exist yet).\n\n"
    "LLAMACTL_HOME moves it, with the rest of llamactl's state."
)
PATH_EPILOG = """
Examples:
  llamactl history path
  # how big it has grown
  du -h "$(llamactl history path)"
"""

FILTER_PANEL = "Filters"

app = typer.Typer(no_args_is_help=True, help=HELP, epilog=EPILOG)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table or tab-separated lines.")]
LimitOption = Annotated[int, typer.Option("-n", "--limit", metavar="N", min=1, help="At most N requests, newest first.")]


def complete_status(incomplete: str) -> list[str]:
    from llamactl.history.records import STATUSES

    return [status for status in STATUSES if status.startswith(incomplete)]


def complete_stats_key(incomplete: str) -> list[str]:
    from llamactl.history.queries import STATS_KEYS

    return [key for key in STATS_KEYS if key.startswith(incomplete)]


# The filters list, search, stats and export share, with the same names and meaning.
ModelFilter = Annotated[Optional[str], typer.Option("-m", "--model", metavar="MODEL", help="Only models whose name starts with MODEL: a whole name, or a prefix such as meta-llama/.", autocompletion=complete_model_name, rich_help_panel=FILTER_PANEL, show_default=False)]
StatusFilter = Annotated[Optional[str], typer.Option("--status", metavar="STATUS", help="Only this status: ok, error, incomplete, interrupted or queued.", autocompletion=complete_status, rich_help_panel=FILTER_PANEL, show_default=False)]
SinceFilter = Annotated[Optional[str], typer.Option("--since", metavar="DATE", help="Only requests since a date (2024-05-01), a local time (2024-05-01T14:30) or a duration back from now (30m, 12h, 7d, 2w).", rich_help_panel=FILTER_PANEL, show_default=False)]
BatchFilter = Annotated[Optional[str], typer.Option("--batch", metavar="ID", help="Only the requests of one 'infer --batch' run (its id is in the batch's summary line).", rich_help_panel=FILTER_PANEL, show_default=False)]


def _choice(option: str, value: Optional[str], allowed: tuple[str, ...]) -> None:
    from llamactl.errors import UsageError

    if value is not None and value not in allowed:
        raise UsageError(f"{option}: expected one of {', '.join(allowed)}, got {value!r}")


def _since(text: Optional[str]) -> Optional[float]:
    import time

    from llamactl.history.queries import parse_since

    return None if text is None else parse_since(text, time.time())


def _checked_filters(status: Optional[str], since: Optional[str]) -> Optional[float]:
    """Check the filters before the database is opened; returns --since as a Unix time."""
    from llamactl.history.records import STATUSES

    _choice("--status", status, STATUSES)
    return _since(since)


def _not_found(request_id: int):
    from llamactl.errors import UsageError

    return UsageError(f"no request {request_id} in history", hint="'llamactl history list' shows the recent ones")


def _stored_record(env: Environment, request_id: int):
    """The record with this id, or the not-found error (exit 2)."""
    from llamactl.history.store import open_history

    with open_history(env) as store:
        record = store.get(request_id)
    if record is None:
        raise _not_found(request_id)
    return record


def _print_records(env: Environment, records, json_output: bool) -> None:
    from llamactl.history.display import print_records

    out = env.output
    if json_output:
        out.json([record.to_json() for record in records])
    elif records:
        print_records(out, records)
    elif out.rich_stdout:  # a pipe gets no lines, and no words either
        out.info("no requests found")


@app.command("list", help=LIST_HELP, epilog=LIST_EPILOG)
def list_requests(
    ctx: typer.Context,
    limit: LimitOption = 20,
    model: ModelFilter = None,
    status: StatusFilter = None,
    since: SinceFilter = None,
    batch: BatchFilter = None,
    json_output: JsonOption = False,
) -> None:
    from llamactl.history.store import open_history

    start = _checked_filters(status, since)
    env: Environment = ctx.obj
    with open_history(env) as store:
        records = store.recent(limit, store.filters(model, status, start, batch))
    _print_records(env, records, json_output)


@app.command(help=SHOW_HELP, epilog=SHOW_EPILOG)
def show(
    ctx: typer.Context,
    request_id: Annotated[int, typer.Argument(metavar="ID", help="A request's id, as 'history list' shows it.", autocompletion=complete_request_id, show_default=False)],
    json_output: Annotated[bool, typer.Option("--json", help="Print the request as one JSON object.")] = False,
) -> None:
    from llamactl.history.display import print_record

    env: Environment = ctx.obj
    record = _stored_record(env, request_id)
    if json_output:
        env.output.json(record.to_json())
    else:
        print_record(env.output, record)


@app.command(help=SEARCH_HELP, epilog=SEARCH_EPILOG)
def search(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(metavar="TEXT", help="Words that must all appear in the prompt or the output (prefixes match: 'llam' finds 'llamas').")],
    limit: LimitOption = 20,
    model: ModelFilter = None,
    status: StatusFilter = None,
    since: SinceFilter = None,
    batch: BatchFilter = None,
    json_output: JsonOption = False,
) -> None:
    from llamactl.history.store import open_history

    start = _checked_filters(status, since)
    env: Environment = ctx.obj
    with open_history(env) as store:
        records = store.search(text, limit, store.filters(model, status, start, batch))
    _print_records(env, records, json_output)


@app.command(help=STATS_HELP, epilog=STATS_EPILOG)
def stats(
    ctx: typer.Context,
    by: Annotated[str, typer.Option("--by", metavar="model|day|batch", help="Group by model, by (local) day or by 'infer --batch' run.", autocompletion=complete_stats_key)] = "model",
    model: ModelFilter = None,
    status: StatusFilter = None,
    since: SinceFilter = None,
    batch: BatchFilter = None,
    json_output: JsonOption = False,
) -> None:
    from llamactl.history.display import print_stats, stats_json
    from llamactl.history.queries import STATS_KEYS
    from llamactl.history.records import local_time
    from llamactl.history.store import open_history

    _choice("--by", by, tuple(STATS_KEYS))
    start = _checked_filters(status, since)
    env: Environment = ctx.obj
    with open_history(env) as store:
        rows = store.stats(by, store.filters(model, status, start, batch))
    if json_output:
        env.output.json(stats_json(rows, by, None if start is None else local_time(start)))
    else:
        print_stats(env.output, rows, by)


@app.command(help=EXPORT_HELP, epilog=EXPORT_EPILOG)
def export(
    ctx: typer.Context,
    model: ModelFilter = None,
    status: StatusFilter = None,
    since: SinceFilter = None,
    batch: BatchFilter = None,
) -> None:
    from llamactl.history.store import open_history

    start = _checked_filters(status, since)
    env: Environment = ctx.obj
    with open_history(env) as store:
        for record in store.export(store.filters(model, status, start, batch)):
            env.output.json_line(record.to_json())


@app.command(help=RERUN_HELP, epilog=RERUN_EPILOG)
@with_request_options
def rerun(
    ctx: typer.Context,
    flags: RequestFlags,
    request_id: Annotated[int, typer.Argument(metavar="ID", help="The request to send again.", autocompletion=complete_request_id, show_default=False)],
) -> None:
    from llamactl.commands.common import infer_options, send
    from llamactl.history.rerun import rebuild_request

    env: Environment = ctx.obj
    record = _stored_record(env, request_id)
    options = infer_options(flags)
    send(env, rebuild_request(record, options, env), options, flags)


@app.command(help=RM_HELP, epilog=RM_EPILOG)
def rm(
    ctx: typer.Context,
    request_ids: Annotated[list[int], typer.Argument(metavar="ID...", help="The requests to remove.", autocompletion=complete_request_id, show_default=False)],
) -> None:
    from llamactl.errors import UsageError
    from llamactl.history.store import open_history

    env: Environment = ctx.obj
    with open_history(env) as store:
        missing = store.remove(request_ids)
    if missing:
        raise UsageError(f"no request {', '.join(map(str, missing))} in history; nothing was removed")
    env.output.info(f"removed {_requests(len(set(request_ids)))} from history")


@app.command(help=CLEAR_HELP, epilog=CLEAR_EPILOG)
def clear(
    ctx: typer.Context,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask (needed when not on a terminal).")] = False,
) -> None:
    from llamactl.errors import UsageError
    from llamactl.history.store import history_path, open_history

    env: Environment = ctx.obj
    if not yes and not env.stdin_isatty:
        raise UsageError("history clear asks for confirmation on a terminal; pass --yes in scripts")
    with open_history(env) as store:
        if not yes:
            count = store.count()
            if not count:
                env.output.info("history is empty: nothing to remove")
                return
            if not typer.confirm(f"Remove all {_requests(count)} from {history_path(env)}?", default=False, err=True):
                env.output.info("nothing removed")
                return
        count = store.clear()
    env.output.info(f"removed {_requests(count)} from history")


def _requests(count: int) -> str:
    return f"{count} request{'s' if count != 1 else ''}"


@app.command(help=PATH_HELP, epilog=PATH_EPILOG)
def path(ctx: typer.Context) -> None:
    from llamactl.history.store import history_path

    env: Environment = ctx.obj
    env.output.text(f"{history_path(env)}\n")
