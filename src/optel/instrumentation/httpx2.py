"""HTTP client spans for ``httpx2``, the successor of httpx that the openai and anthropic SDKs send
with: the same transports patched the same way as httpx (optel.instrumentation.httpx).

The SDKs' own requests are parts of their LLM calls and are not recorded again; instrumenting
httpx2 records the requests the host makes with it itself.
"""

from __future__ import annotations

from optel.instrumentation.httpx import transport_sites
from optel.instrumentation.patching import PatchSet

TARGET = "httpx2"
# (distribution, first release patched, first release not): checked by optel status.
SUPPORTED = ("httpx2", "2.0", "3")

_patches = PatchSet(lambda: transport_sites(TARGET))
instrument, uninstrument = _patches.instrument, _patches.uninstrument
