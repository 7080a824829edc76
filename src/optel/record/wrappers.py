"""Wrapping a decorated function, one wrapper per shape.

Plain, async, generator and async generator functions; methods and descriptors stay what they
were.

A wrapper's first act is to read one module global: before ``optel.init()``, or with telemetry
off, it calls the function and nothing else (a plain function's wrapper has the function's own
parameters: ``optel.record.fitted``). Metadata is copied by hand (``functools`` and ``inspect``
are too dear to import here); ``__wrapped__`` makes ``inspect.signature`` see the original. An
exception is recorded and re-raised with a bare ``raise``, so its type, identity and traceback
are unchanged.
"""

from __future__ import annotations

from optel.record import spans as _spans
from optel.record.fitted import fitted
from optel.record.spans import _current

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Callable, Generator
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
    """A command declared with ``exit_code=True``: the int it returns is its exit code."""

    __slots__ = ()

    def finish(self, handle: SpanHandle, result: Any) -> None:
        if type(result) is int:
            from optel.record.exits import record_exit

            record_exit(handle, result)
        handle.end()

    def plain(self, fn: Any) -> Callable[..., Any]:
        return _wrap_plain_finishing(fn, self)


def wrap(fn: Any, call: Call) -> Any:
    """``fn`` wrapped to record each call as ``call`` says, in the wrapper its shape needs."""
    shape = shape_of(fn)
    if shape == "async":
        wrapper = _wrap_async(fn, call)
    elif shape == "gen":
        wrapper = _wrap_gen(fn, call)
    elif shape == "asyncgen":
        wrapper = _wrap_asyncgen(fn, call)
    else:
        wrapper = fitted(fn, call.plain(fn))
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


def _wrap_async(fn: Any, call: Call) -> Callable[..., Any]:
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not _spans._on:
            return await fn(*args, **kwargs)
        handle = call.open(args, kwargs, True)
        if handle is None:
            return await fn(*args, **kwargs)
        try:
            result = await fn(*args, **kwargs)
        except BaseException as exc:
            handle.end(exc)
            raise
        call.finish(handle, result)
        return result

    return wrapper


def _wrap_gen(fn: Any, call: Call) -> Callable[..., Any]:
    # The span covers the whole iteration, but is current only while the generator's own code
    # runs: between items the consumer's code runs, and its spans are not the generator's children.
    def wrapper(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        if not _spans._on:
            return (yield from fn(*args, **kwargs))
        handle = call.open(args, kwargs, False)
        if handle is None:
            return (yield from fn(*args, **kwargs))
        try:
            token = _current.set(handle)
            try:
                gen = fn(*args, **kwargs)
            finally:
                _current.reset(token)
            sent: Any = None
            thrown: BaseException | None = None
            while True:
                token = _current.set(handle)
                try:
                    if thrown is not None:
                        exc, thrown = thrown, None
                        item = gen.throw(exc)
                    else:
                        item = gen.send(sent)
                except StopIteration as stop:
                    call.finish(handle, stop.value)
                    return stop.value
                finally:
                    _current.reset(token)
                call.each(handle, item)
                try:
                    sent = yield item
                except GeneratorExit:
                    gen.close()
                    handle.end()
                    raise
                except BaseException as exc:
                    thrown = exc
        except BaseException as exc:
            handle.end(exc)
            raise

    return wrapper


def _wrap_asyncgen(fn: Any, call: Call) -> Callable[..., Any]:
    async def wrapper(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
        handle = call.open(args, kwargs, False) if _spans._on else None
        token = _current.set(handle) if handle is not None else None
        try:
            agen = fn(*args, **kwargs)
        finally:
            if token is not None:
                _current.reset(token)
        try:
            sent: Any = None
            thrown: BaseException | None = None
            while True:
                token = _current.set(handle) if handle is not None else None
                try:
                    if thrown is not None:
                        exc, thrown = thrown, None
                        item = await agen.athrow(exc)
                    else:
                        item = await agen.asend(sent)
                except StopAsyncIteration:
                    if handle is not None:
                        call.finish(handle, None)
                    return
                finally:
                    if token is not None:
                        _current.reset(token)
                if handle is not None:
                    call.each(handle, item)
                try:
                    sent = yield item
                except GeneratorExit:
                    await agen.aclose()
                    if handle is not None:
                        handle.end()
                    raise
                except BaseException as exc:
                    thrown = exc
        except BaseException as exc:
            if handle is not None:
                handle.end(exc)
            raise

    return wrapper


def log_debug(message: str) -> None:
    from optel._logger import logger

    logger().debug(message)
