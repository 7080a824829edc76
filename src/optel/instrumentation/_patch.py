"""Put wrapt wrappers on attributes and take them off again exactly, for every instrumentor."""

from __future__ import annotations

import wrapt

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
            applied.proxy = wrapt.FunctionWrapper(base, guarded)
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
