"""An optel instrumentor for ``theirlib``: each ``Client.fetch`` call is a timed request.

optel finds this module through the ``optel.instrumentors`` entry point in pyproject.toml and
imports it when a host calls ``optel.instrument("theirlib")``, long before the host imports
theirlib (which need not be installed at all): at the top it imports only optel's patching
helper, which loads nothing but the standard library.
"""

from __future__ import annotations

from typing import Any

from optel.instrumentation.patching import PatchSet, PatchSite

TARGET = "theirlib"  # optel calls instrument(module) once the host has imported this module


def _sites() -> list[PatchSite]:
    """Built at the first instrument(), once theirlib is imported."""
    import optel

    # @optel.timed records a span named "theirlib.fetch" and the timed-request duration metric,
    # and only calls through when telemetry is off.
    @optel.timed("theirlib.fetch")
    def timed_call(wrapped: Any, args: Any, kwargs: Any) -> Any:
        return wrapped(*args, **kwargs)

    def fetch(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        return timed_call(wrapped, args, kwargs)

    return [PatchSite("theirlib", "Client.fetch", fetch)]


_patches = PatchSet(_sites)
instrument, uninstrument = _patches.instrument, _patches.uninstrument
