"""Reading a response body as it arrives: decoded here (gzip, deflate) one bounded step at
a time, so neither a gzip bomb nor an endless body can fill the memory.

urllib3 decodes too, but before 2.6 one read of a highly compressed body inflates without
limit; here the decompressor is never asked for more than READ_SIZE bytes at once, and the
caller decides how much it keeps (MAX_BODY for a JSON answer, the SSE limits for a stream).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from typing import Any

from llamactl.api.deadline import Deadline
from llamactl.errors import RequestFailed

READ_SIZE = 65536
MAX_BODY = 64 * 1024 * 1024  # a JSON answer, decoded; docs/troubleshooting.md
ACCEPT_ENCODING = "gzip, deflate"  # what is asked for: what this module decodes
IDENTITY = ("", "identity")
INFLATED = ("gzip", "x-gzip", "deflate")


class BodyTooLarge(RequestFailed):
    """A JSON answer larger than MAX_BODY once decoded."""


class BodyUndecodable(RequestFailed):
    """A body in an encoding llamactl did not ask for, or corrupt compressed data."""


def size_text(size: int) -> str:
    return f"{size // (1024 * 1024)} MiB" if size >= 1024 * 1024 else f"{size // 1024} KiB"


class Inflater:
    """gzip (any number of members) or zlib/raw deflate, at most READ_SIZE bytes per step."""

    def __init__(self, encoding: str):
        self.encoding = encoding
        self.raw_deflate = False
        self._new()

    def _new(self) -> None:
        # 47: a gzip or a zlib header, told apart by its first bytes; -15: headerless deflate
        self._obj = zlib.decompressobj(-zlib.MAX_WBITS if self.raw_deflate else zlib.MAX_WBITS | 32)
        self._produced = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        while True:
            try:
                out = self._obj.decompress(data, READ_SIZE)
            except zlib.error as exc:
                if self.encoding == "deflate" and not self._produced and not self.raw_deflate:
                    self.raw_deflate = True  # servers that send deflate without its zlib header
                    self._new()
                    continue
                raise BodyUndecodable(
                    f"the API's {self.encoding} body could not be decompressed ({exc})"
                ) from None
            if out:
                self._produced = True
                yield out
            if self._obj.eof:
                data = self._obj.unused_data
                if not data:
                    return
                self._new()  # another gzip member follows
                continue
            data = self._obj.unconsumed_tail
            if not data and len(out) < READ_SIZE:
                return

    def finish(self) -> Iterator[bytes]:
        if not self._obj.eof:
            yield from self.feed(b"")


def decoder_for(raw: Any) -> Inflater | None:
    """None for an identity body; an error for an encoding that was not asked for."""
    encoding = (raw.headers.get("Content-Encoding") or "").strip().lower()
    if encoding in IDENTITY:
        return None
    if encoding in INFLATED:
        return Inflater(encoding)
    raise BodyUndecodable(
        f"the API answered with Content-Encoding {encoding[:40]!r}, which llamactl did not ask for "
        f"(it accepts {ACCEPT_ENCODING})"
    )


def _undecoded_read1(raw: Any) -> Callable[[int], bytes]:
    """http.client's own read1 under urllib3's response: whatever one socket read brings,
    de-chunked, not decoded, without urllib3's per-call bookkeeping (most of the CPU per
    token on a fast stream; bench/streaming.py)."""
    inner_read1 = getattr(getattr(raw, "_fp", None), "read1", None)
    if callable(inner_read1):
        return inner_read1
    return lambda size: raw.read1(size, decode_content=False)


def _socket_of(raw: Any) -> Any:
    return getattr(getattr(raw, "_connection", None), "sock", None)


def iter_body(
    raw: Any,
    before_read: Callable[[], None] = lambda: None,
    deadline: Deadline | None = None,
    read_timeout: float | None = None,
) -> Iterator[bytes]:
    """Yield the decoded bytes of an HTTP body as they arrive, at most READ_SIZE at a time.

    `read1` returns whatever one socket read brings (chunked or close-delimited alike),
    where `read(n)` would wait to fill a buffer. `before_read` runs before each read, which
    may block: the caller flushes its output there, so everything parsed so far is shown
    before waiting for more. With a `deadline`, each wait is cut to the time left."""
    read1 = _undecoded_read1(raw)
    decoder = decoder_for(raw)
    sock = _socket_of(raw) if deadline is not None else None
    while True:
        before_read()
        if deadline is not None:
            deadline.check()
            if sock is not None and read_timeout is not None:
                sock.settimeout(deadline.cap(read_timeout))
        try:
            chunk = read1(READ_SIZE)
        except TimeoutError:
            if deadline is not None and deadline.expired:
                raise deadline.exceeded() from None
            raise
        if not chunk:
            if decoder is not None:
                yield from decoder.finish()
            return
        if decoder is None:
            yield chunk
        else:
            yield from decoder.feed(chunk)


def read_body(
    raw: Any, limit: int, deadline: Deadline | None = None, read_timeout: float | None = None
) -> bytearray:
    """The decoded body, or its first `limit + 1` bytes when it is longer (the caller tells
    a body over its limit by its length). A bytearray: a copy into bytes would double the
    memory of a large answer."""
    body = bytearray()
    for chunk in iter_body(raw, deadline=deadline, read_timeout=read_timeout):
        body += chunk
        if len(body) > limit:
            break
    return body


def _bytes_missing(raw: Any) -> int:
    """The bytes of its Content-Length a body ended without: `read1` takes a closed
    connection for the end of a body, where `read` would raise IncompleteRead."""
    missing = getattr(getattr(raw, "_fp", None), "length", None)
    return missing if isinstance(missing, int) and missing > 0 else 0


def read_json(response, deadline: Deadline | None = None, read_timeout: float | None = None) -> Any:
    """The JSON body of a 2xx response, at most MAX_BODY bytes decoded; a truncated,
    oversized or non-JSON body is a failed request."""
    import http.client

    import urllib3.exceptions

    from llamactl.api.deadline import DeadlineExceeded
    from llamactl.api.json_body import ResponseNotJson, loads

    what = f"the API answered HTTP {response.status_code} with"
    try:
        body = read_body(response.raw, MAX_BODY, deadline, read_timeout)
        missing = _bytes_missing(response.raw)
        if missing and len(body) <= MAX_BODY:
            raise http.client.IncompleteRead(b"", missing)
    except (DeadlineExceeded, RequestFailed):
        raise
    except (urllib3.exceptions.ReadTimeoutError, TimeoutError):
        raise RequestFailed(
            f"{what} a body that stalled: nothing arrived for {read_timeout or 0:g} s",
            hint="raise --timeout if the API is just slow",
        ) from None
    except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError) as exc:
        from llamactl.api.network_errors import classify_network_error

        raise RequestFailed(f"{what} a body that broke off ({classify_network_error(exc).words})") from None
    finally:
        response.close()
    if len(body) > MAX_BODY:
        raise BodyTooLarge(
            f"{what} a body larger than {size_text(MAX_BODY)}, llamactl's limit for a JSON answer",
            hint="stream long generations (--stream); check --api-url if this is not the API",
        )
    try:
        return loads(body)
    except ResponseNotJson as exc:
        raise RequestFailed(
            f"{what} a body that is not valid JSON"
            if type(exc) is ResponseNotJson
            else f"{what} {exc.reason}"
        ) from None
