"""HTTP client spans for ``requests`` (>= 2.20): every ``Session`` and the module-level functions.

``HTTPAdapter.send`` is patched: it sends one request on the wire (each redirect that a session
follows is a new one) and returns once the response headers arrived, before the body is read
(``stream=True`` or not), which is where the span ends. A session that mounts an adapter of its
own that does not derive from ``HTTPAdapter`` is not recorded.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any

    from optel.instrumentation.patching import Patched

TARGET = "requests"

_patched: Patched | None = None


def instrument(module: ModuleType) -> None:
    """Wrap ``requests.adapters.HTTPAdapter.send``."""
    global _patched
    if _patched is not None:
        return
    from optel.instrumentation._http import Library, sync_request
    from optel.instrumentation.patching import PatchSite, patch

    library = Library(TARGET, _request, _address, _status)
    _patched = patch(PatchSite("requests.adapters", "HTTPAdapter.send", sync_request(library)))


def uninstrument(module: ModuleType) -> None:
    """Put the adapter's original ``send`` back."""
    global _patched
    patched, _patched = _patched, None
    if patched is not None:
        patched.undo()


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
