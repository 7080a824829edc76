"""HTTP client spans for ``aiohttp`` (3.8 and later 3.x): every ``ClientSession`` request, streams included.

``ClientSession._request`` is patched, the coroutine behind ``session.get/post/request(...)``:
it returns once the response headers arrived, before the body is read, which is where the span
ends. It follows redirects itself, so a redirected request is one span (with the final status),
unlike httpx and requests where each hop is its own.
"""

from __future__ import annotations

from optel.instrumentation.patching import PatchSet

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from optel.instrumentation.patching import PatchSite

TARGET = "aiohttp"
# (distribution, first release patched, first release not): checked by optel status.
SUPPORTED = ("aiohttp", "3.8", "4")


def _sites() -> tuple[PatchSite, ...]:
    from optel.instrumentation._http import Library, async_request
    from optel.instrumentation.patching import PatchSite

    library = Library(TARGET, _request, _address, _status, _error_status)
    return (PatchSite("aiohttp.client", "ClientSession._request", async_request(library)),)


def _request(instance: Any, args: Any, kwargs: Any) -> tuple[str, Any]:
    method = args[0] if args else kwargs["method"]
    url = args[1] if len(args) > 1 else kwargs["str_or_url"]
    return str(method).upper(), url


def _address(instance: Any, url: Any) -> tuple[Any, Any, Any]:
    from urllib.parse import urlsplit

    parts = urlsplit(str(url))
    host, scheme = parts.hostname, parts.scheme
    try:
        port = parts.port
    except ValueError:
        port = None
    if host is None:
        # A path relative to the session's base_url.
        base = getattr(instance, "_base_url", None)
        if base is not None:
            host, port, scheme = base.host, base.explicit_port, base.scheme
    return host, port, scheme


def _status(response: Any) -> object:
    return response.status


def _error_status(exc: BaseException) -> object:
    """The status a session with ``raise_for_status`` raised ClientResponseError for."""
    from aiohttp import ClientResponseError

    return exc.status if isinstance(exc, ClientResponseError) else None


_patches = PatchSet(_sites)
instrument, uninstrument = _patches.instrument, _patches.uninstrument
