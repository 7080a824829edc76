"""The session the uploader posts OTLP/HTTP requests through: one attempt, a total deadline, our settings only.

An uploader needs one bounded attempt per batch (the retry happens in the next run, with backoff
remembered in the spool), and the status code and `Retry-After` of a failure to decide whether a
spool file is kept or dropped. So this session watches every response: it raises `Stop` for any
answer that is not a success, and lets a connection error through only once, as `Reconnect` (the
caller's immediate reconnect for a stale kept-alive connection).

It also decides what goes on the wire: the headers, CA bundle and client certificate of the
`Destination` being sent to, nothing else (optel/_endpoints.py). The connections themselves
(proxies, TLS, keep-alive) are upload/connections.py's: upload/plain.py's where no TLS is used,
the standard library's `http.client` where it is.

And it keeps a total deadline. A socket timeout bounds each read, so a collector that drips a
byte a second would hold a request for as long as it likes: a watchdog thread shuts the
request's socket down when the export's time is up, which ends the blocked read at once.
"""

from __future__ import annotations

import _thread
import sys
import time
from _socket import SHUT_RDWR
from _socket import timeout as SocketTimeout

from optel import _threads
from optel._endpoints import DEFAULT_TIMEOUT, HTTP_JSON, Destination
from optel.upload.connections import Pool, Route, route

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NoReturn

    from optel.upload.connections import Tls


class Stop(Exception):
    """Raised to end an export at once: not a connection error, so it is final."""


class Reconnect(Exception):
    """The first attempt of an export failed to connect: the caller may try once more, at once."""


class Watchdog:
    """Shuts down the socket of a request that outlives its deadline (one thread per session).

    Built on `_thread` (`threading` costs an uploader run ~14 M instructions): `_mutex` guards the
    state, and `_wake` is held while there is nothing new, so the thread sleeps on it until the
    deadline or until `arm` or `close` releases it.
    """

    def __init__(self) -> None:
        self._mutex = _thread.allocate_lock()
        self._wake = _thread.allocate_lock()
        self._wake.acquire()
        self._until: float | None = None
        self._connection: Any = None
        self._started = False
        self._closed = False
        self.fired = False

    def arm(self, until: float, connection: Any) -> None:
        with self._mutex:
            self._until = until
            self._connection = connection
            self.fired = False
            start = not self._started
            self._started = True
            self._notify()
        if start:
            _threads.start(self._run)

    def disarm(self) -> None:
        with self._mutex:
            self._until = None
            self._connection = None

    def close(self) -> None:
        with self._mutex:
            self._closed = True
            self._until = None
            self._notify()

    def _notify(self) -> None:
        # Under `_mutex`: wakes the thread (or lets its next wait return at once).
        if self._wake.locked():
            self._wake.release()

    def _run(self) -> None:
        while True:
            with self._mutex:
                if self._closed:
                    return
                left = None if self._until is None else self._until - time.monotonic()
                if left is not None and left <= 0:
                    self.fired = True
                    _shut(self._connection)
                    self._until = None
                    self._connection = None
                    continue
            self._wake.acquire(timeout=-1 if left is None else min(left, _thread.TIMEOUT_MAX))


def _shut(connection: Any) -> None:
    sock = getattr(connection, "sock", None)
    if sock is None:
        return  # still connecting: the connect timeout (the time left) bounds that
    try:
        sock.shutdown(SHUT_RDWR)
    except OSError:
        pass


def _protocol_headers() -> dict[str, str]:
    from optel import __version__

    return {"content-type": "application/x-protobuf", "user-agent": f"optel/{__version__}"}


class ObservingSession:
    """Posts one export's request, remembering the last answer; one attempt per export."""

    def __init__(self) -> None:
        self._protocol = _protocol_headers()
        self._pool = Pool()
        self._routes: dict[str, Route] = {}  # the environment (proxies) does not change in a run
        self._watchdog = Watchdog()
        self._wire: dict[str, str] = dict(self._protocol)
        self._tls: Tls = (None, None, None)
        self.begin(DEFAULT_TIMEOUT, None)

    def begin(self, budget: float, destination: Destination | None) -> None:
        """A new export of at most `budget` seconds in all, to `destination`, with its settings only."""
        self.deadline = time.monotonic() + budget
        self.attempts = 0
        self.status: int | None = None
        self.retry_after: float | None = None
        self.error: BaseException | None = None
        if destination is None:
            return
        # The destination's own headers, CA bundle and client certificate, nothing else.
        cert = destination.client_certificate
        self._tls = (destination.certificate, cert, destination.client_key if cert else None)
        wire = dict(self._protocol)
        if destination.protocol == HTTP_JSON:
            wire["content-type"] = "application/json"
        if destination.compression != "none":
            wire["content-encoding"] = destination.compression
        wire.update(destination.headers)
        self._wire = wire

    def post(self, url: str, data: bytes, timeout: float) -> None:
        """Send `data`; returns on a 2xx, raises `Stop` (final) or `Reconnect` (first attempt only)."""
        self.attempts += 1
        left = self.deadline - time.monotonic()
        if left <= 0:
            self.error = TimeoutError("no time left for the request")
            raise Stop("no time left")
        timeout = min(timeout, left) if timeout > 0 else left
        try:
            way = self._routes.get(url) or self._routes.setdefault(url, route(url))
            connection = self._pool.get(way, self._tls, timeout)
        except (ValueError, OSError) as error:  # a URL, proxy or certificate that cannot be used
            self.error = error
            raise Stop(str(error)) from error
        headers = {**self._wire, **way.headers} if way.headers else self._wire
        self._watchdog.arm(time.monotonic() + timeout, connection)
        try:
            connection.request("POST", way.target, body=data, headers=headers)
            response = connection.getresponse()
            response.read()  # all of it, so that the connection can carry the next request
        except Exception as error:
            self._pool.drop(connection)
            self._failed(error, timeout)
        finally:
            self._watchdog.disarm()
        if self._watchdog.fired:
            # Cut mid-body by the deadline: a body without a length reads short but whole, so the
            # cut itself says the answer is not to be trusted (the data is kept).
            self._pool.drop(connection)
            self._failed(TimeoutError("the deadline cut the response"), timeout)
        self.status = response.status
        if not 200 <= response.status < 300:
            self.retry_after = parse_retry_after(response.getheader("retry-after"))
            raise Stop(f"HTTP {response.status}")

    def _failed(self, error: Exception, timeout: float) -> NoReturn:
        """Keep what the failed request came to and raise `Stop`, or `Reconnect` once."""
        if self._watchdog.fired or isinstance(error, SocketTimeout):
            # The collector may have the data already; sending it again at once would not help.
            self.error = TimeoutError(f"timed out after {timeout:.1f} s")
            raise Stop(f"timed out after {timeout:.1f} s") from error
        self.error = error
        client = sys.modules.get(
            "http.client"
        )  # loaded by a TLS route only (upload/connections.py)
        connection_error = isinstance(error, OSError) or (
            client is not None and isinstance(error, client.HTTPException)
        )
        if connection_error and self.attempts == 1 and not _certificate(error):
            raise Reconnect(str(error)) from error  # a kept-alive connection may have gone stale
        raise Stop(str(error)) from error

    def close(self) -> None:
        self._watchdog.close()
        self._pool.close()


def _certificate(error: Exception) -> bool:
    """A certificate the other side does not accept, or ours it refused: no use trying again."""
    ssl = sys.modules.get("ssl")  # loaded by a TLS route only: no TLS, no certificate error
    if ssl is None:
        return False
    return isinstance(error, ssl.SSLCertVerificationError) or (
        isinstance(error, ssl.SSLError) and "CERTIFICATE" in str(error).upper()
    )


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delay-seconds or HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if seconds == seconds and seconds != float("inf") else None
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        from datetime import timezone

        when = when.replace(tzinfo=timezone.utc)
    return max(when.timestamp() - time.time(), 0.0)
