"""`llamactl batch`: jobs handed to DeepInfra's Batch API (submit, list, status, wait,
results, cancel). The work is in llamactl/batch_api/; this module parses the flags."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from llamactl.catalogue.names import complete_model_name
from llamactl.commands.helptext import command_help
from llamactl.commands.options import Declarations, seconds_between
from llamactl.env import Environment

batch_opts = Declarations("batch")
JobArgument = Annotated[str, batch_opts.argument("ID")]
JsonOption = Annotated[bool, batch_opts.option("--json")]
submit_opts = Declarations("batch submit")
DAY, WEEK = 86400.0, 7 * 86400.0  # a batch runs within a day (or expires): a longer wait is a typo


app = typer.Typer(no_args_is_help=True, **command_help("batch"))


@contextmanager
def _session(env: Environment, needs_api: bool = True) -> Iterator[tuple]:
    """(JobStore, BatchApi or None) for one command, the history database open throughout."""
    from llamactl.batch_api.jobs import JobStore
    from llamactl.history.store import open_history

    with open_history(env, writing=True) as history:  # jobs are updated as the API is asked
        api = None
        if needs_api:
            from llamactl.auth.credentials import require_token
            from llamactl.batch_api.remote import BatchApi

            api = BatchApi.connecting(env, require_token(env, warn=env.output.warn))
        try:
            yield JobStore(history.db, env.api_host), history, api
        finally:
            if api is not None:
                api.close()


@app.command(**command_help("batch submit"))
def submit(
    ctx: typer.Context,
    source: Annotated[str, submit_opts.argument("FILE|-")],
    model: Annotated[
        str | None,
        submit_opts.option("-m", "--model", metavar="MODEL", panel="Model", complete=complete_model_name),
    ] = None,
    batch_format: Annotated[
        str, submit_opts.option("--batch-format", metavar="jsonl|lines|openai", panel="Input")
    ] = "jsonl",
    inputs: Annotated[
        list[str] | None, submit_opts.option("-i", "--input", metavar="KEY=VALUE", panel="Input")
    ] = None,
    system: Annotated[str | None, submit_opts.option("--system", metavar="TEXT", panel="Input")] = None,
    endpoint: Annotated[
        str, submit_opts.option("--endpoint", metavar="chat|completions|embeddings", panel="Model")
    ] = "chat",
    metadata: Annotated[
        list[str] | None, submit_opts.option("--metadata", metavar="KEY=VALUE", panel="Batch")
    ] = None,
    only_missing: Annotated[
        str | None, submit_opts.option("--only-missing", metavar="JOB", panel="Input")
    ] = None,
    wait_too: Annotated[bool, submit_opts.option("--wait", panel="Batch")] = False,
    timeout: Annotated[
        float | None,
        submit_opts.option(
            "--timeout", metavar="SECONDS", min=0, callback=seconds_between(0, WEEK), panel="Batch"
        ),
    ] = None,
    interval: Annotated[
        float | None,
        submit_opts.option(
            "--interval", metavar="SECONDS", min=0, callback=seconds_between(0, DAY), panel="Batch"
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    from functools import partial

    from llamactl.batch_api.display import upload_progress
    from llamactl.batch_api.lines import LinesRejected
    from llamactl.batch_api.submit import SubmitPlan
    from llamactl.batch_api.submit import submit as submit_job
    from llamactl.errors import UsageError
    from llamactl.output.format import count_text

    env: Environment = ctx.obj
    out = env.output
    if not wait_too and (timeout is not None or interval is not None):
        raise UsageError("--timeout and --interval need --wait", hint="or wait later: llamactl batch wait ID")
    conversion = _conversion(env, source, model, batch_format, inputs or [], system, endpoint)
    plan = SubmitPlan(source, conversion, _metadata(metadata or []), only_missing)
    with _session(env) as (store, _, api):
        try:
            job_key = submit_job(env, plan, store, api, partial(upload_progress, out))
        except LinesRejected as exc:
            for problem in exc.problems[:20]:
                out.warn(problem)
            if len(exc.problems) > 20:
                out.warn(f"... and {len(exc.problems) - 20} more")
            raise
        job = store.job(job_key)
        with _naming_the_job(job):
            if not wait_too:
                _print_submitted(env, job, json_output)
                return
            # the id on stdout as without --wait, for ID=$(llamactl batch submit --wait ...)
            if not json_output:
                out.write(job.id + "\n")
                out.flush()
        out.info(f"submitted batch job {job.id} ({count_text(job.lines, 'line')})")
        _wait(env, store, api, job, timeout=timeout, interval=interval, json_output=json_output)


def _conversion(
    env: Environment,
    source: str,
    model: str | None,
    batch_format: str,
    inputs: list[str],
    system: str | None,
    endpoint: str,
):
    """How submit turns each input line into a Batch API line; the options checked (exit 2)."""
    from llamactl.batch.settings import default_inputs
    from llamactl.batch_api.lines import ENDPOINTS, FORMATS, Conversion
    from llamactl.errors import UsageError
    from llamactl.inference.prepare import InferOptions

    if batch_format not in FORMATS:
        raise UsageError(f"--batch-format: expected {', '.join(FORMATS)}, got {batch_format!r}")
    if endpoint not in ENDPOINTS:
        raise UsageError(f"--endpoint: expected {', '.join(ENDPOINTS)}, got {endpoint!r}")
    if model is not None or batch_format != "openai":  # openai lines may carry their model
        from llamactl.catalogue.model_choice import chosen_model

        model = chosen_model(env, model)  # -m, LLAMACTL_MODEL or the default; aliases expanded
    if system is not None and endpoint != "chat":
        raise UsageError("--system needs --endpoint chat")
    defaults = default_inputs(InferOptions(inputs=inputs), env, source).fields
    return Conversion(model, ENDPOINTS[endpoint], batch_format, defaults, system)


def _metadata(items: list[str]) -> dict[str, str] | None:
    from llamactl.errors import UsageError

    labels = {}
    for item in items:
        key, equals, value = item.partition("=")
        if not equals or not key:
            raise UsageError(f"--metadata: expected KEY=VALUE, got {item!r}")
        if len(key) > 64 or len(value) > 512:
            raise UsageError(f"--metadata {key}: keys take 64 characters and values 512")
        labels[key] = value
    if len(labels) > 16:
        raise UsageError("--metadata: a batch takes at most 16 labels")
    return labels or None


@contextmanager
def _naming_the_job(job) -> Iterator[None]:
    """A stdout that cannot take the id (closed, a full disk) must not lose it: the job
    exists and is billed, and submitting again would pay twice."""
    from llamactl.errors import LocalFailure

    try:
        yield
    except LocalFailure as exc:
        raise LocalFailure(
            f"{exc.message}; batch job {job.id} was submitted",
            hint=f"follow it with: llamactl batch wait {job.id} ('llamactl batch list' shows it)",
        ) from None


def _print_submitted(env: Environment, job, json_output: bool) -> None:
    from llamactl.batch_api.jobs import job_json
    from llamactl.output.format import count_text

    if json_output:
        env.output.json(job_json(job))
        return
    env.output.write(job.id + "\n")
    parts = f" in {job.parts} batches" if job.parts > 1 else ""
    env.output.info(
        f"submitted {count_text(job.lines, 'line')}{parts}; follow it with: llamactl batch wait {job.id}"
    )


@app.command("list", **command_help("batch list"))
def list_jobs(ctx: typer.Context, json_output: JsonOption = False) -> None:
    from llamactl.batch_api.display import no_jobs_text, print_jobs
    from llamactl.batch_api.jobs import job_json

    env: Environment = ctx.obj
    with _session(env, needs_api=False) as (store, _, _):
        jobs = store.jobs()
        elsewhere = [] if jobs else store.elsewhere()  # another host's jobs: said on stderr
    if not json_output:
        print_jobs(env.output, jobs, no_jobs_text(env.api_host, elsewhere))
        return
    env.output.json([job_json(job) for job in jobs])
    if elsewhere:
        env.output.info(no_jobs_text(env.api_host, elsewhere))


@app.command(**command_help("batch status"))
def status(ctx: typer.Context, job_id: JobArgument, json_output: JsonOption = False) -> None:
    from llamactl.batch_api.display import status_lines
    from llamactl.batch_api.jobs import job_json
    from llamactl.batch_api.wait import poll_once

    env: Environment = ctx.obj
    with _session(env) as (store, _, api):
        job = store.find(job_id)
        poll_once(api, store, job)
    if json_output:
        env.output.json(job_json(job))
    else:
        env.output.write(status_lines(job))


wait_opts = Declarations("batch wait")


@app.command(**command_help("batch wait"))
def wait(
    ctx: typer.Context,
    job_id: JobArgument,
    timeout: Annotated[
        float | None,
        wait_opts.option("--timeout", metavar="SECONDS", min=0, callback=seconds_between(0, WEEK)),
    ] = None,
    interval: Annotated[
        float | None,
        wait_opts.option("--interval", metavar="SECONDS", min=0, callback=seconds_between(0, DAY)),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    env: Environment = ctx.obj
    with _session(env) as (store, _, api):
        _wait(
            env, store, api, store.find(job_id), timeout=timeout, interval=interval, json_output=json_output
        )


def _wait(env: Environment, store, api, job, *, timeout, interval, json_output: bool) -> None:
    from llamactl.batch_api.display import WaitProgress, counts_text
    from llamactl.batch_api.jobs import job_json
    from llamactl.batch_api.wait import outcome_error
    from llamactl.batch_api.wait import wait as wait_for

    out = env.output
    progress = WaitProgress(out)
    try:
        job = wait_for(api, store, job, timeout=timeout, interval=interval, show=progress)
    except KeyboardInterrupt:
        progress.stop()
        out.info(f"stopped waiting; batch job {job.id} goes on: llamactl batch wait {job.id}")
        raise
    finally:
        progress.stop()
    if json_output:
        out.json(job_json(job))
    failure, reasons = outcome_error(job, store, _not_run_rows(env, api, job))
    for reason in reasons:
        out.warn(reason)
    if failure is not None:
        raise failure
    out.info(
        f"batch job {job.id} completed: {counts_text(job)}; collect it with: llamactl batch results {job.id}"
    )


def _not_run_rows(env: Environment, api, job) -> int | None:
    """For a job that expired or was cancelled, how many of its rows never ran (None when
    its error files cannot be had, or a `batch results` is downloading them now: the
    message then gives the API's counts only)."""
    from llamactl.batch_api.collected import collecting
    from llamactl.batch_api.jobs import job_folder
    from llamactl.batch_api.wait import not_run_rows
    from llamactl.env import ensure_private_dir
    from llamactl.errors import LlamactlError

    if not job.ended_early:
        return None
    try:
        directory = job_folder(env, job)
        ensure_private_dir(directory)
        with collecting(directory):  # BlockingIOError while another process holds it
            return not_run_rows(api, job, directory)
    except (LlamactlError, OSError):
        return None


results_opts = Declarations("batch results")


@app.command(**command_help("batch results"))
def results(
    ctx: typer.Context,
    job_id: JobArgument,
    output: Annotated[str | None, results_opts.option("--output", metavar="FILE")] = None,
    errors: Annotated[str | None, results_opts.option("--errors", metavar="FILE")] = None,
) -> None:
    from llamactl.batch_api.results import collect_job

    env: Environment = ctx.obj
    with _session(env) as (store, history, api):
        collect_job(env, store, history, api, store.find(job_id), output, errors)


@app.command(**command_help("batch cancel"))
def cancel(ctx: typer.Context, job_id: JobArgument, json_output: JsonOption = False) -> None:
    from llamactl.batch_api.jobs import DONE, job_json

    env: Environment = ctx.obj
    out = env.output
    with _session(env) as (store, _, api):
        job = store.find(job_id)
        asked = 0
        for batch in list(job.batches):
            if batch.get("status") not in DONE and batch.get("status") != "cancelling":
                store.update(job, api.cancel(batch["id"]))
                asked += 1
    if json_output:
        out.json(job_json(job))
    if not asked:
        out.info(f"batch job {job.id} is {job.status}: nothing to cancel")
        return
    out.info(
        f"asked to cancel batch job {job.id} ({job.status}); cancelling is best effort: rows that"
        f" finish meanwhile are billed, and the job may still complete ('llamactl batch wait {job.id}')"
    )
