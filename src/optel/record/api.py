"""The public recording API: ``@command``, ``@step``, ``@llm_call``, ``@timed``, ``event``, ``count_input``.

Each decorator works with or without parentheses on plain, async, generator and async-generator
functions, on methods, staticmethods and classmethods. A wrapper's first act is to read one
module global: before ``optel.init()``, or with telemetry off, it calls the function and nothing
else. Metadata is copied by hand (``functools`` and ``inspect`` are too dear to import here);
``__wrapped__`` makes ``inspect.signature`` see the original. An exception is recorded and
re-raised with a bare ``raise``, so its type, identity and traceback are unchanged.
"""

from __future__ import annotations

from optel.record import spans as _spans
from optel.record.spans import _current

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Callable, Generator, Mapping
    from typing import Any, TypeVar, overload

    from optel.record.spans import SpanHandle

    F = TypeVar("F", bound=Callable[..., Any])
    Extractor = Callable[[Any], "Mapping[str, Any]"]

_CO_GENERATOR = 0x20
_CO_COROUTINE = 0x80
_CO_ITERABLE_COROUTINE = 0x100
_CO_ASYNC_GENERATOR = 0x200

_COPIED = ("__module__", "__name__", "__qualname__", "__doc__", "__annotations__", "__type_params__")


def _shape(fn: Any) -> str:
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


def _display_name(fn: Any) -> str:
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    if not isinstance(name, str):
        return type(fn).__name__
    return name.replace(".<locals>", "")


def _is_target(value: Any) -> bool:
    """Whether a decorator got the function itself (used without parentheses)."""
    return callable(value) or isinstance(value, (staticmethod, classmethod))


def _apply(target: Any, build: Callable[[Any], Any]) -> Any:
    """Decorate ``target``, keeping a staticmethod or classmethod what it was."""
    if isinstance(target, (staticmethod, classmethod)):
        return type(target)(build(target.__func__))
    if isinstance(target, type) or not callable(target):
        # A class or a non-callable is returned as is: wrapping it would change what it is.
        return target
    return build(target)


class _Call:
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

    def open(self, args: tuple[Any, ...], kwargs: dict[str, Any], activate: bool) -> SpanHandle | None:
        if activate:
            return _spans.start(self.name, self.kind, self.attributes)
        return _spans.begin(self.name, self.kind, self.attributes)

    def finish(self, handle: SpanHandle, result: Any) -> None:
        handle.end()

    def each(self, handle: SpanHandle, item: Any) -> None:
        pass


def _wrap(fn: Any, call: _Call) -> Any:
    shape = _shape(fn)
    if shape == "async":
        wrapper = _wrap_async(fn, call)
    elif shape == "gen":
        wrapper = _wrap_gen(fn, call)
    elif shape == "asyncgen":
        wrapper = _wrap_asyncgen(fn, call)
    elif type(call) is _Call:
        wrapper = _wrap_plain(fn, call)
    else:
        wrapper = _wrap_plain_finishing(fn, call)
    return _copy_metadata(wrapper, fn)


def _wrap_plain(fn: Any, call: _Call) -> Callable[..., Any]:
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


def _wrap_plain_finishing(fn: Any, call: _Call) -> Callable[..., Any]:
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


def _wrap_async(fn: Any, call: _Call) -> Callable[..., Any]:
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


def _wrap_gen(fn: Any, call: _Call) -> Callable[..., Any]:
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


def _wrap_asyncgen(fn: Any, call: _Call) -> Callable[..., Any]:
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


# --- the decorators --------------------------------------------------------------------------


def _command(name: Any = None) -> Any:
    """A CLI command: a span named by the command path, its count and its duration."""

    def build(fn: Any) -> Any:
        path = name if isinstance(name, str) and name else getattr(fn, "__name__", None)
        path = path if isinstance(path, str) else _display_name(fn)
        return _wrap(fn, _Call(path, "internal", {"command.name": path}))

    if _is_target(name):
        fn, name = name, None
        return _apply(fn, build)
    return lambda fn: _apply(fn, build)


def _step(name: Any = None) -> Any:
    """A step inside a command: a child span and ``cli.step.duration``."""

    def build(fn: Any) -> Any:
        label = name if isinstance(name, str) and name else _display_name(fn)
        return _wrap(fn, _Call(label, "internal", {"step.name": label}))

    if _is_target(name):
        fn, name = name, None
        return _apply(fn, build)
    return lambda fn: _apply(fn, build)


def _timed(name: Any = None) -> Any:
    """The latency of any request: a span and ``app.request.duration`` with ``request.name``."""

    def build(fn: Any) -> Any:
        label = name if isinstance(name, str) and name else _display_name(fn)
        return _wrap(fn, _Call(label, "internal", {"request.name": label}))

    if _is_target(name):
        fn, name = name, None
        return _apply(fn, build)
    return lambda fn: _apply(fn, build)


def _llm_call(
    provider: Any = None,
    *,
    model: str | None = None,
    operation: str = "chat",
    extract: Extractor | None = None,
) -> Any:
    """An LLM request: a GenAI client span, its duration and its token usage.

    Usage and the response model are read from the return value (OpenAI- and Anthropic-shaped,
    objects or dicts) or by ``extract(result) -> dict`` with the keyword names of
    ``optel.record.genai.finish``. The request model is ``model=``, else the call's ``model``
    keyword argument. Without a provider, it is guessed from the result's package.
    """

    def build(target: Any) -> Any:
        return _wrap(target, _LLMCall(given, model, operation, extract))

    if _is_target(provider):
        given = None
        return _apply(provider, build)
    given = provider if isinstance(provider, str) and provider else None
    return lambda target: _apply(target, build)


class _LLMCall(_Call):
    __slots__ = ("extract", "model", "operation", "provider", "usage")

    def __init__(
        self,
        provider: str | None,
        model: str | None,
        operation: str,
        extract: Extractor | None,
    ) -> None:
        super().__init__(operation, "client", {})
        self.provider = provider
        self.model = model
        self.operation = operation
        self.extract = extract

    def open(self, args: tuple[Any, ...], kwargs: dict[str, Any], activate: bool) -> SpanHandle | None:
        model = self.model
        if model is None:
            asked = kwargs.get("model")
            model = asked if isinstance(asked, str) else None
        attrs: dict[str, object] = {
            "gen_ai.operation.name": self.operation,
            "gen_ai.provider.name": self.provider or "unknown",
        }
        if model is not None:
            attrs["gen_ai.request.model"] = model
        name = f"{self.operation} {model}" if model else self.operation
        if activate:
            return _spans.start(name, "client", attrs)
        return _spans.begin(name, "client", attrs)

    def finish(self, handle: SpanHandle, result: Any) -> None:
        if result is not None:
            self.each(handle, result)
        handle.end()

    def each(self, handle: SpanHandle, item: Any) -> None:
        try:
            facts = self._facts(item)
            if self.provider is None and "gen_ai.provider.name" in handle.attributes:
                guessed = _provider_of(item)
                if guessed is not None:
                    handle.attributes["gen_ai.provider.name"] = guessed
            _put_facts(handle, facts)
        except Exception:
            pass

    def _facts(self, result: Any) -> dict[str, Any]:
        if self.extract is not None:
            try:
                given = self.extract(result)
            except Exception:
                _log_debug("optel: the llm_call extractor raised; usage not recorded")
                return {}
            return dict(given) if given else {}
        return usage_of(result)


_FACT_ATTRIBUTES = {
    "response_model": "gen_ai.response.model",
    "input_tokens": "gen_ai.usage.input_tokens",
    "output_tokens": "gen_ai.usage.output_tokens",
    "cache_read_tokens": "gen_ai.usage.cache_read.input_tokens",
    "cache_creation_tokens": "gen_ai.usage.cache_creation.input_tokens",
    "finish_reasons": "gen_ai.response.finish_reasons",
}


def _put_facts(handle: SpanHandle, facts: Mapping[str, Any]) -> None:
    for key, value in facts.items():
        attr = _FACT_ATTRIBUTES.get(key, key if key in _FACT_ATTRIBUTES.values() else None)
        if attr is None or value is None:
            continue
        if attr == "gen_ai.response.finish_reasons":
            if isinstance(value, str):
                value = [value]
            value = [r for r in value if isinstance(r, str)]
            if not value:
                continue
        handle.attributes[attr] = value


def _get(obj: Any, key: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(key)
    try:
        return getattr(obj, key, None)
    except Exception:
        return None


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def usage_of(result: Any) -> dict[str, Any]:
    """Token usage, response model and finish reasons from an OpenAI- or Anthropic-shaped result.

    Objects and dicts both work. Anthropic reports cache reads and writes apart from
    ``input_tokens``; as the GenAI conventions ask, ``input_tokens`` here counts all of them.
    """
    facts: dict[str, Any] = {}
    model = _get(result, "model")
    if isinstance(model, str):
        facts["response_model"] = model
    usage = _get(result, "usage")
    if usage is not None:
        prompt = _count(_get(usage, "input_tokens"))
        if prompt is None:
            prompt = _count(_get(usage, "prompt_tokens"))
        output = _count(_get(usage, "output_tokens"))
        if output is None:
            output = _count(_get(usage, "completion_tokens"))
        cache_read = _count(_get(usage, "cache_read_input_tokens"))
        cache_creation = _count(_get(usage, "cache_creation_input_tokens"))
        if prompt is not None and (cache_read or cache_creation):
            prompt += (cache_read or 0) + (cache_creation or 0)
        if cache_read is None:
            details = _get(usage, "prompt_tokens_details") or _get(usage, "input_tokens_details")
            cache_read = _count(_get(details, "cached_tokens"))
        for key, value in (
            ("input_tokens", prompt),
            ("output_tokens", output),
            ("cache_read_tokens", cache_read),
            ("cache_creation_tokens", cache_creation),
        ):
            if value is not None:
                facts[key] = value
    stop = _get(result, "stop_reason")
    if isinstance(stop, str):
        facts["finish_reasons"] = [stop]
    else:
        choices = _get(result, "choices")
        if isinstance(choices, (list, tuple)):
            reasons = [r for r in (_get(c, "finish_reason") for c in choices) if isinstance(r, str)]
            if reasons:
                facts["finish_reasons"] = reasons
    return facts


def _provider_of(result: Any) -> str | None:
    module = getattr(type(result), "__module__", "") or ""
    top = module.partition(".")[0]
    return top if top in ("openai", "anthropic") else None


def _log_debug(message: str) -> None:
    import logging

    logging.getLogger("optel").debug(message)


# --- plain calls -----------------------------------------------------------------------------


def event(name: str, **attributes: Any) -> None:
    """A point event: a span event on the current span, or a zero-length span outside one.

    Only attribute names declared in the data dictionary or by the host
    (``init(attributes=[...])``) are kept.
    """
    if not _spans._on:
        return
    _spans.event(name, attributes or None)


def count_input() -> None:
    """Count one user input (``cli.user.inputs``)."""
    if not _spans._on:
        return
    _spans.measure("cli.user.inputs", 1)


if TYPE_CHECKING:

    @overload
    def command(name: F, /) -> F: ...
    @overload
    def command(name: str | None = None) -> Callable[[F], F]: ...
    def command(name: Any = None) -> Any: ...
    @overload
    def step(name: F, /) -> F: ...
    @overload
    def step(name: str | None = None) -> Callable[[F], F]: ...
    def step(name: Any = None) -> Any: ...
    @overload
    def timed(name: F, /) -> F: ...
    @overload
    def timed(name: str | None = None) -> Callable[[F], F]: ...
    def timed(name: Any = None) -> Any: ...
    @overload
    def llm_call(provider: F, /) -> F: ...
    @overload
    def llm_call(
        provider: str | None = None,
        *,
        model: str | None = None,
        operation: str = "chat",
        extract: Extractor | None = None,
    ) -> Callable[[F], F]: ...
    def llm_call(provider: Any = None, **options: Any) -> Any: ...

else:
    command, step, timed, llm_call = _command, _step, _timed, _llm_call
    for _public in (command, step, timed, llm_call):
        _public.__name__ = _public.__qualname__ = _public.__name__.lstrip("_")
    del _public
