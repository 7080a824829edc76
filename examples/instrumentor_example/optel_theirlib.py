"""An optel instrumentor for ``theirlib``: each ``Client.fetch`` call is a timed request.

optel finds this module through the ``optel.instrumentors`` entry point in pyproject.toml and
imports it when a host calls ``optel.instrument("theirlib")``, so it imports nothing at the top:
``theirlib`` is not loaded yet, and need not be installed at all.
"""

from __future__ import annotations

from typing import Any

TARGET = "theirlib"  # optel calls instrument(module) once the host has imported this module

_patched: Any = None


def instrument(module: Any) -> None:
    global _patched
    import optel
    from optel.instrumentation.patching import PatchSite, patch

    # @optel.timed records a span named "theirlib.fetch" and the app.request.duration metric,
    # and does nothing but call through when telemetry is off.
    @optel.timed("theirlib.fetch")
    def timed_call(wrapped: Any, args: Any, kwargs: Any) -> Any:
        return wrapped(*args, **kwargs)

    def fetch(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        return timed_call(wrapped, args, kwargs)

    _patched = patch(PatchSite("theirlib", "Client.fetch", fetch))


def uninstrument(module: Any) -> None:
    global _patched
    if _patched is not None:
        _patched.undo()
        _patched = None
