"""What one request produced, defined once: InferenceOutcome holds it while a request runs,
history's HistoryRecord stores it, and `history --json` and a batch's output print it.

A field added to OutcomeFields reaches the database, the JSON and the batch records
without another list to update (only the database needs a migration for its column).
"""

from __future__ import annotations

import time
from typing import Any

from llamactl.api.request import InferenceRequest
from llamactl.plain import field, fields, record


@record(kw_only=True)
class OutcomeFields:
    """The answer and its accounting, successful or not."""

    results: list[str] = field(default_factory=list)
    status: str = "ok"  # ok | error | incomplete | interrupted | queued
    error: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost: float | None = None
    cost_estimated: bool = False
    runtime_ms: int | None = None
    wall_seconds: float | None = None
    request_id: str | None = None
    streamed: bool = False
    batch_id: str | None = None  # set by `infer --batch`, so history can group a batch


OUTCOME_FIELDS = tuple(item.name for item in fields(OutcomeFields))

MAX_KEPT_TEXT = 1024 * 1024  # bytes of one result that history keeps (docs/history.md)
_CUT_ROOM = 200  # for the line that says what was cut


def kept_text(text: str, dropped: int = 0) -> str:
    """`text` as history keeps it: whole up to MAX_KEPT_TEXT bytes; beyond that (or when
    `dropped` bytes were never kept) its beginning and one line saying how much is missing.
    Never longer than MAX_KEPT_TEXT bytes, so keeping kept text again changes nothing."""
    encoded = text.encode("utf-8", errors="surrogatepass")
    if not dropped and len(encoded) <= MAX_KEPT_TEXT:
        return text
    head = encoded[: MAX_KEPT_TEXT - _CUT_ROOM]
    dropped += len(encoded) - len(head)
    return (
        head.decode("utf-8", errors="ignore")
        + f"\n[llamactl: the rest of this answer, {dropped} bytes, is not kept in history]"
    )


def outcome_json(outcome: OutcomeFields) -> dict[str, Any]:
    """The outcome's fields as JSON shows them, in their order (wall time to the millisecond)."""
    values = {name: getattr(outcome, name) for name in OUTCOME_FIELDS}
    if values["wall_seconds"] is not None:
        values["wall_seconds"] = round(values["wall_seconds"], 3)
    return values


@record
class InferenceOutcome(OutcomeFields):
    """What one request produced, filled in even when it fails: the row history records."""

    request: InferenceRequest
    api_url: str
    started_at: float = field(default_factory=time.time)
    response: dict[str, Any] | None = None
    finish_reason: str | None = None  # the stream's own word for why it stopped (the summary's)
