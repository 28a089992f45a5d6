"""One history entry as data: built from an InferenceOutcome, stored as a row, and printed
as JSON, all from the one definition of its fields (OutcomeFields, and the request's here)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any

from llamactl.api.request import InferenceTarget
from llamactl.inference.outcome import OUTCOME_FIELDS, OutcomeFields, kept_text, outcome_json
from llamactl.plain import field, fields, record

STATUSES = ("ok", "error", "incomplete", "interrupted", "queued")


@record(kw_only=True)
class HistoryRecord(OutcomeFields):
    """What history keeps of one request. Uploaded files are described, never kept, and the
    token is not part of an outcome, so it cannot land here."""

    id: int | None = None
    created_at: float
    model: str | None = None
    version: str | None = None
    deploy_id: str | None = None
    api: str = "native"  # or "openai": the OpenAI-compatible chat API
    api_host: str
    fields: dict[str, Any]
    uploads: dict[str, dict[str, Any]] = field(default_factory=dict)
    conversation_id: int | None = None  # a chat turn's conversation
    retry_of: int | None = None  # the turn this one replaced (`/retry`)
    messages: list[dict[str, str]] = field(default_factory=list)  # a turn's own: system?, user
    finish_reason: str | None = None  # the API's word for why it stopped (`length`, `eos_token`)

    @classmethod
    def from_outcome(cls, outcome, api_host: str) -> HistoryRecord:
        request = outcome.request
        return cls(
            **{name: getattr(outcome, name) for name in OUTCOME_FIELDS if name != "results"},
            results=[kept_text(text) for text in outcome.results],
            created_at=outcome.started_at,
            api_host=api_host,
            fields=dict(request.fields),
            uploads={
                name: {
                    "filename": upload.filename,
                    "size": len(upload.content),
                    "content_type": upload.content_type,
                }
                for name, upload in request.files.items()
            },
            model=request.target.model,
            version=request.target.version,
            deploy_id=request.target.deploy_id,
            api=request.target.api,
            finish_reason=outcome.finish_reason or first_finish_reason(outcome.response),
        )

    @property
    def target_label(self) -> str:
        """The model (with @version) or deploy:ID, as infer's summary line names it."""
        return InferenceTarget(self.model, self.version, self.deploy_id, self.api).label

    @property
    def prompt(self) -> str:
        """What the user asked: a turn's own message (its input is the whole conversation
        folded into a template), else the native `input`, else the last user message of an
        OpenAI chat request."""
        for message in reversed(self.messages):
            if message["role"] == "user":
                return message["content"]
        value = self.fields.get("input")
        if isinstance(value, str):
            return value
        messages = self.fields.get("messages")
        for message in reversed(messages if isinstance(messages, list) else []):
            if isinstance(message, dict) and message.get("role") == "user":
                content = message.get("content")
                return content if isinstance(content, str) else ""
        return ""

    @property
    def time(self) -> str:
        return local_time(self.created_at)

    def to_json(self) -> dict[str, Any]:
        """The request's own fields (its time in local ISO 8601), then the outcome's."""
        own = {name: getattr(self, name) for name in REQUEST_FIELDS if name != "created_at"}
        return {"id": own.pop("id"), "time": self.time, **own, **outcome_json(self)}

    def to_row(self) -> tuple[Any, ...]:
        """The values of INSERT_COLUMNS, as the database keeps them."""
        return tuple(TO_COLUMN.get(name, _same)(getattr(self, name)) for name in INSERT_COLUMNS)

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> HistoryRecord:
        """A record from a row of COLUMNS; its results are in their own table, added after."""
        return cls(
            **{name: FROM_COLUMN.get(name, _same)(value) for name, value in zip(COLUMNS, row, strict=True)}
        )


def first_finish_reason(response: Any) -> str | None:
    """A response's finish reason when no stream gave one: an OpenAI chat response's first
    choice's (the native response has none)."""
    choices = response.get("choices") if isinstance(response, dict) else None
    reason = choices[0].get("finish_reason") if choices and isinstance(choices[0], dict) else None
    return reason if isinstance(reason, str) else None


def _same(value: Any) -> Any:
    return value


REQUEST_FIELDS = tuple(item.name for item in fields(HistoryRecord) if item.name not in OUTCOME_FIELDS)
# The requests table's columns: every field but the results and messages, which have tables of their own.
COLUMNS = tuple(name for name in (*REQUEST_FIELDS, *OUTCOME_FIELDS) if name not in ("results", "messages"))
INSERT_COLUMNS = tuple(name for name in COLUMNS if name != "id")  # the database gives the id
INSERT_RECORD = (
    f"INSERT INTO requests ({', '.join(INSERT_COLUMNS)}) VALUES ({', '.join('?' * len(INSERT_COLUMNS))})"
)
_FIELDS_JSON = json.JSONEncoder(ensure_ascii=False, default=str).encode  # json.dumps makes one a call
TO_COLUMN = {
    "fields": _FIELDS_JSON,
    "uploads": lambda value: json.dumps(value, ensure_ascii=False) if value else None,
}
FROM_COLUMN: dict[str, Callable[[Any], Any]] = {
    "fields": json.loads,
    "uploads": lambda text: json.loads(text) if text else {},
    "cost_estimated": bool,
    "streamed": bool,
}


class RowsLike:
    """to_row for many records that are `prototype` but for the `varying` fields (a batch's
    lines): given those fields' values, in that order (`as_columns`: as the columns hold
    them, TO_COLUMN's work done already), the row to_row would give for such a record,
    without making the record. The other columns are the prototype's own row, but for
    its NULL ones when `without_nulls`: a column left out of an INSERT is NULL too, and
    binding fewer values a row is most of the cost of inserting it. `columns` names the
    columns of the row, in its order."""

    def __init__(
        self,
        prototype: HistoryRecord,
        varying: Sequence[str],
        as_columns: bool = False,
        without_nulls: bool = False,
    ):
        varying = tuple(varying)
        if not set(varying) <= set(INSERT_COLUMNS):
            raise ValueError(f"not columns of a history row: {sorted(set(varying) - set(INSERT_COLUMNS))}")
        constants = prototype.to_row()
        self.columns = tuple(
            name
            for name, value in zip(INSERT_COLUMNS, constants, strict=True)
            if name in varying or value is not None or not without_nulls
        )
        self.constants = tuple(
            value for name, value in zip(INSERT_COLUMNS, constants, strict=True) if name in self.columns
        )
        self.pick = itemgetter(
            *(
                varying.index(name) if name in varying else len(varying) + i
                for i, name in enumerate(self.columns)
            )
        )
        self.converted = (
            []
            if as_columns
            else [(i, TO_COLUMN[name]) for i, name in enumerate(varying) if name in TO_COLUMN]
        )

    def __call__(self, values: Sequence[Any]) -> tuple[Any, ...]:
        if self.converted:
            values = list(values)
            for i, convert in self.converted:
                values[i] = convert(values[i])
        return self.pick((*values, *self.constants))


def local_time(timestamp: float) -> str:
    """ISO 8601 in local time with its offset: sortable, and unambiguous in a script."""
    return datetime.fromtimestamp(timestamp).astimezone().isoformat(timespec="seconds")
