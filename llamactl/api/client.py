"""HTTP to the DeepInfra API: one session, the token header, transport checks, error mapping
and the `--debug` trace (token redacted)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
import requests.auth

from llamactl import __version__
from llamactl.api.body import ACCEPT_ENCODING, read_body, read_json
from llamactl.api.deadline import Deadline
from llamactl.api.error_body import error_for_status
from llamactl.api.request import InferenceRequest
from llamactl.api.retry import (
    DEFAULT_TIMEOUT,
    RETRY_STATUSES,
    SAFE_METHODS,
    RetryPolicy,
    parse_retry_after,
    retry_statuses,
)
from llamactl.auth.credentials import ResolvedToken
from llamactl.env import Environment, is_loopback_host, split_api_url
from llamactl.errors import LlamactlError, RequestFailed, UsageError
from llamactl.plain import replace
from llamactl.redact import REDACTED, scrub

if TYPE_CHECKING:
    from llamactl.api.network_errors import NetworkFailure

CONNECT_TIMEOUT = 10.0
MAX_ERROR_BODY = 65536
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
MAY_HAVE_RUN = (
    "not sent again: the server had the request and may have run it (and billed it); "
    "run it again yourself if you need the answer"
)


class BearerAuth(requests.auth.AuthBase):
    """The token as `Authorization: Bearer`, and nothing else: given explicitly, it keeps
    requests from putting Basic auth from ~/.netrc (or from a URL) in the token's place."""

    def __init__(self, token: str | None):
        self.token = token

    def __call__(self, request):
        if self.token:
            request.headers["Authorization"] = f"Bearer {self.token}"
        return request


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
        deadline: Deadline | None = None,
    ):
        """`session`: another client's, so that one command opens one connection pool;
        `deadline`: --max-time, for every request this client sends."""
        self.env = env
        self.deadline = deadline
        self.retry = retry or RetryPolicy()
        self.notify = notify or (lambda line: None)
        self.api_url = env.api_url
        self.token = token
        self.timeout = timeout
        self.auth = BearerAuth(token.value if token else None)
        self._trace = trace  # with --debug, a writer of trace lines (scrubbed here first)
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = f"llamactl/{__version__}"
        self.session.headers["Accept-Encoding"] = ACCEPT_ENCODING  # what api/body.py decodes
        self.check_transport()

    def check_transport(self) -> None:
        """Refuse to send a token over plain http to a non-loopback host (before connecting)."""
        parts = split_api_url(self.api_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise UsageError(f"invalid API URL {self.api_url!r}: expected http(s)://host[:port]")
        if parts.path.strip("/"):  # `.../v1/openai` would post to .../v1/openai/v1/inference/...
            raise UsageError(
                f"the API URL {self.api_url} has a path ({parts.path}): llamactl adds the API paths itself",
                hint=f"use {parts.scheme}://{parts.netloc} (--api-url, DEEPINFRA_HOST or DEEPINFRA_BASE_URL)",
            )
        self._refuse_plain_http(parts)

    def check_openai_url(self) -> None:
        """The OpenAI base URL (LLAMACTL_OPENAI_URL may carry a path such as /v1), checked
        only when a request goes there, so a bad value never breaks the native API."""
        parts = split_api_url(self.env.openai_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise UsageError(
                f"invalid OpenAI API URL {self.env.openai_url!r}: expected http(s)://host[:port][/path]",
                hint="check LLAMACTL_OPENAI_URL",
            )
        self._refuse_plain_http(parts)

    def _refuse_plain_http(self, parts) -> None:
        """The token never goes over plain http off loopback, nor through a proxy off loopback."""
        if not self.token or parts.scheme != "http" or self.env.allow_insecure:
            return
        if not is_loopback_host(parts.hostname):
            raise UsageError(
                f"refusing to send the API token over plain http to {parts.netloc}",
                hint="use https, or pass --allow-insecure if you really mean it",
            )
        proxy = self.proxy_for(parts.geturl())
        if proxy and not is_loopback_host(urlsplit(proxy).hostname):
            raise UsageError(
                f"refusing to send the API token over plain http through the proxy {_host_of(proxy)}",
                hint=f"set NO_PROXY={parts.hostname} for a local API, or pass --allow-insecure if you really mean it",
            )

    def proxy_for(self, url: str) -> str | None:
        """The proxy requests will send `url` through: HTTP(S)_PROXY, ALL_PROXY and NO_PROXY
        read the way requests itself reads them, so the plain-http rule judges the real
        first hop. (An https URL only tunnels through a proxy: the proxy never sees the token.)"""
        from requests.utils import select_proxy

        settings = self.session.merge_environment_settings(url, {}, None, None, None)
        return select_proxy(url, settings["proxies"])

    def trace(self, line: str) -> None:
        if self._trace:
            self._trace(scrub(line))

    def _headers(self, accept: str) -> dict[str, str]:
        return {"Accept": accept}

    def send(self, method: str, url: str, *, target: str | None = None, **kwargs: Any):
        """Send one request; other failures and non-2xx answers become typed errors.

        Sent again only when that can do no harm (retry.py): a GET after 429/502/503/504 or a
        lost connection, a POST only when it cannot have run. A redirect is followed only by
        a GET to the same origin; anywhere else it is an error naming where it pointed.
        The body is never read here (requests' stream mode): a stream is consumed as it
        arrives, and an error body is read once, in `_read_error_body`."""
        headers = {**self._headers(kwargs.pop("accept", "application/json")), **kwargs.pop("headers", {})}
        retry = replace(
            self.retry, waited=0.0
        )  # each request its own wait budget (a batch shares the client)
        safe = method in SAFE_METHODS
        attempt, redirects = 1, 0
        while True:
            if self.deadline is not None:
                self.deadline.check()
            try:
                response = self._send_once(method, url, headers, kwargs)
            except requests.exceptions.ConnectionError as exc:
                failure: LlamactlError
                failure, cause = self._network_error(exc)
                if not cause.retryable:
                    raise failure from exc
                if not (safe or cause.before_sending):
                    failure.hint = MAY_HAVE_RUN
                    raise failure from exc
                retry_after, reason = None, cause.words
            except requests.exceptions.RequestException as exc:
                raise self._network_error(exc)[0] from exc
            else:
                if 200 <= response.status_code < 300:
                    return response
                if response.status_code in REDIRECT_STATUSES:
                    location = self._redirect_target(response, url, safe, redirects)
                    url, kwargs, redirects = location, {**kwargs, "params": None}, redirects + 1
                    self.trace(f"> following the redirect to {location}")
                    continue
                failure, retry_after, reason = self._status_failure(response, method, target)
            self._wait_to_retry(retry, attempt, retry_after, failure, reason)
            attempt += 1

    def _status_failure(
        self, response, method: str, target: str | None
    ) -> tuple[LlamactlError, float | None, str]:
        """The error for a non-2xx answer, raised unless the answer is one to retry (then
        returned, with the server's Retry-After and the reason the retry notice gives)."""
        body = self._read_error_body(response)
        self.trace("< " + body[:2000].decode("utf-8", errors="replace"))
        failure = error_for_status(
            response.status_code,
            response.reason or "",
            body,
            response.headers.get("Content-Type", ""),
            target,
        )
        if response.status_code not in retry_statuses(method):
            if response.status_code in RETRY_STATUSES:  # a gateway's 502/504 to a POST
                failure.hint = MAY_HAVE_RUN
            raise failure
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return failure, retry_after, f"{response.status_code} {message_or_reason(body, response)}"

    def _wait_to_retry(
        self, retry: RetryPolicy, attempt: int, retry_after: float | None, failure: LlamactlError, reason: str
    ) -> None:
        """Sleep before attempt `attempt + 1`, saying so; or raise `failure` when the policy
        (or --max-time) leaves no retry."""
        delay = retry.delay(attempt, retry_after)
        if delay is not None and self.deadline is not None and delay >= self.deadline.remaining():
            failure.message += f" (no time left for a retry within --max-time {self.deadline.seconds:g} s)"
            raise failure
        if delay is None:
            if attempt > 1:
                failure.message += f" (gave up after {attempt} attempts)"
            raise failure
        self.notify(
            scrub(f"retrying in {delay:.1f} s after {reason} (attempt {attempt + 1} of {retry.retries + 1})")
        )
        time.sleep(delay)

    def _redirect_target(self, response, url: str, safe: bool, redirects: int) -> str:
        """Where a redirect may be followed: a GET's, to the same origin, a few hops at most.
        Anything else (an inference, another host, a downgrade to http) is an error naming
        where it pointed: following it would send the prompt, or the token, there."""
        from urllib.parse import urljoin

        response.close()
        status = f"HTTP {response.status_code}" + (f" {response.reason}" if response.reason else "")
        location = response.headers.get("Location")
        if not location:
            raise RequestFailed(
                f"the API answered {status}, a redirect without a Location", response.status_code
            )
        target = urljoin(url, location)
        if safe and _origin(target) == _origin(url) and redirects < MAX_REDIRECTS:
            return target
        if not safe:
            why = "llamactl does not follow redirects for an inference (the prompt would go there)"
        elif redirects >= MAX_REDIRECTS:
            why = f"llamactl follows at most {MAX_REDIRECTS} redirects"
        else:
            why = "llamactl follows redirects only within the same host"
        raise RequestFailed(
            f"the API answered {status}, redirecting to {_shown_url(target)}: {why}",
            response.status_code,
            hint="if that is where the API now lives, use it as --api-url (or DEEPINFRA_HOST)",
        )

    def _send_once(self, method: str, url: str, headers: dict[str, str], kwargs: dict):
        self.trace(f"> {method} {url}")
        for name, value in headers.items():
            self.trace(f"> {name}: {value}")
        if self.token:
            self.trace(f"> Authorization: Bearer {REDACTED}")
        body = kwargs.get("data")
        if isinstance(body, bytes):
            self.trace("> " + body[:2000].decode("utf-8", errors="replace"))
        elif body is not None and hasattr(
            body, "seek"
        ):  # a streamed body (an upload): each attempt sends it whole
            body.seek(0)
        connect_timeout, read_timeout = CONNECT_TIMEOUT, self.timeout
        if self.deadline is not None:
            connect_timeout, read_timeout = (
                self.deadline.cap(connect_timeout),
                self.deadline.cap(read_timeout),
            )
        try:
            response = self.session.request(
                method,
                url,
                headers=headers,
                auth=self.auth,
                allow_redirects=False,  # send() decides (a redirect can point anywhere)
                stream=True,
                timeout=(connect_timeout, read_timeout),
                **kwargs,
            )
        except requests.exceptions.Timeout as exc:
            if self.deadline is not None and self.deadline.expired:
                raise self.deadline.exceeded() from None
            if not isinstance(exc, requests.exceptions.ReadTimeout):
                raise  # a connect timeout: a network failure, retried as one
            raise RequestFailed(
                f"no answer from {self.env.api_host} within {self.timeout:g} s",
                hint="raise --timeout for long generations",
            ) from None
        except requests.exceptions.InvalidURL as exc:
            raise UsageError(f"invalid URL: {exc}") from None
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
        if not cause.before_sending:  # the server was reached, and read from
            return RequestFailed(f"no answer from {self.env.api_host}: {cause.words}"), cause
        return RequestFailed(
            f"could not reach {self.env.api_host}: {cause.words}",
            hint="check the network, --api-url or DEEPINFRA_HOST",
        ), cause

    def _read_error_body(self, response) -> bytes:
        try:
            return bytes(
                read_body(response.raw, MAX_ERROR_BODY, self.deadline, self.timeout)[:MAX_ERROR_BODY]
            )
        except Exception:  # a broken error body still yields the status line's message
            return b""
        finally:
            response.close()

    def post_inference(self, request: InferenceRequest):
        """POST one inference, native or OpenAI chat; the request encodes its own body."""
        if request.target.openai:
            self.check_openai_url()
        return self.send(
            "POST",
            request.target.url(self.api_url, self.env.openai_url),
            target=request.target.label,
            accept=request.accept,
            **request.encode(),
        )

    def get_json(self, path: str, params: dict[str, str] | None = None, target: str | None = None) -> Any:
        response = self.send("GET", self.api_url + path, params=params, target=target)
        return read_json(response, self.deadline, self.timeout)


def _origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port filled in."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:  # a Location with a port that is no number matches nothing
        return ("", "", -1)
    return (
        parts.scheme,
        (parts.hostname or "").lower(),
        port or {"http": 80, "https": 443}.get(parts.scheme),
    )


def _shown_url(url: str, limit: int = 200) -> str:
    """A URL for a message: no user name or password, and not endlessly long."""
    parts = urlsplit(url)
    if "@" in parts.netloc:
        url = url.replace(parts.netloc, "***@" + parts.netloc.rpartition("@")[2], 1)
    return url if len(url) <= limit else url[: limit - 1] + "…"


def _host_of(url: str) -> str:
    """host[:port] of a URL, without any user name or password in it."""
    return urlsplit(url).netloc.rpartition("@")[2]


def message_or_reason(body: bytes, response) -> str:
    """The server's message for a retry notice, else the status line's reason."""
    from llamactl.api.error_body import message_from_body, shorten

    message = message_from_body(body, response.headers.get("Content-Type", ""))
    return shorten(message) if message else (response.reason or "")
