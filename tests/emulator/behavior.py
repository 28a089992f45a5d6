"""`Behavior`: how the emulator answers, from "like the real API" to every way servers,
proxies and networks fail.  Plain data; `faults` and the routes act on it."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

BODY_SHAPES = (
    "detail_error",
    "error",
    "error_message",
    "detail_str",
    "detail_list",
    "html",
    "empty",
    "truncated_json",
    "no_results",
    "not_json",
    "deep_json",
)

# Status used when a Behavior gives a body_shape but no status.
SHAPE_STATUS = {"detail_list": 422, "html": 502, "no_results": 200, "not_json": 200, "deep_json": 200}

_CHOICES = {
    "body_shape": (None, *BODY_SHAPES),
    "framing": ("chunked", "close"),
    "newline": ("\n", "\r\n", "\r"),
    "error_event_shape": ("error_message", "tgi"),
    "stream_json": ("python", "compact"),
    "ensure_ascii": (None, True, False),
    "scope": ("inference", "all"),
}


@dataclass
class Behavior:
    """How the emulator answers inference requests.  The defaults behave like the real API."""

    # Error responses: `status` alone gives a {"detail": {"error": ...}} body ({"error":
    # {"message": ...}} on the OpenAI endpoints); `body_shape` alone gets a fitting status.
    status: int | None = None
    body_shape: str | None = None
    message: str | None = None
    headers: dict = field(default_factory=dict)  # extra response headers, any response
    reason: str | None = None  # the status line's reason phrase on an answer that is not a stream
    # Stream framing.
    framing: str = "chunked"  # "chunked" | "close" (no length, body ends at socket close)
    newline: str = "\n"  # "\n" | "\r\n" | "\r"; events end with two of them
    data_space: bool = True  # "data: {...}" vs "data:{...}"
    comments: bool = False  # ": keep-alive" comment before each event
    done: bool = False  # trailing "data: [DONE]" on the native stream
    final_event: bool = True  # the event carrying generated_text/details (OpenAI: finish chunk + [DONE])
    split_writes: bool = False  # every byte its own chunk/socket write
    # JSON serialisation.  Native stream events: "python" is json.dumps' defaults (", " and
    # ": " separators, \uXXXX escapes), as DeepInfra's gateway sends them; "compact" is the
    # TGI backend's serde_json (no spaces, raw UTF-8).  Other bodies: ", " separators, raw UTF-8.
    stream_json: str = "python"
    ensure_ascii: bool | None = None  # force \uXXXX escapes on (True) or off (False) in every JSON body
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
    # Queued only: kept for the request whose JSON "input" is this (whatever the arrival order),
    # or for the first request whose path ends with `for_path` (e.g. "/content").
    for_input: str | None = None
    for_path: str | None = None

    def __post_init__(self):
        for name, allowed in _CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"Behavior.{name} must be one of {allowed}, not {getattr(self, name)!r}")

    @property
    def answers_with_error(self) -> bool:
        """True when the behaviour answers every request in its scope with an error body."""
        return self.status is not None or self.body_shape is not None
