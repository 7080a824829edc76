"""A local HTTP server on 127.0.0.1 for the HTTP client instrumentors' tests.

``GET /status/<code>/<anything>`` answers ``<code>`` with a short body; ``/slow-body/...`` sends
its headers at once and its body ``BODY_DELAY`` seconds later, so a span that ends at the headers
is told apart from one that waits for the body.
"""

from __future__ import annotations

import http.server
import socket
import threading
import time

BODY_DELAY = 0.6


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes: without this, the body waits for the client's
        # delayed ACK (40 ms), which would drown what the benchmarks measure.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        parts = self.path.split("?")[0].split("/")
        if parts[1] == "slow-body":
            self._answer(200, b"late body", delay=BODY_DELAY)
        elif parts[1] == "status" and parts[2].isdigit():
            self._answer(int(parts[2]), b"ok")
        else:
            self._answer(400, b"bad path")

    do_POST = do_GET

    def _answer(self, code: int, body: bytes, delay: float = 0.0) -> None:
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.flush()
        if delay:
            time.sleep(delay)
        self.wfile.write(body)


class StatusServer:
    def __init__(self) -> None:
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def __enter__(self) -> StatusServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
