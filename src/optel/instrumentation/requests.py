"""HTTP client spans for ``requests`` (>= 2.20): every ``Session`` and the module-level functions.

``HTTPAdapter.send`` is patched: it sends one request on the wire (each redirect that a session
follows is a new one) and returns once the response headers arrived, before the body is read
(``stream=True`` or not), which is where the span ends. A session that mounts an adapter of its
own that does not derive from ``HTTPAdapter`` is not recorded.
"""

from __future__ import annotations

from optel.instrumentation.patching import PatchSet

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from optel.instrumentation.patching import PatchSite

TARGET = "requests"
# (distribution, first release patched, first release not): checked by optel status.
SUPPORTED = ("requests", "2.20", "3")


def _sites() -> tuple[PatchSite, ...]:
    from optel.instrumentation._http import Library, sync_request
    from optel.instrumentation.patching import PatchSite

    library = Library(TARGET, _request, _address, _status)
    return (PatchSite("requests.adapters", "HTTPAdapter.send", sync_request(library)),)


def _request(instance: Any, args: Any, kwargs: Any) -> tuple[str, Any]:
    request = args[0] if args else kwargs["request"]
    return request.method, request.url


def _address(instance: Any, url: Any) -> tuple[Any, Any, Any]:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return parts.hostname, port, parts.scheme


def _status(response: Any) -> object:
    return response.status_code


_patches = PatchSet(_sites)
instrument, uninstrument = _patches.instrument, _patches.uninstrument
