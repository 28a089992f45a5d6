"""`batch results`: download a job's files to disk (resumable, never whole in memory) and
write one JSON object per input line, in input order, though the API returns its rows in
any order (§10.5): each downloaded file is indexed once (`rows.py`), then the records are
written by walking the input lines and reading each row at its offset. The first
collection records the answered lines in history under the job's id."""

from __future__ import annotations

import json
from array import array
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from json.encoder import encode_basestring as STRING  # the C one, as the encoder uses
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llamactl.batch_api import canonical, collected
from llamactl.batch_api.canonical import cost_of
from llamactl.batch_api.collected import STATUSES, Tee, TextSink
from llamactl.batch_api.jobs import Job, JobStore, job_folder
from llamactl.batch_api.rows import IndexedRows, JobLines, MalformedRow, decoded_row

if TYPE_CHECKING:
    from llamactl.batch_api.recorded import HistoryRecorder

NOT_RUN_CODES = ("batch_expired", "batch_cancelled")


@dataclass
class Tally:
    ok: int = 0
    error: int = 0
    not_run: int = 0


def download_all(
    api, job: Job, directory: Path, progress: Callable[[int], None] | None = None, with_input: bool = True
) -> dict[str, list[Path]]:
    """The job's output and error files (and input files, `with_input`) on disk, by kind."""
    files: dict[str, list[Path]] = {"input": [], "output": [], "error": []}
    for batch in job.batches:
        for kind, key in (
            ("input", "input_file_id"),
            ("output", "output_file_id"),
            ("error", "error_file_id"),
        ):
            file_id = batch.get(key) if with_input or kind != "input" else None
            if file_id:
                files[kind].append(api.download(file_id, directory / f"{file_id}.jsonl", progress))
    return files


def record_for(
    line: int, custom_id: str, job: Job, row: dict | None, error_row: dict | None
) -> dict[str, Any]:
    """What `results` says about one input line."""
    record: dict[str, Any] = {
        "line": line,
        "custom_id": custom_id,
        "status": "not_run",
        "results": [],
        "tokens_in": None,
        "tokens_out": None,
        "cost": None,
        "request_id": None,
        "error": None,
        "job": job.id,
    }
    response = (row or {}).get("response") or {}
    if row is not None and response.get("status_code") == 200:
        body = response.get("body") or {}
        usage = body.get("usage") or {}
        record.update(
            status="ok",
            results=[_text_of(choice) for choice in body.get("choices") or []],
            tokens_in=_count(usage.get("prompt_tokens")),
            tokens_out=_count(usage.get("completion_tokens")),
            cost=cost_of(usage.get("estimated_cost")),
            request_id=_text(response.get("request_id")),
        )
        # an embedding's vectors are no text: the answer whole, as infer --batch gives it
        if "choices" not in body:
            record["response"] = body
        return record
    failure = (error_row or {}).get("error") or (row or {}).get("error") or _body_error(response)
    if failure is None:
        record["error"] = "the batch ended before this line ran"
        return record
    code = str(failure.get("code") or response.get("status_code") or "")
    message = str(failure.get("message") or "") or None
    record["error"] = f"{code}: {message or 'no message'}" if code else message
    record["status"] = "not_run" if code in NOT_RUN_CODES else "error"
    record["request_id"] = _text(response.get("request_id"))
    return record


def _count(value: Any) -> int | None:
    """A token count as history keeps it: a 64-bit integer, or unknown."""
    return value if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**63 else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _text_of(choice: Any) -> str:
    if not isinstance(choice, dict):
        return ""
    message = choice.get("message")
    text = message.get("content") if isinstance(message, dict) else choice.get("text")
    return text if isinstance(text, str) else ""


def _body_error(response: dict) -> dict | None:
    """OpenAI's other style: a response with a 4xx/5xx status_code and an error body."""
    if not response or response.get("status_code") in (None, 200):
        return None
    body = response.get("body") or {}
    error = body.get("error") if isinstance(body, dict) else None
    detail = body.get("detail") if isinstance(body, dict) else body  # a text body is its own message
    message = error.get("message") if isinstance(error, dict) else error or detail
    return {"code": str(response["status_code"]), "message": str(message or "")}


def collect(
    store: JobStore,
    job: Job,
    files: dict[str, list[Path]],
    out: Tee,
    errors: Tee | None,
    recorder: HistoryRecorder | None,
) -> Tally:
    """Write every line's record to `out` in input order (failures also to `errors`), and
    hand each line to `recorder`, for history."""
    lines = JobLines(store.lines(job.key))
    outputs, failures = IndexedRows(files["output"], lines), IndexedRows(files["error"], lines)
    if recorder is not None:
        recorder.read(files["input"])  # the prompts
    statuses, codes = array("b"), {status: code for code, status in enumerate(STATUSES)}
    write = RecordWriter(job)  # the line's record as text
    failed = failures.raw if failures.files else lambda index: None
    try:
        for index, (line, custom_id, part) in enumerate(
            zip(lines.numbers, lines.ids(), lines.parts, strict=True)
        ):
            text, status, results, outcome = write.line(
                line, custom_id, part, outputs.raw(index), failed(index)
            )
            out.write(text)
            if errors is not None and status != "ok":
                errors.write(text)
            statuses.append(codes[status])
            if recorder is not None:
                recorder.add(part, custom_id, status, outcome, results)
        if recorder is not None:
            recorder.flush()
    finally:
        for sink in (out, errors):
            if sink is not None:
                sink.flush()  # what was written so far, even when collecting stops
        for rows in (outputs, failures, recorder):
            if rows is not None:
                rows.close()
    store.set_line_statuses(job.key, lines.numbers, [STATUSES[code] for code in statuses])
    return Tally(*(statuses.count(code) for code in range(len(STATUSES))))


def _decoded(data: bytes | None, what: str) -> dict | None:
    """A downloaded row; one that is malformed stands for an error row saying so."""
    try:
        return decoded_row(data, what)
    except MalformedRow as exc:
        return {"error": {"message": str(exc)}}


OUTCOME = itemgetter("error", "tokens_in", "tokens_out", "cost", "request_id")  # of a record, for history


class RecordWriter:
    """A job's line records as JSON text: any record through the encoder, and an answered
    row in the API's usual shape written straight from its few values, to the same text
    (tests check it for any row)."""

    def __init__(self, job: Job):
        self.job = job
        self.encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        # by part, then one for a part with no batch: its batch id, and what ends its answered records
        self.batch_ids = [batch.get("id") for batch in job.batches] + [None]
        job_id = self.encode(job.id)
        self.endings = [
            f',"error":null,"job":{job_id},"batch_id":{self.encode(batch_id)}}}\n'
            for batch_id in self.batch_ids
        ]

    def _of_part(self, part: int) -> int:
        """The index of the part's batch in batch_ids and endings (the last: no batch)."""
        return part - 1 if 1 <= part < len(self.batch_ids) else len(self.batch_ids) - 1

    def line(
        self,
        line: int,
        custom_id: str,
        part: int,
        raw: bytes | None,
        error_raw: bytes | None,
        fast: bool = True,
    ) -> tuple[str, str, list[str], tuple]:
        """(record text, status, results, OUTCOME) of a line, from the bytes of its output
        and error rows (None: it has none); `fast` False (for the tests that compare the
        two ways): always by decoding the rows."""
        answer = canonical.answer(raw) if fast and raw is not None and error_raw is None else None
        if answer is not None:
            text, outcome = answer
            return self.answered(line, custom_id, part, text, outcome), "ok", [text], outcome
        row, error_row = _decoded(raw, "row"), _decoded(error_raw, "error row")
        record = record_for(line, custom_id, self.job, row, error_row)
        record["batch_id"] = self.batch_ids[self._of_part(part)]
        return self.encode(record) + "\n", record["status"], record["results"], OUTCOME(record)

    def answered(self, line: int, custom_id: str, part: int, text: str, outcome: tuple) -> str:
        """The record of an answered line with this text and OUTCOME."""
        _, tokens_in, tokens_out, cost, request_id = outcome
        return (
            f'{{"line":{line},"custom_id":{STRING(custom_id)},"status":"ok","results":[{STRING(text)}],'
            f'"tokens_in":{tokens_in},"tokens_out":{tokens_out},'
            f'"cost":{"null" if cost is None else float.__repr__(cost)},"request_id":{STRING(request_id)}'
            + self.endings[self._of_part(part)]
        )


def _check_not_the_input(job: Job, paths: list) -> None:
    """--output or --errors naming the job's input would replace the prompts with their
    results (and `submit --only-missing` needs the input as it was): exit 2 first."""
    import os

    from llamactl.errors import UsageError

    if not job.input_path:
        return
    for option, path in zip(("--output", "--errors"), paths, strict=True):
        if path is not None and os.path.realpath(path) == os.path.realpath(job.input_path):
            raise UsageError(
                f"{option} {path} is the job's input file", hint="write the records to another file"
            )


def collect_job(env, store: JobStore, history, api, job: Job, output: str | None, errors: str | None) -> None:
    """`batch results`: refresh the job, download its files, write the records in input
    order (stdout, or --output written atomically), record history once, and exit 0 only
    when every line is ok (4 when some failed, 5 when some did not run). Another
    collection of the job running now (another shell) is waited for: then this one
    copies the records it kept, and only one records the job in history."""
    from llamactl.env import ensure_private_dir
    from llamactl.errors import ApiRejected, RequestFailed, UsageError
    from llamactl.files import user_path

    out = env.output
    paths = [user_path(path) if path else None for path in (output, errors)]
    if paths[0] is not None and paths[0] == paths[1]:
        raise UsageError("--output and --errors are the same file")
    _check_not_the_input(job, paths)
    _check_ready(api, store, job)
    directory = job_folder(env, job)
    ensure_private_dir(directory)

    def waiting() -> None:
        out.info(f"waiting for another 'batch results {job.id}', which is collecting the job now")

    with collected.collecting(directory, waiting):
        job.results_recorded = store.job(job.key).results_recorded  # the other may have recorded it
        tally = _collect_once(env, store, history, api, job, directory, *paths)
    out.info(f"batch job {job.id}: {tally.ok} ok, {tally.error} failed, {tally.not_run} not run")
    if tally.error:
        raise ApiRejected(
            f"{tally.error} line{'s' if tally.error != 1 else ''} of batch job {job.id} failed",
            hint="each failed line's record has its error",
        )
    if tally.not_run:
        raise RequestFailed(
            f"{tally.not_run} line{'s' if tally.not_run != 1 else ''} of batch job {job.id} did not run",
            hint=f"send them again: llamactl batch submit --only-missing {job.id} -m {job.model} FILE",
        )


def _collect_once(
    env, store: JobStore, history, api, job: Job, directory: Path, output: Path | None, errors: Path | None
) -> Tally:
    """The records of a job whose folder this process holds: collected from its files
    (downloaded first) the first time, recording its lines in history; copied after."""
    from llamactl.batch_api.recorded import recorder_for

    out = env.output
    recorder = recorder_for(env, history, job)
    files = download_all(api, job, directory, with_input=recorder is not None)  # the prompts, for history
    kept = collected.counts(directory) if recorder is None else None
    with _text_target(out, output) as target, _text_target(out, errors, optional=True) as failed:
        if kept is not None:  # collected before: the same records again, copied
            collected.copy(directory, target, failed)
            tally = Tally(**kept)
        else:
            with collected.keeping(directory) as (records_kept, failed_kept):
                tally = collect(
                    store, job, files, Tee(target, records_kept), Tee(failed, failed_kept), recorder
                )
            collected.keep_counts(directory, vars(tally))
    if recorder is not None:
        store.mark_recorded(job.key)
    return tally


def _check_ready(api, store: JobStore, job: Job) -> None:
    """The job refreshed; an error unless it is done and some line of it ran."""
    from llamactl.batch_api.wait import poll_once
    from llamactl.errors import ApiRejected, RequestFailed

    poll_once(api, store, job)
    if not job.done:
        raise RequestFailed(
            f"batch job {job.id} is {job.status}: its results are not ready",
            hint=f"wait for it: llamactl batch wait {job.id}",
        )
    if all(batch.get("status") == "failed" for batch in job.batches):
        raise ApiRejected(
            f"batch job {job.id} failed validation: no line ran", hint=f"see llamactl batch wait {job.id}"
        )


@contextmanager
def _text_target(out, path: Path | None, optional: bool = False) -> Iterator[TextSink | None]:
    """Where records go: a file written as a shell's `>` would (atomically when it is a
    regular file), stdout (unless optional), or nowhere."""
    from llamactl.errors import local_failure
    from llamactl.files import named_file_writer

    if path is None:
        yield None if optional else _StdoutText(out)
        return
    try:
        with named_file_writer(path) as file:
            yield file
    except OSError as exc:
        raise local_failure(f"write {path}", exc) from None


class _StdoutText:
    """stdout through the output sink, as a file-like `write`."""

    def __init__(self, out):
        self.out = out

    def write(self, text: str) -> None:
        self.out.write(text)
