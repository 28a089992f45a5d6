"""`llamactl history`: list, show, search, total, export, rerun and remove past inferences."""

from __future__ import annotations

from typing import Annotated

import typer

from llamactl.catalogue.names import complete_model_name
from llamactl.commands.helptext import command_help
from llamactl.commands.infer_options import RequestFlags
from llamactl.commands.options import Declarations, with_options
from llamactl.env import Environment
from llamactl.history.completion import complete_request_id
from llamactl.plain import record

FILTER_PANEL = "Filters"

app = typer.Typer(no_args_is_help=True, **command_help("history"))


def complete_status(incomplete: str) -> list[str]:
    from llamactl.history.records import STATUSES

    return [status for status in STATUSES if status.startswith(incomplete)]


def complete_stats_key(incomplete: str) -> list[str]:
    from llamactl.history.queries import STATS_KEYS

    return [key for key in STATS_KEYS if key.startswith(incomplete)]


history_opts = Declarations("history")
JsonOption = Annotated[bool, history_opts.option("--json")]
LimitOption = Annotated[int, history_opts.option("-n", "--limit", metavar="N", min=1)]
ConversationFilter = Annotated[
    int | None, history_opts.option("--conversation", metavar="ID", panel=FILTER_PANEL)
]


@record
class Filters:
    """The filters list, search, stats and export share, with the same names and meaning."""

    model: Annotated[
        str | None,
        history_opts.option(
            "-m", "--model", metavar="MODEL", panel=FILTER_PANEL, complete=complete_model_name
        ),
    ] = None
    status: Annotated[
        str | None,
        history_opts.option("--status", metavar="STATUS", panel=FILTER_PANEL, complete=complete_status),
    ] = None
    since: Annotated[str | None, history_opts.option("--since", metavar="DATE", panel=FILTER_PANEL)] = None
    batch: Annotated[str | None, history_opts.option("--batch", metavar="ID", panel=FILTER_PANEL)] = None


def _choice(option: str, value: str | None, allowed: tuple[str, ...]) -> None:
    from llamactl.errors import UsageError

    if value is not None and value not in allowed:
        raise UsageError(f"{option}: expected one of {', '.join(allowed)}, got {value!r}")


def _since(text: str | None) -> float | None:
    import time

    from llamactl.history.queries import parse_since

    return None if text is None else parse_since(text, time.time())


def _check_utf8(**arguments: str | None) -> None:
    """A TEXT or filter given as bytes that are not UTF-8 can match nothing: exit 2."""
    from llamactl.errors import UsageError
    from llamactl.inference.inputs import not_utf8

    for name, value in arguments.items():
        problem = value and not_utf8(value)
        if problem:
            raise UsageError(f"{name}: {problem}", hint="check the terminal's or the script's encoding")


def _checked_filters(filters: Filters) -> float | None:
    """Check the filters before the database is opened; returns --since as a Unix time."""
    from llamactl.history.records import STATUSES

    _choice("--status", filters.status, STATUSES)
    return _since(filters.since)


def _store_filters(
    env: Environment, store, filters: Filters, start: float | None, conversation: int | None = None
):
    """The store's query filters for these options (`start`: --since as _checked_filters
    read it). An id history never had (--conversation, --batch) is exit 2, as `show` of a
    request id is: an empty answer would hide the typo."""
    from llamactl.history.conversations import conversation_not_found

    if conversation is not None and store.conversation(conversation) is None:
        raise conversation_not_found(conversation)
    batch, host = _batch(env, store, filters.batch)
    return store.filters(filters.model, filters.status, start, batch, conversation, host)


def _batch(env: Environment, store, batch: str | None) -> tuple[str | None, str | None]:
    """--batch ID as (the requests' batch id, the host whose requests to keep): a `batch`
    job's requests are recorded under its first batch's id, so another of its batches'
    ids names them too. None, None: no --batch."""
    from llamactl.errors import UsageError
    from llamactl.output.sanitize import visible_inline

    if batch is None:
        return None, None
    hosts = store.batch_hosts(batch)
    if hosts:
        return batch, _batch_host(env, batch, hosts)
    job = store.batch_job(batch)
    if job is not None and job != batch:
        return _batch(env, store, job)
    if job is not None:
        raise UsageError(
            f"batch job {visible_inline(batch)} has no results in history yet",
            hint=f"'llamactl batch results {visible_inline(batch)}' collects them and records them",
        )
    raise UsageError(
        f"no batch {visible_inline(batch)} in history",
        hint="an 'infer --batch' run's id is in its summary line; 'llamactl batch list' shows the Batch API jobs",
    )


def _batch_host(env: Environment, batch: str, hosts: list[tuple[str, int]]) -> str | None:
    """The host whose requests `--batch ID` keeps when several hosts gave that id (a
    Batch API job's id is its host's own): the current one, the others named on stderr;
    none of them is a usage error. None: every host (the id has one)."""
    from llamactl.errors import UsageError
    from llamactl.output.format import count_text
    from llamactl.output.sanitize import visible_inline

    if len(hosts) < 2:
        return None
    others = [(visible_inline(host), count) for host, count in hosts if host != env.api_host]
    named = ", ".join(host for host, _ in others)
    if len(others) == len(hosts):
        raise UsageError(
            f"batch {visible_inline(batch)} names requests sent to {len(hosts)} API hosts ({named}),"
            f" none of them {visible_inline(env.api_host)}",
            hint="point llamactl at the one you mean (--api-url or DEEPINFRA_HOST)",
        )
    also = ", ".join(f"{count_text(count, 'request')} sent to {host}" for host, count in others)
    env.output.info(
        f"batch {visible_inline(batch)} also names {also}, not shown here"
        " (point llamactl at that API to see them)"
    )
    return env.api_host


def _not_found(request_id: int):
    from llamactl.errors import UsageError

    return UsageError(
        f"no request {request_id} in history", hint="'llamactl history list' shows the recent ones"
    )


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


def _show_matching(env: Environment, json_output: bool, filters: Filters, query, conversation=None) -> None:
    """The records `query(store, filters)` finds with the common filters, as list and search print them."""
    from llamactl.history.store import open_history

    _check_utf8(**{"--model": filters.model, "--batch": filters.batch})
    start = _checked_filters(filters)
    with open_history(env) as store:
        records = query(store, _store_filters(env, store, filters, start, conversation))
    _print_records(env, records, json_output)


@app.command("list", **command_help("history list"))
@with_options
def list_requests(
    ctx: typer.Context,
    limit: LimitOption = 20,
    *,
    filters: Filters,
    conversation: ConversationFilter = None,
    json_output: JsonOption = False,
) -> None:
    _show_matching(
        ctx.obj, json_output, filters, lambda store, found: store.recent(limit, found), conversation
    )


show_opts = Declarations("history show")


@app.command(**command_help("history show"))
def show(
    ctx: typer.Context,
    request_id: Annotated[int, show_opts.argument("ID", complete=complete_request_id)],
    json_output: Annotated[bool, show_opts.option("--json")] = False,
) -> None:
    from llamactl.history.display import print_record, with_conversation
    from llamactl.history.store import open_history

    env: Environment = ctx.obj
    with open_history(env) as store:
        record = store.get(request_id)
        if record is None:
            raise _not_found(request_id)
        conversation = store.conversation(record.conversation_id) if record.conversation_id else None
        earlier = store.turns(record.conversation_id, before_id=record.id) if record.conversation_id else []
    if json_output:
        env.output.json(with_conversation(record.to_json(), record, conversation, earlier))
    else:
        print_record(env.output, record, conversation, earlier)


@app.command(**command_help("history search"))
@with_options
def search(
    ctx: typer.Context,
    text: Annotated[str, Declarations("history search").argument("TEXT")],
    limit: LimitOption = 20,
    *,
    filters: Filters,
    json_output: JsonOption = False,
) -> None:
    _check_utf8(TEXT=text)
    _show_matching(ctx.obj, json_output, filters, lambda store, found: store.search(text, limit, found))


@app.command(**command_help("history stats"))
@with_options
def stats(
    ctx: typer.Context,
    by: Annotated[
        str,
        Declarations("history stats").option("--by", metavar="model|day|batch", complete=complete_stats_key),
    ] = "model",
    *,
    filters: Filters,
    json_output: JsonOption = False,
) -> None:
    from llamactl.history.display import print_stats, stats_json
    from llamactl.history.queries import STATS_KEYS
    from llamactl.history.records import local_time
    from llamactl.history.store import open_history

    _choice("--by", by, tuple(STATS_KEYS))
    start = _checked_filters(filters)
    env: Environment = ctx.obj
    with open_history(env) as store:
        rows = store.stats(by, _store_filters(env, store, filters, start))
    if json_output:
        env.output.json(stats_json(rows, by, None if start is None else local_time(start)))
    else:
        print_stats(env.output, rows, by)


@app.command(**command_help("history export"))
@with_options
def export(ctx: typer.Context, *, filters: Filters, conversation: ConversationFilter = None) -> None:
    from llamactl.history.store import open_history

    start = _checked_filters(filters)
    env: Environment = ctx.obj
    with open_history(env) as store:
        for record in store.export(_store_filters(env, store, filters, start, conversation)):
            env.output.json_line(record.to_json())


@app.command(**command_help("history rerun"))
@with_options
def rerun(
    ctx: typer.Context,
    request_id: Annotated[int, Declarations("history rerun").argument("ID", complete=complete_request_id)],
    *,
    flags: RequestFlags,
) -> None:
    from llamactl.commands.common import infer_options, send
    from llamactl.history.rerun import rebuild_request

    env: Environment = ctx.obj
    if flags.model is not None:  # an alias, checked; without -m the recorded model, never the default
        from llamactl.catalogue.model_choice import chosen_model
        from llamactl.plain import replace

        flags = replace(flags, model=chosen_model(env, flags.model))
    record = _stored_record(env, request_id)
    options = infer_options(flags)
    send(env, rebuild_request(record, options, env), options, flags)


@app.command(**command_help("history rm"))
def rm(
    ctx: typer.Context,
    request_ids: Annotated[
        list[int], Declarations("history rm").argument("ID...", complete=complete_request_id)
    ],
) -> None:
    from llamactl.errors import UsageError
    from llamactl.history.store import open_history

    env: Environment = ctx.obj
    with open_history(env, writing=True) as store:
        missing = store.remove(request_ids)
    if missing:
        raise UsageError(f"no request {', '.join(map(str, missing))} in history; nothing was removed")
    env.output.info(f"removed {_requests(len(set(request_ids)))} from history")


@app.command(**command_help("history clear"))
def clear(
    ctx: typer.Context,
    yes: Annotated[bool, Declarations("history clear").option("--yes", "-y")] = False,
) -> None:
    from llamactl.errors import UsageError
    from llamactl.history.store import history_path, open_history

    env: Environment = ctx.obj
    if not yes and not env.stdin_isatty:
        raise UsageError("history clear asks for confirmation on a terminal; pass --yes in scripts")
    with open_history(env, writing=True) as store:
        if not yes:
            count = store.count()
            if not count:
                env.output.info("history is empty: nothing to remove")
                return
            if not typer.confirm(
                f"Remove all {_requests(count)} from {history_path(env)}?", default=False, err=True
            ):
                env.output.info("nothing removed")
                return
        count = store.clear()
    env.output.info(f"removed {_requests(count)} from history")


def _requests(count: int) -> str:
    return f"{count} request{'s' if count != 1 else ''}"


@app.command(**command_help("history path"))
def path(ctx: typer.Context) -> None:
    from llamactl.history.store import history_path

    env: Environment = ctx.obj
    env.output.text(f"{history_path(env)}\n")
