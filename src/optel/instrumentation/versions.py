"""The SDK releases each built-in instrumentor patches, and the installed SDKs outside them.

Each instrumentor declares ``SUPPORTED`` next to its ``TARGET``, a plain tuple (so that loading an
instrumentor imports nothing more): the distribution it patches, the first release it was written
for and the first it was not (the next major, whose layout it has not been tested against). An SDK outside that range may have moved what the instrumentor patches,
and then its calls go unrecorded without a word: ``optel status`` names each such SDK instead.
Standard library only; an instrumentor module is imported here, never the SDK it patches.
"""

from __future__ import annotations

import re
from typing import NamedTuple

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable


class Supported(NamedTuple):
    """Releases ``at_least`` <= version < ``below`` of the distribution ``distribution``."""

    distribution: str
    at_least: str
    below: str

    def admits(self, version: str) -> bool:
        """Whether ``version`` is in range; a version with no leading number is never admitted."""
        found = _release(version)
        return found is not None and _release(self.at_least) <= found < _release(self.below)  # type: ignore[operator]

    def __str__(self) -> str:
        return f"{self.distribution}>={self.at_least},<{self.below}"


class Mismatch(NamedTuple):
    """An installed SDK outside the range its instrumentor declares."""

    instrumentor: str
    installed: str
    supported: Supported

    def __str__(self) -> str:
        return (
            f"{self.supported.distribution} {self.installed} is outside the releases optel's "
            f"{self.instrumentor} instrumentor patches ({self.supported}): its calls may go unrecorded"
        )


def _release(version: str) -> tuple[int, ...] | None:
    """The numeric release of a version string, trailing zeros dropped: "2.0rc1" -> (2,)."""
    match = re.match(r"\s*v?(\d+(?:\.\d+)*)", version)
    if match is None:
        return None
    parts = [int(p) for p in match.group(1).split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def declared(names: Iterable[str] | None = None) -> dict[str, Supported | None]:
    """Instrumentor name -> its declared range (None for the standard library's argparse)."""
    import importlib

    from optel.instrumentation import BUILTIN

    found: dict[str, Supported | None] = {}
    for name in BUILTIN if names is None else names:
        value = importlib.import_module(f"optel.instrumentation.{name}").SUPPORTED
        found[name] = None if value is None else Supported(*value)
    return found


def mismatches(names: Iterable[str] | None = None) -> list[Mismatch]:
    """The installed SDKs outside their instrumentor's range; SDKs not installed are no mismatch."""
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for name, supported in declared(names).items():
        if supported is None:
            continue
        try:
            installed = version(supported.distribution)
        except PackageNotFoundError:
            continue
        if not supported.admits(installed):
            found.append(Mismatch(name, installed, supported))
    return found
