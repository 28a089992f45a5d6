"""A small forwarding HTTP proxy for the tests: absolute-URI requests (plain http) and
CONNECT tunnels, relaying bytes in both directions as they arrive (never buffering a
stream), and counting what passed through it."""

from __future__ import annotations

import socket
import threading
from urllib.parse import urlsplit


def read_request_head(client: socket.socket) -> bytes | None:
    """The bytes up to and including the blank line after the headers (maybe more after
    it); None if the client closed first."""
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = client.recv(65536)
        if not chunk:
            return None
        head += chunk
    return head


class ForwardingProxy:
    def __init__(self):
        self.requests: list[str] = []  # request lines as received
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._stopped.set()
        self._server.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with client:
            head = read_request_head(client)
            if head is None:
                return
            request_line, _, rest = head.partition(b"\r\n")
            method, target, version = request_line.decode("latin-1").split(" ", 2)
            self.requests.append(f"{method} {target}")
            if method == "CONNECT":
                host, _, port = target.rpartition(":")
                upstream = socket.create_connection((host, int(port)))
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                leftover = rest.partition(b"\r\n\r\n")[2]
            else:
                parts = urlsplit(target)
                upstream = socket.create_connection((parts.hostname, parts.port or 80))
                path = parts.path + (f"?{parts.query}" if parts.query else "")
                leftover = f"{method} {path} {version}\r\n".encode("latin-1") + rest
            with upstream:
                if leftover:
                    upstream.sendall(leftover)
                threading.Thread(target=_pump, args=(client, upstream), daemon=True).start()
                _pump(upstream, client)


def _pump(source: socket.socket, sink: socket.socket) -> None:
    """Relay bytes as they arrive until either side closes."""
    try:
        while True:
            chunk = source.recv(65536)
            if not chunk:
                break
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        try:
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass
