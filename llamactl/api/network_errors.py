"""What went wrong on the network, read from the exception types, never from their text.

requests wraps urllib3, which wraps the socket and ssl modules' errors; the real cause is
found by walking the chain (`__cause__`, `__context__`, urllib3's `reason`, exceptions
held in `.args`), as httpie does. The cause decides the words the user reads and whether
sending again can help: a refused or reset connection may come back, a host name that does
not exist or a TLS handshake that failed will not.
"""

from __future__ import annotations

import errno
import http.client
import socket
import ssl
from collections.abc import Iterator

import requests
import urllib3.exceptions

from llamactl.plain import record

# getaddrinfo's answers that mean "try again later" rather than "no such host".
TEMPORARY_RESOLUTION_ERRORS = frozenset({socket.EAI_AGAIN})
UNREACHABLE_ERRNOS = frozenset({errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN, errno.EHOSTDOWN})


@record(frozen=True)
class NetworkFailure:
    """A few plain words for the cause, whether a retry can help, and whether the request
    can have reached the server (only a request that cannot have run may be sent again
    when sending it twice is not harmless: an inference may have run and been billed)."""

    words: str
    retryable: bool
    through_proxy: bool = False
    before_sending: bool = False  # failed while connecting: nothing was sent


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and every exception behind it, nearest first, each once."""
    seen: set[int] = set()
    pending = [exc]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        behind = (current.__cause__, current.__context__, getattr(current, "reason", None), *current.args)
        pending.extend(cause for cause in behind if isinstance(cause, BaseException))


def classify_network_error(exc: BaseException) -> NetworkFailure:
    """The cause of a requests/urllib3 network failure, by type and errno, the most
    telling cause first wherever it sits in the chain."""
    chain = list(exception_chain(exc))

    def found(*types: type) -> BaseException | None:
        return next((cause for cause in chain if isinstance(cause, types)), None)

    def failure(words: str, retryable: bool, before_sending: bool = True) -> NetworkFailure:
        proxy = found(requests.exceptions.ProxyError, urllib3.exceptions.ProxyError)
        return NetworkFailure(words, retryable, proxy is not None, before_sending)

    if resolution := found(socket.gaierror):
        if getattr(resolution, "errno", None) in TEMPORARY_RESOLUTION_ERRORS:
            return failure("temporary failure in name resolution", True)
        return failure("host name not found", False)
    if found(urllib3.exceptions.NameResolutionError):
        return failure("host name not found", False)
    if certificate := found(ssl.SSLCertVerificationError):
        reason = getattr(certificate, "verify_message", None) or certificate
        return failure(f"the TLS certificate was not accepted ({reason})", False)
    if found(ssl.SSLError, urllib3.exceptions.SSLError, requests.exceptions.SSLError):
        return failure("the TLS handshake failed (is it an https server?)", False)
    if found(ConnectionRefusedError):
        return failure("connection refused", True)
    # urllib3's NewConnectionError is a ConnectTimeoutError too, for history's sake
    if found(requests.exceptions.ConnectTimeout) or any(
        type(cause) is urllib3.exceptions.ConnectTimeoutError for cause in chain
    ):
        return failure("timed out while connecting", True)
    if any(isinstance(cause, OSError) and cause.errno in UNREACHABLE_ERRNOS for cause in chain):
        return failure("the network or host is unreachable", True)
    if found(
        ConnectionResetError,
        ConnectionAbortedError,
        http.client.RemoteDisconnected,
        http.client.IncompleteRead,
        urllib3.exceptions.ProtocolError,
    ):
        return failure("the connection was closed before a complete response", True, before_sending=False)
    return failure("network error", True, before_sending=False)
