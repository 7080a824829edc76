"""Put wrappers on attributes and take them off again exactly, for every instrumentor.

Two kinds of wrapper, one bookkeeping: ``wrap`` puts a wrapt ``FunctionWrapper`` (it keeps the
signature, descriptors and introspection of SDK methods exact; the LLM SDKs), ``replace`` a plain
function (the CLI frameworks: their instrumentor is loaded in every run of a CLI, even with
telemetry off, and wrapt 2 imports asyncio and importlib.metadata, ~140 ms, for nothing there).
wrapt is imported only by ``wrap``.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    Wrapper = Callable[[Any, Any, tuple[Any, ...], dict[str, Any]], Any]

_MISSING = object()


class _Applied:
    """One attribute we replaced: what it held, our wrapper, and how many patch sets use it."""

    __slots__ = ("active", "original", "owner", "proxy", "users")

    def __init__(self, owner: object, original: object) -> None:
        self.owner = owner
        self.original = original
        self.proxy: object = None
        self.users = 0
        self.active = True


# (id(owner), attribute name) -> _Applied. Two instrumentors may patch the same attribute (typer
# on top of a click that it does not vendor); the wrapper stays until the last one lets go.
_applied: dict[tuple[int, str], _Applied] = {}


class Patches:
    """The attributes one instrumentor replaced, so that ``restore()`` can put back the originals."""

    __slots__ = ("_keys",)

    def __init__(self) -> None:
        self._keys: list[tuple[int, str]] = []

    def wrap(self, owner: object, name: str, wrapper: Wrapper) -> None:
        """Replace ``owner.name`` by a wrapt FunctionWrapper calling ``wrapper``; idempotent."""
        import wrapt

        self._apply(owner, name, wrapper, wrapt.FunctionWrapper)

    def replace(self, owner: object, name: str, wrapper: Wrapper) -> None:
        """Replace ``owner.name`` (a plain function of a class or a module) by a plain function
        calling ``wrapper(wrapped, instance, args, kwargs)`` as wrapt would; idempotent."""
        self._apply(
            owner,
            name,
            wrapper,
            _plain_function if isinstance(owner, type) else _plain_module_function,
        )

    def _apply(
        self, owner: object, name: str, wrapper: Wrapper, make: Callable[[Any, Wrapper], object]
    ) -> None:
        key = (id(owner), name)
        if key in self._keys:
            return
        applied = _applied.get(key)
        if applied is None:
            original = vars(owner).get(name, _MISSING)
            current = getattr(owner, name)
            applied = _Applied(owner, original)
            state = applied

            def guarded(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
                if not state.active:
                    return wrapped(*args, **kwargs)
                return wrapper(wrapped, instance, args, kwargs)

            base = current if original is _MISSING else original
            applied.proxy = make(base, guarded)
            setattr(owner, name, applied.proxy)
            _applied[key] = applied
        applied.users += 1
        self._keys.append(key)

    def restore(self) -> None:
        """Give every wrapped attribute back the object it held before ``wrap``."""
        while self._keys:
            key = self._keys.pop()
            applied = _applied.get(key)
            if applied is None:
                continue
            applied.users -= 1
            if applied.users > 0:
                continue
            del _applied[key]
            owner, name = applied.owner, key[1]
            if vars(owner).get(name) is applied.proxy:
                if applied.original is _MISSING:
                    delattr(owner, name)
                else:
                    setattr(owner, name, applied.original)
            else:
                # Someone wrapped on top of us; we cannot unthread ourselves, so we step aside.
                applied.active = False


def _plain_function(original: Any, wrapper: Wrapper) -> Any:
    """A method that calls ``wrapper`` with the bound original, as wrapt's FunctionWrapper does."""

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return wrapper(original.__get__(self, type(self)), self, args, kwargs)

    return _dressed(method, original)


def _plain_module_function(original: Any, wrapper: Wrapper) -> Any:
    def function(*args: Any, **kwargs: Any) -> Any:
        return wrapper(original, None, args, kwargs)

    return _dressed(function, original)


def _dressed(function: Any, original: Any) -> Any:
    # functools.update_wrapper, without importing functools on a CLI's start.
    for attr in ("__module__", "__name__", "__qualname__", "__doc__"):
        try:
            setattr(function, attr, getattr(original, attr))
        except (AttributeError, TypeError):
            pass
    function.__wrapped__ = original
    return function
