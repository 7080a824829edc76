"""The stream proxies of a recorded LLM call.

An SDK stream that reports each chunk to its call and ends the call's span when exhausted,
failed, closed or dropped, and the managers of an SDK's stream helper
(``with client.messages.stream(...) as s``), whose entering is the request.
"""

from __future__ import annotations

import wrapt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from optel.instrumentation._llm import Call

    _Proxy = wrapt.ObjectProxy[Any]
else:
    _Proxy = wrapt.ObjectProxy


class _ManagerProxy(_Proxy):
    """What both stream-manager proxies hold: how to start the call, and the SDK's stream types."""

    def __init__(
        self,
        manager: Any,
        start: Callable[[], Call | None],
        stream_types: Callable[[], tuple[type, ...]],
    ) -> None:
        super().__init__(manager)
        self._self_start = start
        self._self_stream_types = stream_types
        self._self_call: Call | None = None


class StreamManagerProxy(_ManagerProxy):
    """A stream helper's manager: entering it is the request, its stream's end is the span's end."""

    def __enter__(self) -> Any:
        call = self._self_call = self._self_start()
        if call is None:
            return self.__wrapped__.__enter__()
        try:
            stream = self.__wrapped__.__enter__()
        except BaseException as exc:
            call.failed(exc)
            raise
        call.follow(stream, self._self_stream_types())
        return stream

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(*exc_info)
        finally:
            if self._self_call is not None:
                self._self_call.finish()


class AsyncStreamManagerProxy(_ManagerProxy):
    """The async twin of StreamManagerProxy (``async with client.messages.stream(...)``)."""

    async def __aenter__(self) -> Any:
        call = self._self_call = self._self_start()
        if call is None:
            return await self.__wrapped__.__aenter__()
        try:
            stream = await self.__wrapped__.__aenter__()
        except BaseException as exc:
            call.failed(exc)
            raise
        call.follow(stream, self._self_stream_types())
        return stream

    async def __aexit__(self, *exc_info: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(*exc_info)
        finally:
            if self._self_call is not None:
                self._self_call.finish()


class StreamProxy(_Proxy):
    """An SDK Stream that reports each chunk and ends the span when exhausted, failed or closed."""

    def __init__(self, stream: Any, call: Call) -> None:
        super().__init__(stream)
        self._self_call = call
        # An iterable that is not its own iterator (botocore's EventStream) is read through one.
        has_next = hasattr(type(stream), "__next__")
        self._self_next = stream.__next__ if has_next else iter(stream).__next__

    def __iter__(self) -> StreamProxy:
        return self

    def __next__(self) -> Any:
        try:
            item = self._self_next()
        except StopIteration:
            self._self_call.finish()
            raise
        except BaseException as exc:
            self._self_call.failed(exc)
            raise
        self._self_call.observe(item)
        return item

    def __enter__(self) -> StreamProxy:
        self.__wrapped__.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(*exc_info)
        finally:
            self._self_call.finish()

    def close(self) -> None:
        try:
            self.__wrapped__.close()
        finally:
            self._self_call.finish()

    def __del__(self) -> None:
        # A stream dropped half-read still ends its span, with what it reported so far.
        call = getattr(self, "_self_call", None)
        if call is not None:
            call.finish()


class AsyncStreamProxy(_Proxy):
    """An SDK AsyncStream that reports each chunk and ends the span when exhausted, failed or closed."""

    def __init__(self, stream: Any, call: Call) -> None:
        super().__init__(stream)
        self._self_call = call

    def __aiter__(self) -> AsyncStreamProxy:
        return self

    async def __anext__(self) -> Any:
        try:
            item = await self.__wrapped__.__anext__()
        except StopAsyncIteration:
            self._self_call.finish()
            raise
        except BaseException as exc:
            self._self_call.failed(exc)
            raise
        self._self_call.observe(item)
        return item

    async def __aenter__(self) -> AsyncStreamProxy:
        await self.__wrapped__.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(*exc_info)
        finally:
            self._self_call.finish()

    async def close(self) -> None:
        try:
            await self.__wrapped__.close()
        finally:
            self._self_call.finish()

    def __del__(self) -> None:
        call = getattr(self, "_self_call", None)
        if call is not None:
            call.finish()


def proxied(stream: Any, call: Call, is_async: bool) -> Any:
    """``stream`` behind the proxy that reports it to ``call``, or ``stream`` itself (its call
    ended now, without counts) when the proxy cannot pass the host's ``isinstance`` checks."""
    proxy = (AsyncStreamProxy if is_async else StreamProxy)(stream, call)
    for cls in type(stream).__mro__:
        if not isinstance(proxy, cls) and not _admit_proxies(type(cls), cls, proxy):
            call.finish()
            return stream
    return proxy


def _admit_proxies(meta: Any, cls: type, proxy: Any) -> bool:
    """Make ``meta``'s ``isinstance`` see through the stream proxies: whether ``proxy`` now passes.

    A proxy passes ``isinstance`` through its ``__class__``, which is the SDK stream's, but a
    metaclass may override ``__instancecheck__`` without looking at it: anthropic 0.x (0.125 is
    the newest for Python 3.9) answers only for its deprecated MessageStream, and leaves a real
    Stream to the interpreter's exact-type test, which a proxy's type fails. The patch changes
    nothing for any other object.
    """
    original = meta.__instancecheck__

    def __instancecheck__(checked: type, instance: Any) -> bool:
        if type(instance) in (StreamProxy, AsyncStreamProxy):
            return isinstance(instance.__wrapped__, checked)
        return bool(original(checked, instance))

    try:
        meta.__instancecheck__ = __instancecheck__
    except (AttributeError, TypeError):
        return False  # a built-in metaclass, which honours __class__ anyway
    return isinstance(proxy, cls)
