"""The HTTP side of one connection: socket plumbing, reading and recording each request,
choosing its Behavior and route, and turning anything unexpected into a 500 plus a
traceback in `emu.errors`."""

from __future__ import annotations

import http.server
import socket
import sys
import traceback

from . import faults, recording, routing, wire
from .exchange import Exchange
from .routes import ROUTES


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "deepinfra-emulator/1.0"
    sys_version = ""

    @property
    def emu(self):
        return self.server.emulator

    # connection plumbing

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.emu._connection_opened(self.connection)

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass
        self.emu._connection_closed(self.connection)

    def log_message(self, format, *args):
        if self.emu.log_requests:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    def version_string(self):
        return self.server_version

    def send_response(self, code, message=None):
        super().send_response(code, message)
        self._head_sent = True

    # request handling

    def do_GET(self):
        self._head_sent = False
        self.emu._busy(+1)
        try:
            self._answer()
        except faults.Abort:
            wire.drop(self)
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        except Exception:
            self._fail()
        finally:
            self.emu._busy(-1)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def _answer(self) -> None:
        emu = self.emu
        waits = faults.Waits(emu._cancel, emu._release_event)
        body = wire.read_body(self.rfile, recording.Headers(self.headers.items()))
        request = recording.record(self.command, self.path, list(self.headers.items()), body)
        emu._record(request)
        route, known = routing.find(ROUTES, request.method, request.path)
        request_input = request.json.get("input") if isinstance(request.json, dict) else None
        behavior = emu._take_behavior(route is not None and route.inference, request_input, request.path)
        exchange = Exchange(self, request, behavior, waits, openai=routing.speaks_openai(route, request.path))
        if faults.answer_early(exchange):
            return
        if route is not None:
            route.handle(exchange)
        elif known:
            exchange.send_json(405, {"detail": "Method Not Allowed"})
        else:
            exchange.send_json(404, {"detail": "Not Found"})

    def _fail(self) -> None:
        """An emulator bug: record it, and answer 500 if no answer has begun."""
        self.emu._record_error(traceback.format_exc())
        self.close_connection = True
        if not self._head_sent:
            try:
                body = b'{"detail": {"error": "emulator error"}}'
                wire.send_head(
                    self, 500, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
                )
                self.wfile.write(body)
            except OSError:
                pass
