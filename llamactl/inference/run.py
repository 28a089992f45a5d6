"""Running one inference: send the request, consume the stream or the JSON answer, hand
tokens and results to a view, and describe what happened in an InferenceOutcome.

The outcome is filled in even when the run fails or is interrupted, so the partial text
and the failure reach history.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from llamactl.api.client import ApiClient, read_json
from llamactl.api.native_stream import StreamAccumulator, StreamEvent, iter_byte_chunks, iter_events
from llamactl.api.request import InferenceRequest
from llamactl.errors import Interrupted, LlamactlError, RequestFailed, StreamIncomplete
from llamactl.inference.outcome import InferenceOutcome
from llamactl.output.format import count_text, round_cost

REQUEST_ID_HEADERS = ("X-Request-Id", "X-Deepinfra-Request-Id", "Request-Id")


class View(Protocol):
    """What the command does with what arrives: render text, print JSON, select parts."""

    def on_event(self, event: StreamEvent) -> None: ...

    def flush(self) -> None: ...

    def on_response(self, data: dict[str, Any], texts: list[str] | None) -> None: ...


class StreamError(RequestFailed):
    """The server sent an error event in the middle of a stream."""


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _request_id_header(response) -> str | None:
    for name in REQUEST_ID_HEADERS:
        if response.headers.get(name):
            return response.headers[name]
    return None


def consume_stream(response, view: View, outcome: InferenceOutcome, timeout: float | None = None) -> None:
    """Hand each event to the view as it arrives; stop at the final event. `timeout` is
    the client's read timeout, named when the stream stalls."""
    import http.client

    import urllib3.exceptions

    accumulator = StreamAccumulator()
    outcome.streamed = True
    try:
        for event in iter_events(iter_byte_chunks(response.raw, before_read=view.flush)):
            if event.error is not None:
                view.on_event(event)
                raise StreamError(f"the server reported an error mid-stream: {event.error}")
            accumulator.add(event)
            view.on_event(event)
            if event.final:
                break
    except BrokenPipeError:  # our stdout closed: not a network failure
        raise
    except (urllib3.exceptions.ReadTimeoutError, TimeoutError):
        raise StreamIncomplete(
            f"the stream stalled: nothing arrived for {timeout_text(timeout)} "
            f"after {count_text(accumulator.tokens_received, 'token')}; the output is incomplete",
            hint="raise --timeout if the model is just slow",
        ) from None
    except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError) as exc:
        raise StreamIncomplete(
            f"the stream broke after {count_text(accumulator.tokens_received, 'token')} ({type(exc).__name__}); "
            "the output is incomplete"
        ) from None
    finally:
        view.flush()
        response.close()
        outcome.results = [accumulator.text]
        outcome.tokens_in = accumulator.tokens_in
        outcome.tokens_out = accumulator.tokens_out
        outcome.cost = round_cost(accumulator.cost)
        outcome.request_id = accumulator.request_id or _request_id_header(response)
        outcome.finish_reason = accumulator.finish_reason
    if not accumulator.complete:
        raise StreamIncomplete(
            f"the stream ended before its final event after {count_text(accumulator.tokens_received, 'token')}; "
            "the output is incomplete"
        )


def timeout_text(timeout: float | None) -> str:
    return f"{timeout:g} s" if timeout else "the --timeout"


def results_of(data: dict[str, Any]) -> list[str] | None:
    """The generated texts of a non-streamed answer (`results[].generated_text`, or `text`)."""
    results = data.get("results")
    if isinstance(results, list):
        return [item.get("generated_text") or "" for item in results if isinstance(item, dict)]
    if isinstance(data.get("text"), str):
        return [data["text"]]
    return None


def consume_json(response, view: View, outcome: InferenceOutcome) -> None:
    data = read_json(response)
    if not isinstance(data, dict):
        raise RequestFailed("the API answered with JSON that is not an object")
    outcome.response = data
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
        if "text/event-stream" in response.headers.get("Content-Type", ""):
            consume_stream(response, view, outcome, client.timeout)
        else:
            consume_json(response, view, outcome)
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
    finally:
        outcome.wall_seconds = time.monotonic() - started
        if record is not None:
            record(outcome)
    return outcome
