"""The wrappers of decorated functions that are not plain: coroutines, generators and async
generators, loaded with the first one (a CLI seldom has them).

A generator's span covers the whole iteration, but is current only while the generator's own code runs:
between items the consumer's code runs, and its spans are not the generator's children. With
telemetry off a generator's wrapper reads one module global and delegates (``yield from``).
"""

from __future__ import annotations

from optel.record import spans as _spans
from optel.record.spans import _current

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Callable, Generator
    from typing import Any

    from optel.record.wrappers import Call


def wrap_shaped(fn: Any, call: Call, shape: str) -> Callable[..., Any]:
    """The wrapper for ``fn`` of ``shape`` (``async``, ``gen`` or ``asyncgen``)."""
    if shape == "async":
        return _wrap_async(fn, call)
    if shape == "gen":
        return _wrap_gen(fn, call)
    return _wrap_asyncgen(fn, call)


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
