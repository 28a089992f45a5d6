"""One request and its answer: what a route reads (the recorded request, the Behavior in
force, the emulator) and the ways it can reply.  Every reply goes through the faults."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from . import auth, faults, responses, wire
from .behavior import Behavior
from .recording import RecordedRequest

if TYPE_CHECKING:
    from .server import Emulator


class Exchange:
    def __init__(
        self,
        handler,
        request: RecordedRequest,
        behavior: Behavior,
        waits: faults.Waits,
        *,
        openai: bool = False,
    ):
        self.handler = handler  # the connection's BaseHTTPRequestHandler
        self.request = request
        self.behavior = behavior
        self.waits = waits
        self.openai = openai  # errors in OpenAI's shape
        self.emulator: Emulator = handler.server.emulator

    # reading

    def auth_error(self) -> tuple[int, str] | None:
        return auth.auth_error(self.request.headers, self.emulator.tokens)

    def authorized(self) -> bool:
        """True with valid credentials; otherwise answers 401/403 and returns False."""
        error = self.auth_error()
        if error:
            self.send_error(*error, shape="error_message" if self.openai else "detail_error")
        return error is None

    def params(self) -> dict | None:
        """The request fields from JSON or multipart; None after answering 422."""
        request = self.request
        if request.body_error:
            self.send_json(
                422,
                responses.validation_error(
                    "body", f"invalid request body: {request.body_error}", "value_error.jsondecode"
                ),
            )
            return None
        if request.form is not None:
            return {**request.form, **{name: f[2] for name, f in request.files.items()}}
        if request.json is None:
            return {}
        if not isinstance(request.json, dict):
            self.send_json(
                422, responses.validation_error("body", "value is not a valid dict", "type_error.dict")
            )
            return None
        return dict(request.json)

    # replying

    def json_text(self, obj) -> str:
        """A JSON body: ", " separators, raw UTF-8 unless the Behavior forces escapes."""
        return wire.json_text(obj, ensure_ascii=self.behavior.ensure_ascii is True)

    def send_bytes(
        self, status: int, content_type: str | None, body: bytes, extra_headers: list[tuple[str, str]] = ()
    ) -> None:
        """A complete response with a Content-Length; `stall_after`/`cut_after` count its bytes."""
        headers = [("Content-Type", content_type)] if content_type else []
        headers += [("Content-Length", str(len(body))), *extra_headers]
        wire.send_head(
            self.handler, status, headers + list(self.behavior.headers.items()), self.behavior.reason
        )
        faults.write_body(self, body)

    def send_json(self, status: int, obj) -> None:
        self.send_bytes(status, "application/json", self.json_text(obj).encode("utf-8"))

    def send_error(self, status: int, message: str, shape: str = "detail_error") -> None:
        content_type, body = responses.error_body(shape, status, message, responses.request_id())
        self.send_bytes(status, content_type, body)

    def reject(self, field: str) -> None:
        """422 for a missing or invalid field, in FastAPI's shape."""
        self.send_json(422, responses.validation_error(field))

    def stream(self, events: list[dict], *, done: bool, dumps: Callable[[dict], str] | None = None) -> None:
        """An SSE response of `events`, each serialised by `dumps` (default: `json_text`)."""
        faults.write_stream(self, events, done, dumps or self.json_text)
