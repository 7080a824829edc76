"""upload/plain.py, the uploader's HTTP/1.1 over a plain socket, against a real TCP server that
answers byte for byte as scripted: framing, keep-alive, interim answers, bounds, broken answers,
and a header that would smuggle a line break."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from optel.upload.plain import MAX_BODY, MAX_HEADERS, PlainConnection, ProtocolError


class ScriptedServer:
    """Accepts connections on 127.0.0.1; to each request (head and Content-Length body) it sends
    the next scripted answer; an answer of None closes the connection instead of answering."""

    def __init__(self, answers: list[bytes | None]) -> None:
        self.answers = list(answers)
        self.requests: list[tuple[int, bytes, bytes]] = []  # (connection number, head, body)
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while self.answers:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                self._talk(conn, self.connections)

    def _talk(self, conn: socket.socket, number: int) -> None:
        buffer = b""
        while self.answers:
            while b"\r\n\r\n" not in buffer:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buffer += chunk
            head, _, buffer = buffer.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            while len(buffer) < length:
                buffer += conn.recv(65536)
            body, buffer = buffer[:length], buffer[length:]
            self.requests.append((number, head, body))
            answer = self.answers.pop(0)
            if answer is None:
                return
            conn.sendall(answer)
            if _ends_the_connection(answer):
                return

    def close(self) -> None:
        self._listener.close()


@contextlib.contextmanager
def talking_to(
    answers: list[bytes | None], timeout: float
) -> Iterator[tuple[ScriptedServer, PlainConnection]]:
    """A scripted server and a connection to it, both closed at the end."""
    server = ScriptedServer(answers)
    connection = PlainConnection("127.0.0.1", server.port, timeout)
    try:
        yield server, connection
    finally:
        connection.close()
        server.close()


def _ends_the_connection(answer: bytes) -> bool:
    text = answer.lower()
    if b"connection: close" in text:
        return True
    framed = b"content-length" in text or b"chunked" in text or text.startswith(b"http/1.1 204")
    return not framed  # a body without a length ends with the connection


OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 2\r\n\r\nok"


def _post(
    connection: PlainConnection, body: bytes = b"payload", **headers: str
) -> tuple[int, bytes]:
    connection.request("POST", "/v1/traces", body, headers)
    answer = connection.getresponse()
    return answer.status, answer.read()


def test_a_kept_alive_connection_carries_requests_with_lengths_and_chunks() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: x\r\n\r\n"
    )
    with talking_to([OK, chunked, OK], 5) as (server, connection):
        assert _post(connection, b"one") == (200, b"ok")
        assert _post(connection, b"two") == (200, b"abcde")
        assert _post(connection, b"three") == (200, b"ok")
    assert [(n, body) for n, _, body in server.requests] == [
        (1, b"one"),
        (1, b"two"),
        (1, b"three"),
    ]
    head = server.requests[0][1].decode("latin-1").split("\r\n")
    assert head[0] == "POST /v1/traces HTTP/1.1"
    assert f"Host: 127.0.0.1:{server.port}" in head
    assert "Content-Length: 3" in head


def test_an_answer_that_closes_or_has_no_length_is_not_reused() -> None:
    no_length = b"HTTP/1.1 200 OK\r\n\r\nuntil the end"
    closing = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"
    with talking_to([no_length, closing, OK], 5) as (server, connection):
        assert _post(connection) == (200, b"until the end")
        assert _post(connection) == (200, b"ok")
        assert _post(connection) == (200, b"ok")
    assert [n for n, _, _ in server.requests] == [1, 2, 3]


def test_interim_answers_are_skipped_and_headers_read_in_any_case() -> None:
    answer = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 429 Too Many Requests\r\nRETRY-AFTER: 7\r\nContent-Length: 0\r\n\r\n"
    )
    with talking_to([answer], 5) as (_server, connection):
        connection.request("POST", "/v1/metrics", b"x", {})
        got = connection.getresponse()
    assert (got.status, got.reason, got.getheader("Retry-After"), got.read()) == (
        429,
        "Too Many Requests",
        "7",
        b"",
    )


def test_a_204_has_no_body_to_wait_for() -> None:
    with talking_to([b"HTTP/1.1 204 No Content\r\n\r\n", OK], 2) as (server, connection):
        assert _post(connection) == (204, b"")
        assert _post(connection) == (200, b"ok")
    assert [n for n, _, _ in server.requests] == [1, 1]


@pytest.mark.parametrize(
    "answer",
    [
        b"SSH-2.0-OpenSSH_9.2\r\n\r\n",
        b"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\n" + b"X-A: b\r\n" * (MAX_HEADERS + 1) + b"\r\n",
        b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * (70 * 1024) + b"\r\n\r\n",
        None,  # closed without a word: what a kept-alive connection the server dropped looks like
    ],
    ids=["not-http", "status", "length", "short", "chunk", "headers", "line", "closed"],
)
def test_a_broken_answer_is_a_connection_error_not_a_hang(answer: bytes | None) -> None:
    with talking_to([answer], 5) as (_server, connection):
        connection.request("POST", "/v1/traces", b"x", {})
        with pytest.raises(ProtocolError) as raised:
            connection.getresponse()
    # upload/http.py reconnects once on an OSError, then keeps the data: this is one.
    assert isinstance(raised.value, OSError)


def test_a_body_over_the_bound_is_cut_and_the_connection_dropped() -> None:
    big = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (MAX_BODY + 10) + b"b" * (
        MAX_BODY + 10
    )
    with talking_to([big, OK], 5) as (server, connection):
        status, body = _post(connection)
        assert (status, len(body)) == (200, MAX_BODY)
        assert _post(connection) == (200, b"ok")
    assert [n for n, _, _ in server.requests] == [1, 2]


@pytest.mark.parametrize(
    "headers",
    [
        {"x-token": "a\r\nX-Injected: 1"},
        {"x-token": "a\nb"},
        {"bad name": "v"},
        {"a:b": "v"},
        {"": "v"},
    ],
)
def test_a_header_that_would_break_the_request_is_refused_before_anything_is_sent(
    headers: dict[str, str],
) -> None:
    with talking_to([OK], 5) as (server, connection):
        with pytest.raises(ValueError):
            connection.request("POST", "/v1/traces", b"x", headers)
        assert connection.sock is None, "nothing was connected, let alone sent"
    assert server.requests == []


@pytest.mark.parametrize(
    "target",
    ["/v1/traces HTTP/1.1\r\nX-Injected: 1\r\n\r\nGET /", "/a b", "/nul\0", "", "/?key=s3cr3t x"],
)
def test_a_url_that_would_break_the_request_line_is_refused_before_anything_is_sent(
    target: str,
) -> None:
    with talking_to([OK], 5) as (server, connection):
        with pytest.raises(ValueError) as refused:
            connection.request("POST", target, b"x", {})
        assert connection.sock is None
        assert "s3cr3t" not in str(refused.value), (
            "the error (logged, shown by optel upload) names no token"
        )
    assert server.requests == []


def test_the_host_header_names_the_collector_through_a_proxy_and_brackets_ipv6() -> None:
    proxy = PlainConnection("127.0.0.1", 3128, 1)
    assert (
        proxy._host_header("http://collector.internal:4318/v1/traces") == "collector.internal:4318"
    )
    assert PlainConnection("::1", 4318, 1)._host_header("/v1/traces") == "[::1]:4318"
    assert PlainConnection("collector", 80, 1)._host_header("/v1/traces") == "collector"


def test_an_upload_to_an_http_collector_imports_no_http_client_ssl_or_idna_codec(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # The session the uploader posts through, in a fresh interpreter, against a real server.
    server = ScriptedServer([OK])
    code = (
        "import sys\n"
        "from optel.upload.http import ObservingSession\n"
        "session = ObservingSession()\n"
        f"session.post('http://127.0.0.1:{server.port}/v1/traces', b'data', 5.0)\n"
        "session.close()\n"
        "heavy = ('http.client', 'ssl', 'email', 'encodings.idna')\n"
        "print(session.status, [name for name in heavy if name in sys.modules])\n"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=30,
            env={k: v for k, v in os.environ.items() if "PROXY" not in k.upper()},
        )  # fmt: skip
    finally:
        server.close()
    assert (done.stdout, done.stderr) == ("200 []\n", "")
