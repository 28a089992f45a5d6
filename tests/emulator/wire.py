"""HTTP/1.1 framing: reading request bodies, response heads, JSON text, SSE streams
(chunked or close-delimited), and closing a connection abruptly.  No API knowledge here."""

from __future__ import annotations

import json
import os
import socket
import struct
import zlib
from collections.abc import Callable
from typing import BinaryIO


def read_body(rfile: BinaryIO, headers) -> bytes:
    """The request body, by Content-Length or chunked transfer coding."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return _read_chunked(rfile)
    return rfile.read(int(headers.get("content-length") or 0))


def _read_chunked(rfile: BinaryIO) -> bytes:
    body = b""
    while True:
        size = int(rfile.readline().split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            return body
        body += rfile.read(size)
        rfile.readline()


def json_text(obj, *, compact: bool = False, ensure_ascii: bool = False) -> str:
    """`obj` as JSON: json.dumps' default separators, or serde_json's compact ones."""
    separators = (",", ":") if compact else (", ", ": ")
    return json.dumps(obj, ensure_ascii=ensure_ascii, separators=separators)


def send_head(handler, status: int, headers: list[tuple[str, str]], reason: str | None = None) -> None:
    """Status line (the standard reason phrase unless given) and headers; `handler` is the
    BaseHTTPRequestHandler of the connection."""
    handler.send_response(status, reason)
    for name, value in headers:
        handler.send_header(name, value)
    handler.end_headers()


def drop(handler) -> None:
    """Close abruptly: FIN without finishing the response."""
    handler.close_connection = True
    try:
        handler.connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def reset(handler) -> None:
    """Close with an RST (SO_LINGER 0) and no response at all."""
    handler.close_connection = True
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    os.close(handler.connection.detach())


class SseWriter:
    """Writes a text/event-stream body: chunked or close-delimited, any newline, `data:`
    with or without a space, optionally one byte per write, optionally gzip-compressed
    (flushed at every write, so each event can be decoded as it arrives)."""

    def __init__(
        self,
        handler,
        *,
        chunked: bool = True,
        newline: str = "\n",
        data_space: bool = True,
        split_writes: bool = False,
        gzip: bool = False,
    ):
        self.handler = handler
        self.chunked = chunked
        self.split = split_writes
        self.nl = newline.encode()
        self.prefix = b"data: " if data_space else b"data:"
        self.compressor = zlib.compressobj(wbits=31) if gzip else None  # 31: gzip framing

    def start(self, extra_headers: list[tuple[str, str]], content_type: str = "text/event-stream") -> None:
        headers = [("Content-Type", content_type), ("Cache-Control", "no-cache")]
        if self.compressor is not None:
            headers.append(("Content-Encoding", "gzip"))
        if self.chunked:
            headers.append(("Transfer-Encoding", "chunked"))
        else:
            headers.append(("Connection", "close"))
            self.handler.close_connection = True
        send_head(self.handler, 200, headers + extra_headers)

    def write(self, data: bytes) -> None:
        if self.compressor is not None:
            data = self.compressor.compress(data) + self.compressor.flush(zlib.Z_SYNC_FLUSH)
        pieces = [data[i : i + 1] for i in range(len(data))] if self.split else [data]
        for piece in pieces:
            self._send(piece)

    def _send(self, piece: bytes) -> None:
        self.handler.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if self.chunked else piece)

    def data(self, text: str | bytes) -> None:
        payload = text.encode("utf-8") if isinstance(text, str) else text
        self.write(self.prefix + payload + self.nl * 2)

    def flood(self, kind: str, size: int | None, wait: Callable[[], None], drip: float | None) -> None:
        """Endless hostile bytes of a kind (`size` of them, if given); `wait` runs between
        blocks (and between bytes with `drip`) and raises to stop."""
        start, block = FLOODS[kind]
        sent = 0
        if start:  # an empty chunk would end a chunked body
            self.write(start)
        while size is None or sent < size:
            piece = block if size is None else block[: size - sent]
            if drip:
                for i in range(len(piece)):
                    wait()
                    self.write(piece[i : i + 1])
            else:
                wait()
                self.write(piece)
            sent += len(piece)

    def comment(self) -> None:
        self.write(b": keep-alive" + self.nl * 2)

    def junk(self) -> None:
        """Lines an SSE parser must skip; the blank line dispatches nothing (no data)."""
        self.write(self.nl.join([b"event: ping", b"id: 5", b"retry: 100", b"foo bar"]) + self.nl * 2)

    def end(self) -> None:
        if self.compressor is not None:
            self._send(self.compressor.flush())
        if self.chunked:
            self.handler.wfile.write(b"0\r\n\r\n")


FLOOD_BLOCK = 65536
# Each flood: what starts it, and the block repeated after it.
FLOODS = {
    "data_line": (b"data: ", b"x" * FLOOD_BLOCK),  # one line that never ends
    "data_lines": (b"", b"data: x\n" * (FLOOD_BLOCK // 8)),  # an event that never ends
    "comments": (b"", b": keep-alive\n" * (FLOOD_BLOCK // 13)),  # comments, never an event
    "body": (b'{"results": [{"generated_text": "', b"x" * FLOOD_BLOCK),  # a text that never ends
}
BODY_FLOOD_END = b'"}], "num_tokens": 1}'
