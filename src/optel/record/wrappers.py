"""Wrapping a decorated function, one wrapper per shape.

Plain, async, generator and async generator functions (the last three in
``optel.record.shapes``, loaded with the first one); methods and descriptors stay what they were.

A wrapper's first act is to read one module global: before ``optel.init()``, or with telemetry
off, it calls the function and nothing else. Metadata is copied by hand (``functools`` and
``inspect`` are too dear to import here); ``__wrapped__`` makes ``inspect.signature`` see the
original. An exception is recorded and re-raised with a bare ``raise``, so its type, identity and
traceback are unchanged.

A plain function's wrapper has the function's own parameters (``fitted``): a ``*args, **kwargs``
wrapper costs ~200 ns per call even when it does nothing, as CPython packs a tuple and a dict and
cannot inline the call. One whose parameters are those of the function (same names, same
defaults, same positional-only count) is called like the function itself, and with telemetry off
does one global read and one plain call (~50 ns). Its code is one of the ``_fitN`` templates with
the parameters renamed (``code.replace``): no ``compile``, no ``inspect``, a few µs per decorated
function. With telemetry on it hands the arguments, positionally, to the ``*args, **kwargs``
wrapper, which does the recording. Functions with ``*args``, ``**kwargs`` or keyword-only
parameters (whose calls pack anyway) keep the ``*args, **kwargs`` wrapper.
"""

from __future__ import annotations

import sys

from optel.record import spans as _spans

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from optel.record.spans import SpanHandle

_CO_GENERATOR = 0x20
_CO_COROUTINE = 0x80
_CO_ITERABLE_COROUTINE = 0x100
_CO_ASYNC_GENERATOR = 0x200

_COPIED = (
    "__module__",
    "__name__",
    "__qualname__",
    "__doc__",
    "__annotations__",
    "__type_params__",
)


def shape_of(fn: Any) -> str:
    """``plain``, ``async``, ``gen`` or ``asyncgen``, from the code flags (inspect costs 20 ms)."""
    target = fn
    # functools.partial keeps the shape of what it wraps.
    while type(target).__name__ == "partial" and hasattr(target, "func"):
        target = target.func
    flags = getattr(getattr(target, "__code__", None), "co_flags", 0)
    if not isinstance(flags, int):
        flags = 0
    if flags & _CO_ASYNC_GENERATOR:
        return "asyncgen"
    if flags & (_CO_COROUTINE | _CO_ITERABLE_COROUTINE):
        return "async"
    if flags & _CO_GENERATOR:
        return "gen"
    # inspect.markcoroutinefunction (3.12) marks a sync function that returns an awaitable.
    if getattr(target, "_is_coroutine_marker", None) is not None:
        return "async"
    return "plain"


def _copy_metadata(wrapper: Any, fn: Any) -> Any:
    for attr in _COPIED:
        try:
            value = getattr(fn, attr)
        except AttributeError:
            continue
        try:
            setattr(wrapper, attr, value)
        except (AttributeError, TypeError):
            pass
    try:
        wrapper.__dict__.update(fn.__dict__)
    except (AttributeError, TypeError):
        pass
    wrapper.__wrapped__ = fn
    return wrapper


def display_name(fn: Any) -> str:
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    if not isinstance(name, str):
        return type(fn).__name__
    return name.replace(".<locals>", "")


def _is_cached_property(value: Any) -> bool:
    # functools.cached_property by its shape: importing functools here costs the host ~1 ms.
    return type(value).__name__ == "cached_property" and callable(getattr(value, "func", None))


def is_target(value: Any) -> bool:
    """Whether a decorator got the function itself (used without parentheses)."""
    return (
        callable(value)
        or isinstance(value, (staticmethod, classmethod, property))
        or _is_cached_property(value)
    )


def _is_click_command(target: Any) -> bool:
    # By shape, without importing click: a Command has a callback, its params and invoke().
    return (
        hasattr(target, "callback")
        and isinstance(getattr(target, "params", None), list)
        and callable(getattr(target, "invoke", None))
    )


def _rebuilt_descriptor(target: Any, build: Callable[[Any], Any]) -> Any:
    """A property or cached_property whose getter is decorated; None for anything else.

    The decorator above ``@property`` records each read of the attribute (the first one only,
    for a cached_property); setter and deleter stay as they were.
    """
    if isinstance(target, property):
        return target if target.fget is None else target.getter(build(target.fget))
    if _is_cached_property(target):
        rebuilt = type(target)(build(target.func))
        name = getattr(target, "attrname", None)
        if name is not None:  # decorated after its class was made: __set_name__ has run already
            rebuilt.__set_name__(None, name)
        return rebuilt
    return None


def apply(target: Any, build: Callable[[Any], Any]) -> Any:
    """Decorate ``target``, keeping a staticmethod or classmethod what it was.

    A target optel cannot wrap (a proxy object whose attribute lookups raise, say) is returned
    as it is: decorating never raises into the host's import.
    """
    try:
        if isinstance(target, (staticmethod, classmethod)):
            return type(target)(build(target.__func__))
        descriptor = _rebuilt_descriptor(target, build)
        if descriptor is not None:
            return descriptor
        if _is_click_command(target):
            # A click (or typer) command object stays one: its callback is what is decorated. A
            # group is left as it is: its callback runs on the way to a subcommand, whose run
            # optel.instrument("click") records.
            if callable(target.callback) and not hasattr(target, "commands"):
                target.callback = build(target.callback)
            else:
                log_debug("optel: a click group is recorded by optel.instrument('click')")
            return target
        if isinstance(target, type) or not callable(target):
            # A class or a non-callable is returned as is: wrapping it would change what it is.
            return target
        return build(target)
    except Exception:
        log_debug(f"optel: could not decorate a {type(target).__name__}; it runs unrecorded")
        return target


class Call:
    """What a decorated function's span is: name, kind, fixed attributes, and per-call hooks.

    ``attributes_for(args, kwargs)`` adds call-time attributes (the model an LLM call asks for);
    ``finish(handle, result)`` reads the result (token usage) and ends the span; ``each(handle,
    item)`` reads every item a generator yields (the usage chunk of a stream).
    """

    __slots__ = ("attributes", "kind", "name")

    def __init__(self, name: str, kind: str, attributes: dict[str, object]) -> None:
        self.name = name
        self.kind = kind
        self.attributes = attributes

    def open(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], activate: bool
    ) -> SpanHandle | None:
        if activate:
            return _spans.start(self.name, self.kind, self.attributes)
        return _spans.begin(self.name, self.kind, self.attributes)

    def finish(self, handle: SpanHandle, result: Any) -> None:
        handle.end()

    def each(self, handle: SpanHandle, item: Any) -> None:
        pass

    def plain(self, fn: Any) -> Callable[..., Any]:
        """The ``*args, **kwargs`` wrapper of a plain function (``fitted`` may wrap it again)."""
        return _wrap_plain(fn, self)


class CommandCall(Call):
    """A command. With ``exit_code=True``, the int it returns is its exit code. One command span
    per run (docs/guide.md): a command run right inside the span a click or typer run opened (its
    callback) *is* that command, and opens none of its own: the framework's span records it."""

    __slots__ = ("exit_code",)

    def __init__(
        self, name: str, kind: str, attributes: dict[str, object], exit_code: bool
    ) -> None:
        super().__init__(name, kind, attributes)
        self.exit_code = exit_code

    def open(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], activate: bool
    ) -> SpanHandle | None:
        run = sys.modules.get("optel.instrumentation._run")  # loaded once a framework records
        if run is not None and run.is_current():
            return None
        return (_spans.start if activate else _spans.begin)(self.name, self.kind, self.attributes)

    def finish(self, handle: SpanHandle, result: Any) -> None:
        if self.exit_code and type(result) is int:
            from optel.record.exits import record_exit

            record_exit(handle, result)
        handle.end()

    def plain(self, fn: Any) -> Callable[..., Any]:
        return _wrap_plain_finishing(fn, self)


def wrap(fn: Any, call: Call) -> Any:
    """``fn`` wrapped to record each call as ``call`` says, in the wrapper its shape needs."""
    shape = shape_of(fn)
    if shape == "plain":
        wrapper = fitted(fn, call.plain(fn))
    else:
        # Coroutines and generators are rare in a CLI: their wrappers load with the first one.
        from optel.record.shapes import wrap_shaped

        wrapper = wrap_shaped(fn, call, shape)
    return _copy_metadata(wrapper, fn)


def _wrap_plain(fn: Any, call: Call) -> Callable[..., Any]:
    name, kind, attributes = call.name, call.kind, call.attributes
    start = _spans.start

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not _spans._on:
            return fn(*args, **kwargs)
        handle = start(name, kind, attributes)
        if handle is None:
            return fn(*args, **kwargs)
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            handle.end(exc)
            raise
        handle.end()
        return result

    return wrapper


def _wrap_plain_finishing(fn: Any, call: Call) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not _spans._on:
            return fn(*args, **kwargs)
        handle = call.open(args, kwargs, True)
        if handle is None:
            return fn(*args, **kwargs)
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            handle.end(exc)
            raise
        call.finish(handle, result)
        return result

    return wrapper


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


def log_debug(message: str) -> None:
    from optel._logger import logger

    logger().debug(message)
