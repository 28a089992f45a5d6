"""Server-sent events from the native inference endpoint, turned into typed stream events.

api/sse_framing.py splits the bytes into whole events as soon as they arrive (any of \\n,
\\r\\n, \\r; comment lines; events split anywhere, even inside a UTF-8 character), within
its bounds; sseclient-py parses each event's fields (`data:` with or without a space); this
module interprets each event's JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from llamactl.errors import StreamIncomplete
from llamactl.plain import field, record


class BadStreamEvent(StreamIncomplete):
    """An event llamactl cannot take as it is: nested too deeply, or a token that is not text."""


class StreamEvent:
    """One parsed event: a token, the final event, or an error reported by the server.
    Made once per token, so written out by hand (a record's `__init__` is slower per call)."""

    __slots__ = ("data", "text", "special", "final", "error")

    def __init__(
        self,
        data: dict[str, Any],
        text: str = "",
        special: bool = False,
        final: bool = False,
        error: str | None = None,
    ) -> None:
        self.data = data
        self.text = text
        self.special = special
        self.final = final
        self.error = error

    def __repr__(self) -> str:
        return f"StreamEvent(text={self.text!r}, final={self.final}, error={self.error!r})"


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
    """Interpret one event's data; None for data that is not a JSON object (ignored, as
    proxies' and servers' odd lines are); BadStreamEvent for JSON no server means."""
    from llamactl.api.json_body import JsonTooDeep, ResponseNotJson, loads

    try:
        data = loads(payload)
    except JsonTooDeep as exc:
        raise BadStreamEvent(f"the stream sent an event of {exc.reason}; the output is incomplete") from None
    except ResponseNotJson:
        return None
    if not isinstance(data, dict):
        return None
    message = error_message_of(data)
    if message is not None:  # the server's words, which may quote the request's token
        from llamactl.redact import scrub_data

        data = scrub_data(data)
        return StreamEvent(data, error=error_message_of(data))
    token = data.get("token")
    text, special = "", False
    if isinstance(token, dict):
        found = token.get("text")
        if found is not None and not isinstance(found, str):
            raise BadStreamEvent(
                f"the stream sent a token whose text is {type(found).__name__}, not a string; "
                "the output is incomplete"
            )
        text, special = found or "", bool(token.get("special"))
    final = data.get("details") is not None or data.get("generated_text") is not None
    return StreamEvent(data, text=text, special=special, final=final)


def iter_events(
    chunks: Iterable[bytes], parse: Callable[[str], StreamEvent | None] = parse_event
) -> Iterator[StreamEvent]:
    """Parse SSE bytes into StreamEvents, stopping at `data: [DONE]`; `parse` interprets
    one event's data (this module's for the native API, api/openai_stream's for chat)."""
    from sseclient import SSEClient

    from llamactl.api.sse_framing import BoundedFramer

    framer = BoundedFramer()
    for event in SSEClient(framer.events(chunks)).events():
        if event.data.strip() == "[DONE]":
            return
        parsed = parse(event.data)
        if parsed is not None:
            framer.used()
            yield parsed


def _first_int(*values: Any) -> int | None:
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


@record
class KeptText:
    """A stream's text, kept as one UTF-8 buffer: a list of per-token strings would cost
    about fifty bytes of object overhead per token on long streams. With `max_kept`, at most
    that many bytes are kept (the rest was shown, not kept) and `dropped` counts the others."""

    utf8: bytearray = field(default_factory=bytearray)
    max_kept: int | None = None
    dropped: int = 0

    def keep(self, text: str) -> None:
        encoded = text.encode("utf-8", errors="surrogatepass")
        room = len(encoded) if self.max_kept is None else self.max_kept - len(self.utf8)
        self.utf8 += encoded[: max(room, 0)]
        self.dropped += max(len(encoded) - max(room, 0), 0)

    @property
    def text(self) -> str:
        """The kept text (a character cut by `max_kept` is left out)."""
        return self.utf8.decode("utf-8", errors="surrogatepass" if not self.dropped else "ignore")


@record
class StreamAccumulator(KeptText):
    """Collects the text and figures of a native stream; linear in the number of tokens."""

    tokens_received: int = 0
    final_event: dict[str, Any] | None = None

    def add(self, event: StreamEvent) -> None:
        if event.error is not None:
            return
        if event.data.get("token") is not None:
            self.tokens_received += 1
        if event.text and not event.special:
            self.keep(event.text)
        if event.final:
            self.final_event = event.data

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
