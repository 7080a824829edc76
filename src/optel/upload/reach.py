"""A cheap, proxy-aware "is the collector there?" before an upload run pays for its imports.

An offline laptop runs the detached uploader as often as an online one. Importing protobuf and an
HTTP client costs most of a run's CPU and memory, and all of it is wasted when the first connect
fails. So the run first opens (and closes) one TCP connection to where its first request would go:
the collector, or the proxy that `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY` names for it unless
`NO_PROXY` exempts its host, as `requests` and grpc choose. Only the standard library's `_socket`,
and the URL read as the request reads it (optel/_urls.py).
A failure is what the request itself would have come to (a connection error: the files are kept
and the destination backs off, exactly as before); a success costs one connect (docs/internals.md,
delivery).
"""

from __future__ import annotations

import _socket  # the C module: `socket` costs an uploader run ~30 M instructions (its enums)
import os

from optel._urls import split

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping


def first_hop(url: str, environ: Mapping[str, str] | None = None) -> tuple[str, int] | None:
    """(host, port) that a request to `url` connects to first: its proxy's, or its own; None if unclear."""
    where = _where(url)
    if where is None:
        return None  # nothing to check: the request will say what is wrong
    proxy = proxy_for(url, environ)
    if proxy is not None:
        where = _where(proxy)
    return where[:2] if where is not None else None


def proxy_for(url: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The proxy URL a request to `url` goes through (the `*_PROXY` variables), or None: direct.

    The one place that decides it, for the check above and for the request itself (upload/connections.py).
    """
    where = _where(url)
    if where is None:
        return None
    host, port, scheme = where
    return _proxy(scheme, host, port, os.environ if environ is None else environ)


def connect(host: str, port: int, timeout: float | None) -> _socket.socket:
    """A TCP connection to `host`:`port`: each address the name resolves to in turn, as
    ``socket.create_connection`` tries them. An ASCII name goes as bytes (getaddrinfo takes them;
    typeshed says str): a str one is passed through the idna codec, ~1 ms of imports for nothing."""
    name = host.encode() if host.isascii() else host
    error: OSError | None = None
    for family, kind, proto, _, address in _socket.getaddrinfo(name, port, 0, _socket.SOCK_STREAM):
        sock = _socket.socket(family, kind, proto)
        try:
            sock.settimeout(timeout)
            sock.connect(address)
        except OSError as exc:
            sock.close()
            error = exc
            continue
        return sock
    raise error if error is not None else OSError(f"no address found for {host!r}")


def unreachable(hop: tuple[str, int] | None, timeout: float) -> OSError | None:
    """The error of a TCP connect to `hop` (from `first_hop`), or None when it connects."""
    if hop is None:
        return None
    host, port = hop
    try:
        connect(host, port, max(timeout, 0.05)).close()
    except OSError as error:
        return error
    except Exception:  # an odd host string: let the real request say it
        return None
    return None


def _where(url: str) -> tuple[str, int, str] | None:
    """(host, port, scheme) of `url` (a gRPC target without a scheme is TLS), None when it does not split."""
    try:
        parts = split(url if "://" in url else f"https://{url}")
    except ValueError:
        return None
    return parts.host, parts.connect_port(), parts.scheme


def _env(environ: Mapping[str, str], name: str) -> str:
    return (environ.get(name.lower()) or environ.get(name.upper()) or "").strip()


def _proxy(scheme: str, host: str, port: int, environ: Mapping[str, str]) -> str | None:
    """The proxy URL a request to (scheme, host, port) goes through, or None for a direct one."""
    proxy = _env(environ, f"{scheme}_proxy") or _env(environ, "all_proxy")
    if not proxy:
        return None
    host = host.lower()
    for entry in _env(environ, "no_proxy").replace(" ", "").lower().split(","):
        if not entry:
            continue
        if entry == "*":
            return None
        name, _, only_port = entry.partition(":")
        if only_port and only_port != str(port):
            continue
        name = name.lstrip(".")
        if host == name or host.endswith("." + name):
            return None
    return proxy if "://" in proxy else "http://" + proxy
