"""What the LLM instrumentors share: one GenAI span per call, its streams, its SDK patches.

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
from time import time_ns

from optel.instrumentation._llm_errors import http_status, sdk_error_type
from optel.instrumentation._llm_streams import (
    AsyncStreamManagerProxy,
    StreamManagerProxy,
    proxied,
)
from optel.record import genai, genai_spans, spans
from optel.record.genai_spans import in_llm_call
from optel.record.names import GEN_AI_RESPONSE_ID, GEN_AI_RESPONSE_MODEL, HTTP_RESPONSE_STATUS_CODE

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

    Reader = Callable[[Any, "Usage"], None]


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


def _log_failure(what: str) -> None:
    from optel._logger import logger

    logger().debug("optel: %s failed", what, exc_info=True)


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
            handle = genai_spans.start(
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
            return proxied(result, self, is_async)
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
                genai_spans.first_chunk(self._handle, time_ns())
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
            genai_spans.finish(
                handle,
                attributes=self.usage.attributes(),
                exc=exc,
                error_type=None if exc is None else sdk_error_type(exc, self._package),
            )
        except Exception:
            _log_failure("ending a GenAI span")


def send(call: Call, wrapped: Callable[..., Any], args: Any, kwargs: Any) -> Any:
    """Make the SDK call that ``call`` records: a failure ends its span and is raised as it was.

    ``call``'s span is current meanwhile: an instrumented SDK called from inside records nothing
    of its own (``genai_spans.in_llm_call``).
    """
    try:
        return wrapped(*args, **kwargs)
    except BaseException as exc:
        call.failed(exc)
        raise


async def send_async(call: Call, wrapped: Callable[..., Any], args: Any, kwargs: Any) -> Any:
    """``send`` for an ``async def`` SDK method."""
    try:
        return await wrapped(*args, **kwargs)
    except BaseException as exc:
        call.failed(exc)
        raise


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
        if not spans.recording() or in_llm_call():
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
        if not spans.recording() or in_llm_call():
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
