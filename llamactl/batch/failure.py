"""How a batch ends: which failures stop it, and the one error (or none) that a finished
run's outcomes add up to, which decides the exit code. Pure: tested directly."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from llamactl.errors import ApiRejected, AuthError, Interrupted, LlamactlError, RequestFailed


class BudgetReached(RequestFailed):
    """--max-cost was reached with lines still to send (exit 5)."""


def internal_error_text(crash: Exception) -> str:
    """What the output and stderr say of a line whose processing raised."""
    detail = str(crash)
    if len(detail) > 200:
        detail = detail[:200] + "…"
    return f"internal error (a bug in llamactl): {type(crash).__name__}" + (f": {detail}" if detail else "")


def stops_the_batch(error: LlamactlError) -> bool:
    """Failures every other line would meet too: the token, the model, the account's funds."""
    return isinstance(error, AuthError) or (isinstance(error, ApiRejected) and error.status in (402, 404))


def lines_text(numbers: list[int], shown: int = 5) -> str:
    """`line 7`, `lines 3, 9`, `lines 1, 2, 3, 4, 5 and 12 more`."""
    numbers = sorted(numbers)
    text = ", ".join(map(str, numbers[:shown]))
    if len(numbers) > shown:
        text += f" and {len(numbers) - shown} more"
    return ("line " if len(numbers) == 1 else "lines ") + text


@dataclass
class BatchEnd:
    """What a finished run adds up to."""

    lines: int  # every non-blank line of the input
    answered: int = 0  # requests of this run that came back
    interrupted: int = 0  # in flight at Ctrl-C
    not_sent: int = 0
    failed: list[int] = field(default_factory=list)  # lines not completed (exit 5)
    rejected: list[int] = field(default_factory=list)  # lines refused or malformed (exit 4)
    crashed: list[int] = field(default_factory=list)  # lines whose processing raised: a bug (exit 1)
    stop_reason: LlamactlError | None = None  # why sending stopped early, if it did
    resumable: bool = False  # with --output FILE, running again sends only what is left


def final_error(end: BatchEnd) -> LlamactlError | None:
    """The error the batch ends with: its stop reason, else its worst line (a bug, 1,
    over 5 over 4). The stop reason given is left as it is; the error returned is a copy."""
    if end.stop_reason is not None:
        return _stopped(end, copy.copy(end.stop_reason))
    parts = []
    if end.crashed:
        parts.append(f"{len(end.crashed)} hit an internal error ({lines_text(end.crashed)})")
    if end.failed:
        parts.append(f"{len(end.failed)} could not be completed ({lines_text(end.failed)})")
    if end.rejected:
        parts.append(f"{len(end.rejected)} rejected by the API or malformed ({lines_text(end.rejected)})")
    if not parts:
        return None
    count = len(end.failed) + len(end.rejected) + len(end.crashed)
    message = f"{count} of {end.lines} lines failed: {'; '.join(parts)}"
    if end.crashed:
        return LlamactlError(
            message,
            hint="that is a bug in llamactl: please report it (--debug shows where); "
            + (
                "the output has each line's error; running the same command again retries the lines not done"
                if end.resumable
                else "the output has each line's error"
            ),
        )
    if end.failed:
        return RequestFailed(
            message,
            hint="the output has each line's error; "
            + (
                "run the same command again to retry the lines not done"
                if end.resumable
                else "with --output FILE, running the same command again retries only the lines not done"
            ),
        )
    return ApiRejected(
        message,
        hint="the output has each line's error"
        + (
            "; fix those lines and run the same command again: the lines done are not sent again"
            if end.resumable
            else ""
        ),
    )


def _stopped(end: BatchEnd, stop: LlamactlError) -> LlamactlError:
    hint = (
        "run the same command again to finish the batch"
        if end.resumable
        else "with --output FILE, running the same command again sends only what is left"
    )
    if isinstance(stop, Interrupted):
        stop.message = (
            f"interrupted: {end.answered} lines done, {end.interrupted}"
            f" in flight marked interrupted, {end.not_sent} not sent"
        )
        stop.hint = hint
        return stop
    if end.not_sent:
        stop.message += f"; the batch stopped: {end.not_sent} lines not sent"
    if isinstance(stop, BudgetReached):
        stop.hint = "raise --max-cost, then " + hint
    return stop
