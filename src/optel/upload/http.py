"""The `requests.Session` the uploader posts OTLP/HTTP requests through: one attempt, a total deadline, our settings only.

An uploader needs one bounded attempt per batch (the retry happens in the next run, with backoff
remembered in the spool), and the status code and `Retry-After` of a failure to decide whether a
spool file is kept or dropped. So this session watches every response: it raises `Stop` for any
answer that is not a success, and lets a connection error through only once (the caller's
immediate reconnect for a stale pooled connection).

It also decides what goes on the wire: the headers, CA bundle and client certificate of the `Destination` being sent to,
nothing else (optel/_endpoints.py).

And it keeps a total deadline. `requests`' timeout bounds each socket read, so a collector that
drips a byte a second would hold a request for as long as it likes: a watchdog thread shuts the
request's socket down when the export's time is up, which ends the blocked read at once.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from optel._endpoints import DEFAULT_TIMEOUT, HTTP_JSON, Destination

_current = threading.local()  # the Watchdog of the request this thread is making, if any


class Stop(Exception):
    """Raised to end an export at once: not a connection error, so it is final."""


class Watchdog:
    """Shuts down the sockets of a request that outlives its deadline (one thread per session)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._until: float | None = None
        self._connections: list[HTTPConnection] = []
        self._thread: threading.Thread | None = None
        self._closed = False
        self.fired = False

    def arm(self, until: float) -> None:
        with self._cond:
            self._until = until
            self._connections = []
            self.fired = False
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="optel-deadline", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def watch(self, connection: HTTPConnection) -> None:
        with self._cond:
            if self._until is not None:
                self._connections.append(connection)

    def disarm(self) -> None:
        with self._cond:
            self._until = None
            self._connections = []

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._until = None
            self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while not self._closed:
                if self._until is None:
                    self._cond.wait()
                    continue
                left = self._until - time.monotonic()
                if left > 0:
                    self._cond.wait(left)
                    continue
                self.fired = True
                for connection in self._connections:
                    _shut(connection)
                self._until = None
                self._connections = []


def _shut(connection: HTTPConnection) -> None:
    sock = getattr(connection, "sock", None)
    if sock is None:
        return  # still connecting: the connect timeout (the time left) bounds that
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class _Watched:
    """A urllib3 connection that shows each request it carries to the watchdog of its thread
    (new and pooled connections alike: urllib3 calls `request` for every request)."""

    def request(self, *args: Any, **kwargs: Any) -> None:
        watchdog = getattr(_current, "watchdog", None)
        if watchdog is not None:
            watchdog.watch(self)
        super().request(*args, **kwargs)  # type: ignore[misc]


class _WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class _Adapter(HTTPAdapter):
    """Connections whose requests the watchdog can see, direct or through an HTTP proxy."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: Any, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        pools = getattr(manager, "pool_classes_by_scheme", None)
        if isinstance(pools, dict) and set(pools) == set(_POOLS):  # a SOCKS manager keeps its own
            manager.pool_classes_by_scheme = _POOLS
        return manager


def _protocol_headers() -> dict[str, str]:
    from optel._version import __version__

    return {"content-type": "application/x-protobuf", "user-agent": f"optel/{__version__}"}


class ObservingSession(requests.Session):
    """A `requests.Session` that remembers the last answer and allows one attempt per export."""

    def __init__(self) -> None:
        super().__init__()
        adapter = _Adapter()
        self.mount("http://", adapter)
        self.mount("https://", adapter)
        self._defaults = dict(self.headers)
        self._protocol = _protocol_headers()
        self._environment: dict[tuple[Any, ...], dict[str, Any]] = {}
        self._watchdog = Watchdog()
        self._wire: dict[str, str] = dict(self._protocol)
        self.begin(DEFAULT_TIMEOUT, None)

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        """`requests`' proxy and CA-bundle settings from the environment, looked up once per URL.

        requests reads every environment variable twice per request to find proxies: a third of
        its time per request, and the largest cost of a run of many small spool files. A session
        lives for one upload run, during which the environment does not change.
        """
        try:
            key = (url, tuple(sorted(proxies.items())) if proxies else None, stream, verify, cert)
            settings = self._environment.get(key)
        except TypeError:  # something unhashable: no caching
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        if settings is None:
            settings = self._environment[key] = super().merge_environment_settings(
                url, proxies, stream, verify, cert
            )
        return {
            name: dict(value) if isinstance(value, dict) else value
            for name, value in settings.items()
        }

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
        self.headers = requests.structures.CaseInsensitiveDict(self._defaults)
        self.verify = destination.certificate or True
        cert, key = destination.client_certificate, destination.client_key
        self.cert = (cert, key) if cert and key else cert
        wire = dict(self._protocol)
        if destination.protocol == HTTP_JSON:
            wire["content-type"] = "application/json"
        if destination.compression != "none":
            wire["content-encoding"] = destination.compression
        wire.update(destination.headers)
        self._wire = wire

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> requests.Response:
        self.attempts += 1
        left = self.deadline - time.monotonic()
        if left <= 0:
            self.error = requests.Timeout("no time left for the request")
            raise Stop("no time left")
        asked = kwargs.get("timeout")
        timeout = min(asked, left) if isinstance(asked, (int, float)) and asked > 0 else left
        kwargs["timeout"] = timeout
        kwargs["headers"] = self._wire
        self._watchdog.arm(time.monotonic() + timeout)
        _current.watchdog = self._watchdog
        try:
            response = super().request(method, url, *args, **kwargs)
        except requests.RequestException as error:
            if self._watchdog.fired or isinstance(error, requests.Timeout):
                # The collector may have the data already; sending it again at once would not help.
                raise self._timed_out(timeout) from error
            if not isinstance(error, requests.ConnectionError):
                self.error = error
                raise Stop(str(error)) from error
            self.error = error
            if self.attempts == 1:
                raise  # the caller reconnects once, at once: a pooled connection may have gone stale
            raise Stop(str(error)) from error
        finally:
            _current.watchdog = None
            self._watchdog.disarm()
        if self._watchdog.fired:
            # Cut mid-body: urllib3 1.x (Python 3.9's, under botocore) returns the short body as
            # if it were whole, so the cut itself says the answer is not to be trusted.
            response.close()
            raise self._timed_out(timeout)
        self.status = response.status_code
        if not 200 <= response.status_code < 300:
            self.retry_after = parse_retry_after(response.headers.get("retry-after"))
            response.close()
            raise Stop(f"HTTP {response.status_code}")
        return response

    def _timed_out(self, timeout: float) -> Stop:
        self.error = requests.Timeout(f"timed out after {timeout:.1f} s")
        return Stop(f"timed out after {timeout:.1f} s")

    def close(self) -> None:
        self._watchdog.close()
        super().close()


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
