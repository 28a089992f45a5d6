"""One history entry as data: built from an InferenceOutcome, stored, and printed as JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

STATUSES = ("ok", "error", "incomplete", "interrupted", "queued")


@dataclass
class HistoryRecord:
    """What history keeps of one request. Uploaded files are described, never kept, and the
    token is not part of an outcome, so it cannot land here."""

    created_at: float
    api_host: str
    fields: dict[str, Any]
    status: str
    model: str | None = None
    version: str | None = None
    deploy_id: str | None = None
    uploads: dict[str, dict[str, Any]] = field(default_factory=dict)
    results: list[str] = field(default_factory=list)
    error: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost: float | None = None
    cost_estimated: bool = False
    runtime_ms: int | None = None
    wall_seconds: float | None = None
    request_id: str | None = None
    streamed: bool = False
    batch_id: str | None = None
    id: int | None = None

    @classmethod
    def from_outcome(cls, outcome, api_host: str) -> HistoryRecord:
        request = outcome.request
        return cls(
            created_at=outcome.started_at,
            api_host=api_host,
            fields=dict(request.fields),
            uploads={
                name: {"filename": upload.filename, "size": len(upload.content), "content_type": upload.content_type}
                for name, upload in request.files.items()
            },
            status=outcome.status,
            model=request.target.model,
            version=request.target.version,
            deploy_id=request.target.deploy_id,
            results=list(outcome.texts),
            error=outcome.error,
            tokens_in=outcome.tokens_in,
            tokens_out=outcome.tokens_out,
            cost=outcome.cost,
            cost_estimated=outcome.cost_estimated,
            runtime_ms=outcome.runtime_ms,
            wall_seconds=outcome.wall_seconds,
            request_id=outcome.request_id,
            streamed=outcome.streamed,
            batch_id=outcome.batch_id,
        )

    @property
    def target_label(self) -> str:
        """The model (with @version) or deploy:ID, as infer's summary line names it."""
        if self.deploy_id:
            return f"deploy:{self.deploy_id}"
        return f"{self.model}@{self.version}" if self.version else str(self.model)

    @property
    def prompt(self) -> str:
        value = self.fields.get("input")
        return value if isinstance(value, str) else ""

    @property
    def time(self) -> str:
        return local_time(self.created_at)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "time": self.time,
            "model": self.model,
            "version": self.version,
            "deploy_id": self.deploy_id,
            "api_host": self.api_host,
            "fields": self.fields,
            "uploads": self.uploads,
            "results": self.results,
            "status": self.status,
            "error": self.error,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "cost": self.cost,
            "cost_estimated": self.cost_estimated,
            "runtime_ms": self.runtime_ms,
            "wall_seconds": None if self.wall_seconds is None else round(self.wall_seconds, 3),
            "request_id": self.request_id,
            "streamed": self.streamed,
            "batch_id": self.batch_id,
        }


def local_time(timestamp: float) -> str:
    """ISO 8601 in local time with its offset: sortable, and unambiguous in a script."""
    return datetime.fromtimestamp(timestamp).astimezone().isoformat(timespec="seconds")
