"""What `infer --batch` is given, and everything checked about it before the first request:
the batch flags, the flags that make no sense for a batch, the `-i` defaults every line
starts from, the input itself and the --output path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llamactl.api.request import InferenceTarget
from llamactl.api.retry import DEFAULT_RETRIES, DEFAULT_TIMEOUT
from llamactl.batch.input import FORMATS, BatchLine, parse_batch
from llamactl.env import Environment
from llamactl.errors import UsageError
from llamactl.files import read_stdin, user_path
from llamactl.inference.inputs import InputError, RequestInputs, parse_inputs, validate_fields
from llamactl.inference.prepare import InferOptions, StdinReader, make_target, read_path

DEFAULT_CONCURRENCY = 4


@dataclass
class BatchSettings:
    """`infer`'s batch flags, plus the request options every line shares."""

    source: str  # a path, or "-" for stdin
    batch_format: str = "jsonl"
    concurrency: int = DEFAULT_CONCURRENCY
    output: Path | None = None
    max_cost: float | None = None
    quiet: bool = False
    timeout: float = DEFAULT_TIMEOUT
    max_time: float | None = None  # for the whole batch
    retries: int = DEFAULT_RETRIES
    history: bool = True

    @classmethod
    def from_flags(
        cls,
        source: str,
        batch_format: str | None,
        concurrency: int | None,
        output: str | None,
        max_cost: float | None,
        **request_options: Any,
    ) -> BatchSettings:
        batch_format = batch_format or FORMATS[0]
        if batch_format not in FORMATS:
            raise UsageError(f"--batch-format: expected {' or '.join(FORMATS)}, got {batch_format!r}")
        if max_cost is not None and not max_cost > 0:
            raise UsageError(f"--max-cost: expected an amount of dollars above 0, got {max_cost:g}")
        return cls(
            source,
            batch_format,
            concurrency or DEFAULT_CONCURRENCY,
            user_path(output) if output else None,
            max_cost,
            **request_options,
        )


def read_source(env: Environment, source: str) -> bytes:
    if source == "-":
        if not env.stdin_readable():
            raise UsageError("--batch -: stdin is a terminal; pipe the prompts in")
        return read_stdin(env.stdin)
    try:
        return user_path(source).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read --batch {source}: {exc.strerror or exc}") from None


def default_inputs(options: InferOptions, env: Environment, source: str) -> RequestInputs:
    """The `-i` fields every line starts from, checked once before anything is sent."""

    def read_stdin() -> bytes:
        if source == "-":
            raise InputError("@-: stdin already carries the batch (--batch -)")
        return StdinReader(env).read_bytes()

    try:
        defaults = parse_inputs(options.inputs, read_path, read_stdin)
        validate_fields(defaults.fields)
    except InputError as exc:
        raise UsageError(str(exc)) from None
    return defaults


def refuse_single_flags(
    prompt: str | None, stream: bool | None, json: bool, selections: list | None, dry_run: bool
) -> None:
    """Flags of a single request that mean nothing for a batch (exit 2)."""
    given = [
        flag
        for flag, used in (
            ("a PROMPT", prompt is not None),
            ("--stream", stream is True),
            ("--json", json),
            ("-o", bool(selections)),
            ("--dry-run", dry_run),
        )
        if used
    ]
    if given:
        raise UsageError(
            f"--batch cannot be combined with {', '.join(given)}",
            hint="the prompts are the lines of the batch; each result is one JSON line, never streamed",
        )


def read_lines(
    env: Environment, options: InferOptions, settings: BatchSettings
) -> tuple[InferenceTarget, list[BatchLine]]:
    """The batch's target and lines, read and parsed; no line a request is a usage error."""
    target = make_target(options.model, options.version, options.deploy_id)
    defaults = default_inputs(options, env, settings.source)
    data = read_source(env, settings.source)
    check_output_path(settings)
    lines = parse_batch(data, settings.batch_format, target, defaults, chat_options=options)
    source = "stdin" if settings.source == "-" else settings.source
    if not lines:
        raise UsageError(f"no prompts in {source}")
    if all(line.request is None for line in lines):
        hint = (
            "for one plain prompt a line, add --batch-format lines"
            if settings.batch_format == "jsonl"
            else None
        )
        raise UsageError(
            f"no line of {source} is a request (line {lines[0].number}: {lines[0].error})", hint=hint
        )
    return target, lines


def check_output_path(settings: BatchSettings) -> None:
    """--output must be a regular file (or a new one), and not the input."""
    from llamactl.batch.output import output_target

    output = settings.output
    if output is None:
        return
    output_target(output)
    if settings.source != "-" and output.exists() and output.samefile(settings.source):
        raise UsageError("--output is the --batch file: choose another file for the results")
