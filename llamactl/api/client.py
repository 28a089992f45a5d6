"""HTTP to the DeepInfra API: one session, the token header, transport checks, error mapping
and the `--debug` trace (token redacted)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests

from llamactl import __version__
from llamactl.api.error_body import error_for_status
from llamactl.api.redact import REDACTED, redact
from llamactl.api.request import InferenceRequest
from llamactl.api.retry import DEFAULT_TIMEOUT, RETRY_STATUSES, RetryPolicy, parse_retry_after
from llamactl.auth.credentials import ResolvedToken
from llamactl.env import Environment, is_loopback_host
from llamactl.errors import LlamactlError, RequestFailed, UsageError

if TYPE_CHECKING:
    from llamactl.api.network_errors import NetworkFailure

CONNECT_TIMEOUT = 10.0
MAX_ERROR_BODY = 65536


class Redactor:
    """Hides the token wherever it might appear in text bound for the user (api/redact.py)."""

    def __init__(self, token: str | None):
        self.token = token

    def __call__(self, text: str) -> str:
        return redact(text, [self.token]) if self.token else text


class ApiClient:
    """Sends requests to one API base URL with one token."""

    def __init__(
        self,
        env: Environment,
        token: ResolvedToken | None,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        notify: Callable[[str], None] | None = None,
        trace: Callable[[str], None] | None = None,
        session: requests.Session | None = None,
    ):
        """`session`: another client's, so that one command opens one connection pool."""
        self.env = env
        self.retry = retry or RetryPolicy()
        self.notify = notify or (lambda line: None)
        self.api_url = env.api_url
        self.token = token
        self.timeout = timeout
        self.redact = Redactor(token.value if token else None)
        self._trace = trace  # with --debug, a writer of trace lines (redacted here first)
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = f"llamactl/{__version__}"
        self.check_transport()

    def check_transport(self) -> None:
        """Refuse to send a token over plain http to a non-loopback host (before connecting)."""
        parts = urlsplit(self.api_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise UsageError(f"invalid API URL {self.api_url!r}: expected http(s)://host[:port]")
        if parts.path.strip("/"):  # `.../v1/openai` would post to .../v1/openai/v1/inference/...
            raise UsageError(
                f"the API URL {self.api_url} has a path ({parts.path}): llamactl adds the API paths itself",
                hint=f"use {parts.scheme}://{parts.netloc} (--api-url, DEEPINFRA_HOST or DEEPINFRA_BASE_URL)",
            )
        if (
            self.token
            and parts.scheme == "http"
            and not is_loopback_host(parts.hostname)
            and not self.env.allow_insecure
        ):
            raise UsageError(
                f"refusing to send the API token over plain http to {parts.netloc}",
                hint="use https, or pass --allow-insecure if you really mean it",
            )

    def trace(self, line: str) -> None:
        if self._trace:
            self._trace(self.redact(line))

    def _headers(self, accept: str) -> dict[str, str]:
        headers = {"Accept": accept}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token.value}"
        return headers

    def send(self, method: str, url: str, *, target: str | None = None, **kwargs: Any):
        """Send one request, retrying 429/502/503/504 and connection failures (before any
        response byte); other failures and non-2xx answers become typed errors.

        The body is never read here (requests' stream mode): a stream is consumed as it
        arrives, and an error body is read once, in `_read_error_body`."""
        headers = {**self._headers(kwargs.pop("accept", "application/json")), **kwargs.pop("headers", {})}
        retry = replace(
            self.retry, waited=0.0
        )  # each request its own wait budget (a batch shares the client)
        attempt = 1
        while True:
            try:
                response = self._send_once(method, url, headers, kwargs)
            except requests.exceptions.ConnectionError as exc:
                failure: LlamactlError
                failure, cause = self._network_error(exc)
                if not cause.retryable:
                    raise failure from exc
                retry_after, reason = None, cause.words
            except requests.exceptions.RequestException as exc:
                raise self._network_error(exc)[0] from exc
            else:
                if 200 <= response.status_code < 300:
                    return response
                body = self._read_error_body(response)
                self.trace("< " + body[:2000].decode("utf-8", errors="replace"))
                failure = error_for_status(
                    response.status_code,
                    response.reason or "",
                    body,
                    response.headers.get("Content-Type", ""),
                    target,
                )
                if response.status_code not in RETRY_STATUSES:
                    raise failure
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                reason = f"{response.status_code} {message_or_reason(body, response)}"
            delay = retry.delay(attempt, retry_after)
            if delay is None:
                if attempt > 1:
                    failure.message += f" (gave up after {attempt} attempts)"
                raise failure
            attempt += 1
            self.notify(
                f"retrying in {delay:.1f} s after {reason} (attempt {attempt} of {retry.retries + 1})"
            )
            time.sleep(delay)

    def _send_once(self, method: str, url: str, headers: dict[str, str], kwargs: dict):
        self.trace(f"> {method} {url}")
        for name, value in headers.items():
            shown = "Bearer " + REDACTED if name == "Authorization" else value
            self.trace(f"> {name}: {shown}")
        body = kwargs.get("data")
        if isinstance(body, bytes):
            self.trace("> " + body[:2000].decode("utf-8", errors="replace"))
        elif hasattr(body, "seek"):  # a streamed body (an upload): each attempt sends it whole
            body.seek(0)
        try:
            response = self.session.request(
                method,
                url,
                headers=headers,
                stream=True,
                timeout=(CONNECT_TIMEOUT, self.timeout),
                **kwargs,
            )
        except requests.exceptions.ReadTimeout:
            raise RequestFailed(
                f"no answer from {self.env.api_host} within {self.timeout:g} s",
                hint="raise --timeout for long generations",
            ) from None
        except requests.exceptions.InvalidURL as exc:
            raise UsageError(f"invalid URL: {self.redact(str(exc))}") from None
        self.trace(f"< HTTP {response.status_code} {response.reason}")
        for name, value in response.headers.items():
            self.trace(f"< {name}: {value}")
        return response

    def _network_error(self, exc: BaseException) -> tuple[RequestFailed, NetworkFailure]:
        """The RequestFailed for a network failure, and its cause (which decides retries)."""
        from llamactl.api.network_errors import classify_network_error

        cause = classify_network_error(exc)
        if cause.through_proxy:
            return RequestFailed(
                f"could not reach the proxy for {self.env.api_host}: {cause.words}",
                hint="check HTTPS_PROXY / HTTP_PROXY / NO_PROXY",
            ), cause
        return RequestFailed(
            f"could not reach {self.env.api_host}: {cause.words}",
            hint="check the network, --api-url or DEEPINFRA_HOST",
        ), cause

    def _read_error_body(self, response) -> bytes:
        try:
            return response.raw.read(MAX_ERROR_BODY, decode_content=True) or b""
        except Exception:  # a broken error body still yields the status line's message
            return b""
        finally:
            response.close()

    def post_inference(self, request: InferenceRequest):
        """POST one inference; the request encodes its own body."""
        return self.send(
            "POST",
            request.target.url(self.api_url),
            target=request.target.label,
            accept=request.accept,
            **request.encode(),
        )

    def get_json(self, path: str, params: dict[str, str] | None = None, target: str | None = None) -> Any:
        response = self.send("GET", self.api_url + path, params=params, target=target)
        return read_json(response)


def message_or_reason(body: bytes, response) -> str:
    """The server's message for a retry notice, else the status line's reason."""
    from llamactl.api.error_body import message_from_body, shorten

    message = message_from_body(body, response.headers.get("Content-Type", ""))
    return shorten(message) if message else (response.reason or "")


def read_json(response) -> Any:
    """The JSON body of a 2xx response; a truncated or non-JSON body is a failed request."""
    try:
        return response.json()
    except (ValueError, requests.exceptions.RequestException):
        raise RequestFailed(
            f"the API answered HTTP {response.status_code} with a body that is not valid JSON"
        ) from None
