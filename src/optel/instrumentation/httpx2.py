"""HTTP client spans for ``httpx2``, the successor of httpx that the openai and anthropic SDKs send
with: the same transports patched the same way as httpx (optel.instrumentation.httpx).

The SDKs' own requests are parts of their LLM calls and are not recorded again; instrumenting
httpx2 records the requests the host makes with it itself.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType

    from optel.instrumentation.patching import Patched

TARGET = "httpx2"

_patched: Patched | None = None


def instrument(module: ModuleType) -> None:
    """Wrap the two default transports of httpx2."""
    global _patched
    if _patched is None:
        from optel.instrumentation.httpx import transport_sites
        from optel.instrumentation.patching import patch

        _patched = patch(*transport_sites(TARGET))


def uninstrument(module: ModuleType) -> None:
    """Put the transports' original methods back."""
    global _patched
    patched, _patched = _patched, None
    if patched is not None:
        patched.undo()
