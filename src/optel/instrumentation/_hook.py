"""Run a callback when a named module has finished importing, without importing it ourselves."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType
    from typing import Any

    Hook = Callable[[ModuleType], None]

# module name -> hooks still waiting for it; guarded by the import lock of that module for the
# finder's reads, and only ever mutated from the host's own calls to when_imported / cancel.
_waiting: dict[str, list[Hook]] = {}


def when_imported(name: str, hook: Hook) -> Callable[[], None]:
    """Call ``hook(module)`` once ``name`` has been imported (now, if it already has been).

    Returns a function that cancels the hook if it has not run yet. A hook that raises is
    logged to the ``optel`` logger and never reaches the import statement that triggered it.
    """
    module = sys.modules.get(name)
    if module is not None and not _initializing(module):
        _run(hook, module)
        return _nothing
    hooks = _waiting.setdefault(name, [])
    hooks.append(hook)
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)

    def cancel() -> None:
        waiting = _waiting.get(name)
        if waiting is not None and hook in waiting:
            waiting.remove(hook)
            if not waiting:
                del _waiting[name]
        _maybe_remove_finder()

    return cancel


def _nothing() -> None:
    return None


def _initializing(module: ModuleType) -> bool:
    spec = getattr(module, "__spec__", None)
    return bool(getattr(spec, "_initializing", False))


def _run(hook: Hook, module: ModuleType) -> None:
    try:
        hook(module)
    except Exception:
        from optel._logger import logger

        logger().warning(
            "optel: instrumenting %s failed", getattr(module, "__name__", "?"), exc_info=True
        )


def _fire(name: str, module: ModuleType) -> None:
    hooks = _waiting.pop(name, None)
    _maybe_remove_finder()
    for hook in hooks or ():
        _run(hook, sys.modules.get(name, module))


def _maybe_remove_finder() -> None:
    if not _waiting:
        try:
            sys.meta_path.remove(_FINDER)
        except ValueError:
            pass


class _HookLoader:
    """Wraps the real loader of a watched module: executes it, puts it back, then runs the hooks."""

    __slots__ = ("_loader",)

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def __getattr__(self, attr: str) -> object:
        # Code run while the module executes may ask its loader for resources.
        return getattr(self._loader, attr)

    def create_module(self, spec: object) -> object:
        create = getattr(self._loader, "create_module", None)
        return None if create is None else create(spec)

    def exec_module(self, module: ModuleType) -> None:
        try:
            self._loader.exec_module(module)
        finally:
            # Nobody after us should ever see the wrapper, even if the import failed.
            spec = getattr(module, "__spec__", None)
            if spec is not None and spec.loader is self:
                spec.loader = self._loader
            if getattr(module, "__loader__", None) is self:
                module.__loader__ = self._loader
        _fire(module.__name__, module)


class _PostImportFinder:
    """A meta-path finder that finds nothing itself: it lends a watched module's spec a hooked loader."""

    __slots__ = ()

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        if fullname not in _waiting:
            return None
        for finder in list(sys.meta_path):
            if finder is self:
                continue
            find_spec = getattr(finder, "find_spec", None)
            if find_spec is None:
                continue
            spec: ModuleSpec | None = find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = getattr(spec, "loader", None)
        if loader is None:
            loader = _namespace_loader(spec)
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        spec.loader = _HookLoader(loader)  # type: ignore[assignment]
        return spec

    def invalidate_caches(self) -> None:
        return None


def _namespace_loader(spec: ModuleSpec) -> Any:
    """The loader Python gives a namespace package (``mistralai`` 2.x has no ``__init__.py``),
    which its finder leaves out of the spec: given now, it can be hooked like any other."""
    locations = spec.submodule_search_locations
    if locations is None:
        return None
    try:
        from importlib import machinery

        make = getattr(machinery, "NamespaceLoader", None)  # public from Python 3.11 on
        if make is None:  # the same class, private on 3.9 and 3.10
            from importlib import _bootstrap_external

            make = getattr(_bootstrap_external, "_NamespaceLoader", None)
        return None if make is None else make(spec.name, locations, machinery.PathFinder._get_spec)  # type: ignore[attr-defined]
    except Exception:
        return None


_FINDER = _PostImportFinder()
