"""`batch submit`: check and convert the whole input first (nothing is uploaded when a line
would be rejected), then upload each part and create its batch, recording the job as soon
as its first batch exists so that no batch is ever untracked."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import IO

from llamactl.batch_api.jobs import JobStore
from llamactl.batch_api.lines import Conversion, Converted, convert
from llamactl.env import Environment
from llamactl.errors import UsageError


@dataclass
class SubmitPlan:
    source: str  # a path, or "-" for stdin
    conversion: Conversion
    metadata: dict[str, str] | None = None
    only_missing: str | None = None  # a job whose unfinished lines alone are sent again


class HashingReader:
    """Reads a binary stream line by line, keeping the sha256 of every byte read. It reads
    (and hashes) blocks of whole lines, and the lines of a block are handed out by
    `chain` in C: no Python runs per line here."""

    BLOCK = 1 << 20

    def __init__(self, stream: IO[bytes]):
        self.stream, self.sha256 = stream, hashlib.sha256()

    def __iter__(self) -> Iterator[bytes]:
        return chain.from_iterable(self._blocks())

    def _blocks(self) -> Iterator[list[bytes]]:
        while block := self.stream.read(self.BLOCK):
            if not block.endswith(b"\n"):
                block += self.stream.readline()  # to the end of the line (or of the input)
            self.sha256.update(block)
            lines = block.split(b"\n")
            if block.endswith(b"\n"):
                lines.pop()  # the empty rest after the last newline: no line
            yield lines


def open_source(env: Environment, source: str) -> IO[bytes]:
    if source == "-":
        if not env.stdin_readable():
            raise UsageError("FILE is -, but stdin is a terminal: pipe the input in")
        return getattr(env.stdin, "buffer", env.stdin)
    from llamactl.files import user_path

    try:
        return user_path(source).open("rb")
    except OSError as exc:
        raise UsageError(f"cannot read {source}: {exc.strerror or exc}") from None


def submit(env: Environment, plan: SubmitPlan, store: JobStore, api, uploading=None) -> int:
    """Submit the input as one job; returns the job's key (JobStore.job). `api` is a BatchApi; `uploading`,
    given (part number, parts, bytes), returns a context manager yielding a progress callback."""
    work = Path(tempfile.mkdtemp(prefix="submit-", dir=_jobs_dir(env)))
    try:
        keep, digest = _lines_to_resend(store, plan.only_missing) if plan.only_missing else (None, None)
        stream = open_source(env, plan.source)
        reader = HashingReader(stream)
        try:
            converted = convert(reader, plan.conversion, work, keep)
        except UsageError:
            _check_same_input(plan, digest, reader)  # a changed input explains more than its lines
            raise
        finally:
            if plan.source != "-":
                stream.close()
        _check_same_input(plan, digest, reader)
        return _send(env, plan, store, api, converted, reader.sha256.hexdigest(), uploading)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _send(env, plan: SubmitPlan, store: JobStore, api, converted: Converted, digest: str, uploading) -> int:
    """Upload and create each part's batch, recording it at once; returns the job's key."""
    from contextlib import nullcontext

    job_key = None
    for number, part in enumerate(converted.parts, 1):
        name = _upload_name(plan.source, number, len(converted.parts))
        with uploading(number, len(converted.parts), part.size) if uploading else nullcontext() as progress:
            uploaded = api.upload(part.path, name, progress)
        batch = api.create(uploaded["id"], plan.conversion.endpoint, plan.metadata)
        with _told_if_unrecorded(env, batch, number, len(converted.parts)):
            if job_key is None:
                job_key = store.add_job(
                    batch,
                    model=converted.model,
                    endpoint=plan.conversion.endpoint,
                    input_path=None if plan.source == "-" else str(Path(plan.source).resolve()),
                    input_sha256=digest,
                    lines=converted.lines,
                    parts=len(converted.parts),
                    metadata=plan.metadata,
                    numbers=converted.numbers,
                    part_lines=[part.lines for part in converted.parts],
                    custom_ids=converted.custom_ids,
                )
            else:
                store.add_part(job_key, number, batch)
    assert job_key is not None
    return job_key


@contextmanager
def _told_if_unrecorded(env: Environment, batch: dict, part: int, parts: int) -> Iterator[None]:
    """A batch the API created runs (and is billed) whether or not this machine records
    it: when recording fails, the error names the batch's id, so it is never lost; an
    interrupt there (Ctrl-C, SIGTERM) keeps its exit status, the id said first."""
    import sqlite3

    from llamactl.errors import Interrupted, LlamactlError, LocalFailure
    from llamactl.output.sanitize import visible_inline

    try:
        yield
    except BaseException as exc:
        batch_id = visible_inline(str(batch.get("id")))
        which = f" (part {part} of {parts})" if parts > 1 else ""
        lost = (
            f"batch {batch_id}{which} was created on {env.api_host} but could not be recorded on this machine"
        )
        kept = f"it runs and is billed all the same: keep its id, {batch_id}, to follow it"
        if isinstance(exc, Interrupted) or not isinstance(exc, (sqlite3.Error, OSError, LlamactlError)):
            env.output.warn(f"{lost}; {kept}")
            raise
        reason = getattr(exc, "message", None) or getattr(exc, "strerror", None) or str(exc)
        raise LocalFailure(f"{lost}: {reason}", hint=kept) from None


def _check_same_input(plan: SubmitPlan, digest: str | None, reader: HashingReader) -> None:
    if digest is not None and digest != reader.sha256.hexdigest():
        raise UsageError(
            f"--only-missing {plan.only_missing}: this input is not the one that job was submitted from",
            hint="give the same file, unchanged",
        )


def _upload_name(source: str, part: int, parts: int) -> str:
    """The input's base name (`stdin.jsonl` for -), with the part's number when split."""
    stem = "stdin" if source == "-" else Path(source).stem
    return f"{stem}.jsonl" if parts == 1 else f"{stem}.part-{part}-of-{parts}.jsonl"


def _lines_to_resend(store: JobStore, name: str) -> tuple[set[int], str]:
    """The input lines `name`'s results did not have done, and that job's input hash."""
    job = store.find(name)
    statuses = {line: status for line, _, _, _, status in store.lines(job.key)}
    if all(status is None for status in statuses.values()):
        raise UsageError(
            f"--only-missing {name}: that job's results are not in yet",
            hint=f"run 'llamactl batch results {name}' first",
        )
    keep = {line for line, status in statuses.items() if status != "ok"}
    if not keep:
        raise UsageError(f"--only-missing {name}: every line of that job is done; nothing to submit")
    return keep, job.input_sha256


def _jobs_dir(env: Environment) -> Path:
    from llamactl.env import ensure_private_dir

    directory = env.data_dir / "batch-jobs"
    ensure_private_dir(directory)
    return directory
