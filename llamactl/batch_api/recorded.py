"""A collected job's lines in history: the first `batch results` records every line that
ran under the job's id, its prompt and fields read from the job's own input files. The
rows are made straight from each line's values (RowsLike: what HistoryRecord.to_row would
give, without making 50,000 records; a one-message chat line's fields read by
canonical.RequestReader, without a dict) and written HISTORY_CHUNK at a time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any, cast

from llamactl.batch_api.canonical import RequestReader

HISTORY_CHUNK = 5000  # records a history transaction takes: few commits, the lock held briefly
# What differs between a job's history records: each line's fields and status, then its
# outcome (results.OUTCOME: these of its record).
VARYING = ("fields", "status", "error", "tokens_in", "tokens_out", "cost", "request_id")


class InputRows:
    """The job's own input files, read in step with the lines (they are in input order)."""

    def __init__(self, paths: list[Path]):
        self.paths, self.part = paths, 0
        self.file: IO[bytes] | None = None

    def raw(self, part: int) -> bytes:
        """The next line of the part's input file (b"": none)."""
        if part != self.part:
            self.close()
            self.part = part
            self.file = self.paths[part - 1].open("rb") if part <= len(self.paths) else None
        return self.file.readline() if self.file is not None else b""

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


def row_of(raw: bytes, custom_id: str) -> dict | None:
    """An input line's request, when it is the line of this custom_id."""
    from llamactl.batch_api.rows import json_of

    try:
        value = json_of(raw) if raw else None
    except ValueError:  # UnicodeDecodeError too
        return None
    return value if isinstance(value, dict) and value.get("custom_id") == custom_id else None


def history_fields(raw: bytes, custom_id: str, read: RequestReader | None) -> tuple[str, str]:
    """An input line's fields as history's column holds them, and its search text: by
    `read` when it can, else (and always, with None) by decoding the line."""
    found = read(raw, custom_id) if read is not None else None
    if found is not None:
        return found
    from llamactl.history.records import TO_COLUMN
    from llamactl.history.search_text import search_input

    fields = fields_of(row_of(raw, custom_id))
    return cast(str, TO_COLUMN["fields"](fields)), search_input(fields, [])


def fields_of(input_row: dict | None) -> dict[str, Any]:
    """A line's request as history keeps it: its body but the model, with `input` the
    prompt (a chat body's last message)."""
    body = dict((input_row or {}).get("body") or {})
    body.pop("model", None)
    messages = body.get("messages")
    prompt = body.get("prompt") or body.get("input")
    if isinstance(messages, list) and messages and isinstance(messages[-1], dict):
        prompt = messages[-1].get("content")
    return {"input": prompt if isinstance(prompt, str) else json.dumps(prompt), **body}


class HistoryRecorder:
    """Records the lines of one job, given in input order (each line, run or not: its
    input files, downloaded once the recorder says they are needed, are read in step),
    HISTORY_CHUNK to a transaction. `forget`: the rows a first collection cut between its
    commits left are removed first, at the first write (after the downloads and checks, so
    a collection that fails before writing leaves them as they were)."""

    def __init__(self, history, job, created_at: float, forget: bool = False):
        from llamactl.history.records import HistoryRecord, RowsLike

        prototype = HistoryRecord(
            created_at=created_at, model=job.model, api_host=job.api_host, fields={}, batch_id=job.id
        )
        self.history, self.row = history, RowsLike(prototype, VARYING, as_columns=True, without_nulls=True)
        self.inputs, self.requests = InputRows([]), RequestReader()
        self.pending: list[tuple[tuple[Any, ...], list[str], str]] = []
        self.job, self.created_at, self.forget = job, created_at, forget

    def read(self, inputs: list[Path]) -> None:
        self.inputs = InputRows(inputs)

    def add(self, part: int, custom_id: str, status: str, outcome: tuple, results: list[str]) -> None:
        """One line, its status and outcome (results.OUTCOME) as its record has them."""
        raw = self.inputs.raw(part)
        if status == "not_run":
            return
        fields, search = history_fields(raw, custom_id, self.requests)
        self.pending.append(
            (self.row((fields, "ok" if status == "ok" else "error", *outcome)), results, search)
        )
        if len(self.pending) >= HISTORY_CHUNK:
            self.flush()

    def flush(self) -> None:
        if self.forget:
            self.history.forget_batch_rows(self.job.id, self.job.api_host, self.created_at)
            self.forget = False
        if self.pending:
            self.history.add_rows(self.pending, self.row.columns)
            self.pending = []

    def close(self) -> None:
        self.inputs.close()


def recorder_for(env, history, job) -> HistoryRecorder | None:
    """The recorder of a job's first collection, at the time the job ended; None when its
    lines are in history already or history is off."""
    import time

    from llamactl.history.recording import history_disabled

    if job.results_recorded or history_disabled(env):
        return None
    ended = max(
        (batch.get("completed_at") or batch.get("expired_at") or batch.get("cancelled_at") or 0)
        for batch in job.batches
    )
    # a first collection cut between its commits left some lines, at `ended`: they go again
    return HistoryRecorder(history, job, ended or time.time(), forget=bool(ended))
