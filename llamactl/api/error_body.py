"""Turning an API error response into one readable line and the right error type.

DeepInfra answers errors in several shapes (deepinfra-api.md §3): `{"detail": {"error": m}}`,
`{"detail": m}`, `{"detail": [{loc, msg, type}]}` (422), `{"error": m}`,
`{"error": {"message": m}}`; proxies answer HTML or nothing at all.
"""

from __future__ import annotations

from typing import Any

from llamactl.api.json_body import ResponseNotJson, loads
from llamactl.errors import ApiRejected, AuthError, LlamactlError, RequestFailed

MAX_MESSAGE = 300


def _validation_message(items: list[Any]) -> str:
    """A FastAPI 422 list as `body.input: field required; ...`."""
    parts = []
    for item in items:
        if not isinstance(item, dict):
            continue
        location = ".".join(str(part) for part in item.get("loc") or [])
        message = str(item.get("msg") or item.get("message") or "invalid")
        parts.append(f"{location}: {message}" if location else message)
    return "; ".join(parts)


def message_from_json(body: Any) -> str | None:
    """The server's own message from any of the documented error body shapes."""
    if isinstance(body, str):
        return body or None
    if isinstance(body, list):
        return _validation_message(body) or None
    if not isinstance(body, dict):
        return None
    for key in ("detail", "error"):
        if key in body:
            inner = body[key]
            if isinstance(inner, dict):
                found = message_from_json(inner.get("error") or inner.get("message") or inner.get("msg"))
                if found:
                    return found
            else:
                found = message_from_json(inner)
                if found:
                    return found
    for key in ("message", "error_message", "msg"):
        if isinstance(body.get(key), str) and body[key]:
            return body[key]
    return None


def message_from_body(body: bytes, content_type: str) -> str | None:
    """Extract a message from a raw error body; None for HTML, empty or unreadable bodies."""
    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        return None
    if "html" in content_type.lower() or text[:1] == "<":
        return None
    try:
        return message_from_json(loads(text))
    except ResponseNotJson:
        pass
    if "json" in content_type.lower():
        return None
    first_line = text.splitlines()[0]
    return first_line if first_line.isprintable() else None


def shorten(message: str) -> str:
    message = " ".join(message.split())
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 1] + "…"


def describe_body(body: bytes, content_type: str) -> str:
    """Why there is no message to show, in a few words."""
    if not body.strip():
        return "an empty body"
    if "html" in content_type.lower() or body.lstrip()[:1] == b"<":
        return "an HTML page"
    return "an unreadable body"


DEPLOYMENTS_PAGE = "https://deepinfra.com/dash/deployments"


def _not_found_hint(target: str) -> str:
    if target.startswith("deploy:"):  # `models list` lists models, not deployments
        return f"check the deployment id: your deployments are listed at {DEPLOYMENTS_PAGE}"
    if target == "the Batch API":  # a job this machine knows, which the API does not (any more)
        return "the API does not know this batch: check that llamactl points at the API it was sent to"
    return "see 'llamactl models list' for the model names"


def missing_fields(body: bytes) -> list[str]:
    """The request fields a 422 says are required (`loc: ["body", NAME]`, type missing)."""
    try:
        detail = loads(body.decode("utf-8", "replace")).get("detail")
    except (ResponseNotJson, AttributeError):
        return []
    names = []
    for item in detail if isinstance(detail, list) else []:
        if not isinstance(item, dict):
            continue
        loc, kind, msg = item.get("loc"), str(item.get("type") or ""), str(item.get("msg") or "")
        if (
            isinstance(loc, list)
            and len(loc) == 2
            and loc[0] == "body"
            and isinstance(loc[1], str)
            and ("missing" in kind or "required" in msg)
        ):
            names.append(loc[1])
    return names


def _missing_fields_hint(body: bytes, target: str | None) -> str | None:
    """A model that wants other fields than `input` (embeddings want `inputs`, whisper
    `audio`) is not a text-generation model: say so, and how to give it what it wants."""
    wanted = [name for name in missing_fields(body) if name != "input"]
    if not wanted:
        return None
    fields = ", ".join(wanted)
    model = f"-m {target}" if target and not target.startswith("deploy:") else "-m MODEL"
    return (
        f"this model expects {fields}, so it is not a text-generation model: give "
        + " ".join(FIELD_EXAMPLES.get(name, f"-i {name}=...") for name in wanted)
        + f" --json instead of a prompt, and see 'llamactl models info {model}' for its fields"
    )


# How a field another task wants is given: an embedding model's inputs are a JSON list.
FIELD_EXAMPLES = {"inputs": "-i 'inputs=[\"...\"]'", "audio": "-i audio=@FILE"}


def error_for_status(
    status: int, reason: str, body: bytes, content_type: str, target: str | None = None
) -> LlamactlError:
    """The typed error for a non-2xx answer (exit code 3, 4 or 5 by status)."""
    message = message_from_body(body, content_type)
    what = f"HTTP {status}" + (f" {reason}" if reason else "")
    text = f"{shorten(message)} ({what})" if message else f"{what} with {describe_body(body, content_type)}"
    if status in (401, 403):
        return AuthError(
            f"the API rejected the token: {text}",
            hint="check DEEPINFRA_TOKEN, or run 'llamactl auth login'",
        )
    if status == 404 and target:
        return ApiRejected(f"{target}: {text}", status, hint=_not_found_hint(target))
    if status == 402:
        return ApiRejected(
            f"{text}", status, hint="the account needs funding: see https://deepinfra.com/dash/billing"
        )
    if status == 429 or status >= 500:
        return RequestFailed(f"the API could not complete the request: {text}", status)
    if 400 <= status < 500:
        return ApiRejected(
            f"the API rejected the request: {text}", status, hint=_missing_fields_hint(body, target)
        )
    return RequestFailed(f"unexpected answer from the API: {text}", status)
