"""HTTP client spans for the httpx, httpx2, requests and aiohttp instrumentors (semantic conventions).

``start`` opens a CLIENT span named after the request method; ``responded`` adds the status code
and ends it, ``failed`` the error type. The metric ``http.client.request.duration`` is derived from the ended span
at flush (``optel.record.flush``), like the GenAI metrics, so a span and its metric agree.

What a request may say about where it went is decided here, once: never its URL, path or query,
and its host (``server.address``, ``server.port``) only when the maintainer declared that host
(``optel.instrument("httpx", http_hosts=["api.example.com"])``). A request made while an LLM
span of optel is open is that LLM call's own traffic and is not recorded again.
"""

from __future__ import annotations

from optel.record import hosts as _declared
from optel.record import names as n
from optel.record import spans
from optel.record.genai_spans import in_llm_call
from optel.record.hosts import declare_hosts, declared_hosts

__all__ = [
    "declare_hosts",
    "declared_hosts",
    "failed",
    "forget",
    "responded",
    "start",
]

TYPE_CHECKING = False
if TYPE_CHECKING:
    from optel.record.spans import SpanHandle

# Names from the HTTP semantic conventions (http-spans.md, http-metrics.md).
METHOD = n.HTTP_REQUEST_METHOD
STATUS_CODE = n.HTTP_RESPONSE_STATUS_CODE
SERVER_ADDRESS = n.SERVER_ADDRESS
SERVER_PORT = n.SERVER_PORT
ERROR_TYPE = n.ERROR_TYPE
DURATION_METRIC = n.HTTP_CLIENT_REQUEST_DURATION
# The conventions' known methods; any other becomes _OTHER and the span is named HTTP.
KNOWN_METHODS = frozenset(
    ("CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE", "QUERY")
)
OTHER_METHOD = "_OTHER"
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def start(method: str, host: str | None, port: int | None, scheme: str | None) -> SpanHandle | None:
    """Open an HTTP client span (not made current: nothing runs under it); None when not recorded."""
    if not spans._on:
        return None
    try:
        if in_llm_call():
            return None
        if method not in KNOWN_METHODS:
            method = OTHER_METHOD
        handle = spans.begin("HTTP" if method == OTHER_METHOD else method, "client")
        if handle is None:
            return None
        # Filled in place: begin() would copy a dict passed to it, on every request.
        attrs = handle.attributes
        attrs[METHOD] = method
        if host is not None and _declared.hosts:
            name = host.lower().rstrip(".")
            if name in _declared.hosts:
                attrs[SERVER_ADDRESS] = name
                if port is None and scheme is not None:
                    port = DEFAULT_PORTS.get(scheme.lower())
                if port is not None:
                    attrs[SERVER_PORT] = port
        return handle
    except Exception:
        return None


def responded(handle: SpanHandle | None, status: object) -> None:
    """End the span of a request that got a response; 4xx and 5xx are errors typed by the code."""
    if handle is None:
        return
    try:
        if isinstance(status, int) and not isinstance(status, bool):
            handle.attributes[STATUS_CODE] = status
            if status >= 400:
                # A response is not an exception: the span fails, cli.errors does not count it.
                handle.status = "error"
                handle.attributes[ERROR_TYPE] = str(status)
    except Exception:
        pass
    handle.end()


def failed(handle: SpanHandle | None, exc: BaseException, error_type: str) -> None:
    """End the span of a request that raised ``exc``, keeping its type and never its message."""
    if handle is None:
        return  # not recording, or an LLM call's request: that call records its own error
    forget(exc)
    handle.fail(error_type, None, error_id=id(exc))
    handle.end()


def forget(exc: BaseException) -> None:
    """Keep no message of ``exc`` anywhere it is recorded later (optel.record.provider_errors).

    An HTTP library's error quotes the URL (``Max retries exceeded with url: /path?q=``,
    ``404, message='Not Found', url='...'``) and the host, which no scrubber can be trusted with.
    """
    try:
        from optel.record import provider_errors

        provider_errors.remember(exc)
    except Exception:
        pass
