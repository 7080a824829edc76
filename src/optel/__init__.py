"""optel: consent-first usage telemetry for command-line tools and LLM apps, on OpenTelemetry.

The public API is imported lazily: ``import optel`` loads nothing but this file and its loader
(``optel._loader``, through which optel's other modules load), and each name
loads its own module on first use, so a host pays only for what it calls (docs/internals.md#the-import-budget-of-the-host-side).
"""

from __future__ import annotations

import sys

from optel import _loader

# The release number (hatch reads it from here: pyproject.toml, [tool.hatch.version]).
__version__ = "0.1.0"

# optel's own modules load through optel._loader from here on.
_loader.install(sys.modules[__name__])

TYPE_CHECKING = False
if TYPE_CHECKING:
    from optel._runtime import Telemetry, init, shutdown
    from optel.consent import Consent
    from optel.consent.declared import OffSwitch
    from optel.instrumentation import instrument, uninstrument
    from optel.record.api import command, count_input, event, llm_call, step, timed
    from optel.record.custom import metric

__all__ = [
    "Consent",
    "OffSwitch",
    "Telemetry",
    "__version__",
    "command",
    "count_input",
    "event",
    "init",
    "instrument",
    "llm_call",
    "metric",
    "shutdown",
    "step",
    "timed",
    "uninstrument",
]

_HOMES = {
    "init": "optel._runtime",
    "shutdown": "optel._runtime",
    "Telemetry": "optel._runtime",
    "Consent": "optel.consent",
    "OffSwitch": "optel.consent.declared",
    "command": "optel.record.api",
    "step": "optel.record.api",
    "llm_call": "optel.record.api",
    "timed": "optel.record.api",
    "event": "optel.record.api",
    "count_input": "optel.record.api",
    "metric": "optel.record.custom",
    "instrument": "optel.instrumentation",
    "uninstrument": "optel.instrumentation",
}


_SUBMODULES = ("cli", "testing")


def __getattr__(name: str) -> object:
    if name in _SUBMODULES:
        # `optel.cli.click_group(...)` after a bare `import optel`, as the guide shows.
        import importlib

        return importlib.import_module(f"optel.{name}")
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'optel' has no attribute {name!r}")
    module = __import__(home, fromlist=[name])
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | set(_SUBMODULES))
