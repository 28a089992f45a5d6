"""The state behind the Files and Batch API (deepinfra-api.md §10): stored files, batches
and the status machine that runs them.

Time is not wall time: a batch moves one step each time it is retrieved (`GET
/batches/{id}`, as a poller would) or when a test calls `emu.batch_steps(n)`, so tests and
benchmarks control "24 hours" exactly. A `BatchPlan` (`emu.batch_plan`) says how a batch
runs: how many retrievals validation and finalizing take, how many rows run per step, when
it expires half done, whether a cancel still completes (cancel is best effort, §10.4),
which output rows are written cut short (a malformed row a client must survive).
"""

from __future__ import annotations

import copy
import hashlib
import json
import random
import threading
import time
from dataclasses import dataclass, field

from . import catalogue, responses, textgen

ENDPOINTS = ("/v1/chat/completions", "/v1/completions", "/v1/embeddings")
MB = 1_000_000


@dataclass
class BatchPlan:
    """How the emulated Batch API runs a batch (see the module docstring)."""

    validating_steps: int = 1  # retrievals that still answer `validating`
    rows_per_step: int = 1_000_000  # rows finished per step while `in_progress`
    finalizing_steps: int = 1  # retrievals that answer `finalizing` before `completed`
    steps_per_poll: int = 1  # steps each retrieval moves (more: a job ends in fewer polls)
    expire_after_rows: int | None = None  # the batch expires once this many rows ran
    cancel_completes: bool = False  # a cancel arrives too late: the batch completes (billed)
    empty_error_file: bool = True  # error_file_id set (to an empty file) even with no failures
    cut_rows: tuple[str, ...] = ()  # custom_ids whose output row is written cut in half (not valid JSON)
    max_batch_input_bytes: int = 200 * MB  # §10.2 limits
    max_file_bytes: int = 512 * MB
    max_lines: int = 50_000
    ranges: bool = True  # file content answers `Range: bytes=N-` with 206


@dataclass
class StoredFile:
    id: str
    filename: str
    purpose: str
    data: bytes
    created_at: int
    expires_at: int | None

    def object(self) -> dict:
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.data),
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "filename": self.filename,
            "purpose": self.purpose,
        }


@dataclass
class Batch:
    id: str
    input_file_id: str
    endpoint: str
    completion_window: str
    metadata: dict | None
    created_at: int
    status: str = "validating"
    steps: int = 0  # retrievals spent in the current status
    lines: list[dict] = field(default_factory=list)  # the parsed input, once validated
    done: list[dict] = field(default_factory=list)  # output lines, in the order rows ran
    failed: list[dict] = field(default_factory=list)  # error-file lines
    errors: list[dict] | None = None
    times: dict = field(default_factory=dict)  # in_progress_at, finalizing_at, ...
    output_file_id: str | None = None
    error_file_id: str | None = None
    model: str | None = None
    usage: dict | None = None

    def object(self) -> dict:
        counted = self.status not in ("validating", "failed") and not (
            self.status in ("cancelling", "cancelled") and not self.lines
        )
        return {
            "id": self.id,
            "object": "batch",
            "endpoint": self.endpoint,
            "errors": None if self.errors is None else {"object": "list", "data": self.errors},
            "input_file_id": self.input_file_id,
            "completion_window": self.completion_window,
            "status": self.status,
            "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id,
            "created_at": self.created_at,
            **{
                name: self.times.get(name)
                for name in (
                    "in_progress_at",
                    "finalizing_at",
                    "completed_at",
                    "failed_at",
                    "expired_at",
                    "cancelling_at",
                    "cancelled_at",
                )
            },
            "expires_at": self.created_at + 24 * 3600,
            "request_counts": {
                "total": len(self.lines),
                "completed": sum(1 for line in self.done if line["response"]["status_code"] == 200),
                "failed": len(self.failed)
                + sum(1 for line in self.done if line["response"]["status_code"] != 200),
            }
            if counted
            else None,
            "metadata": self.metadata,
            "model": self.model if self.status != "validating" else None,
            "usage": self.usage,
        }


class BatchStore:
    """Files and batches of one emulator; every method holds the lock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.plan = BatchPlan()
        self.files: dict[str, StoredFile] = {}
        self.batches: dict[str, Batch] = {}
        self.created = 0  # ids are a function of this count, so a fresh emulator repeats them

    def reset(self) -> None:
        with self.lock:
            self.plan = BatchPlan()
            self.files.clear()
            self.batches.clear()
            self.created = 0

    def new_id(self, prefix: str) -> str:
        """`file_...`/`batch_...` with 24 hex digits, the same sequence after every reset."""
        self.created += 1
        return prefix + hashlib.sha256(f"{prefix}{self.created}".encode()).hexdigest()[:24]

    def snapshot(self) -> dict:
        """Every file and batch, to `restore` after a reset (documented examples use a job
        submitted while their state was seeded)."""
        with self.lock:
            return copy.deepcopy({"files": self.files, "batches": self.batches, "created": self.created})

    def restore(self, snapshot: dict) -> None:
        with self.lock:
            state = copy.deepcopy(snapshot)
            self.files, self.batches, self.created = state["files"], state["batches"], state["created"]

    def add_file(self, filename: str, purpose: str, data: bytes, expires_seconds: int | None) -> StoredFile:
        with self.lock:
            now = int(time.time())
            stored = StoredFile(
                self.new_id("file_"), filename, purpose, data, now, now + (expires_seconds or 30 * 24 * 3600)
            )
            self.files[stored.id] = stored
            return stored

    def create(self, input_file_id: str, endpoint: str, window: str, metadata: dict | None) -> Batch:
        with self.lock:
            batch = Batch(self.new_id("batch_"), input_file_id, endpoint, window, metadata, int(time.time()))
            self.batches[batch.id] = batch
            return batch

    def steps(self, count: int = 1) -> None:
        """Every unfinished batch moves `count` steps."""
        with self.lock:
            for _ in range(count):
                for batch in self.batches.values():
                    self.step(batch)

    def step(self, batch: Batch) -> None:
        """One step of the status machine (§10.4)."""
        with self.lock:
            plan, now = self.plan, int(time.time())
            batch.steps += 1
            if batch.status == "validating" and batch.steps > plan.validating_steps:
                self._validate(batch, now)
            elif batch.status == "in_progress":
                self._run_rows(batch, now)
            elif batch.status == "finalizing" and batch.steps > plan.finalizing_steps:
                self._finish(batch, "completed", now)
            elif batch.status == "cancelling":
                if plan.cancel_completes:
                    self._run_rows(batch, now, limit=len(batch.lines))
                    self._finish(batch, "completed", now)
                else:
                    self._finish(batch, "cancelled", now)

    def cancel(self, batch: Batch) -> bool:
        """False when the batch can no longer be cancelled (the API answers 400)."""
        with self.lock:
            if batch.status in ("completed", "failed", "expired", "cancelled", "cancelling"):
                return False
            batch.status, batch.steps = "cancelling", 0
            batch.times["cancelling_at"] = int(time.time())
            return True

    # the machine

    def _validate(self, batch: Batch, now: int) -> None:
        stored = self.files.get(batch.input_file_id)
        errors, lines, models = [], [], set()
        data = stored.data if stored else b""
        rows = data.decode("utf-8", "replace").splitlines()
        seen: set[str] = set()
        if len(rows) > self.plan.max_lines:
            errors.append(_error("too_many_lines", None, f"at most {self.plan.max_lines} lines"))
        for number, raw in enumerate(rows):
            if not raw.strip():
                continue
            try:
                line = json.loads(raw)
            except ValueError:
                errors.append(_error("invalid_json", number, "line is not valid JSON"))
                continue
            if not isinstance(line, dict) or not isinstance(line.get("body"), dict):
                errors.append(_error("invalid_line", number, "line must be an object with a body", "body"))
                continue
            custom_id = line.get("custom_id")
            if not isinstance(custom_id, str) or not custom_id:
                errors.append(_error("invalid_line", number, "custom_id is required", "custom_id"))
                continue
            if custom_id in seen:
                errors.append(_error("duplicate_custom_id", number, f"duplicate custom_id {custom_id!r}"))
            seen.add(custom_id)
            if line.get("url") != batch.endpoint:
                errors.append(_error("invalid_line", number, f"url must be {batch.endpoint}", "url"))
            model = line["body"].get("model")
            if catalogue.find_model(str(model).split(":", 1)[0], include_private=True) is None:
                errors.append(
                    _error("unknown_model", number, f"model {model!r} does not exist", "body.model")
                )
            else:
                models.add(model)
            lines.append(line)
        if len(models) > 1:
            errors.append(_error("model_mismatch", None, "a batch takes one model"))
        if errors:
            batch.status, batch.errors = "failed", errors
            batch.times["failed_at"] = now
            return
        batch.status, batch.steps, batch.lines = "in_progress", 0, lines
        batch.model = next(iter(models), None)
        batch.times["in_progress_at"] = now
        batch.usage = {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}

    def _run_rows(self, batch: Batch, now: int, limit: int | None = None) -> None:
        plan = self.plan
        for line in batch.lines[len(batch.done) + len(batch.failed) :][: limit or plan.rows_per_step]:
            if (
                plan.expire_after_rows is not None
                and len(batch.done) + len(batch.failed) >= plan.expire_after_rows
            ):
                return self._finish(batch, "expired", now)
            self._run_row(batch, line)
        if len(batch.done) + len(batch.failed) == len(batch.lines) and batch.status == "in_progress":
            batch.status, batch.steps = "finalizing", 0
            batch.times["finalizing_at"] = now

    def _run_row(self, batch: Batch, line: dict) -> None:
        body, rid = line["body"], responses.request_id()
        row_id = f"batch_req_{batch.id}_{len(batch.done) + len(batch.failed)}"
        if body.get("stream") or "stream_options" in body:  # passes validation, fails the row (§10.3)
            batch.failed.append(
                _error_line(row_id, line["custom_id"], "500", "streaming is not supported in batches")
            )
            return
        answer = answer_body(batch.endpoint, body)
        if isinstance(answer, str):
            batch.failed.append(_error_line(row_id, line["custom_id"], "400", answer))
            return
        usage = answer["usage"]
        for name, key in (("input_tokens", "prompt_tokens"), ("output_tokens", "completion_tokens")):
            batch.usage[name] += usage.get(key, 0) or 0  # type: ignore[index]
        batch.usage["total_tokens"] = batch.usage["input_tokens"] + batch.usage["output_tokens"]  # type: ignore[index]
        batch.done.append(
            {
                "id": row_id,
                "custom_id": line["custom_id"],
                "response": {
                    "status_code": 200,
                    "request_id": rid,
                    "endpoint": batch.endpoint,
                    "body": answer,
                },
                "error": None,
            }
        )

    def _finish(self, batch: Batch, status: str, now: int) -> None:
        """Write the output and error files (rows in shuffled order, §10.5) and end the batch."""
        if status in ("expired", "cancelled"):
            code = "batch_expired" if status == "expired" else "batch_cancelled"
            ran = len(batch.done) + len(batch.failed)
            for n, line in enumerate(batch.lines[ran:], ran):
                batch.failed.append(
                    _error_line(
                        f"batch_req_{batch.id}_{n}", line["custom_id"], code, f"this request was {status}"
                    )
                )
        rows = list(batch.done)
        random.Random(batch.id).shuffle(rows)
        if rows:
            batch.output_file_id = self._output(f"{batch.id}_output", rows, now, self.plan.cut_rows)
        if batch.failed or self.plan.empty_error_file:
            failed = list(batch.failed)
            random.Random(batch.id + "e").shuffle(failed)
            batch.error_file_id = self._output(f"{batch.id}_error", failed, now)
        batch.status, batch.steps = status, 0
        batch.times[f"{status}_at"] = now

    def _output(self, file_id: str, rows: list[dict], now: int, cut: tuple[str, ...] = ()) -> str:
        """A JSONL file of `rows`; the row of each custom_id in `cut` stops halfway (then its newline)."""
        texts = (json.dumps(row) for row in rows)
        data = "".join(
            (text[: len(text) // 2] if row["custom_id"] in cut else text) + "\n"
            for row, text in zip(rows, texts, strict=True)
        ).encode("utf-8")
        self.files[file_id] = StoredFile(file_id, file_id + ".jsonl", "batch_output", data, now, None)
        return file_id


def answer_body(endpoint: str, body: dict) -> dict | str:
    """The real-time response a row's body gets, or why it fails (its error message)."""
    from .routes.openai import _generation_params, _model_name

    name = str(body.get("model"))
    model = catalogue.find_model(_model_name(name), include_private=True)
    if model is None:
        return f"The model `{name}` does not exist"
    model = catalogue.serving_model(model)
    if endpoint == "/v1/embeddings":
        inputs = body.get("input")
        inputs = [inputs] if isinstance(inputs, str) else inputs
        if not isinstance(inputs, list) or model["type"] != "embeddings":
            return "input must be a string or a list of strings for an embeddings model"
        native = responses.embeddings(model, [str(text) for text in inputs], responses.request_id())
        tokens = native["input_tokens"]
        return {
            "object": "list",
            "data": [
                {"object": "embedding", "index": i, "embedding": vector}
                for i, vector in enumerate(native["embeddings"])
            ],
            "model": name,
            "usage": {
                "prompt_tokens": tokens,
                "total_tokens": tokens,
                "estimated_cost": native["inference_status"]["cost"],
            },
        }
    chat = endpoint == "/v1/chat/completions"
    if model["type"] != "text-generation" or ("messages" if chat else "prompt") not in body:
        return "messages is required" if chat else "prompt is required"
    gens = [
        textgen.generate(_generation_params(body, chat), variant=i)
        for i in range(max(1, int(body.get("n") or 1)))
    ]
    cid = ("chatcmpl-" if chat else "cmpl-") + responses.request_id()[1:11]
    return responses.openai_response(chat, cid, int(time.time()), name, model, gens)


def _error(code: str, line: int | None, message: str, param: str | None = None) -> dict:
    return {"code": code, "line": line, "message": message, "param": param}


def _error_line(row_id: str, custom_id: str, code: str, message: str) -> dict:
    return {
        "id": row_id,
        "custom_id": custom_id,
        "response": None,
        "error": {"code": code, "message": message, "param": None, "type": None},
    }
