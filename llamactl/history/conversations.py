"""A conversation as history keeps it: one row of what its turns share (model, API, system
prompt, when it began); its turns are ordinary requests that carry its id."""

from __future__ import annotations

from typing import Any

from llamactl.errors import UsageError
from llamactl.plain import record

CONVERSATION_COLUMNS = ("id", "created_at", "model", "api", "system")


@record
class ConversationRow:
    id: int | None
    created_at: float
    model: str | None
    api: str
    system: str | None = None

    def values(self) -> tuple[Any, ...]:
        """The INSERT values, the id left to the database."""
        return self.created_at, self.model, self.api, self.system

    def to_json(self) -> dict[str, Any]:
        from llamactl.history.records import local_time

        return {
            "id": self.id,
            "time": local_time(self.created_at),
            "model": self.model,
            "api": self.api,
            "system": self.system,
        }


INSERT_CONVERSATION = "INSERT INTO conversations (created_at, model, api, system) VALUES (?, ?, ?, ?)"
SELECT_CONVERSATION = f"SELECT {', '.join(CONVERSATION_COLUMNS)} FROM conversations WHERE id = ?"
# The conversation of the most recent turn: the one a user was in last, even an old one
# resumed with --cid. Walks requests newest first, stopping at the first turn.
LATEST_CONVERSATION = (
    "SELECT conversation_id FROM requests WHERE conversation_id IS NOT NULL ORDER BY id DESC LIMIT 1"
)


def conversation_not_found(conversation_id: int) -> UsageError:
    """The error (exit 2) for an id no conversation in history has (`--cid`, `--conversation`)."""
    return UsageError(
        f"no conversation {conversation_id} in history",
        hint="'llamactl history list' shows recent turns with their conversation ids",
    )
