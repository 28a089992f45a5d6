"""The body reader, against a real HTTP server on 127.0.0.1.

Every body is read undecoded through http.client's read1 under urllib3 (the fast path,
chosen by the streaming benchmark); a gzip one is decoded by llamactl (api/body.py), a
bounded step at a time. Both must hand each event over as soon as it arrives."""

from __future__ import annotations

import http.server
import threading
import zlib

import pytest
import requests

from llamactl.api.body import iter_body

FIRST = b'data: {"token": {"text": "first"}}\n\n'
REST = b'data: {"token": {"text": " second"}}\n\ndata: {"generated_text": "first second"}\n\n'


class StreamHandler(http.server.BaseHTTPRequestHandler):
    """Sends FIRST as one chunk, waits until the client says it has read it, then REST."""

    protocol_version = "HTTP/1.1"
    read_first = threading.Event()

    def do_GET(self):
        gzip = self.path == "/gzip"
        compressor = zlib.compressobj(wbits=31)  # 31: gzip framing
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        if gzip:
            self.send_header("Content-Encoding", "gzip")
        self.end_headers()

        def encode(data: bytes, last: bool = False) -> bytes:
            if not gzip:
                return data
            return compressor.compress(data) + compressor.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)

        self.write_chunk(encode(FIRST))
        self.read_first.wait(30)  # a client that waits for more than one chunk gets it all at once
        self.write_chunk(encode(REST, last=True))
        self.write_chunk(b"")

    def write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    StreamHandler.read_first = threading.Event()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StreamHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    StreamHandler.read_first.set()
    httpd.shutdown()
    httpd.server_close()


def stream(url: str) -> requests.Response:
    return requests.get(url, stream=True, headers={"Accept-Encoding": "gzip"}, timeout=30)


def read_in_steps(response: requests.Response) -> list[bytes]:
    """The chunks iter_body yields; the server sends the rest only once the first is in."""
    chunks = []
    for chunk in iter_body(response.raw):
        chunks.append(chunk)
        StreamHandler.read_first.set()
    return chunks


def test_an_identity_body_is_read_as_it_arrives(server):
    with stream(f"{server}/identity") as response:
        assert response.headers.get("Content-Encoding") is None
        chunks = read_in_steps(response)
    assert chunks[0] == FIRST
    assert b"".join(chunks) == FIRST + REST


def test_a_gzip_body_is_decoded_as_it_arrives(server):
    with stream(f"{server}/gzip") as response:
        assert response.headers["Content-Encoding"] == "gzip"
        chunks = read_in_steps(response)
    assert chunks[0] == FIRST
    assert b"".join(chunks) == FIRST + REST
