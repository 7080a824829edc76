"""The HTTP connections of an upload run: direct or through a proxy, TLS with the destination's certificates, one kept per route.

Standard library only: an uploader run sends a few small requests, and importing an HTTP client
library would cost it more CPU than everything else it does (docs/internals.md, delivery). A route
with no TLS anywhere (an http collector, directly or through an http proxy) is a
`plain.PlainConnection`; one with TLS is `http.client`'s, imported with `ssl` only then. What it
keeps of what `requests` did:

- the proxy of `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY` unless `NO_PROXY` exempts the host
  (`reach.proxy_for`, the same decision the reachability check makes): an http URL is asked of the
  proxy with its absolute URL, an https one goes through a `CONNECT` tunnel, TLS end to end;
  credentials in the proxy URL become `Proxy-Authorization`, in the collector's URL `Authorization`;
- TLS verified against the destination's CA bundle, else `REQUESTS_CA_BUNDLE`/`CURL_CA_BUNDLE`,
  else certifi's bundle when it is installed, else the system's; its client certificate and key;
- keep-alive: one connection per route and TLS settings, reused by every request of the run.
"""

from __future__ import annotations

import os
from binascii import b2a_base64

from optel._urls import PORTS, split, unquote
from optel.upload.plain import PlainConnection
from optel.upload.reach import proxy_for

TYPE_CHECKING = False
if TYPE_CHECKING:  # `typing` is not imported by an upload run (tests/test_upload_lean.py)
    import http.client
    import ssl
    from collections.abc import Mapping
    from typing import Optional, Tuple, Union

    Connection = Union[PlainConnection, http.client.HTTPConnection]

    # CA bundle, client certificate, client key
    Tls = Tuple[Optional[str], Optional[str], Optional[str]]


class Route:
    """How a request to one URL is made: the connection's key, and the request line's target."""

    __slots__ = ("headers", "host", "port", "proxy", "scheme", "target")

    def __init__(
        self,
        scheme: str,
        host: str,
        port: int,
        target: str,
        headers: dict[str, str],
        proxy: tuple[str, str, int, dict[str, str]] | None,
    ) -> None:
        self.scheme = scheme  # the collector's
        self.host = host
        self.port = port
        self.target = target  # the path and query, or through a proxy for http the absolute URL
        self.headers = headers  # (Proxy-)Authorization from credentials in the URLs, if any
        self.proxy = proxy  # (scheme, host, port, its auth header)


def route(url: str, environ: Mapping[str, str] | None = None) -> Route:
    """The route of a request to `url`; ValueError for a URL or proxy this module cannot use."""
    parts = split(url)  # ValueError for what optel/_urls.py does not take
    scheme = parts.scheme
    if scheme not in PORTS:
        raise ValueError(f"not an http(s) URL: {scheme}://{parts.host}")
    port = parts.connect_port()
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    auth = _basic("Authorization", parts.username, parts.password)
    proxy_url = proxy_for(url, os.environ if environ is None else environ)
    if proxy_url is None:
        return Route(scheme, parts.host, port, target, auth, None)
    try:
        proxy = split(proxy_url)
    except ValueError as exc:
        raise ValueError(f"unsupported proxy: {exc}") from None
    kind = proxy.scheme
    if kind not in PORTS:
        raise ValueError(f"unsupported proxy {kind}://{proxy.host} (http or https only)")
    if kind == "https" and scheme == "https":
        raise ValueError(
            "an https proxy for an https collector is not supported: use an http proxy"
        )
    headers = _basic("Proxy-Authorization", proxy.username, proxy.password)
    if scheme == "http":  # the proxy reads the request itself; a tunnel carries its own headers
        target = f"http://{parts.address}{target}"
        auth = {**auth, **headers}
    hop = (kind, proxy.host, proxy.connect_port(), headers)
    return Route(scheme, parts.host, port, target, auth, hop)


def _basic(name: str, user: str | None, password: str | None) -> dict[str, str]:
    if not user and not password:
        return {}
    pair = f"{unquote(user or '')}:{unquote(password or '')}".encode("latin-1", "replace")
    return {name: "Basic " + b2a_base64(pair, newline=False).decode("ascii")}


def context(tls: Tls, environ: Mapping[str, str] | None = None) -> ssl.SSLContext:
    """A verifying TLS context: the CA bundle given (else the default one), the client certificate."""
    import ssl

    cafile, certificate, key = tls
    ctx = ssl.create_default_context(cafile=cafile or _default_bundle(environ or os.environ))
    if certificate:
        ctx.load_cert_chain(certificate, key)
    return ctx


def _default_bundle(environ: Mapping[str, str]) -> str | None:
    """The CA bundle `requests` verified with when the destination names none; None: the system's."""
    named = environ.get("REQUESTS_CA_BUNDLE") or environ.get("CURL_CA_BUNDLE")
    if named:
        return named
    try:
        import certifi
    except ImportError:
        return None
    where: str = certifi.where()
    return where


class Pool:
    """The open connections of one run, by route and TLS settings; requests go one at a time."""

    def __init__(self) -> None:
        self._open: dict[tuple[object, ...], Connection] = {}
        self._contexts: dict[Tls, ssl.SSLContext] = {}

    def get(self, way: Route, tls: Tls, timeout: float) -> Connection:
        """The route's connection (opened on its first request), its socket timeout set to `timeout`."""
        key = (way.scheme, way.host, way.port, way.proxy[:3] if way.proxy else None, tls)
        connection = self._open.get(key)
        if connection is None:
            connection = self._open[key] = self._new(way, tls, timeout)
        connection.timeout = timeout
        if connection.sock is not None:
            connection.sock.settimeout(timeout)
        return connection

    def _new(self, way: Route, tls: Tls, timeout: float) -> Connection:
        if way.proxy is None and way.scheme == "http":
            return PlainConnection(way.host, way.port, timeout)  # no TLS: no http.client, no ssl
        if way.proxy is None:
            import http.client

            ctx = self._context(tls)
            return http.client.HTTPSConnection(way.host, way.port, timeout=timeout, context=ctx)
        kind, host, port, headers = way.proxy
        if kind == "http" and way.scheme == "http":  # the proxy reads the request: no TLS either
            return PlainConnection(host, port, timeout)
        import http.client

        if way.scheme == "https":  # through an http proxy: a CONNECT tunnel, TLS to the collector
            tunnel = http.client.HTTPSConnection(
                host, port, timeout=timeout, context=self._context(tls)
            )
            tunnel.set_tunnel(way.host, way.port, headers=headers)
            return tunnel
        # http through an https proxy: TLS to the proxy, verified by default.
        return http.client.HTTPSConnection(
            host, port, timeout=timeout, context=self._context((None, None, None))
        )

    def _context(self, tls: Tls) -> ssl.SSLContext:
        found = self._contexts.get(tls)
        if found is None:
            found = self._contexts[tls] = context(tls)
        return found

    def drop(self, connection: Connection) -> None:
        """Close a connection after an error: the route's next request opens a new one."""
        connection.close()

    def close(self) -> None:
        for connection in self._open.values():
            connection.close()
        self._open.clear()
