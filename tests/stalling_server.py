"""A TCP server on 127.0.0.1 that accepts and then stalls a client, for tests of deadlines.

Modes (each connection is served on its own thread, until the server stops or `lasts` seconds):
- ``silent``: reads what comes and never answers;
- ``drip``: reads the request, then writes an HTTP answer one byte a second (the status line never
  completes in time: every read gets a byte, so a per-read timeout never fires);
- ``drip-body``: reads the request, writes complete headers (`Content-Length: 4096`) at once, then
  the body one byte a second.
The bytes it drips are valid HTTP, so a client without a total deadline keeps waiting.
"""

from __future__ import annotations

import socket
import threading
import time

_ANSWER_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 4096\r\n\r\n"
)
MODES = ("silent", "drip", "drip-body")


class StallingServer:
    def __init__(self, mode: str, *, lasts: float = 30.0) -> None:
        assert mode in MODES, mode
        self.mode = mode
        self.lasts = lasts  # a client without a deadline is let go after this long
        self.connections = 0
        self._stop = threading.Event()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.1)
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> StallingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        until = time.monotonic() + self.lasts
        try:
            conn.settimeout(0.2)
            self._read_some(conn)
            if self.mode == "silent":
                while (
                    not self._stop.is_set() and time.monotonic() < until and self._read_some(conn)
                ):
                    pass
                return
            payload = _ANSWER_HEAD + b"\0" * 4096
            if self.mode == "drip-body":
                conn.sendall(_ANSWER_HEAD)
                payload = payload[len(_ANSWER_HEAD) :]
            for i in range(len(payload)):
                if self._stop.wait(1.0) or time.monotonic() >= until:
                    return
                conn.sendall(payload[i : i + 1])
        except OSError:
            pass  # the client gave up: what a deadline is for
        finally:
            conn.close()

    @staticmethod
    def _read_some(conn: socket.socket) -> bool:
        """Read what came; False once the client closed its side."""
        try:
            return conn.recv(65536) != b""
        except socket.timeout:
            return True
