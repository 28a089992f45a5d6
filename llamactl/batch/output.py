"""The output of `infer --batch`: one JSON object per input line, in input order.

Records are written as soon as every line before them is done (early completions wait
in memory). With `--output FILE` they are appended to FILE as they are written, so even a
killed run leaves every finished line on disk; at the end FILE is rewritten, atomically, in
input order with one record per line. A later run reads FILE back and skips the lines
already done with an unchanged request.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from llamactl.batch.input import BatchLine
from llamactl.errors import LocalFailure, UsageError, local_failure
from llamactl.files import umask_mode, write_atomically
from llamactl.inference.outcome import OutcomeFields, outcome_json

DONE_STATUSES = frozenset({"ok", "queued"})  # sent again, these would be paid twice


# What a line's record shows of its outcome (from OutcomeFields, in this order).
ANSWER_FIELDS = ("results", "tokens_in", "tokens_out", "cost", "cost_estimated", "request_id", "wall_seconds")


def batch_record(
    line: BatchLine, batch_id: str, status: str, error: str | None = None, outcome=None
) -> dict[str, Any]:
    """What the output says about one line, with or without an answer."""
    answer = outcome_json(outcome if outcome is not None else OutcomeFields())
    return {
        "line": line.number,
        "status": status,
        "fields": line.request.fields if line.request else None,
        **{name: answer[name] for name in ANSWER_FIELDS},
        "error": error,
        "batch_id": batch_id,
        "request_hash": line.request_hash,
    }


def json_line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


def is_done(record: dict[str, Any] | None, line: BatchLine) -> bool:
    """True when an earlier run finished this line with the same request."""
    return (
        record is not None
        and record.get("status") in DONE_STATUSES
        and line.request is not None
        and record.get("request_hash") == line.request_hash
    )


def read_previous(path: Path) -> dict[int, dict[str, Any]]:
    """An earlier run's records by line number; the last record of a line wins (a killed run
    appended records it never folded in). A file that is not such an output is refused
    rather than overwritten; only a last line cut short by a crash is ignored."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise local_failure(f"read --output {path}", exc) from None
    records: dict[int, dict[str, Any]] = {}
    rows = data.split(b"\n")
    for number, raw in enumerate(rows, 1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except ValueError:
            record = None
        if (
            isinstance(record, dict)
            and isinstance(record.get("line"), int)
            and isinstance(record.get("status"), str)
        ):
            records[record["line"]] = record
        elif number < len(rows):  # a complete line that is not ours
            raise UsageError(
                f"--output {path} is not the output of a batch (line {number}); refusing to overwrite it",
                hint="choose another --output file, or remove this one",
            )
    return records


class OrderedOutput:
    """Hands records to `write` in input order, holding back those that come early."""

    def __init__(self, write: Callable[[dict[str, Any]], None]):
        self.write = write
        self.waiting: dict[int, dict[str, Any] | None] = {}
        self.next_index = 0

    def put(self, index: int, record: dict[str, Any] | None) -> None:
        """The record of the line at `index` (its position in the batch); None: nothing to write."""
        self.waiting[index] = record
        while self.next_index in self.waiting:
            ready = self.waiting.pop(self.next_index)
            if ready is not None:
                self.write(ready)
            self.next_index += 1


class StreamSink:
    """Records on stdout, each flushed at once so a pipeline sees it."""

    def __init__(self, write_stdout: Callable[[str], None]):
        self.write_stdout = write_stdout

    def write(self, record: dict[str, Any]) -> None:
        self.write_stdout(json_line(record))

    def finish(self, records: list[dict[str, Any]]) -> None:
        pass


class FileSink:
    """Records appended to --output as they come, the whole file rewritten at the end."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.file = open(path, "a", encoding="utf-8")
        except OSError as exc:
            raise self.failed(exc) from None

    def write(self, record: dict[str, Any]) -> None:
        try:
            self.file.write(json_line(record))
            self.file.flush()
        except OSError as exc:
            raise self.failed(exc) from None

    def finish(self, records: list[dict[str, Any]]) -> None:
        try:
            self.file.close()
            # the mode the file has, or the umask's for a new one, as a shell `>` would give it
            write_atomically(
                self.path, "".join(json_line(record) for record in records), umask_mode(self.path)
            )
        except OSError as exc:
            raise self.failed(exc) from None

    def failed(self, exc: OSError) -> LocalFailure:
        return local_failure(f"write --output {self.path}", exc)
