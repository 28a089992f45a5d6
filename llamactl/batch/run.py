"""`llamactl infer --batch`: many prompts in one command, concurrent, resumable, within a budget.

The main thread reads the lines, submits their requests to N workers (never more in
flight), collects the answers, writes one output record per line in input order, and
decides when to stop sending: at Ctrl-C, at --max-cost, after a rate limit (for a while),
or on a failure every other line would meet too (the token, the model, the account's
funds). Each request goes through run_inference, as a single `infer` does, and to history
tagged with the batch's id.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from llamactl.api.client import ApiClient
from llamactl.api.deadline import deadline_for
from llamactl.api.request import InferenceRequest, InferenceTarget
from llamactl.api.retry import RetryPolicy
from llamactl.auth.credentials import ResolvedToken
from llamactl.batch.failure import BatchEnd, BudgetReached, final_error, internal_error_text, stops_the_batch
from llamactl.batch.history import BatchHistory
from llamactl.batch.input import BatchLine
from llamactl.batch.output import FileSink, StreamSink, batch_record, is_done, previous_batch_id
from llamactl.batch.pool import SharedBackoff, WorkerPool, share_session
from llamactl.batch.progress import BatchTally, make_progress, summary_line
from llamactl.batch.settings import BatchSettings, read_lines
from llamactl.env import Environment
from llamactl.errors import ApiRejected, ExitCode, Interrupted, LlamactlError, RequestFailed
from llamactl.inference.outcome import InferenceOutcome
from llamactl.inference.prepare import InferOptions
from llamactl.inference.run import run_inference
from llamactl.output.format import format_dollars
from llamactl.output.views import is_other_answer, is_queued
from llamactl.signals import Terminated, exit_at_once_on_next_signal

TICK = 0.1  # seconds the main thread waits for an answer before looking at the clock again
MAX_REPORTED_FAILURES = 10  # failed lines named on stderr; the output has all of them


@dataclass(eq=False)
class Job:
    """One line on its way through a worker."""

    index: int  # the line's position in the batch
    line: BatchLine
    request: InferenceRequest  # the line's (only lines that are requests become jobs)
    started_at: float = 0.0
    outcome: InferenceOutcome | None = None
    error: LlamactlError | None = None
    crash: BaseException | None = None
    response: dict[str, Any] | None = None  # another kind of model's answer, for the line's record
    recorded: bool = False  # its outcome went to history
    abandoned: bool = False  # given up at Ctrl-C: history gets it from the main thread


class LineView:
    """run_inference's view for a batch line: nothing is shown (the outcome keeps the
    texts). Another kind of model's answer (embeddings, images, speech), billed but no
    text, is kept whole for the line's record, as `infer` prints it; any other answer
    without results is a failure, as it is for `infer`."""

    def __init__(self) -> None:
        self.response: dict[str, Any] | None = None

    def on_event(self, event) -> None:
        pass

    def flush(self) -> None:
        pass

    def on_response(self, data: dict[str, Any], texts: list[str] | None) -> None:
        if texts is not None or is_queued(data):
            return
        if not is_other_answer(data):
            raise RequestFailed("the API's answer has no results")
        self.response = data


def run_batch(env: Environment, options: InferOptions, settings: BatchSettings) -> None:
    """Everything is checked (flags, `-i`, the lines, the token, --output) before the first
    request; then the batch runs and its worst outcome decides the exit code."""
    from llamactl.auth.credentials import require_token

    target, lines = read_lines(env, options, settings)
    token = require_token(env, env.output.warn)
    # locked before it is read back: a second run on the same FILE stops here, sending nothing
    sink = FileSink(settings.output) if settings.output else StreamSink(env.output.text)
    previous = sink.read_previous() if isinstance(sink, FileSink) else {}
    try:
        run = BatchRun(env, settings, target, lines, previous, token, sink)
    except BaseException:
        sink.close()
        raise
    run.run()


class BatchRun:
    """One run of a batch, from the first submission to the rewritten output."""

    def __init__(
        self,
        env: Environment,
        settings: BatchSettings,
        target: InferenceTarget,
        lines: list[BatchLine],
        previous: dict[int, dict[str, Any]],
        token: ResolvedToken,
        sink: FileSink | StreamSink,
    ):
        from llamactl.catalogue.pricing import cost_estimator

        self.env = env
        self.settings = settings
        self.target = target
        self.lines = lines
        self.previous = previous
        self.batch_id = previous_batch_id(previous) or secrets.token_hex(4)
        self.records: list[dict[str, Any] | None] = [None] * len(lines)
        self.pending: deque[Job] = deque(
            Job(index, line, line.request)
            for index, line in enumerate(lines)
            if line.request is not None and not is_done(previous.get(line.number), line)
        )
        self.in_flight: set[Job] = set()
        self.tally = BatchTally(to_send=len(self.pending))
        env.output.quiet = settings.quiet
        self.reporter = make_progress(
            env.output, self.tally, self.batch_id, output_on_stdout=settings.output is None
        )
        self.client = ApiClient(
            env,
            token,
            timeout=settings.timeout,
            retry=RetryPolicy(retries=settings.retries),
            notify=self.reporter.info,
            trace=env.output.tracer,
            deadline=deadline_for(settings.max_time),
        )
        self.backoff = SharedBackoff()
        share_session(self.client.session, self.backoff, settings.concurrency, self.paused)
        self.sink = sink
        self.history = BatchHistory.open(env, self.reporter, enabled=settings.history)
        self.estimate_cost = cost_estimator(env)
        self.lock = threading.Lock()
        self.stop_reason: LlamactlError | None = None
        self.interrupt: KeyboardInterrupt | None = None
        self.rejected: list[int] = []  # lines the API refused, or that are malformed (exit 4)
        self.failed: list[int] = []  # lines whose request could not be completed (exit 5)
        self.crashed: list[int] = []  # lines whose processing raised: a bug (exit 1)
        self.reported = 0
        self.warned_unknown_cost = False

    # the main thread

    def run(self) -> None:
        if self.history is not None:
            self.history.start()
        self.settle_known_lines()
        pool = WorkerPool(self.settings.concurrency, self.work)
        self.reporter.start()
        try:
            self.send_all(pool)
        except KeyboardInterrupt as exc:
            exit_at_once_on_next_signal()
            self.interrupt = exc
            self.stop_reason = Interrupted()
        finally:
            pool.close()
            try:
                self.finish()
            finally:
                self.wind_down()
        self.reporter.info(summary_line(self.tally, self.batch_id, time.monotonic()))
        if isinstance(self.interrupt, Terminated):
            raise self.interrupt  # SIGTERM ends quietly (143), as for a single infer
        failure = final_error(self.end())
        if isinstance(failure, ApiRejected) and failure.status == 404:
            failure = self.with_model_hint(failure)
        if failure is not None:
            raise failure

    def settle_known_lines(self) -> None:
        """Malformed lines are reported now; lines an earlier run finished are kept as they are."""
        for index, line in enumerate(self.lines):
            if line.request is None:
                self.rejected.append(line.number)
                self.report_failure(line.number, line.error or "")
                self.settle(index, line, "invalid", line.error)
            elif is_done(self.previous.get(line.number), line):
                self.records[index] = self.previous[line.number]
                self.tally.done_before += 1
        if self.tally.done_before:
            self.reporter.info(
                f"resuming batch {self.batch_id}: {self.tally.done_before} lines were done"
                f" before, {self.tally.to_send} to send"
            )

    def wind_down(self) -> None:
        """After the output is complete. A Ctrl-C from here on only cuts the wait for
        history short: the batch is done, and its outcome stands."""
        wait = self.interrupt is None
        try:
            self.reporter.stop()
            self.client.session.close()
        except KeyboardInterrupt as exc:
            if isinstance(exc, Terminated) or not wait:
                raise
            wait = False
        if self.history is not None:
            self.history.close(wait)

    def send_all(self, pool: WorkerPool) -> None:
        while True:
            self.submit_ready(pool)
            self.reporter.update()
            if not self.in_flight and (not self.pending or self.stop_reason):
                return
            job = pool.next_finished(TICK)
            if job is not None:
                self.collect(job)

    def submit_ready(self, pool: WorkerPool) -> None:
        while (
            self.pending
            and len(self.in_flight) < self.settings.concurrency
            and self.stop_reason is None
            and not self.backoff.remaining()
        ):
            job = self.pending.popleft()
            job.started_at = time.time()
            self.in_flight.add(job)
            self.tally.in_flight += 1
            pool.submit(job)

    def collect(self, job: Job) -> None:
        self.in_flight.discard(job)
        self.tally.in_flight -= 1
        if job.crash is not None and not isinstance(job.crash, Exception):
            raise job.crash
        outcome, error = job.outcome, job.error
        if outcome is not None:
            self.tally.add_outcome(outcome)
        if job.crash is not None:
            self.settle_crash(job, job.crash)
            return
        assert outcome is not None
        self.settle(
            job.index, job.line, outcome.status, error.message if error else None, outcome, job.response
        )
        if error is not None:
            self.note_failure(job.line.number, error)
        self.check_budget(job.line.number, outcome)

    def settle_crash(self, job: Job, crash: Exception) -> None:
        """A line whose processing raised (a bug) gets an error record like any failed line,
        so the output stays complete and resumable, and the other lines go on."""
        if job.outcome is None:
            self.tally.answered += 1
        from llamactl.redact import scrub

        message = scrub(internal_error_text(crash))
        self.settle(job.index, job.line, "error", message, job.outcome)
        self.crashed.append(job.line.number)
        self.report_failure(job.line.number, message)
        if self.env.debug:
            import traceback

            text = "".join(traceback.format_exception(type(crash), crash, crash.__traceback__))
            self.env.output.traceback(scrub(text))

    def note_failure(self, number: int, error: LlamactlError) -> None:
        if stops_the_batch(error):
            if self.stop_reason is None:
                self.stop_reason = error
            return
        (self.rejected if error.exit_code == ExitCode.API_REJECTED else self.failed).append(number)
        self.report_failure(number, error.message)

    def check_budget(self, number: int, outcome: InferenceOutcome) -> None:
        limit = self.settings.max_cost
        if limit is None:
            return
        if outcome.cost is None and outcome.status == "ok" and not self.warned_unknown_cost:
            self.warned_unknown_cost = True
            self.reporter.warn(
                f"--max-cost: the cost of line {number} is unknown (the API reported none and"
                " no pricing is cached); lines without a cost are not counted"
            )
        if self.tally.cost >= limit and self.pending and self.stop_reason is None:
            self.stop_reason = BudgetReached(
                f"--max-cost {format_dollars(limit)} reached: {self.tally.cost_text()} spent"
            )

    def settle(
        self,
        index: int,
        line: BatchLine,
        status: str,
        error: str | None,
        outcome: InferenceOutcome | None = None,
        response: dict[str, Any] | None = None,
    ) -> None:
        record = batch_record(line, self.batch_id, status, error, outcome, response)
        self.records[index] = record
        self.tally.statuses[status] += 1
        self.sink.put(index, record)

    def report_failure(self, number: int, message: str) -> None:
        self.reported += 1
        if self.reported <= MAX_REPORTED_FAILURES:
            self.reporter.warn(f"line {number}: {message}")
        elif self.reported == MAX_REPORTED_FAILURES + 1:
            self.reporter.warn("more lines failed; the output has the error of every line")

    def finish(self) -> None:
        """In-flight lines (after Ctrl-C) are marked interrupted, unsent ones skipped; then
        the output is complete, one record per line in input order."""
        for job in sorted(self.in_flight, key=lambda job: job.index):
            self.abandon(job)
            self.settle(job.index, job.line, "interrupted", "interrupted before the answer came")
        why = f"not sent: {self.stop_reason.message}" if self.stop_reason else "not sent"
        for job in self.pending:
            self.settle(job.index, job.line, "skipped", why)
        for index, line in enumerate(self.lines):
            if self.records[index] is None:  # cut short by a crash in this thread: never a `null`
                self.settle(index, line, "error", "internal error: the line's result was lost")
        self.sink.finish([record for record in self.records if record is not None])

    def abandon(self, job: Job) -> None:
        """History gets an interrupted row for a request given up in flight, unless its
        worker already recorded the answer."""
        with self.lock:
            if job.recorded:
                return
            job.abandoned = True
        if self.history is not None:
            outcome = InferenceOutcome(
                job.request,
                self.client.api_url,
                started_at=job.started_at,
                status="interrupted",
                error="interrupted",
                wall_seconds=time.time() - job.started_at,
                batch_id=self.batch_id,
            )
            self.history(outcome)

    def end(self) -> BatchEnd:
        return BatchEnd(
            lines=len(self.lines),
            answered=self.tally.answered,
            interrupted=self.tally.statuses["interrupted"],
            not_sent=self.tally.statuses["skipped"],
            failed=self.failed,
            rejected=self.rejected,
            crashed=self.crashed,
            stop_reason=self.stop_reason,
            resumable=self.settings.output is not None,
        )

    def with_model_hint(self, error: ApiRejected) -> ApiRejected:
        """The closest model names, as `infer` suggests them for an unknown model."""
        from llamactl.catalogue.names import unknown_model_hint

        if self.target.model:
            error.hint = (
                unknown_model_hint(self.env, self.target.model, self.target.version, refresh=False)
                or error.hint
            )
        return error

    # the workers

    def work(self, job: Job) -> None:
        view = LineView()
        try:
            run_inference(
                self.client,
                job.request,
                view,
                self.estimate_cost,
                record=lambda outcome: self.record(job, outcome),
            )
        except LlamactlError as exc:
            job.error = exc
        job.response = view.response

    def record(self, job: Job, outcome: InferenceOutcome) -> None:
        outcome.batch_id = self.batch_id
        job.outcome = outcome
        with self.lock:
            if job.abandoned:
                return
            job.recorded = True
        if self.history is not None:
            self.history(outcome)

    def paused(self, status: int, seconds: float) -> None:
        self.reporter.info(f"HTTP {status} from the API: holding new requests back for {seconds:.1f} s")
