"""Wrappers with the decorated function's own parameters.

With telemetry off, a plain function's wrapper costs one global read and one plain call (~50 ns).

A ``*args, **kwargs`` wrapper costs ~200 ns per call even when it does nothing: CPython packs a
tuple and a dict and cannot inline the call. A wrapper whose parameters are those of the
function (same names, same defaults, same positional-only count) is called like the function
itself, and with telemetry off does one global read and one plain call. Its code is one of the
templates below with the parameters renamed (``code.replace``): no ``compile``, no ``inspect``,
a few µs per decorated function. With telemetry on it hands the arguments, positionally, to the
``*args, **kwargs`` wrapper, which does the recording. Functions with ``*args``, ``**kwargs``
or keyword-only parameters (whose calls pack anyway) keep the ``*args, **kwargs`` wrapper.
"""

from __future__ import annotations

from optel.record import spans as _spans

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


def _fit_marker() -> None:
    pass


_CO_VARARGS = 0x04
_CO_VARKEYWORDS = 0x08
_FUNCTION = type(_fit_marker)


def _fit0(_optel_fn: Any, _optel_on: Any) -> Any:
    def wrapper() -> Any:
        if not _spans._on:
            return _optel_fn()
        return _optel_on()

    return wrapper


def _fit1(_optel_fn: Any, _optel_on: Any) -> Any:
    def wrapper(_optel_a: Any) -> Any:
        if not _spans._on:
            return _optel_fn(_optel_a)
        return _optel_on(_optel_a)

    return wrapper


def _fit2(_optel_fn: Any, _optel_on: Any) -> Any:
    def wrapper(_optel_a: Any, _optel_b: Any) -> Any:
        if not _spans._on:
            return _optel_fn(_optel_a, _optel_b)
        return _optel_on(_optel_a, _optel_b)

    return wrapper


def _fit3(_optel_fn: Any, _optel_on: Any) -> Any:
    def wrapper(_optel_a: Any, _optel_b: Any, _optel_c: Any) -> Any:
        if not _spans._on:
            return _optel_fn(_optel_a, _optel_b, _optel_c)
        return _optel_on(_optel_a, _optel_b, _optel_c)

    return wrapper


def _fit4(_optel_fn: Any, _optel_on: Any) -> Any:
    def wrapper(_optel_a: Any, _optel_b: Any, _optel_c: Any, _optel_d: Any) -> Any:
        if not _spans._on:
            return _optel_fn(_optel_a, _optel_b, _optel_c, _optel_d)
        return _optel_on(_optel_a, _optel_b, _optel_c, _optel_d)

    return wrapper


def _fit5(_optel_fn: Any, _optel_on: Any) -> Any:
    def wrapper(_optel_a: Any, _optel_b: Any, _optel_c: Any, _optel_d: Any, _optel_e: Any) -> Any:
        if not _spans._on:
            return _optel_fn(_optel_a, _optel_b, _optel_c, _optel_d, _optel_e)
        return _optel_on(_optel_a, _optel_b, _optel_c, _optel_d, _optel_e)

    return wrapper


def _fit6(_optel_fn: Any, _optel_on: Any) -> Any:
    def wrapper(
        _optel_a: Any, _optel_b: Any, _optel_c: Any, _optel_d: Any, _optel_e: Any, _optel_f: Any
    ) -> Any:
        if not _spans._on:
            return _optel_fn(_optel_a, _optel_b, _optel_c, _optel_d, _optel_e, _optel_f)
        return _optel_on(_optel_a, _optel_b, _optel_c, _optel_d, _optel_e, _optel_f)

    return wrapper


_FITS = (_fit0, _fit1, _fit2, _fit3, _fit4, _fit5, _fit6)


def fitted(fn: Any, generic: Callable[..., Any]) -> Callable[..., Any]:
    """A wrapper with ``fn``'s parameters around ``generic``, or ``generic`` when none fits."""
    if type(fn) is not _FUNCTION:
        # A bound method, a partial, a builtin or a callable object: its __code__ (if any) does
        # not say how it is called.
        return generic
    try:
        code = fn.__code__
        count = code.co_argcount
        if (
            code.co_flags & (_CO_VARARGS | _CO_VARKEYWORDS)
            or code.co_kwonlyargcount
            or count >= len(_FITS)
        ):
            return generic
        names = code.co_varnames[:count]
        if any(name.startswith("_optel_") for name in names):
            return generic
        wrapper = _FITS[count](fn, generic)
        template = wrapper.__code__
        changes: dict[str, Any] = {
            "co_varnames": names + template.co_varnames[count:],
            "co_posonlyargcount": code.co_posonlyargcount,
            # Python 3.9 names the function in a wrong call's TypeError by its code's name.
            "co_name": code.co_name,
        }
        if hasattr(code, "co_qualname"):
            changes["co_qualname"] = code.co_qualname
        wrapper.__code__ = template.replace(**changes)
        wrapper.__defaults__ = fn.__defaults__
        return wrapper  # type: ignore[no-any-return]
    except Exception:
        return generic
