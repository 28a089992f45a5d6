"""batch/failure.py directly: the one error a finished batch's outcomes add up to."""

from __future__ import annotations

import pytest

from llamactl.batch.failure import BatchEnd, BudgetReached, final_error, stops_the_batch
from llamactl.errors import ApiRejected, AuthError, ExitCode, Interrupted, RequestFailed


def test_a_batch_with_no_failure_ends_without_an_error():
    assert final_error(BatchEnd(lines=3, answered=3)) is None


def test_a_line_not_completed_outranks_a_rejected_one():
    error = final_error(BatchEnd(lines=6, failed=[4], rejected=[2, 3]))
    assert isinstance(error, RequestFailed) and error.exit_code == ExitCode.REQUEST_FAILED
    assert error.message == (
        "3 of 6 lines failed: 1 could not be completed (line 4);"
        " 2 rejected by the API or malformed (lines 2, 3)"
    )
    assert error.hint == (
        "the output has each line's error; with --output FILE, running the same"
        " command again retries only the lines not done"
    )


@pytest.mark.parametrize(
    "resumable, hint",
    [
        (False, "the output has each line's error"),
        (
            True,
            "the output has each line's error; fix those lines and run the same command again:"
            " the lines done are not sent again",
        ),
    ],
)
def test_only_rejected_lines_are_exit_4(resumable, hint):
    error = final_error(BatchEnd(lines=4, rejected=[3, 1], resumable=resumable))
    assert isinstance(error, ApiRejected) and error.exit_code == ExitCode.API_REJECTED
    assert error.message == "2 of 4 lines failed: 2 rejected by the API or malformed (lines 1, 3)"
    assert error.hint == hint


def test_an_interrupt_counts_what_was_done_in_flight_and_not_sent():
    stop = Interrupted()
    error = final_error(
        BatchEnd(lines=5, answered=2, interrupted=2, not_sent=1, stop_reason=stop, resumable=True)
    )
    assert isinstance(error, Interrupted) and error.exit_code == ExitCode.INTERRUPTED
    assert error.message == "interrupted: 2 lines done, 2 in flight marked interrupted, 1 not sent"
    assert error.hint == "run the same command again to finish the batch"
    assert stop.message == "interrupted" and stop.hint is None  # the input is left alone


def test_a_stop_reason_says_how_many_lines_were_not_sent():
    stop = AuthError("the API rejected the token")
    error = final_error(BatchEnd(lines=3, failed=[1], not_sent=2, stop_reason=stop))
    assert isinstance(error, AuthError)
    assert error.message == "the API rejected the token; the batch stopped: 2 lines not sent"
    assert stop.message == "the API rejected the token"


def test_a_reached_budget_hints_at_raising_it():
    error = final_error(
        BatchEnd(lines=4, answered=1, not_sent=3, stop_reason=BudgetReached("--max-cost $1 reached"))
    )
    assert isinstance(error, BudgetReached) and error.exit_code == ExitCode.REQUEST_FAILED
    assert error.message == "--max-cost $1 reached; the batch stopped: 3 lines not sent"
    assert error.hint == (
        "raise --max-cost, then with --output FILE, running the same command again sends only what is left"
    )


def test_a_stop_with_nothing_left_unsent_keeps_its_message():
    error = final_error(BatchEnd(lines=2, answered=2, stop_reason=ApiRejected("no such model", status=404)))
    assert (error.message, error.status) == ("no such model", 404)


@pytest.mark.parametrize(
    "error, stops",
    [
        (AuthError("bad token"), True),
        (ApiRejected("no money", status=402), True),
        (ApiRejected("no model", status=404), True),
        (ApiRejected("bad field", status=422), False),
        (RequestFailed("overloaded", status=503), False),
    ],
)
def test_what_every_other_line_would_meet_too_stops_the_batch(error, stops):
    assert stops_the_batch(error) is stops
