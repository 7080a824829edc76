"""HTTP/1.1 over a plain socket: the uploader's requests to an http collector, or through an http proxy.

``http.client`` parses headers with the ``email`` package and imports ``ssl`` whether or not a
request uses TLS: ~20 ms of CPU, a third of an uploader run that sends
(``benchmarks/bench_upload_run.py``). A run posts a few small requests, one at a time, and needs
the status, the ``Retry-After`` and the end of each answer; this module does that with the part of
``http.client``'s surface that upload/http.py uses (``request``, ``getresponse``, ``status``,
``getheader``, ``read``, ``sock``, ``close``). TLS routes keep ``http.client``
(upload/connections.py).

It reads no more than it must: a status line and headers of at most 64 KiB and 100 lines, a body
of at most 1 MiB (an OTLP answer is a few bytes; past that the rest is left unread and the
connection is not reused), delimited by ``Content-Length``, chunked encoding or the connection's
close. Interim answers (``100 Continue``) are skipped. A header a request would carry with a line
break, a name that is not a token, or a URL with a space or a control character is refused before
anything is sent.
"""

from __future__ import annotations

from _socket import IPPROTO_TCP, TCP_NODELAY

from optel._urls import header_problem
from optel.upload.reach import connect

TYPE_CHECKING = False
if TYPE_CHECKING:
    from _socket import socket
    from collections.abc import Mapping

MAX_HEAD = 64 * 1024
MAX_HEADERS = 100
MAX_BODY = 1 << 20
_RECV = 64 * 1024


class ProtocolError(ConnectionError):
    """An answer that is not HTTP/1.x, or one cut short: the request failed like a lost connection."""


class Answer:
    """A response as upload/http.py reads it: status, headers (names in lower case), body."""

    __slots__ = ("body", "headers", "reason", "status")

    def __init__(self, status: int, reason: str, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    def getheader(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def read(self) -> bytes:
        return self.body


class PlainConnection:
    """One kept-alive connection to `host`:`port`, opened on its first request (and again after an
    answer that closed it)."""

    def __init__(self, host: str, port: int, timeout: float | None) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.sock: socket | None = None
        self._buffer = b""
        self._reusable = False

    def request(self, method: str, target: str, body: bytes, headers: Mapping[str, str]) -> None:
        host = self._host_header(target)
        if _unsafe_in_line(target) or _unsafe_in_line(host):
            # The URL itself stays out of the message: its query may hold a token.
            raise ValueError("a space or a control character in the URL")
        lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
        lines.append(f"Content-Length: {len(body)}")
        lines.append("Accept-Encoding: identity")
        for name, value in headers.items():
            problem = header_problem(name, value)
            if problem is not None:
                raise ValueError(problem)
            lines.append(f"{name}: {value}")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        if self.sock is None or not self._reusable:
            self.close()
            self.sock = connect(self.host, self.port, self.timeout)
            self.sock.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1)
        self._reusable = False  # until this request's answer says otherwise
        self.sock.sendall(data)

    def _host_header(self, target: str) -> str:
        if target.startswith("http://"):  # through a proxy: the collector's own host and port
            return target[len("http://") :].partition("/")[0].partition("?")[0]
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == 80 else f"{host}:{self.port}"

    def getresponse(self) -> Answer:
        """The answer to the request sent, its body read (up to MAX_BODY)."""
        while True:
            version, status, reason = _status_line(self._line(MAX_HEAD))
            headers = self._headers()
            if not 100 <= status < 200:
                break  # an interim answer (100 Continue, 103 Early Hints) is followed by the real one
        connection = headers.get("connection", "").lower()
        close = "close" in connection or (version == "HTTP/1.0" and "keep-alive" not in connection)
        if status in (204, 304):
            body = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            body, whole = self._chunked()
            close = close or not whole
        elif "content-length" in headers:
            length = headers["content-length"].strip()
            if not length.isdigit():
                raise ProtocolError(f"invalid Content-Length {length[:40]!r}")
            body = self._exactly(min(int(length), MAX_BODY))
            close = close or int(length) > MAX_BODY
        else:
            body = self._until_close()
            close = True
        self._reusable = not close
        return Answer(status, reason, headers, body)

    def close(self) -> None:
        sock, self.sock = self.sock, None
        self._buffer = b""
        self._reusable = False
        if sock is not None:
            sock.close()

    # -- reading ---------------------------------------------------------------------------------

    def _more(self) -> bool:
        """Read what the socket has into the buffer; False at its end (closed, or shut down)."""
        assert self.sock is not None
        chunk = self.sock.recv(_RECV)
        self._buffer += chunk
        return bool(chunk)

    def _line(self, limit: int) -> str:
        while True:
            end = self._buffer.find(b"\n", 0, limit + 1)
            if end >= 0:
                line, self._buffer = self._buffer[:end], self._buffer[end + 1 :]
                return line.rstrip(b"\r").decode("latin-1")
            if len(self._buffer) > limit:
                raise ProtocolError("an answer line too long")
            if not self._more():
                raise ProtocolError("the connection closed before the answer was complete")

    def _headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        for _ in range(MAX_HEADERS + 1):
            line = self._line(MAX_HEAD)
            if not line:
                return headers
            name, sep, value = line.partition(":")
            if sep and name.strip():
                key = name.strip().lower()
                value = value.strip()
                headers[key] = f"{headers[key]}, {value}" if key in headers else value
        raise ProtocolError(f"more than {MAX_HEADERS} header lines")

    def _exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            if not self._more():
                raise ProtocolError("the connection closed before the body was complete")
        body, self._buffer = self._buffer[:size], self._buffer[size:]
        return body

    def _until_close(self) -> bytes:
        while len(self._buffer) <= MAX_BODY and self._more():
            pass
        body, self._buffer = self._buffer[:MAX_BODY], b""
        return body

    def _chunked(self) -> tuple[bytes, bool]:
        """The body of a chunked answer (up to MAX_BODY), and whether it was read to its end."""
        parts: list[bytes] = []
        total = 0
        while True:
            size_text = self._line(MAX_HEAD).partition(";")[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise ProtocolError(f"invalid chunk size {size_text[:40]!r}") from None
            if size < 0:
                raise ProtocolError("invalid chunk size")
            if size == 0:
                while self._line(MAX_HEAD):  # trailer fields, if any, up to the blank line
                    pass
                return b"".join(parts), True
            if total + size > MAX_BODY:
                return b"".join(parts), False
            parts.append(self._exactly(size))
            total += size
            self._line(MAX_HEAD)  # the CRLF after the chunk


def _unsafe_in_line(text: str) -> bool:
    # Controls and spaces would end the request line or a header early (as http.client refuses).
    return not text or any(ch <= " " or ch == "\x7f" for ch in text)


def _status_line(line: str) -> tuple[str, int, str]:
    version, _, rest = line.partition(" ")
    code, _, reason = rest.partition(" ")
    if not version.startswith("HTTP/1.") or len(code) != 3 or not code.isdigit():
        raise ProtocolError(f"not an HTTP/1.x answer: {line[:60]!r}")
    return version, int(code), reason.strip()
