"""A local emulator of DeepInfra's HTTP API (docs/deepinfra-api.md §1-5), stdlib only.

It is a real HTTP/1.1 server on 127.0.0.1 that speaks the documented wire format: native
inference (JSON and multipart), native SSE streams, webhooks, the model catalogue, the
account endpoints and the OpenAI-compatible endpoints.  Tests steer it with `Behavior`s to
make it fail the way real servers, proxies and networks fail.  docs/emulator.md describes
every knob; this module is its control surface:

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
    emu.wait_dequeued(timeout)        # True once every queued behaviour has been taken
    emu.wait_webhooks(n, timeout)     # True once n webhook deliveries finished
    emu.webhook_attempts              # [WebhookAttempt(url, attempt, status, error, payload)]
    emu.errors                        # tracebacks of unexpected server exceptions (want [])
    emu.batch_plan = BatchPlan(...)   # how the Batch API runs batches (batches.py)
    emu.batch_steps(n)                # every unfinished batch moves n steps (polls move them too)
    emu.reset()                       # defaults, empty queue/recordings, drops stalled streams

Behaviours apply to inference requests (POST /v1/inference/..., POST /v1/openai/...) unless
`scope="all"`.  A behaviour with `status` or `body_shape` answers before authentication is
checked, like a proxy in front of the API would.

The pieces: `handler` (one connection), `routing` and `routes/` (one module per API),
`exchange` (one request and its reply), `faults`, `wire` (HTTP framing), `auth`,
`recording`, `webhooks`; `responses`, `textgen` and `catalogue` are the data.
"""

from __future__ import annotations

import collections
import http.server
import socket
import sys
import threading
import traceback

from . import webhooks
from .auth import VALID_TOKEN
from .batches import BatchPlan, BatchStore
from .behavior import Behavior
from .handler import Handler
from .recording import RecordedRequest
from .webhooks import WebhookAttempt

__all__ = ["BatchPlan", "Behavior", "Emulator", "RecordedRequest", "VALID_TOKEN", "WebhookAttempt"]


class Emulator:
    """The emulated API plus the control surface tests use (see the module docstring)."""

    def __init__(self, tokens=None, host: str = "127.0.0.1", port: int = 0, *, log_requests: bool = False):
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
        self.batch_store = BatchStore()  # the Files and Batch API's files and batches
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
        self._server = _Server((self.host, self.port), Handler, self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"emulator:{self.port}",
            daemon=True,
        )
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
            self.batch_store.reset()
            self._cancel.set()
            self._cancel = threading.Event()
        with self._progress:
            self._writing = self._written = 0
            self._webhooks_done = 0

    @property
    def batch_plan(self) -> BatchPlan:
        """How batches run (batches.BatchPlan); set it to change the plan of every batch."""
        return self.batch_store.plan

    @batch_plan.setter
    def batch_plan(self, plan: BatchPlan) -> None:
        self.batch_store.plan = plan

    def batch_steps(self, count: int = 1) -> None:
        """Move every unfinished batch `count` steps, as that many polls would."""
        self.batch_store.steps(count)

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

    def wait_dequeued(self, timeout: float = 5.0) -> bool:
        """True once every queued behaviour has been taken by a request."""

        def empty() -> bool:
            with self._lock:
                return not self._queue

        with self._progress:
            return self._progress.wait_for(empty, timeout)

    # used by the handler

    def _take_behavior(self, inference: bool, request_input: object = None, path: str = "") -> Behavior:
        with self._lock:
            for index, behavior in enumerate(self._queue):
                if (
                    (inference or behavior.scope == "all")
                    and behavior.for_input in (None, request_input)
                    and (behavior.for_path is None or path.endswith(behavior.for_path))
                ):
                    del self._queue[index]
                    break
            else:
                return self._default if inference or self._default.scope == "all" else Behavior()
        with self._progress:
            self._progress.notify_all()
        return behavior

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

    def _send_webhook(self, url: str, payload: dict, cancel: threading.Event) -> None:
        """Deliver `payload` to `url` in the background, recording every attempt."""
        threading.Thread(target=self._deliver_webhook, args=(url, payload, cancel), daemon=True).start()

    def _deliver_webhook(self, url: str, payload: dict, cancel: threading.Event) -> None:
        webhooks.deliver(url, payload, cancel, self._record_webhook_attempt)
        with self._progress:
            self._webhooks_done += 1
            self._progress.notify_all()

    def _record_webhook_attempt(self, attempt: WebhookAttempt) -> None:
        with self._lock:
            self.webhook_attempts.append(attempt)

    def _release_event(self) -> threading.Event:
        """The event the next release() sets (stalled streams wait for it)."""
        with self._lock:
            return self._release

    def _connection_opened(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)

    def _connection_closed(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True  # SO_REUSEADDR

    def __init__(self, address, handler, emulator: Emulator):
        self.emulator = emulator
        super().__init__(address, handler)

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            self.emulator._record_error(traceback.format_exc())
