"""A collected job's lines in history: the first `batch results` records every line that
ran under the job's id, its prompt and fields read from the job's own input files. The
rows are made straight from each line's record (rows_like: what HistoryRecord.to_row would
give, without making 50,000 records) and written HISTORY_CHUNK at a time."""

from __future__ import annotations

import json
from operator import itemgetter
from pathlib import Path
from typing import IO, Any

HISTORY_CHUNK = 5000  # records a history transaction takes: few commits, the lock held briefly
# What differs between a job's history records: each line's fields, then these of its record.
FROM_RECORD = ("error", "tokens_in", "tokens_out", "cost", "request_id")
VARYING = ("fields", "status", *FROM_RECORD)


class InputRows:
    """The job's own input files, read in step with the lines (they are in input order)."""

    def __init__(self, paths: list[Path]):
        self.paths, self.part = paths, 0
        self.file: IO[bytes] | None = None

    def row(self, part: int, custom_id: str) -> dict | None:
        from llamactl.batch_api.results import json_of

        if part != self.part:
            self.close()
            self.part = part
            self.file = self.paths[part - 1].open("rb") if part <= len(self.paths) else None
        raw = self.file.readline() if self.file is not None else b""
        try:
            value = json_of(raw) if raw else None
        except ValueError:  # UnicodeDecodeError too
            return None
        return value if isinstance(value, dict) and value.get("custom_id") == custom_id else None

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


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
    HISTORY_CHUNK to a transaction."""

    def __init__(self, history, job, created_at: float):
        from llamactl.history.records import HistoryRecord, rows_like

        prototype = HistoryRecord(
            created_at=created_at, model=job.model, api_host=job.api_host, fields={}, batch_id=job.id
        )
        self.history, self.row = history, rows_like(prototype, VARYING)
        self.inputs = InputRows([])
        self.pending: list[tuple[tuple[Any, ...], list[str], dict[str, Any]]] = []
        self.from_record = itemgetter(*FROM_RECORD)

    def read(self, inputs: list[Path]) -> None:
        self.inputs = InputRows(inputs)

    def add(self, part: int, custom_id: str, record: dict[str, Any]) -> None:
        input_row = self.inputs.row(part, custom_id)
        status = record["status"]
        if status == "not_run":
            return
        fields = fields_of(input_row)
        row = self.row((fields, "ok" if status == "ok" else "error", *self.from_record(record)))
        self.pending.append((row, record["results"], fields))
        if len(self.pending) >= HISTORY_CHUNK:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.history.add_rows(self.pending)
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
    if ended:  # a first collection cut between its commits left some lines: they go again
        history.forget_batch_rows(job.id, job.api_host, ended)
    return HistoryRecorder(history, job, ended or time.time())
