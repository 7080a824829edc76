"""What the openai and anthropic instrumentors share: one GenAI span per call, and stream proxies.

A provider module describes its calls with two small functions: ``read(result, usage)`` fills a
Usage from a whole response, ``observe(item, usage)`` from one streamed chunk or event. The
wrappers here do the rest: skip everything when not recording, end the span when the call
returns, raises, or when its stream is exhausted or closed, and never let telemetry raise.

An SDK's stream helper (``with client.messages.stream(...) as s``) that sends its request itself,
not through ``create``, is wrapped too: the manager it returns is proxied, the span starts when the
context is entered (that is when the request goes out), and the SDK stream under the helper's
stream object is followed like the stream of ``create(stream=True)``.
"""

from __future__ import annotations

import sys
from contextvars import ContextVar
from time import time_ns

import wrapt

from optel.record import genai, spans
from optel.record.names import GEN_AI_RESPONSE_ID, GEN_AI_RESPONSE_MODEL, HTTP_RESPONSE_STATUS_CODE

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

    Reader = Callable[[Any, "Usage"], None]
    _Proxy = wrapt.ObjectProxy[Any]
else:
    _Proxy = wrapt.ObjectProxy


class Usage:
    """What a call reported, gathered from a response or, chunk by chunk, from a stream.

    ``facts`` holds the response's model, id and finish reasons under the conventions' names;
    ``counts`` the usage fields reported so far, read once at the end by the one usage reader
    (``optel.record.genai.usage_attributes``).
    """

    __slots__ = ("counts", "facts")

    def __init__(self) -> None:
        self.facts: dict[str, object] = {}
        self.counts: dict[str, object] = {}

    def read(self, response: object) -> None:
        """A whole response (or the one a stream's last event carries)."""
        self.add_usage(genai.read_response(response, self.facts))

    def add_usage(self, usage: object) -> None:
        genai.merge_usage(self.counts, usage)

    def add_finish_reason(self, reason: object) -> None:
        genai.add_finish_reason(self.facts, reason)

    def set_response(self, model: object, response_id: object) -> None:
        """A stream's model and id, from its first chunk that has them."""
        if isinstance(model, str) and model:
            self.facts.setdefault(GEN_AI_RESPONSE_MODEL, model)
        if isinstance(response_id, str) and response_id:
            self.facts.setdefault(GEN_AI_RESPONSE_ID, response_id)

    def attributes(self) -> dict[str, object]:
        out = dict(self.facts)
        genai.usage_attributes(self.counts, out)
        return out


# True while an instrumented SDK call is being made: an SDK called by another one (litellm calls
# the openai SDK, or its own ``completion`` from ``acompletion``) is part of that call, recorded
# once, by the outer span. Context-local: a thread or task of its own is a call of its own.
_inside: ContextVar[bool] = ContextVar("optel_inside_llm_call", default=False)


def _log_failure(what: str) -> None:
    from optel._logger import logger

    logger().debug("optel: %s failed", what, exc_info=True)


def sdk_error_type(exc: BaseException, package: str) -> str | None:
    """``openai.RateLimitError``: an SDK exception by its public name; None for any other."""
    cls = type(exc)
    module = sys.modules.get(package)
    if module is not None and getattr(module, cls.__name__, None) is cls:
        return f"{package}.{cls.__name__}"
    return None


def http_status(exc: BaseException) -> int | None:
    """The HTTP status an SDK error carries: ``status_code`` (openai, anthropic, mistralai,
    ollama, litellm), ``code`` (google-genai) or a botocore ``ClientError``'s response metadata."""
    for value in (
        getattr(exc, "status_code", None),
        getattr(exc, "code", None),
        _get_path(getattr(exc, "response", None), ("ResponseMetadata", "HTTPStatusCode")),
    ):
        if type(value) is int and 100 <= value <= 599:
            return value
    return None


def _get_path(value: object, keys: tuple[str, ...]) -> object:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


class Call:
    """One GenAI request being recorded; ends its span exactly once."""

    __slots__ = ("_chunks", "_handle", "_observe", "_package", "_read", "usage")

    def __init__(self, handle: Any, package: str, read: Reader, observe: Reader) -> None:
        self._handle = handle
        self._package = package
        self._read = read
        self._observe = observe
        self._chunks = 0
        self.usage = Usage()

    @classmethod
    def start(
        cls,
        package: str,
        operation: str,
        kwargs: Mapping[str, Any],
        read: Reader,
        observe: Reader,
        client: object = None,
        stream: bool = False,
        provider: str | None = None,
    ) -> Call | None:
        """Open the span of a request made through ``package``'s ``client`` with ``kwargs``
        (to ``provider``, when the SDK's package or client does not say which)."""
        try:
            streamed = stream or kwargs.get("stream") is True
            handle = genai.start(
                provider or genai.client_provider(package, client),
                operation,
                attributes=genai.request_attributes(kwargs, streamed),
            )
        except Exception:
            _log_failure("starting a GenAI span")
            return None
        return None if handle is None else cls(handle, package, read, observe)

    def returned(
        self, result: Any, stream_types: tuple[type, ...], is_async: bool | None = None
    ) -> Any:
        """The object to hand back: ``result`` itself, or a proxy of it when it is a stream
        (``is_async`` says which kind, for a stream class that is both, as litellm's is)."""
        if isinstance(result, stream_types):
            self._detach()
            if is_async is None:
                is_async = hasattr(type(result), "__anext__")
            return (AsyncStreamProxy if is_async else StreamProxy)(result, self)
        try:
            self._read(result, self.usage)
        except Exception:
            _log_failure("reading an LLM response")
        self.finish()
        return result

    def follow(self, helper: Any, stream_types: tuple[type, ...]) -> None:
        """Read the SDK stream that a stream helper's object consumes, chunk by chunk, as it is read.

        The helpers keep it as ``_raw_stream`` and only start reading it on first use, so putting
        a proxy there sees every event, whichever way the host reads (events, text, final message).
        Without it the span still ends when the helper's context exits, only without the counts.
        """
        try:
            raw = getattr(helper, "_raw_stream", None)
            if stream_types and isinstance(raw, stream_types):
                helper._raw_stream = self.returned(raw, stream_types)
                return
        except Exception:
            _log_failure("following a stream helper")
        self._detach()

    def _detach(self) -> None:
        """Stop being the current span: a stream is read later, around other spans."""
        try:
            token, self._handle._token = self._handle._token, None
            if token is not None:
                spans._current.reset(token)
        except Exception:
            _log_failure("detaching a streamed call's span")

    def observe(self, item: Any) -> None:
        try:
            if not self._chunks:
                # Time to first chunk, as the conventions define it: the request was made when
                # the span started; the first chunk is here when the SDK hands it on.
                genai.first_chunk(self._handle, time_ns())
            self._chunks += 1
            self._observe(item, self.usage)
        except Exception:
            _log_failure("reading a streamed chunk")

    def failed(self, exc: BaseException) -> None:
        """End the span for a call that raised ``exc`` (the SDK's exception, re-raised by the caller)."""
        try:
            status = http_status(exc)
            if status is not None:
                self._handle.set(HTTP_RESPONSE_STATUS_CODE, status)
        except Exception:
            _log_failure("recording an HTTP status")
        self.finish(exc)

    def finish(self, exc: BaseException | None = None) -> None:
        handle, self._handle = self._handle, None
        if handle is None:
            return
        try:
            genai.finish(
                handle,
                attributes=self.usage.attributes(),
                exc=exc,
                error_type=None if exc is None else sdk_error_type(exc, self._package),
            )
        except Exception:
            _log_failure("ending a GenAI span")


def send(call: Call, wrapped: Callable[..., Any], args: Any, kwargs: Any) -> Any:
    """Make the SDK call that ``call`` records: a failure ends its span and is raised as it was;
    an instrumented SDK called meanwhile records nothing of its own (``_inside``)."""
    token = _inside.set(True)
    try:
        return wrapped(*args, **kwargs)
    except BaseException as exc:
        call.failed(exc)
        raise
    finally:
        _inside.reset(token)


async def send_async(call: Call, wrapped: Callable[..., Any], args: Any, kwargs: Any) -> Any:
    """``send`` for an ``async def`` SDK method."""
    token = _inside.set(True)
    try:
        return await wrapped(*args, **kwargs)
    except BaseException as exc:
        call.failed(exc)
        raise
    finally:
        _inside.reset(token)


# The request arguments a stream helper's span needs when its context is entered.
_KEPT_ARGUMENTS = ("model", "max_tokens", "max_completion_tokens", "max_output_tokens")


def _client_of(resource: Any) -> object:
    """The SDK client a resource (``client.chat.completions``) belongs to: it names the provider."""
    try:
        return getattr(resource, "_client", None)
    except Exception:
        return None


def sync_call(
    provider: str,
    operation: str,
    read: Reader,
    observe: Reader,
    stream_types: Callable[[], tuple[type, ...]],
) -> Callable[..., Any]:
    """A wrapt wrapper for a synchronous SDK method that makes one request."""

    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        if not spans.recording() or _inside.get():
            return wrapped(*args, **kwargs)
        call = Call.start(provider, operation, kwargs, read, observe, _client_of(instance))
        if call is None:
            return wrapped(*args, **kwargs)
        return call.returned(send(call, wrapped, args, kwargs), stream_types())

    return wrapper


def async_call(
    provider: str,
    operation: str,
    read: Reader,
    observe: Reader,
    stream_types: Callable[[], tuple[type, ...]],
) -> Callable[..., Any]:
    """A wrapt wrapper for an ``async def`` SDK method that makes one request."""

    async def traced(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        call = Call.start(provider, operation, kwargs, read, observe, _client_of(instance))
        if call is None:
            return await wrapped(*args, **kwargs)
        return call.returned(await send_async(call, wrapped, args, kwargs), stream_types())

    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        if not spans.recording() or _inside.get():
            # The SDK's own coroutine, untouched: awaiting it is the unpatched call.
            return wrapped(*args, **kwargs)
        return traced(wrapped, instance, args, kwargs)

    return wrapper


def stream_helper_call(
    provider: str,
    operation: str,
    read: Reader,
    observe: Reader,
    stream_types: Callable[[], tuple[type, ...]],
) -> Callable[..., Any]:
    """A wrapt wrapper for an SDK ``stream()`` helper, which returns a manager and sends nothing yet."""

    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        manager = wrapped(*args, **kwargs)
        if not spans.recording():
            return manager
        # Only the model and the token limit are kept for later: the other arguments carry the prompt.
        kept = {k: kwargs.get(k) for k in _KEPT_ARGUMENTS}
        client = _client_of(instance)

        def start() -> Call | None:
            return Call.start(provider, operation, kept, read, observe, client, stream=True)

        try:
            is_async = hasattr(type(manager), "__aenter__")
            proxy = AsyncStreamManagerProxy if is_async else StreamManagerProxy
            return proxy(manager, start, stream_types)
        except Exception:
            _log_failure("wrapping a stream manager")
            return manager

    return wrapper


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


class SdkPatches:
    """The ``create`` methods of an LLM SDK, patched in resource modules that the SDK imports lazily.

    ``sites`` maps a resource module to its ``(class name, operation, is async)`` entries;
    ``readers`` maps an operation to its ``(read, observe)`` pair. ``stream_helpers`` names the
    methods of the same classes that return a stream manager and send the request themselves
    (a helper that goes through ``create`` is already recorded there and must not be listed).
    Each resource module is patched when the host first touches it, and ``uninstrument`` undoes
    all of it.
    """

    def __init__(
        self,
        provider: str,
        sites: Mapping[str, tuple[tuple[str, str, bool], ...]],
        readers: Mapping[str, tuple[Reader, Reader]],
        streaming_module: str,
        stream_helpers: tuple[str, ...] = (),
    ) -> None:
        self.provider = provider
        self.sites = sites
        self.readers = readers
        self.streaming_module = streaming_module
        self.stream_helpers = stream_helpers
        self._patches: Any = None
        self._cancels: list[Callable[[], None]] = []

    def instrument(self) -> None:
        """Wrap the ``create`` methods now, or as soon as their resource modules load."""
        if self._patches is not None:
            return
        from optel.instrumentation import when_imported
        from optel.instrumentation._patch import Patches

        self._patches = Patches()
        for module_name, entries in self.sites.items():
            self._cancels.append(when_imported(module_name, self._patcher(entries)))

    def uninstrument(self) -> None:
        """Put the SDK's original methods back."""
        while self._cancels:
            self._cancels.pop()()
        if self._patches is not None:
            self._patches.restore()
            self._patches = None

    def _patcher(self, entries: tuple[tuple[str, str, bool], ...]) -> Callable[[Any], None]:
        def patch(resource_module: Any) -> None:
            patches = self._patches
            if patches is None:
                return
            for class_name, operation, is_async in entries:
                owner = getattr(resource_module, class_name, None)
                if owner is None:
                    continue
                read, observe = self.readers[operation]
                methods = [("create", async_call if is_async else sync_call)]
                methods += [(name, stream_helper_call) for name in self.stream_helpers]
                for name, factory in methods:
                    if name in vars(owner):
                        wrapper = factory(
                            self.provider, operation, read, observe, self.stream_types
                        )
                        patches.wrap(owner, name, wrapper)

        return patch

    def stream_types(self) -> tuple[type, ...]:
        """The SDK's Stream and AsyncStream classes, once it has loaded them."""
        streaming = sys.modules.get(self.streaming_module)
        if streaming is None:
            return ()
        found = (getattr(streaming, "Stream", None), getattr(streaming, "AsyncStream", None))
        return tuple(t for t in found if isinstance(t, type))
