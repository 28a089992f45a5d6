"""History for one conversation session (`infer -c` or a `chat` REPL): the database opened
once and kept for the session, each turn recorded in one transaction, and the turns other
processes added meanwhile read before the next turn (only those: an index walk after the
last turn known, never the whole conversation again).

As for infer, history never breaks a turn: a failure to save is one warning and the
answer stands; a failure to *read* the conversation asked for is an error (exit 6), since
continuing it without its turns would be wrong.
"""

from __future__ import annotations

from collections.abc import Callable

from llamactl.chat.conversation import Conversation, Turn
from llamactl.env import Environment
from llamactl.errors import UsageError
from llamactl.history.conversations import conversation_not_found
from llamactl.history.recording import history_disabled


class ConversationLog:
    def __init__(self, env: Environment, warn: Callable[[str], None], enabled: bool = True):
        self.env = env
        self.warn = warn
        self.enabled = enabled and not history_disabled(env)
        self._store = None
        self._told: set[str] = set()

    def store(self):
        """The open store (opened on first use)."""
        if self._store is None:
            from llamactl.history.store import HistoryStore, history_path

            self._store = HistoryStore.open(history_path(self.env))
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.db.close()
            self._store = None

    def load(self, conversation_id: int | None) -> Conversation:
        """A stored conversation with its turns: `conversation_id`, or the latest (None)."""
        import sqlite3

        from llamactl.history.store import history_path, unavailable

        if not self.enabled:
            raise UsageError(
                "conversations are kept in history, which is off here",
                hint="unset LLAMACTL_NO_HISTORY and drop --no-history to continue a conversation",
            )
        try:
            store = self.store()
            row = (
                store.latest_conversation()
                if conversation_id is None
                else store.conversation(conversation_id)
            )
            if row is None:
                if conversation_id is None:
                    raise UsageError(
                        "no conversation to continue yet", hint="start one with --chat (or 'llamactl chat')"
                    )
                raise conversation_not_found(conversation_id)
            return Conversation(row, [Turn.from_record(record) for record in store.turns(row.id)])
        except (sqlite3.Error, OSError) as exc:
            raise unavailable(history_path(self.env), exc) from None

    def catch_up(self, conversation: Conversation) -> list[Turn]:
        """The turns another process added to the conversation since its last known turn,
        appended to it (a failure to read them leaves the conversation as it was)."""
        if not self.enabled or conversation.id is None:
            return []
        known = max((turn.id for turn in conversation.turns if turn.id is not None), default=0)
        try:
            added = [
                Turn.from_record(record) for record in self.store().turns(conversation.id, after_id=known)
            ]
        except Exception as exc:  # noqa: BLE001 - the session goes on with what it has
            self._tell(f"history: could not read the conversation's new turns ({_reason(exc)})")
            return []
        conversation.turns.extend(added)
        return added

    def recorder(self, conversation: Conversation, turn: Turn):
        """The run's recorder for `turn` (None with history off): one row, with its messages,
        in the conversation (created with its first turn); the turn learns its id."""
        if not self.enabled:
            return None

        def record(outcome) -> None:
            from llamactl.history.records import HistoryRecord

            record = HistoryRecord.from_outcome(outcome, self.env.api_host)
            record.messages = turn.own_messages
            record.retry_of = turn.retry_of
            try:
                turn.id = self.store().add_turn(record, conversation.row)
            except Exception as exc:  # noqa: BLE001 - any failure here must leave the answer alone
                from llamactl.history.store import history_path

                self._tell(f"history: this turn was not saved to {history_path(self.env)} ({_reason(exc)})")

        return record

    def _tell(self, line: str) -> None:
        if line not in self._told:
            self._told.add(line)
            self.warn(line)


def _reason(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
