"""A local emulator of DeepInfra's HTTP API (docs/deepinfra-api.md §1-5), stdlib only.

It is a real HTTP/1.1 server on 127.0.0.1 that speaks the documented wire format: native
inference (JSON and multipart), native SSE streams, webhooks, the model catalogue, the
account endpoints and the OpenAI-compatible endpoints.  Tests steer it with `Behavior`s to
make it fail the way real servers, proxies and networks fail.

Control API:

    emu = Emulator()                  # Emulator(tokens={...}, host="127.0.0.1", port=0)
    emu.start() / emu.stop()          # or: with Emulator() as emu: ...
    emu.url                           # "http://127.0.0.1:PORT"
    emu.behave(Behavior(...))         # default for all following requests (in its scope)
    emu.queue(Behavior(...), ...)     # one-shot, consumed in order before the default
    emu.requests                      # [RecordedRequest], recorded before any reply
    emu.tokens                        # accepted bearer tokens (a set; reset() restores)
    emu.release()                     # stalled streams (stall_after) go on
    emu.wait_written(n, timeout)      # True once n events of the current stream are flushed
    emu.tokens_written                # events of the current stream whose write has begun
    emu.wait_idle(timeout)            # True once no request is being handled
    emu.wait_webhooks(n, timeout)     # True once n webhook deliveries finished
    emu.webhook_attempts              # [WebhookAttempt(url, attempt, status, error, payload)]
    emu.errors                        # tracebacks of unexpected server exceptions (want [])
    emu.reset()                       # defaults, empty queue/recordings, drops stalled streams

Behaviours apply to inference requests (POST /v1/inference/..., POST /v1/openai/...) unless
`scope="all"`.  A behaviour with `status` or `body_shape` answers before authentication is
checked, like a proxy in front of the API would.
"""

from __future__ import annotations

import base64
import collections
import email.parser
import email.policy
import http.server
import json
import os
import re
import socket
import struct
import sys
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from . import catalogue, responses, textgen

VALID_TOKEN = "emu-test-token-9f3b2c71d4"

BODY_SHAPES = ("detail_error", "error", "error_message", "detail_str", "detail_list", "html",
               "empty", "truncated_json", "no_results", "not_json")

# Status used when a Behavior gives a body_shape but no status.
_SHAPE_STATUS = {"detail_list": 422, "html": 502, "no_results": 200, "not_json": 200}

_POLL = 0.02  # how often blocked waits look for reset()/stop()
_WEBHOOK_ATTEMPTS = 4  # the first delivery and up to 3 retries


@dataclass
class Behavior:
    """How the emulator answers inference requests.  The defaults behave like the real API."""

    # Error responses: `status` alone gives a {"detail": {"error": ...}} body ({"error":
    # {"message": ...}} on the OpenAI endpoints); `body_shape` alone gets a fitting status.
    status: int | None = None
    body_shape: str | None = None
    message: str | None = None
    headers: dict = field(default_factory=dict)  # extra response headers, any response
    # Stream framing.
    framing: str = "chunked"  # "chunked" | "close" (no length, body ends at socket close)
    newline: str = "\n"  # "\n" | "\r\n" | "\r"; events end with two of them
    data_space: bool = True  # "data: {...}" vs "data:{...}"
    comments: bool = False  # ": keep-alive" comment before each event
    done: bool = False  # trailing "data: [DONE]" on the native stream
    final_event: bool = True  # the event carrying generated_text/details (OpenAI: finish chunk + [DONE])
    split_writes: bool = False  # every byte its own chunk/socket write
    ensure_ascii: bool = False  # JSON with \uXXXX escapes instead of raw UTF-8 (json.dumps' default)
    garbage_lines: bool = False  # "event: ping", "id: 5", "retry: 100", "foo bar", one "data: not-json"
    # Timing and faults.  N counts stream events already written (the final one included);
    # on a response that is not a stream, N counts body bytes.
    first_byte_delay: float = 0
    token_delay: float = 0
    cut_after: int | None = None  # drop the connection after N (no final event, no last chunk)
    error_after: int | None = None  # after N events send an error event and end the stream cleanly
    error_event_shape: str = "error_message"  # or "tgi"
    stall_after: int | None = None  # after N go silent until emu.release(), reset() or stop()
    gate: threading.Event | None = None  # wait for (then clear) before each event after the first
    reset_connection: bool = False  # RST the connection without answering (after first_byte_delay)
    # Output.
    reply: str | None = None
    tokens: list[str] | None = None
    scope: str = "inference"  # "inference" | "all" (also catalogue/account requests)

    def __post_init__(self):
        choices = {"body_shape": (None, *BODY_SHAPES), "framing": ("chunked", "close"),
                   "newline": ("\n", "\r\n", "\r"), "error_event_shape": ("error_message", "tgi"),
                   "scope": ("inference", "all")}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"Behavior.{name} must be one of {allowed}, not {getattr(self, name)!r}")


class Headers(dict):
    """Request headers; keys are stored lower-cased and every lookup ignores case."""

    def __init__(self, pairs=()):
        super().__init__()
        for name, value in pairs:
            name = name.lower()
            self[name] = f"{self[name]}, {value}" if name in self else value

    def __getitem__(self, name):
        return super().__getitem__(name.lower())

    def __setitem__(self, name, value):
        super().__setitem__(name.lower(), value)

    def __contains__(self, name):
        return isinstance(name, str) and super().__contains__(name.lower())

    def get(self, name, default=None):
        return super().get(name.lower(), default)


@dataclass
class RecordedRequest:
    method: str
    path: str  # percent-decoded, without the query string
    query: dict  # name -> last value
    headers: Headers
    body: bytes
    json: Any = None  # parsed JSON body, or None
    form: dict | None = None  # coerced multipart text fields, or None when not multipart
    files: dict = field(default_factory=dict)  # name -> (filename, content_type, bytes)


@dataclass
class WebhookAttempt:
    url: str
    attempt: int  # 1-based
    status: int | None  # HTTP status, None on a connection error
    error: str | None
    payload: dict


class _Abort(Exception):
    """Drop the connection now (a cut, or a stalled stream interrupted by reset/stop)."""


# --- multipart ---------------------------------------------------------------------------

# Fields the API types as strings: never coerced to numbers/bools.
_STRING_FIELDS = frozenset({"input", "prompt", "text", "webhook", "model"})
_FLOAT = re.compile(r"-?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?")


def coerce_form_value(name: str, text: str):
    """A form string as the API's schema would read it: ints, floats, bools, JSON lists/objects."""
    if name in _STRING_FIELDS:
        return text
    stripped = text.strip()
    if stripped.lower() in ("true", "false"):
        return stripped.lower() == "true"
    if re.fullmatch(r"-?\d+", stripped):
        return int(stripped)
    if _FLOAT.fullmatch(stripped):
        return float(stripped)
    if stripped[:1] in ("[", "{"):
        try:
            return json.loads(stripped)
        except ValueError:
            pass
    return text


def parse_multipart(content_type: str, body: bytes) -> tuple[dict, dict]:
    """(coerced text fields, files) of a multipart/form-data body; repeated fields become lists."""
    head = b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n"
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise ValueError("not a multipart body")
    form: dict = {}
    files: dict = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name is None:
            continue
        filename = part.get_param("filename", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        if filename is not None:
            files[name] = (str(filename), part.get_content_type(), payload)
            continue
        value = coerce_form_value(name, payload.decode("utf-8", "replace"))
        if name in form:
            previous = form[name] if isinstance(form[name], list) else [form[name]]
            value = previous + (value if isinstance(value, list) else [value])
        form[name] = value
    return form, files


# --- the emulator --------------------------------------------------------------------------

class Emulator:
    """The emulated API plus the control surface tests use (see the module docstring)."""

    def __init__(self, tokens=None, host: str = "127.0.0.1", port: int = 0, *,
                 log_requests: bool = False):
        self._default_tokens = frozenset({VALID_TOKEN} if tokens is None else tokens)
        self.tokens: set[str] = set(self._default_tokens)  # bearer tokens the API accepts
        self.host = host
        self.port = port
        self.log_requests = log_requests
        self.requests: list[RecordedRequest] = []
        self.errors: list[str] = []  # tracebacks of unexpected server exceptions
        self.webhook_attempts: list[WebhookAttempt] = []
        self._lock = threading.Lock()
        self._default = Behavior()
        self._queue: collections.deque[Behavior] = collections.deque()
        self._cancel = threading.Event()  # set by reset()/stop(): in-flight waits give up
        self._release = threading.Event()  # set by release(): stalled streams go on
        self._writing = 0  # events of the current stream whose write has begun
        self._written = 0  # ... and whose write has completed
        self._webhooks_done = 0
        self._in_flight = 0
        self._progress = threading.Condition()
        self._connections: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # lifecycle

    def start(self) -> Emulator:
        self._cancel = threading.Event()
        self._server = _Server((self.host, self.port), _Handler, self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"emulator:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; stalled, gated and delayed responses are dropped, never waited for."""
        if self._server is None:
            return
        self._cancel.set()
        self._server.shutdown()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._server.server_close()
        self._thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # control

    def behave(self, behavior: Behavior) -> None:
        """The behaviour of every following request (in its scope) with no queued one."""
        with self._lock:
            self._default = behavior

    def queue(self, *behaviors: Behavior) -> None:
        """One-shot behaviours, consumed in order by the next requests in their scope."""
        with self._lock:
            self._queue.extend(behaviors)

    def reset(self) -> None:
        """Back to a fresh emulator: default behaviour and tokens, nothing queued or recorded.

        Streams still stalled or gated from before are dropped.
        """
        with self._lock:
            self._default = Behavior()
            self._queue.clear()
            self.requests.clear()
            self.errors.clear()
            self.webhook_attempts.clear()
            self.tokens = set(self._default_tokens)
            self._cancel.set()
            self._cancel = threading.Event()
        with self._progress:
            self._writing = self._written = 0
            self._webhooks_done = 0

    def release(self) -> None:
        """Let streams stalled by `stall_after` go on with their remaining events."""
        with self._lock:
            self._release.set()
            self._release = threading.Event()

    @property
    def tokens_written(self) -> int:
        """Events of the most recently started stream handed to the socket.

        Counted as each write begins, so a client that has received event N always sees
        `tokens_written >= N` (and, with a `gate`, exactly N).  To know that bytes are on the
        socket, use `wait_written`.
        """
        with self._progress:
            return self._writing

    def wait_written(self, n: int, timeout: float = 5.0) -> bool:
        """True once `n` events of the current stream are on the socket; False on timeout."""
        with self._progress:
            return self._progress.wait_for(lambda: self._written >= n, timeout)

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """True once no request is being handled (e.g. after a client gave up mid-stream)."""
        with self._progress:
            return self._progress.wait_for(lambda: self._in_flight == 0, timeout)

    def wait_webhooks(self, n: int = 1, timeout: float = 5.0) -> bool:
        """True once `n` webhook deliveries have finished (delivered or given up)."""
        with self._progress:
            return self._progress.wait_for(lambda: self._webhooks_done >= n, timeout)

    # used by the handler

    def _take_behavior(self, inference: bool) -> Behavior:
        with self._lock:
            for index, behavior in enumerate(self._queue):
                if inference or behavior.scope == "all":
                    del self._queue[index]
                    return behavior
            if inference or self._default.scope == "all":
                return self._default
            return Behavior()

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _record_error(self, text: str) -> None:
        with self._lock:
            self.errors.append(text)
        if self.log_requests:
            sys.stderr.write(text)

    def _begin_stream(self) -> None:
        with self._progress:
            self._writing = self._written = 0
            self._progress.notify_all()

    def _mark_writing(self) -> None:
        with self._progress:
            self._writing += 1

    def _busy(self, delta: int) -> None:
        with self._progress:
            self._in_flight += delta
            self._progress.notify_all()

    def _mark_written(self) -> None:
        with self._progress:
            self._written += 1
            self._progress.notify_all()

    def _deliver_webhook(self, url: str, payload: dict, cancel: threading.Event) -> None:
        """POST the result to `url`, retrying on a status >= 400 or a connection error."""
        data = json.dumps(payload).encode()
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        for attempt in range(1, _WEBHOOK_ATTEMPTS + 1):
            status = error = None
            try:
                request = urllib.request.Request(url, data=data, method="POST", headers={
                    "Content-Type": "application/json", "User-Agent": "deepinfra-webhook-emulator"})
                with opener.open(request, timeout=5) as answer:
                    status = answer.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except (OSError, ValueError) as exc:
                error = f"{type(exc).__name__}: {exc}"
            with self._lock:
                self.webhook_attempts.append(WebhookAttempt(url, attempt, status, error, payload))
            if (status is not None and status < 400) or cancel.wait(0.02 * attempt):
                break
        with self._progress:
            self._webhooks_done += 1
            self._progress.notify_all()


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True  # SO_REUSEADDR

    def __init__(self, address, handler, emulator: Emulator):
        self.emulator = emulator
        super().__init__(address, handler)

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            self.emulator._record_error(traceback.format_exc())


class _EventWriter:
    """Writes SSE bytes with the framing, newlines and write splitting a Behavior asks for."""

    def __init__(self, handler: _Handler, behavior: Behavior):
        self.handler = handler
        self.chunked = behavior.framing == "chunked"
        self.split = behavior.split_writes
        self.nl = behavior.newline.encode()
        self.prefix = b"data: " if behavior.data_space else b"data:"

    def start(self) -> None:
        handler = self.handler
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Cache-Control", "no-cache")
        if self.chunked:
            handler.send_header("Transfer-Encoding", "chunked")
        else:
            handler.send_header("Connection", "close")
            handler.close_connection = True
        handler._send_extra_headers()
        handler.end_headers()

    def write(self, data: bytes) -> None:
        pieces = [data[i:i + 1] for i in range(len(data))] if self.split else [data]
        for piece in pieces:
            self.handler.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if self.chunked else piece)

    def data(self, text: str) -> None:
        self.write(self.prefix + text.encode("utf-8") + self.nl * 2)

    def comment(self) -> None:
        self.write(b": keep-alive" + self.nl * 2)

    def junk(self) -> None:
        """Lines an SSE parser must skip; the blank line dispatches nothing (no data)."""
        self.write(self.nl.join([b"event: ping", b"id: 5", b"retry: 100", b"foo bar"]) + self.nl * 2)

    def end(self) -> None:
        if self.chunked:
            self.handler.wfile.write(b"0\r\n\r\n")


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "deepinfra-emulator/1.0"
    sys_version = ""

    @property
    def emu(self) -> Emulator:
        return self.server.emulator

    # connection plumbing

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.emu._lock:
            self.emu._connections.add(self.connection)

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass
        with self.emu._lock:
            self.emu._connections.discard(self.connection)

    def log_message(self, format, *args):
        if self.emu.log_requests:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    def _drop(self) -> None:
        """Close abruptly: FIN without finishing the response."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _reset_connection(self) -> None:
        """Close with an RST (SO_LINGER 0) and no response at all."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        os.close(self.connection.detach())

    def _sleep(self, seconds: float) -> None:
        if seconds and self._cancel.wait(seconds):
            raise _Abort

    def _wait(self, event: threading.Event) -> None:
        while not event.wait(_POLL):
            if self._cancel.is_set():
                raise _Abort

    def _stall(self) -> None:
        """Go silent until emu.release() (then go on) or reset()/stop() (then drop)."""
        with self.emu._lock:
            release = self.emu._release
        self._wait(release)

    # request handling

    def do_GET(self):
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def _dispatch(self):
        self._cancel = self.emu._cancel
        self._behavior = Behavior()
        self._head_sent = False
        self.emu._busy(+1)
        try:
            request = self._read_request()
            self.emu._record(request)
            self._route(request)
        except _Abort:
            self._drop()
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        except Exception:
            self.emu._record_error(traceback.format_exc())
            self.close_connection = True
            if not self._head_sent:
                try:
                    self._send_json(500, {"detail": {"error": "emulator error"}})
                except OSError:
                    pass
        finally:
            self.emu._busy(-1)

    def _read_request(self) -> RecordedRequest:
        split = urllib.parse.urlsplit(self.path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(split.query, keep_blank_values=True).items()}
        headers = Headers(self.headers.items())
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = self._read_chunked()
        else:
            body = self.rfile.read(int(headers.get("content-length") or 0))
        content_type = headers.get("content-type", "")
        parsed = form = None
        files: dict = {}
        self._body_error = None
        if content_type.lower().startswith("multipart/form-data"):
            try:
                form, files = parse_multipart(content_type, body)
            except ValueError as exc:
                self._body_error = str(exc)
        elif body and ("json" in content_type.lower() or not content_type):
            try:
                parsed = json.loads(body)
            except ValueError as exc:
                self._body_error = str(exc)
        return RecordedRequest(self.command, urllib.parse.unquote(split.path), query, headers,
                               body, parsed, form, files)

    def _read_chunked(self) -> bytes:
        body = b""
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return body
            body += self.rfile.read(size)
            self.rfile.readline()

    def _route(self, request: RecordedRequest) -> None:
        method, path = request.method, request.path
        kind = None
        if method == "POST":
            if path.startswith("/v1/inference/"):
                kind = "native"
            elif path in ("/v1/openai/chat/completions", "/v1/chat/completions"):
                kind = "chat"
            elif path in ("/v1/openai/completions", "/v1/completions"):
                kind = "completions"
        behavior = self._behavior = self.emu._take_behavior(inference=kind is not None)
        self._sleep(behavior.first_byte_delay)
        if behavior.reset_connection:
            self._reset_connection()
            return
        openai = kind in ("chat", "completions") or path.startswith("/v1/openai")
        if behavior.status is not None or behavior.body_shape is not None:
            shape = behavior.body_shape or ("error_message" if openai else "detail_error")
            status = behavior.status or _SHAPE_STATUS.get(shape, 500)
            self._send_error(status, behavior.message or responses.default_message(status), shape)
        elif kind == "native":
            self._native(request)
        elif kind:
            self._openai(request, chat=kind == "chat")
        else:
            route = self._get_route(request)
            if route is None:
                self._send_json(404, {"detail": "Not Found"})
            elif method != "GET":
                self._send_json(405, {"detail": "Method Not Allowed"})
            else:
                route(request)

    # responses

    def _send_head(self, status: int, content_type: str | None, length: int) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        self._send_extra_headers()
        self.end_headers()

    def _send_extra_headers(self) -> None:
        for name, value in self._behavior.headers.items():
            self.send_header(name, value)

    def version_string(self):
        return self.server_version

    def _dumps(self, obj) -> str:
        return json.dumps(obj, ensure_ascii=self._behavior.ensure_ascii)

    def send_response(self, code, message=None):
        super().send_response(code, message)
        self._head_sent = True

    def _send_bytes(self, status: int, content_type: str | None, body: bytes) -> None:
        """Send a complete response; `stall_after`/`cut_after` count body bytes here."""
        self._send_head(status, content_type, len(body))
        behavior, sent = self._behavior, 0
        if behavior.stall_after is not None and behavior.stall_after < len(body):
            sent = behavior.stall_after
            self.wfile.write(body[:sent])
            self._stall()
        if behavior.cut_after is not None and behavior.cut_after < len(body):
            self.wfile.write(body[sent:max(sent, behavior.cut_after)])
            raise _Abort
        self.wfile.write(body[sent:])

    def _send_json(self, status: int, obj) -> None:
        self._send_bytes(status, "application/json", self._dumps(obj).encode("utf-8"))

    def _send_error(self, status: int, message: str, shape: str = "detail_error") -> None:
        content_type, body = responses.error_body(shape, status, message, responses.request_id())
        self._send_bytes(status, content_type, body)

    def _auth_error(self, request: RecordedRequest) -> tuple[int, str] | None:
        """(403, "Not authenticated") without usable credentials, (401, ...) for a wrong token."""
        value = request.headers.get("authorization")
        if value is None and request.headers.get("xi-api-key"):
            token = request.headers["xi-api-key"].strip()
        else:
            scheme, _, token = (value or "").strip().partition(" ")
            token = token.strip()
            if scheme.lower() != "bearer":
                token = ""
        if not token:
            return 403, "Not authenticated"
        if token not in self.emu.tokens:
            return 401, "Invalid token"
        return None

    def _params(self, request: RecordedRequest) -> dict | None:
        """The request fields from JSON or multipart; None after answering 422."""
        if self._body_error:
            self._send_json(422, responses.validation_error(
                "body", f"invalid request body: {self._body_error}", "value_error.jsondecode"))
            return None
        if request.form is not None:
            return {**request.form, **{name: f[2] for name, f in request.files.items()}}
        if request.json is None:
            return {}
        if not isinstance(request.json, dict):
            self._send_json(422, responses.validation_error("body", "value is not a valid dict", "type_error.dict"))
            return None
        return dict(request.json)

    # catalogue and account

    def _get_route(self, request: RecordedRequest):
        path = request.path
        fixed = {"/v1/me": self._me, "/cli/version": self._cli_version,
                 "/v1/openai/models": self._openai_models, "/v1/models": self._openai_models,
                 "/models/list": self._public_list, "/models/private/list": self._private_list}
        if path in fixed:
            return fixed[path]
        if path.startswith("/models/") and path.count("/") >= 3:
            return self._model_info
        return None

    def _me(self, request):
        error = self._auth_error(request)
        if error:
            return self._send_error(*error)
        self._send_json(200, catalogue.ME)

    def _cli_version(self, request):
        self._send_json(200, catalogue.CLI_VERSION)

    def _openai_models(self, request):
        self._send_json(200, responses.openai_models())

    def _public_list(self, request):
        self._send_json(200, [catalogue.model_out(m) for m in catalogue.MODELS if not m["private"]])

    def _private_list(self, request):
        error = self._auth_error(request)
        if error:
            return self._send_error(*error)
        self._send_json(200, [catalogue.model_out(m) for m in catalogue.MODELS if m["private"]])

    def _model_info(self, request):
        name = request.path[len("/models/"):]
        wants_versions = name.endswith("/versions")
        if wants_versions:
            name = name[:-len("/versions")]
        model = catalogue.find_model(name, include_private=self._auth_error(request) is None)
        if model is None:
            return self._send_error(404, "Model not found")
        if wants_versions:
            return self._send_json(200, catalogue.versions(model))
        card = catalogue.model_card(model, request.query.get("version"))
        if card is None:
            return self._send_error(404, "Model version not found")
        self._send_json(200, card)

    # native inference

    def _native(self, request: RecordedRequest) -> None:
        error = self._auth_error(request)
        if error:
            return self._send_error(*error)
        target = request.path[len("/v1/inference/"):]
        if target.startswith("deploy/"):
            name = catalogue.DEPLOYMENTS.get(target[len("deploy/"):])
        else:
            name = target
        model = catalogue.find_model(name, include_private=True) if name else None
        if model is None:
            return self._send_error(404, "Model not found")
        version = request.query.get("version")
        if version is not None and version not in [v["version"] for v in catalogue.VERSIONS[name]]:
            return self._send_error(404, "Model version not found")
        params = self._params(request)
        if params is None:
            return
        model = catalogue.serving_model(model)
        task = model["type"]
        if task == "text-generation":
            return self._text_generation(model, params)
        rid = responses.request_id()
        if task == "embeddings":
            inputs = params.get("inputs")
            if not isinstance(inputs, list) or not all(isinstance(t, str) for t in inputs):
                return self._send_json(422, responses.validation_error("inputs"))
            return self._send_json(200, responses.embeddings(model, inputs, rid))
        if task == "automatic-speech-recognition":
            audio = params.get("audio")
            if isinstance(audio, str) and audio.startswith("data:") and "," in audio:
                audio = base64.b64decode(audio.split(",", 1)[1] + "==")
            if not isinstance(audio, bytes):
                return self._send_json(422, responses.validation_error("audio"))
            return self._send_json(200, responses.speech_recognition(model, audio, rid))
        if task == "text-to-image":
            if not isinstance(params.get("prompt"), str):
                return self._send_json(422, responses.validation_error("prompt"))
            return self._send_json(200, responses.text_to_image(model, params, rid))
        if not isinstance(params.get("text"), str):  # text-to-speech
            return self._send_json(422, responses.validation_error("text"))
        self._send_json(200, responses.text_to_speech(model, params["text"], rid))

    def _text_generation(self, model: dict, params: dict) -> None:
        params, errors = textgen.validate(params)
        if errors:
            return self._send_json(422, {"detail": errors})
        behavior = self._behavior
        gens = [textgen.generate(params, reply=behavior.reply, tokens=behavior.tokens, variant=i)
                for i in range(params.get("num_responses") or 1)]
        rid = responses.request_id()
        if params.get("webhook"):
            failed = behavior.error_after is not None
            payload = responses.failed(rid) if failed else responses.text_generation(model, gens, rid)
            threading.Thread(target=self.emu._deliver_webhook, daemon=True,
                             args=(params["webhook"], payload, self._cancel)).start()
            return self._send_json(200, responses.queued(rid))
        if params.get("stream"):
            events = responses.stream_events(gens[0], final_event=behavior.final_event)
            return self._stream([self._dumps(e) for e in events], done=behavior.done)
        self._send_json(200, responses.text_generation(model, gens, rid))

    def _stream(self, events: list[str], done: bool) -> None:
        """Write `events` as SSE, injecting the Behavior's framing quirks and faults."""
        behavior = self._behavior
        writer = _EventWriter(self, behavior)
        self.emu._begin_stream()
        writer.start()
        for i in range(len(events) + 1):
            if behavior.stall_after == i:
                self._stall()
            if behavior.cut_after == i:
                raise _Abort
            if behavior.error_after == i:
                message = behavior.message or "Request failed during generation"
                writer.data(self._dumps(responses.stream_error(behavior.error_event_shape, message)))
                break
            if i == len(events):
                break
            if i:
                self._sleep(behavior.token_delay)
                if behavior.gate is not None:
                    self._wait(behavior.gate)
                    behavior.gate.clear()
            if behavior.comments:
                writer.comment()
            if behavior.garbage_lines:
                writer.junk()
            self.emu._mark_writing()
            writer.data(events[i])
            self.emu._mark_written()
            if behavior.garbage_lines and i == 0:
                writer.data("not-json")
        if done:
            writer.data("[DONE]")
        writer.end()

    # OpenAI-compatible

    def _openai(self, request: RecordedRequest, chat: bool) -> None:
        error = self._auth_error(request)
        if error:
            return self._send_error(*error, shape="error_message")
        params = self._params(request)
        if params is None:
            return
        field_name = "messages" if chat else "prompt"
        for required in ("model", field_name):
            if required not in params:
                return self._send_json(422, responses.validation_error(required))
        name = str(params["model"])
        if name.startswith("deploy_id:"):
            model_name = catalogue.DEPLOYMENTS.get(name[len("deploy_id:"):], "")
        else:
            model_name = name.split(":", 1)[0]
        model = catalogue.find_model(model_name, include_private=True)
        if model is None or model["type"] != "text-generation":
            return self._send_error(404, f"The model `{name}` does not exist", "error_message")
        model = catalogue.serving_model(model)
        if chat:
            prompt = textgen.llama2_prompt(list(params["messages"] or []))
        else:
            prompt = params["prompt"] if isinstance(params["prompt"], str) else json.dumps(params["prompt"])
        stop = params.get("stop") or []
        gen_params = {"input": prompt, "stop": [stop] if isinstance(stop, str) else stop}
        if isinstance(params.get("max_tokens"), int):
            gen_params["max_new_tokens"] = params["max_tokens"]
        behavior = self._behavior
        stream = bool(params.get("stream"))
        count = 1 if stream else max(1, int(params.get("n") or 1))
        gens = [textgen.generate(gen_params, reply=behavior.reply, tokens=behavior.tokens, variant=i)
                for i in range(count)]
        cid = ("chatcmpl-" if chat else "cmpl-") + responses.request_id()[1:11]
        created = int(time.time())
        if stream:
            chunks = responses.openai_chunks(chat, cid, created, name, model, gens[0],
                                             final_event=behavior.final_event)
            return self._stream([self._dumps(c) for c in chunks], done=behavior.final_event)
        self._send_json(200, responses.openai_response(chat, cid, created, name, model, gens))
