"""The failure behaviours a `Behavior` asks for: delays, stalls, gates, cuts, resets, error
answers in front of the API, and the faults injected into a stream of events.

Every wait gives up when the emulator is reset or stopped (`cancel`), so no test can leave
a handler thread waiting for ever."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from . import responses, wire
from .behavior import SHAPE_STATUS

if TYPE_CHECKING:
    from .exchange import Exchange

POLL = 0.02  # how often blocked waits look for reset()/stop()


class Abort(Exception):
    """Drop the connection now (a cut, or a stalled stream interrupted by reset/stop)."""


class Waits:
    """The waits of one request, all given up (with `Abort`) once `cancel` is set."""

    def __init__(self, cancel: threading.Event, release: Callable[[], threading.Event]):
        self.cancel = cancel
        self._release = release  # the emulator's current release() event

    def sleep(self, seconds: float) -> None:
        if seconds and self.cancel.wait(seconds):
            raise Abort

    def wait(self, event: threading.Event) -> None:
        while not event.wait(POLL):
            if self.cancel.is_set():
                raise Abort

    def stall(self) -> None:
        """Go silent until emu.release() (then go on) or reset()/stop() (then drop)."""
        self.wait(self._release())


def answer_early(exchange: Exchange) -> bool:
    """Faults that answer before routing and authentication, like a proxy in front of the
    API: first wait `first_byte_delay`, then a TCP reset, a close or an error body.  True if answered."""
    behavior = exchange.behavior
    exchange.waits.sleep(behavior.first_byte_delay)
    if behavior.reset_connection:
        wire.reset(exchange.handler)
        return True
    if behavior.close_connection:
        wire.drop(exchange.handler)
        return True
    if behavior.answers_with_body:
        answer_with_body(exchange)
        return True
    if not behavior.answers_with_error:
        return False
    shape = behavior.body_shape or ("error_message" if exchange.openai else "detail_error")
    status = behavior.status or SHAPE_STATUS.get(shape, 500)
    exchange.send_error(status, behavior.message or responses.default_message(status), shape)
    return True


def answer_with_body(exchange: Exchange) -> None:
    """A JSON answer of the Behavior's own: its `body` as it is (with its `status`, else
    200), or a `body` flood (a 200 whose generated_text never ends, close-delimited), each
    gzip-compressed on request."""
    behavior = exchange.behavior
    if behavior.flood != "body":
        return exchange.send_bytes(behavior.status or 200, "application/json", behavior.body or b"")
    writer = wire.SseWriter(exchange.handler, chunked=False, gzip=behavior.gzip)
    writer.start(list(behavior.headers.items()), content_type="application/json")
    writer.flood("body", behavior.flood_bytes, lambda: _flood_wait(exchange), behavior.drip)
    writer.write(wire.BODY_FLOOD_END)
    writer.end()


def _flood_wait(exchange: Exchange) -> None:
    """Between two pieces of a flood: the `drip` pause; a reset or stop ends the flood."""
    if exchange.behavior.drip:
        exchange.waits.sleep(exchange.behavior.drip)
    elif exchange.waits.cancel.is_set():
        raise Abort


def write_body(exchange: Exchange, body: bytes) -> None:
    """Write a whole body; `stall_after`/`cut_after` count its bytes."""
    behavior, out, sent = exchange.behavior, exchange.handler.wfile, 0
    if behavior.stall_after is not None and behavior.stall_after < len(body):
        sent = behavior.stall_after
        out.write(body[:sent])
        exchange.waits.stall()
    if behavior.cut_after is not None and behavior.cut_after < len(body):
        out.write(body[sent : max(sent, behavior.cut_after)])
        raise Abort
    out.write(body[sent:])


def write_stream(exchange: Exchange, events: list[dict], done: bool, dumps: Callable[[dict], str]) -> None:
    """Write `events` as SSE with the Behavior's framing quirks, pacing and faults."""
    behavior, waits, progress = exchange.behavior, exchange.waits, exchange.emulator
    writer = wire.SseWriter(
        exchange.handler,
        chunked=behavior.framing == "chunked",
        newline=behavior.newline,
        data_space=behavior.data_space,
        split_writes=behavior.split_writes,
        gzip=behavior.gzip,
    )
    payloads: list = list(behavior.events) if behavior.events is not None else events
    progress._begin_stream()
    writer.start(list(behavior.headers.items()))
    for i in range(len(payloads) + 1):
        if behavior.stall_after == i:
            waits.stall()
        if behavior.cut_after == i:
            raise Abort
        if behavior.flood is not None and behavior.flood_after == i:
            writer.flood(behavior.flood, behavior.flood_bytes, lambda: _flood_wait(exchange), behavior.drip)
            writer.write(writer.nl * 2)
            break
        if behavior.error_after == i:
            message = exchange.echoed(behavior.message or "Request failed during generation")
            writer.data(dumps(responses.stream_error(behavior.error_event_shape, message, exchange.openai)))
            break
        if i == len(payloads):
            break
        if i:
            _pace(behavior, waits)
        payload = payloads[i]
        _write_event(
            writer,
            behavior,
            payload if isinstance(payload, bytes) else dumps(payload),
            progress,
            first=i == 0,
        )
    if done:
        writer.data("[DONE]")
    writer.end()


def _pace(behavior, waits: Waits) -> None:
    """What comes between two events: `token_delay`, then the `gate` if there is one."""
    waits.sleep(behavior.token_delay)
    if behavior.gate is not None:
        waits.wait(behavior.gate)
        behavior.gate.clear()


def _write_event(writer: wire.SseWriter, behavior, text: str | bytes, progress, *, first: bool) -> None:
    if behavior.comments:
        writer.comment()
    if behavior.garbage_lines:
        writer.junk()
    progress._mark_writing()
    writer.data(text)
    progress._mark_written()
    if behavior.garbage_lines and first:
        writer.data("not-json")
