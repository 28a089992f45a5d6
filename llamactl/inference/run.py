"""Running one inference: send the request, consume the stream or the JSON answer, hand
tokens and results to a view, and describe what happened in an InferenceOutcome.

The outcome is filled in even when the run fails or is interrupted, so the partial text
and the failure reach history.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

from llamactl.api.client import ApiClient, read_json
from llamactl.api.deadline import Deadline
from llamactl.api.native_stream import StreamAccumulator, StreamEvent, iter_events
from llamactl.api.request import InferenceRequest
from llamactl.errors import Interrupted, LlamactlError, RequestFailed, StreamIncomplete
from llamactl.inference.outcome import MAX_KEPT_TEXT, InferenceOutcome, kept_text
from llamactl.output.format import count_text, round_cost

REQUEST_ID_HEADERS = ("X-Request-Id", "X-Deepinfra-Request-Id", "Request-Id")


class View(Protocol):
    """What the command does with what arrives: render text, print JSON, select parts."""

    def on_event(self, event: StreamEvent) -> None: ...

    def flush(self) -> None: ...

    def on_response(self, data: dict[str, Any], texts: list[str] | None) -> None: ...


class StreamError(RequestFailed):
    """The server sent an error event in the middle of a stream."""


SQLITE_INTEGERS = range(-(2**63), 2**63)  # what history can store; a count beyond is no count


def _number(value: Any) -> float | None:
    if isinstance(value, float) or (isinstance(value, int) and not isinstance(value, bool)):
        try:
            return float(value)
        except OverflowError:  # an integer beyond any float
            return None
    return None


def _int(value: Any) -> int | None:
    return (
        value if isinstance(value, int) and not isinstance(value, bool) and value in SQLITE_INTEGERS else None
    )


def _request_id_header(response) -> str | None:
    for name in REQUEST_ID_HEADERS:
        if response.headers.get(name):
            return response.headers[name]
    return None


def stream_reader(openai: bool) -> tuple[Any, Callable[[str], StreamEvent | None]]:
    """(an accumulator, the event parser) for the API's stream: native or OpenAI chat. Each
    keeps at most MAX_KEPT_TEXT bytes of the text (the rest is shown, not kept)."""
    if openai:
        from llamactl.api.openai_stream import ChatStreamAccumulator, parse_chunk

        return ChatStreamAccumulator(max_kept=MAX_KEPT_TEXT), parse_chunk
    from llamactl.api.native_stream import parse_event

    return StreamAccumulator(max_kept=MAX_KEPT_TEXT), parse_event


class Reading(NamedTuple):
    """How a response is read: the client's read timeout (named when a stream stalls),
    --max-time's deadline, and whether it is the OpenAI-compatible chat API's."""

    timeout: float | None = None
    deadline: Deadline | None = None
    openai: bool = False


DEFAULT_READING = Reading()


def consume_stream(
    response, view: View, outcome: InferenceOutcome, reading: Reading = DEFAULT_READING
) -> None:
    """Hand each event to the view as it arrives; stop at the final event.

    An event's text is kept (for history) once the view has written it, and a signal is held
    between the two: a Ctrl-C lands before or after the pair, so what is recorded is what
    was written, never one token more or less."""
    from llamactl.api.body import iter_body
    from llamactl.signals import HeldSignals

    accumulator, parse = stream_reader(reading.openai)
    outcome.streamed = True
    chunks = iter_body(
        response.raw, before_read=view.flush, deadline=reading.deadline, read_timeout=reading.timeout
    )
    held = HeldSignals()
    try:
        held.start()
        for event in iter_events(chunks, parse):
            if event.error is not None:
                view.on_event(event)
                raise StreamError(f"the server reported an error mid-stream: {event.error}")
            with held:
                _hand_over(event, view, accumulator)
            if event.final:
                break
    except BrokenPipeError:  # our stdout closed: not a network failure
        raise
    except Exception as exc:
        broken = stream_broken(exc, accumulator.tokens_received, reading.timeout)
        if broken is None:
            raise
        raise broken from None
    finally:
        held.stop()
        view.flush()
        response.close()
        _fill_outcome(outcome, accumulator, response)
    if not accumulator.complete:
        raise StreamIncomplete(
            f"the stream ended before its final event after {count_text(accumulator.tokens_received, 'token')}; "
            "the output is incomplete"
        )


def _hand_over(event: StreamEvent, view: View, accumulator: Any) -> None:
    """The view writes the event, then its text is kept. A Ctrl-C the view met keeps it out
    (it was not written); a write that failed keeps it in (it arrived: nothing is lost)."""
    try:
        view.on_event(event)
    except Exception:
        accumulator.add(event)
        raise
    accumulator.add(event)


def stream_broken(exc: Exception, tokens: int, timeout: float | None) -> StreamIncomplete | None:
    """The failure a read that broke off mid-stream is for the user (None: not a read's)."""
    import http.client

    import urllib3.exceptions

    from llamactl.api.deadline import DeadlineExceeded

    after = count_text(tokens, "token")
    if isinstance(exc, DeadlineExceeded):
        return StreamIncomplete(f"{exc.message} after {after}; the output is incomplete", hint=exc.hint)
    if isinstance(exc, urllib3.exceptions.ReadTimeoutError | TimeoutError):
        return StreamIncomplete(
            f"the stream stalled: nothing arrived for {timeout_text(timeout)} after {after}; "
            "the output is incomplete",
            hint="raise --timeout if the model is just slow",
        )
    if isinstance(exc, urllib3.exceptions.HTTPError | http.client.HTTPException | OSError):
        from llamactl.api.network_errors import classify_network_error

        words = classify_network_error(exc).words
        return StreamIncomplete(f"the stream broke after {after} ({words}); the output is incomplete")
    return None


def _fill_outcome(outcome: InferenceOutcome, accumulator: Any, response) -> None:
    """What a stream delivered, into the outcome (also when it broke off)."""
    outcome.results = [kept_text(accumulator.text, accumulator.dropped)]
    outcome.tokens_in = accumulator.tokens_in
    outcome.tokens_out = accumulator.tokens_out
    outcome.cost = round_cost(accumulator.cost)
    outcome.request_id = accumulator.request_id or _request_id_header(response)
    outcome.finish_reason = accumulator.finish_reason


def timeout_text(timeout: float | None) -> str:
    return f"{timeout:g} s" if timeout else "the --timeout"


def results_of(data: dict[str, Any]) -> list[str] | None:
    """The generated texts of a non-streamed answer (`results[].generated_text`, or `text`);
    a generated_text that is not a string is a broken answer."""
    results = data.get("results")
    if isinstance(results, list):
        texts = [item.get("generated_text") for item in results if isinstance(item, dict)]
        for text in texts:
            if text is not None and not isinstance(text, str):
                raise RequestFailed(
                    f"the API's answer has a generated_text that is {type(text).__name__}, not a string",
                    hint="--json shows the full response",
                )
        return [text or "" for text in texts]
    if isinstance(data.get("text"), str):
        return [data["text"]]
    return None


def consume_chat_json(data: dict[str, Any], response, view: View, outcome: InferenceOutcome) -> None:
    """A non-streamed chat completion: `choices[].message.content` and `usage`."""
    from llamactl.api.openai_stream import Usage, completion_texts

    usage = Usage.of(data.get("usage"))
    outcome.request_id = data.get("id") if isinstance(data.get("id"), str) else _request_id_header(response)
    outcome.cost = round_cost(usage.cost)
    outcome.tokens_in, outcome.tokens_out = usage.tokens_in, usage.tokens_out
    texts = completion_texts(data)
    outcome.results = texts or []
    view.on_response(data, outcome.results if texts is not None else None)


def consume_json(response, view: View, outcome: InferenceOutcome, reading: Reading = DEFAULT_READING) -> None:
    data = read_json(response, reading.deadline, reading.timeout)
    if not isinstance(data, dict):
        raise RequestFailed("the API answered with JSON that is not an object")
    outcome.response = data
    if reading.openai:
        consume_chat_json(data, response, view, outcome)
        return
    found = data.get("inference_status")
    status: dict[str, Any] = found if isinstance(found, dict) else {}
    outcome.request_id = (
        data.get("request_id") if isinstance(data.get("request_id"), str) else _request_id_header(response)
    )
    outcome.cost = round_cost(_number(status.get("cost")))
    outcome.runtime_ms = _int(status.get("runtime_ms"))
    outcome.tokens_in = _int(data.get("num_input_tokens")) or _int(status.get("tokens_input"))
    outcome.tokens_out = _int(data.get("num_tokens")) or _int(status.get("tokens_generated"))
    if status.get("status") == "queued":
        outcome.status = "queued"
    elif status.get("status") == "failed":
        raise RequestFailed("the API reports that the inference failed")
    texts = results_of(data)
    outcome.results = texts or []
    view.on_response(data, outcome.results if texts is not None else None)


CostEstimator = Callable[[InferenceOutcome], float | None]
Recorder = Callable[[InferenceOutcome], None]


def run_inference(
    client: ApiClient,
    request: InferenceRequest,
    view: View,
    estimate_cost: CostEstimator | None = None,
    record: Recorder | None = None,
) -> InferenceOutcome:
    """Run one request to the end; the outcome is recorded whatever happens."""
    outcome = InferenceOutcome(request, client.api_url)
    started = time.monotonic()
    try:
        response = client.post_inference(request)
        reading = Reading(client.timeout, client.deadline, request.target.openai)
        streamed = "text/event-stream" in response.headers.get("Content-Type", "")
        (consume_stream if streamed else consume_json)(response, view, outcome, reading)
        if outcome.cost is None and estimate_cost is not None and outcome.status == "ok":
            outcome.cost = round_cost(estimate_cost(outcome))
            outcome.cost_estimated = outcome.cost is not None
    except StreamIncomplete as exc:
        outcome.status, outcome.error = "incomplete", exc.message
        raise
    except (KeyboardInterrupt, Interrupted):
        from llamactl.signals import exit_at_once_on_next_signal

        exit_at_once_on_next_signal()
        outcome.status, outcome.error = "interrupted", "interrupted"
        raise
    except BrokenPipeError:
        outcome.status, outcome.error = "interrupted", "the output pipe was closed"
        raise
    except LlamactlError as exc:
        outcome.status, outcome.error = "error", exc.message
        raise
    except Exception as exc:  # not one of ours (a bug, or a fault nobody foresaw): never `ok`
        outcome.status, outcome.error = "error", f"internal error: {type(exc).__name__}: {exc}"
        raise
    finally:
        outcome.wall_seconds = time.monotonic() - started
        if record is not None:
            record(outcome)
    return outcome
