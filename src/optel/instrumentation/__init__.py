"""Switch instrumentors on and off; each patches its library only once the host imports it.

An instrumentor is a module with ``TARGET`` (the module to wait for), ``instrument(module)`` and
``uninstrument(module)``. The built-in ones live next to this file; others are found through
the ``optel.instrumentors`` entry-point group (``name = "package.module"``).
Neither the target library nor wrapt is imported here: a post-import hook applies the patches
when the host imports the target, so calling ``instrument()`` early costs next to nothing.
"""

from __future__ import annotations

import sys

from optel.instrumentation._hook import when_imported

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from types import ModuleType

__all__ = ["BUILTIN", "UnknownInstrumentorError", "instrument", "uninstrument", "when_imported"]

ENTRY_POINT_GROUP = "optel.instrumentors"

# name -> target module; the instrumentor module is optel.instrumentation.<name>. Kept here so that
# instrument() needs no import at all while the targets are not imported.
BUILTIN = {
    "openai": "openai",
    "anthropic": "anthropic",
    "click": "click",
    "typer": "typer",
    "argparse": "argparse",
    "httpx": "httpx",
    "httpx2": "httpx2",
    "requests": "requests",
    "aiohttp": "aiohttp",
    "litellm": "litellm",
    "ollama": "ollama",
    "mistralai": "mistralai",
    "google_genai": "google.genai",
    "bedrock": "botocore.client",
}


CLI_FRAMEWORKS = ("click", "typer", "argparse")


class UnknownInstrumentorError(ValueError):
    """``instrument()`` was given a name that is neither built in nor an installed entry point."""


# The built-in instrumentors of LLM SDKs (the consent question names models and token counts for
# them: optel.consent.howto). Their patches use wrapt, and are applied once something may be
# recorded, so that a run with telemetry off, or one that never decides (`tool --version`),
# never imports wrapt (wrapt 2 brings asyncio and importlib.metadata) nor walks the SDK.
LLM_SDKS = ("openai", "anthropic", "litellm", "ollama", "mistralai", "google_genai", "bedrock")
WHEN_RECORDING = frozenset(LLM_SDKS)


class _Active:
    """One instrumentor switched on: pending until its target is imported, then applied."""

    __slots__ = ("applied_to", "cancel", "instrumentor", "module_name", "name", "target", "waiting")

    def __init__(self, name: str, module_name: str, target: str) -> None:
        self.name = name
        self.module_name = module_name
        self.target = target
        self.cancel: Callable[[], None] | None = None
        self.instrumentor: ModuleType | None = None
        self.applied_to: ModuleType | None = None
        self.waiting: ModuleType | None = None  # imported, waiting for recording to start

    def apply(self, target_module: ModuleType) -> None:
        if self.applied_to is not None:
            return
        if self.name in WHEN_RECORDING and not recording():
            self.waiting = target_module
            return
        self.waiting = None
        instrumentor = self.instrumentor or _load(self.module_name)
        self.instrumentor = instrumentor
        instrumentor.instrument(target_module)
        self.applied_to = target_module

    def remove(self) -> None:
        self.waiting = None
        if self.cancel is not None:
            self.cancel()
            self.cancel = None
        target_module, self.applied_to = self.applied_to, None
        if target_module is not None and self.instrumentor is not None:
            try:
                self.instrumentor.uninstrument(target_module)
            except Exception:
                from optel._logger import logger

                logger().warning("optel: uninstrumenting %s failed", self.name, exc_info=True)


_active: dict[str, _Active] = {}


def instrument(*names: str, http_hosts: Iterable[str] | None = None) -> None:
    """Patch the named libraries (all built-in ones when no name is given), now or on import.

    Idempotent: a name already switched on is left as it is. Raises UnknownInstrumentorError
    for a name that no instrumentor answers to, before anything is patched. ``http_hosts``
    declares the hosts whose name the HTTP client spans may record (``server.address``);
    requests to any other host record no host at all (optel.record.http).
    """
    if http_hosts is not None:
        from optel.record.hosts import declare_hosts

        declare_hosts(http_hosts)
    wanted = [_normal(name) for name in names] if names else list(BUILTIN)
    resolved = [(name, *_resolve(name)) for name in wanted if name not in _active]
    if any(name in CLI_FRAMEWORKS for name in wanted):
        watch_exits()
    for name, module_name, target, instrumentor in resolved:
        if name in _active:
            continue
        entry = _Active(name, module_name, target)
        entry.instrumentor = instrumentor
        _active[name] = entry
        entry.cancel = when_imported(target, entry.apply)


def uninstrument(*names: str) -> None:
    """Take the patches of the named libraries off again (all of them when no name is given).

    The patched attributes get back the very objects they held before. A name that is not
    switched on is ignored if it is a known instrumentor; an unknown one raises.
    """
    for raw in names or list(_active):
        name = _normal(raw)
        entry = _active.pop(name, None)
        if entry is None:
            if name not in BUILTIN:
                _resolve(name)
            continue
        entry.remove()
    if not any(name in CLI_FRAMEWORKS for name in _active):
        run = sys.modules.get(_RUN)
        if run is not None:
            run.finish()
        unwatch_exits()


# The sys.exit wrapper while a CLI framework is instrumented, and the module it reports to (loaded
# only once a command is recorded: a run with telemetry off never loads it).
_exit_watch: Callable[..., None] | None = None
_RUN = "optel.instrumentation._run"


def watch_exits() -> None:
    """Tell the command run (``_run``) every ``sys.exit`` from now on; idempotent.

    A CLI's exit status is read off ``sys.exit``, and ``sys.exit(main())`` looks it up before
    ``main`` runs: so it is watched from ``instrument()`` on, not from the moment a command starts.
    """
    global _exit_watch
    if _exit_watch is not None and sys.exit is _exit_watch:
        return
    original = sys.exit

    def exit(status: object = None) -> None:
        run = sys.modules.get(_RUN)
        if run is not None:
            from optel.record.exits import status as exit_status

            run.note_exit(exit_status(status))
        original(status)  # type: ignore[arg-type]

    exit.__wrapped__ = original  # type: ignore[attr-defined]
    exit.__doc__ = original.__doc__
    _exit_watch = exit
    sys.exit = exit  # type: ignore[assignment]


def unwatch_exits() -> None:
    """Give ``sys.exit`` back, unless someone wrapped it on top of ours."""
    global _exit_watch
    if _exit_watch is not None and sys.exit is _exit_watch:
        sys.exit = _exit_watch.__wrapped__  # type: ignore[attr-defined]
    _exit_watch = None


def recording() -> bool:
    """Whether records are kept, without importing the recorder when nothing loaded it yet (a
    run that never called ``optel.init``, such as a ``--version``, records nothing)."""
    spans = sys.modules.get("optel.record.spans")
    return bool(spans is not None and spans.recording())


def recording_started() -> None:
    """Apply the patches that waited for recording to start (``optel.init`` deciding to record,
    ``optel.testing.capture``). Never raises."""
    for entry in list(_active.values()):
        target = entry.waiting
        if target is not None:
            try:
                entry.apply(target)
            except Exception:
                from optel._logger import logger

                logger().warning("optel: instrumenting %s failed", entry.name, exc_info=True)


def instrumented() -> list[str]:
    """The names switched on, in the order they were."""
    return list(_active)


def _normal(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise UnknownInstrumentorError(f"instrumentor names are non-empty strings, got {name!r}")
    return name.strip().lower()


def _resolve(name: str) -> tuple[str, str, ModuleType | None]:
    """(instrumentor module name, target module name, the module if it had to be loaded)."""
    target = BUILTIN.get(name)
    if target is not None:
        return f"optel.instrumentation.{name}", target, None
    module_name = _entry_points().get(name)
    if module_name is None:
        known = sorted(set(BUILTIN) | set(_entry_points()))
        raise UnknownInstrumentorError(
            f"no optel instrumentor is called {name!r}; known: {', '.join(known)} "
            f"(third-party ones register in the {ENTRY_POINT_GROUP!r} entry-point group)"
        )
    try:
        module = _load(module_name)
    except ImportError as exc:
        raise UnknownInstrumentorError(
            f"the optel instrumentor {name!r} ({module_name}) cannot be imported: {exc}"
        ) from exc
    target = getattr(module, "TARGET", None)
    missing = [a for a in ("instrument", "uninstrument") if not callable(getattr(module, a, None))]
    if not isinstance(target, str) or missing:
        raise UnknownInstrumentorError(
            f"{module_name} is not an optel instrumentor: it needs TARGET (a module name), "
            "instrument(module) and uninstrument(module)"
        )
    return module_name, target, module


def _entry_points() -> dict[str, str]:
    """Third-party instrumentors by name; the module part of each entry point's value."""
    try:
        from importlib.metadata import entry_points

        if sys.version_info >= (3, 10):
            found = list(entry_points(group=ENTRY_POINT_GROUP))
        else:
            found = list(entry_points().get(ENTRY_POINT_GROUP, ()))
    except Exception:
        return {}
    return {ep.name.lower(): ep.value.split(":")[0].strip() for ep in found}


def _load(module_name: str) -> ModuleType:
    import importlib

    return importlib.import_module(module_name)
