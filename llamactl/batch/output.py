"""The output of `infer --batch`: one JSON object per input line, in input order.

On stdout, records are written as soon as every line before them is done (early
completions wait in memory). With `--output FILE` each record is appended to FILE the
moment its line is done, in whatever order lines finish, so a run killed at any point
(even `kill -9`) leaves every finished line on disk; at the end FILE is rewritten,
atomically, in input order with one record per line. A later run reads FILE back and
skips the lines already done with an unchanged request. FILE is locked for the whole run,
so two runs never send the same lines.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from llamactl.batch.input import BatchLine
from llamactl.errors import LocalFailure, UsageError, local_failure
from llamactl.files import umask_mode, write_atomically
from llamactl.inference.outcome import OutcomeFields, outcome_json

DONE_STATUSES = frozenset({"ok", "queued"})  # sent again, these would be paid twice


# What a line's record shows of its outcome (from OutcomeFields, in this order).
ANSWER_FIELDS = ("results", "tokens_in", "tokens_out", "cost", "cost_estimated", "request_id", "wall_seconds")


def batch_record(
    line: BatchLine,
    batch_id: str,
    status: str,
    error: str | None = None,
    outcome=None,
    response: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What the output says about one line, with or without an answer. `response`: the
    API's whole answer of another kind of model (embeddings, images, speech), which has no
    text for `results`; it follows them as `response`, as `infer --json` prints it."""
    answer = outcome_json(outcome if outcome is not None else OutcomeFields())
    shown = {name: answer[name] for name in ANSWER_FIELDS}
    if response is not None:
        shown = {"results": shown.pop("results"), "response": response, **shown}
    return {
        "line": line.number,
        "status": status,
        "fields": line.request.fields if line.request else None,
        **shown,
        "error": error,
        "batch_id": batch_id,
        "request_hash": line.request_hash,
    }


RECORD_START = b'{"line":'  # how every record json_line writes begins


def json_line(record: dict[str, Any]) -> str:
    """One record as a line of UTF-8 JSON; a lone surrogate (a `\\ud800` escape in an
    answer) stays an escape, so the line is still valid UTF-8 and reads back the same."""
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(record, separators=(",", ":"))
    return text + "\n"


def previous_batch_id(previous: dict[int, dict[str, Any]]) -> str | None:
    """A resumed batch keeps its id, so history shows it as one batch."""
    for record in previous.values():
        if isinstance(record.get("batch_id"), str) and record["batch_id"]:
            return record["batch_id"]
    return None


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
    appended records it never folded in). What a killed or crashed run can leave is
    skipped: a last line cut short, a record torn by a kill in mid-write (a line that
    begins like a record but is not valid JSON), and the `null` an older version wrote for
    a line that crashed. Any other line means the file is not such an output: it is
    refused rather than overwritten."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise local_failure(f"read --output {path}", exc) from None
    records: dict[int, dict[str, Any]] = {}
    for number, raw in enumerate(data.split(b"\n"), 1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except (ValueError, RecursionError):
            record = TORN if raw[: len(RECORD_START)] == RECORD_START[: len(raw)] else NOT_OURS
        if record is None or record is TORN:  # `null`, or torn (the last line: cut short)
            continue
        if not is_record(record):
            raise UsageError(
                f"--output {path} is not the output of a batch (line {number}); refusing to overwrite it",
                hint="choose another --output file, or remove this one",
            )
        records[record["line"]] = record
    return records


TORN = object()
NOT_OURS = object()


def is_record(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("line"), int)
        and isinstance(value.get("status"), str)
    )


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
    """Records on stdout in input order, each flushed at once so a pipeline sees it."""

    def __init__(self, write_stdout: Callable[[str], None]):
        self.write_stdout = write_stdout
        self.ordered = OrderedOutput(self.write)

    def put(self, index: int, record: dict[str, Any] | None) -> None:
        self.ordered.put(index, record)

    def write(self, record: dict[str, Any]) -> None:
        self.write_stdout(json_line(record))

    def finish(self, records: list[dict[str, Any]]) -> None:
        pass

    def close(self) -> None:
        pass


NOT_REGULAR = (
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
    (stat.S_ISSOCK, "a socket"),
)


def output_target(path: Path) -> Path:
    """Where --output really is: a symlink's target (the link stays a link, as with a
    shell's `>`). Anything but a regular file (or a new one) is refused before a request
    is sent: a FIFO or /dev/stdout cannot be read back for resuming, nor rewritten (exit 2;
    a directory stays what it always was, a file that cannot be read, exit 6)."""
    try:
        mode = os.stat(path).st_mode  # follows links, so /dev/stdout is what fd 1 is
    except FileNotFoundError:
        return Path(os.path.realpath(path))
    except OSError as exc:
        raise local_failure(f"read --output {path}", exc) from None
    if stat.S_ISDIR(mode):
        raise local_failure(
            f"read --output {path}", IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
        )
    for test, kind in NOT_REGULAR:
        if test(mode):
            raise UsageError(
                f"--output {path} is {kind}, not a regular file: a batch reads it back to resume"
                " and rewrites it at the end",
                hint="leave out --output to get the results on stdout",
            )
    return Path(os.path.realpath(path))


class FileSink:
    """Records appended to --output the moment each line is done (in any order), the whole
    file rewritten in input order at the end; FILE (a symlink's target) is locked from
    before it is read back until after that rewrite."""

    def __init__(self, path: Path):
        self.path = path
        self.target = output_target(path)
        self.file = self.open_locked()

    def open_locked(self) -> BinaryIO:
        """FILE opened for appending, under an exclusive lock. If another run renamed its
        rewrite into place while this one waited, the lock is on the old file: open again."""
        import fcntl

        while True:
            try:
                file = open(self.target, "ab")
            except OSError as exc:
                raise self.failed(exc) from None
            try:
                fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                file.close()
                raise LocalFailure(
                    f"--output {self.path} is in use by another batch that is still running",
                    hint="wait for it to end (or stop it), then run the same command again to resume",
                ) from None
            except OSError:
                return file  # a file system without locks: go on unlocked, as before
            try:
                same = os.path.samestat(os.fstat(file.fileno()), os.stat(self.target))
            except FileNotFoundError:
                same = False
            if same:
                return file
            file.close()

    def read_previous(self) -> dict[int, dict[str, Any]]:
        """The records already in FILE (read under the lock). A last line cut short by a
        kill is ended first, so the next record starts a line of its own."""
        try:
            previous = read_previous(self.target)
        except BaseException:
            self.close()
            raise
        try:
            size = os.fstat(self.file.fileno()).st_size
            if size:
                with open(self.target, "rb") as reader:
                    reader.seek(size - 1)
                    if reader.read(1) != b"\n":
                        self.file.write(b"\n")
                        self.file.flush()
        except OSError as exc:
            raise self.failed(exc) from None
        return previous

    def put(self, index: int, record: dict[str, Any] | None) -> None:
        if record is not None:
            self.write(record)

    def write(self, record: dict[str, Any]) -> None:
        try:
            self.file.write(json_line(record).encode("utf-8"))
            self.file.flush()
        except OSError as exc:
            raise self.failed(exc) from None

    def finish(self, records: list[dict[str, Any]]) -> None:
        try:
            # the mode the file has, or the umask's for a new one, as a shell `>` would give it
            write_atomically(
                self.target, "".join(json_line(record) for record in records), umask_mode(self.target)
            )
        except OSError as exc:
            raise self.failed(exc) from None
        finally:
            self.close()

    def close(self) -> None:
        """Closing the file releases the lock."""
        self.file.close()

    def failed(self, exc: OSError) -> LocalFailure:
        return local_failure(f"write --output {self.path}", exc)
