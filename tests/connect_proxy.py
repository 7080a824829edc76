"""A real HTTP proxy on 127.0.0.1 for tests: CONNECT tunnels, and plain requests forwarded by their absolute URL.

It keeps every request line it was asked (``CONNECT 127.0.0.1:4318``, ``POST http://.../v1/traces``)
with its ``Proxy-Authorization`` header, and counts the connections made to it, so that a test can
check that an uploader run goes through it, authenticates, and reuses one tunnel.
"""

from __future__ import annotations

import select
import socket
import socketserver
import threading
from urllib.parse import urlsplit


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        while True:
            line = self.rfile.readline(65536).decode("latin-1").strip()
            if not line:
                return
            headers = self._headers()
            self.server.proxy.seen.append((line, headers.get("proxy-authorization")))
            method, target, _ = line.split(" ", 2)
            if method == "CONNECT":
                self._tunnel(target)
                return
            if not self._forward(method, target, headers):
                return

    def _headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        while True:
            line = self.rfile.readline(65536).decode("latin-1")
            if line in ("\r\n", "\n", ""):
                return headers
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()

    def _tunnel(self, target: str) -> None:
        host, _, port = target.rpartition(":")
        upstream = socket.create_connection((host, int(port)), timeout=10)
        self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self.wfile.flush()
        _pipe(self.connection, upstream)

    def _forward(self, method: str, target: str, headers: dict[str, str]) -> bool:
        """One plain request to its absolute URL; the answer is read whole and passed back."""
        url = urlsplit(target)
        body = self.rfile.read(int(headers.get("content-length", "0")))
        with socket.create_connection((url.hostname, url.port or 80), timeout=10) as upstream:
            kept = {k: v for k, v in headers.items() if not k.startswith("proxy-")}
            kept["connection"] = "close"
            head = f"{method} {url.path or '/'} HTTP/1.1\r\n" + "".join(
                f"{k}: {v}\r\n" for k, v in kept.items()
            )
            upstream.sendall(head.encode("latin-1") + b"\r\n" + body)
            answer = b""
            while chunk := upstream.recv(65536):
                answer += chunk
        self.wfile.write(answer)
        return True


def _pipe(a: socket.socket, b: socket.socket) -> None:
    try:
        while True:
            ready, _, _ = select.select([a, b], [], [], 10)
            if not ready:
                return
            for sock in ready:
                data = sock.recv(65536)
                if not data:
                    return
                (b if sock is a else a).sendall(data)
    except OSError:
        return
    finally:
        b.close()


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False
    proxy: ConnectProxy

    def get_request(self) -> tuple[socket.socket, object]:
        conn, addr = super().get_request()
        self.proxy.connections += 1
        return conn, addr


class ConnectProxy:
    """``with ConnectProxy() as proxy: ... proxy.url``; ``proxy.seen``: (request line, Proxy-Authorization)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None]] = []
        self.connections = 0
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.proxy = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, credentials: str = "") -> str:
        return f"http://{credentials + '@' if credentials else ''}127.0.0.1:{self.port}"

    def __enter__(self) -> ConnectProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
