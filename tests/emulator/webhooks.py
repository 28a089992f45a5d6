"""Webhook deliveries (deepinfra-api.md §7): POST the result to the caller's URL, retrying
"a few" times on a status >= 400 or a connection error."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

ATTEMPTS = 4  # the first delivery and up to 3 retries


@dataclass
class WebhookAttempt:
    url: str
    attempt: int  # 1-based
    status: int | None  # HTTP status, None on a connection error
    error: str | None
    payload: dict


def deliver(
    url: str, payload: dict, cancel: threading.Event, record: Callable[[WebhookAttempt], None]
) -> None:
    """POST `payload` until it is accepted, ATTEMPTS are used up or `cancel` is set."""
    data = json.dumps(payload).encode()
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    for attempt in range(1, ATTEMPTS + 1):
        status, error = _post(opener, url, data)
        record(WebhookAttempt(url, attempt, status, error, payload))
        if (status is not None and status < 400) or cancel.wait(0.02 * attempt):
            return


def _post(opener, url: str, data: bytes) -> tuple[int | None, str | None]:
    """(status, None) from the receiver, or (None, why) when it could not be reached."""
    request = urllib.request.Request(
        url,
        data=data,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "deepinfra-webhook-emulator"},
    )
    try:
        with opener.open(request, timeout=5) as answer:
            return answer.status, None
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except (OSError, ValueError) as exc:
        return None, f"{type(exc).__name__}: {exc}"
