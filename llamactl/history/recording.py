"""The hook `infer` calls with each InferenceOutcome: one row in the history database.

History never breaks an inference: whatever goes wrong while recording (a database locked
past the timeout, a damaged file, a read-only disk) becomes one warning on stderr and the
answer stands. sqlite3 is imported only when a record is actually written.
"""

from __future__ import annotations

from collections.abc import Callable

from llamactl.env import Environment
from llamactl.inference.inputs import FALSE_WORDS


def history_disabled(env: Environment) -> bool:
    """LLAMACTL_NO_HISTORY set to anything but an explicit no (like NO_COLOR): a typo
    must not silently keep recording."""
    word = env.environ.get("LLAMACTL_NO_HISTORY", "").strip().lower()
    return bool(word) and word not in FALSE_WORDS


def recorder_for(env: Environment, warn: Callable[[str], None], enabled: bool):
    """A callable that records one InferenceOutcome (True when it was saved), or None when
    history is off. Each reason for not saving is told once: a batch on a read-only disk
    gets one warning, not one per line."""
    if not enabled or history_disabled(env):
        return None
    told: set[str] = set()

    def record(outcome) -> bool:
        from llamactl.history.records import HistoryRecord
        from llamactl.history.store import HistoryStore, history_path

        path = history_path(env)
        try:
            with HistoryStore.open(path) as store:
                store.add_all([HistoryRecord.from_outcome(outcome, env.api_host)])
            return True
        except Exception as exc:  # noqa: BLE001 - any failure here must leave the answer alone
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            if reason not in told:
                told.add(reason)
                warn(f"history: this request was not saved to {path} ({reason})")
            return False

    return record
