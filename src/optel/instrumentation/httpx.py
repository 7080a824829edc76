"""HTTP client spans for ``httpx`` (>= 0.23): ``Client`` and ``AsyncClient``, streams included.

The default transports are patched (``HTTPTransport.handle_request`` and
``AsyncHTTPTransport.handle_async_request``): each request that goes on the wire is one span,
a redirect a new one, and each ends when the response headers arrived, whether the caller then
reads the body at once or streams it (``client.stream(...)``). A client given its own transport
class (``httpx.Client(transport=...)`` with something else than these two) is not recorded.
"""

from __future__ import annotations

from optel.instrumentation.patching import PatchSet

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from optel.instrumentation.patching import PatchSite

TARGET = "httpx"
# (distribution, first release patched, first release not): checked by optel status.
SUPPORTED = ("httpx", "0.23", "1")


def transport_sites(package: str) -> tuple[PatchSite, ...]:
    """The send methods of the default transports of ``package`` (httpx, or httpx2: the same API)."""
    from optel.instrumentation._http import Library, async_request, sync_request
    from optel.instrumentation.patching import PatchSite

    library = Library(package, _request, _address, _status)
    return (
        PatchSite(package, "HTTPTransport.handle_request", sync_request(library)),
        PatchSite(package, "AsyncHTTPTransport.handle_async_request", async_request(library)),
    )


def _request(instance: Any, args: Any, kwargs: Any) -> tuple[str, Any]:
    request = args[0] if args else kwargs["request"]
    return request.method, request.url


def _address(instance: Any, url: Any) -> tuple[Any, Any, Any]:
    return url.host, url.port, url.scheme


def _status(response: Any) -> object:
    return response.status_code


_patches = PatchSet(lambda: transport_sites(TARGET))
instrument, uninstrument = _patches.instrument, _patches.uninstrument
