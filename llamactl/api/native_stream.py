"""Server-sent events from the native inference endpoint, turned into typed stream events.

sseclient-py does the SSE framing (any of \\n, \\r\\n, \\r; `data:` with or without a
space; comment lines; events split anywhere, even inside a UTF-8 character). This module
feeds it bytes as soon as they arrive and interprets each event's JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

READ_SIZE = 65536


@dataclass
class StreamEvent:
    """One parsed event: a token, the final event, or an error reported by the server."""

    data: dict[str, Any]
    text: str = ""
    special: bool = False
    final: bool = False
    error: str | None = None


def iter_byte_chunks(raw: Any, before_read: Callable[[], None] = lambda: None) -> Iterator[bytes]:
    """Yield the bytes of an HTTP body as they arrive.

    `read1` returns whatever one socket read brings (chunked or close-delimited alike),
    where `read(n)` or requests' iter_content would wait to fill a buffer. `before_read`
    runs before each read, which may block: the caller flushes its output there, so
    everything parsed so far is shown before waiting for more.
    """
    read1 = _fastest_read1(raw)
    while True:
        before_read()
        chunk = read1(READ_SIZE)
        if not chunk:
            return
        yield chunk


def _fastest_read1(raw: Any) -> Callable[[int], bytes]:
    """http.client's own read1 under urllib3's response, when no content decoding is needed:
    it de-chunks just the same, without urllib3's per-call bookkeeping (most of the CPU
    per token on a fast stream; bench/streaming.py). Otherwise urllib3's read1, told to
    decode: requests leaves `decode_content` off on the raw response it hands out."""
    inner = getattr(raw, "_fp", None)
    encoding = (raw.headers.get("Content-Encoding") or "identity").strip().lower()
    if encoding == "identity" and callable(getattr(inner, "read1", None)):
        return inner.read1
    return lambda size: raw.read1(size, decode_content=True)


def error_message_of(data: dict[str, Any]) -> str | None:
    """The message of an error event (`error`, `error_message` or `error_type`), else None."""
    if data.get("token") is not None:
        return None
    if not any(key in data for key in ("error", "error_message", "error_type")):
        return None
    error = data.get("error")
    if isinstance(error, dict):
        error = error.get("message") or error.get("error")
    message = data.get("error_message") or error or data.get("error_type")
    return str(message) if message else "the server reported an error"


def parse_event(payload: str) -> StreamEvent | None:
    """Interpret one event's data; None for data that is not a JSON object (ignored)."""
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    message = error_message_of(data)
    if message is not None:
        return StreamEvent(data, error=message)
    token = data.get("token")
    text, special = "", False
    if isinstance(token, dict):
        text = token.get("text") or ""
        special = bool(token.get("special"))
    final = data.get("details") is not None or data.get("generated_text") is not None
    return StreamEvent(data, text=text, special=special, final=final)


def iter_events(chunks: Iterable[bytes]) -> Iterator[StreamEvent]:
    """Parse SSE bytes into StreamEvents, stopping at `data: [DONE]`."""
    from sseclient import SSEClient

    for event in SSEClient(iter(chunks)).events():
        if event.data.strip() == "[DONE]":
            return
        parsed = parse_event(event.data)
        if parsed is not None:
            yield parsed


def _first_int(*values: Any) -> int | None:
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


@dataclass
class StreamAccumulator:
    """Collects the text and figures of a stream; linear in the number of tokens.

    The text is kept as one UTF-8 buffer: a list of per-token strings would cost about
    fifty bytes of object overhead per token on long streams."""

    utf8: bytearray = field(default_factory=bytearray)
    tokens_received: int = 0
    final_event: dict[str, Any] | None = None

    def add(self, event: StreamEvent) -> None:
        if event.error is not None:
            return
        if event.data.get("token") is not None:
            self.tokens_received += 1
        if event.text and not event.special:
            self.utf8 += event.text.encode("utf-8", errors="surrogatepass")
        if event.final:
            self.final_event = event.data

    @property
    def text(self) -> str:
        return self.utf8.decode("utf-8", errors="surrogatepass")

    @property
    def complete(self) -> bool:
        return self.final_event is not None

    def _final(self, key: str) -> dict[str, Any]:
        value = (self.final_event or {}).get(key)
        return value if isinstance(value, dict) else {}

    @property
    def tokens_out(self) -> int | None:
        details, status = self._final("details"), self._final("inference_status")
        counted = _first_int(
            details.get("generated_tokens"),
            (self.final_event or {}).get("num_output_tokens"),
            (self.final_event or {}).get("num_tokens"),
            status.get("tokens_generated"),
        )
        return counted if counted is not None else self.tokens_received

    @property
    def tokens_in(self) -> int | None:
        details, status = self._final("details"), self._final("inference_status")
        return _first_int(
            details.get("input_tokens"),
            details.get("input_length"),
            (self.final_event or {}).get("num_input_tokens"),
            status.get("tokens_input"),
        )

    @property
    def cost(self) -> float | None:
        cost = self._final("inference_status").get("cost")
        return float(cost) if isinstance(cost, (int, float)) and not isinstance(cost, bool) else None

    @property
    def finish_reason(self) -> str | None:
        """Why generation stopped (`length` at the token limit, `eos_token`, `stop_sequence`)."""
        reason = self._final("details").get("finish_reason")
        return reason if isinstance(reason, str) else None

    @property
    def request_id(self) -> str | None:
        request_id = (self.final_event or {}).get("request_id")
        return request_id if isinstance(request_id, str) else None
