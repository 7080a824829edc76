"""The public recording API: ``@command``, ``@step``, ``@llm_call``, ``@timed``, ``event``, ``count_input``.

Each decorator works with or without parentheses on plain, async, generator and async-generator
functions, on methods, staticmethods, classmethods, properties and cached properties (their
getter is decorated). A wrapper's first act is to read one module global: before
``optel.init()``, or with telemetry off, it calls the function and nothing else; a plain function's wrapper has the function's own parameters, so that call costs ~50 ns
(see ``_fitted``). An LLM call's token counts are read at flush (``spans.take``). Metadata is
copied by hand (``functools`` and ``inspect`` are too dear to import here);
``__wrapped__`` makes ``inspect.signature`` see the original. An exception is recorded and
re-raised with a bare ``raise``, so its type, identity and traceback are unchanged.
"""

from __future__ import annotations

from time import time_ns

from optel.record import genai as _genai
from optel.record import names as _n
from optel.record import spans as _spans
from optel.record.genai import read_response
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

_COPIED = (
    "__module__",
    "__name__",
    "__qualname__",
    "__doc__",
    "__annotations__",
    "__type_params__",
)


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


def _is_cached_property(value: Any) -> bool:
    # functools.cached_property by its shape: importing functools here costs the host ~1 ms.
    return type(value).__name__ == "cached_property" and callable(getattr(value, "func", None))


def _is_target(value: Any) -> bool:
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


def _apply(target: Any, build: Callable[[Any], Any]) -> Any:
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
        _log_debug(f"optel: could not decorate a {type(target).__name__}; it runs unrecorded")
        return target


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


class _CommandCall(_Call):
    """A command declared with ``exit_code=True``: the int it returns is its exit code."""

    __slots__ = ()

    def finish(self, handle: SpanHandle, result: Any) -> None:
        if type(result) is int:
            handle.set(_n.PROCESS_EXIT_CODE, result)
            if result:
                # The CLI semantic conventions: a non-zero exit is an error, typed by its code.
                handle.fail(str(result))
        handle.end()


def _wrap(fn: Any, call: _Call) -> Any:
    shape = _shape(fn)
    if shape == "async":
        wrapper = _wrap_async(fn, call)
    elif shape == "gen":
        wrapper = _wrap_gen(fn, call)
    elif shape == "asyncgen":
        wrapper = _wrap_asyncgen(fn, call)
    else:
        if type(call) is _Call:
            wrapper = _wrap_plain(fn, call)
        elif type(call) is _LLMCall:
            wrapper = _wrap_llm(fn, call)
        else:
            wrapper = _wrap_plain_finishing(fn, call)
        wrapper = _fitted(fn, wrapper)
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


def _wrap_llm(fn: Any, call: _LLMCall) -> Callable[..., Any]:
    # _wrap_plain_finishing with the LLM call's open() and finish() inlined: the hot path of an
    # LLM app, where each method call costs a measurable share of the few µs a span costs.
    # The span's name and attributes are known in advance unless the model comes from the call.
    fixed = call.model is not None
    unasked = call.model_parameter is None
    at, default = call.model_parameter or (0, None)
    by_model = call.by_model
    span = _spans.SpanHandle
    commands = _spans._open_commands
    unextracted = call.extract is None
    guess = call.provider is None

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not _spans._on:
            return fn(*args, **kwargs)
        known: tuple[str, dict[str, object]] | None
        if fixed or (unasked and not kwargs):
            known = (call.name, call.attributes)
        else:
            # call.open(), with its common case (a model seen before) inlined.
            asked = kwargs.get("model") if kwargs else None
            if asked is None and not unasked:
                asked = args[at] if len(args) > at else default
            known = by_model.get(asked) if type(asked) is str else None
        if known is not None:
            # spans.start(), inlined: an LLM call's attributes never name a command.
            try:
                parent = _current.get()
                if parent is None and len(commands) == 1:
                    parent = commands[0]
                handle: SpanHandle | None = span(known[0], "client", known[1], parent)
                handle._token = _current.set(handle)  # type: ignore[union-attr]
            except Exception:
                handle = None
        else:
            handle = call.open(args, kwargs, True)
        if handle is None:
            return fn(*args, **kwargs)
        try:
            # Without keywords (always, from a wrapper with fn's parameters) the call skips
            # unpacking an empty dict.
            result = fn(*args, **kwargs) if kwargs else fn(*args)
        except BaseException as exc:
            handle.end(exc)
            raise
        if result is not None:
            try:
                if unextracted:
                    usage = read_response(result, handle.attributes)
                    if usage is not None:
                        # The token counts are read when the span is cleaned for a flush
                        # (spans.read_usage). A dict is copied: a host may reuse it (a running
                        # total) after the call returned.
                        handle._usage = usage.copy() if type(usage) is dict else usage
                    if guess:
                        call.guess_provider(handle, result)
                else:
                    call.each(handle, result)
            except Exception:
                pass
        handle.end()
        return result

    return wrapper


# --- wrappers with the wrapped function's own parameters ---------------------------------------
#
# A ``*args, **kwargs`` wrapper costs ~200 ns per call even when it does nothing: CPython packs a
# tuple and a dict and cannot inline the call. A wrapper whose parameters are those of the
# function (same names, same defaults, same positional-only count) is called like the function
# itself, and with telemetry off does one global read and one plain call. Its code is one of the
# templates below with the parameters renamed (``code.replace``): no ``compile``, no ``inspect``,
# a few µs per decorated function. With telemetry on it hands the arguments, positionally, to the
# ``*args, **kwargs`` wrapper, which does the recording. Functions with ``*args``, ``**kwargs``
# or keyword-only parameters (whose calls pack anyway) keep the ``*args, **kwargs`` wrapper.

_CO_VARARGS = 0x04
_CO_VARKEYWORDS = 0x08
_FUNCTION = type(_shape)


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


def _fitted(fn: Any, generic: Callable[..., Any]) -> Callable[..., Any]:
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

# What kinds of calls the host declared ("llm"), for the consent prompt's description.
declared: set[str] = set()


def _command(name: Any = None, *, exit_code: bool = False) -> Any:
    """A CLI command: a span named by the command path, its count and its duration.

    With ``exit_code=True`` the int the command returns is its exit code (the
    ``sys.exit(main())`` habit): recorded as ``process.exit.code``, and anything but 0 makes the
    command a failure typed by the code. Without it, what a command returns is not looked at.
    """

    def build(fn: Any) -> Any:
        path = name if isinstance(name, str) and name else getattr(fn, "__name__", None)
        path = path if isinstance(path, str) else _display_name(fn)
        kind = _CommandCall if exit_code else _Call
        return _wrap(fn, kind(path, "internal", {_n.COMMAND_NAME: path}))

    if _is_target(name):
        fn, name = name, None
        return _apply(fn, build)
    return lambda fn: _apply(fn, build)


def _step(name: Any = None) -> Any:
    """A step inside a command: a child span and ``optel.cli.step.duration``."""

    def build(fn: Any) -> Any:
        label = name if isinstance(name, str) and name else _display_name(fn)
        return _wrap(fn, _Call(label, "internal", {_n.STEP_NAME: label}))

    if _is_target(name):
        fn, name = name, None
        return _apply(fn, build)
    return lambda fn: _apply(fn, build)


def _timed(name: Any = None) -> Any:
    """The latency of any request: a span and ``optel.request.duration`` with ``request.name``."""

    def build(fn: Any) -> Any:
        label = name if isinstance(name, str) and name else _display_name(fn)
        return _wrap(fn, _Call(label, "internal", {_n.REQUEST_NAME: label}))

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
    argument (by keyword, by position, or its default). Without a provider, it is guessed from
    the result's package.
    """

    # Read by the consent prompt, which tells the user what this app records (LLM calls or not).
    declared.add("llm")

    def build(target: Any) -> Any:
        streamed = _shape(target) in ("gen", "asyncgen")
        call = _LLMCall(given, model, operation, extract, _model_parameter(target), streamed)
        return _wrap(target, call)

    if _is_target(provider):
        given = None
        return _apply(provider, build)
    given = provider if isinstance(provider, str) and provider else None
    return lambda target: _apply(target, build)


# A host calls with a handful of models; one that makes up names per call gets no cache past this.
_MODELS_KEPT = 64


def _model_parameter(fn: Any) -> tuple[int, object] | None:
    """Where a call passes ``model`` positionally, and its default: (index, default or None)."""
    code = getattr(fn, "__code__", None) if type(fn) is _FUNCTION else None
    if code is None:
        return None
    try:
        names = code.co_varnames[: code.co_argcount]
        if "model" not in names:
            return None
        index = names.index("model")
        defaults = fn.__defaults__ or ()
        first_default = len(names) - len(defaults)
        return index, defaults[index - first_default] if index >= first_default else None
    except Exception:
        return None


class _LLMCall(_Call):
    __slots__ = (
        "by_model",
        "extract",
        "model",
        "model_parameter",
        "operation",
        "provider",
        "streamed",
    )

    def __init__(
        self,
        provider: str | None,
        model: str | None,
        operation: str,
        extract: Extractor | None,
        model_parameter: tuple[int, object] | None = None,
        streamed: bool = False,
    ) -> None:
        attributes: dict[str, object] = {
            _n.GEN_AI_OPERATION_NAME: operation,
            _n.GEN_AI_PROVIDER_NAME: _genai.provider_name(provider),
        }
        if model is not None:
            attributes[_n.GEN_AI_REQUEST_MODEL] = model
        if streamed:
            # A generator yields the response chunk by chunk: a streamed call.
            attributes[_n.GEN_AI_REQUEST_STREAM] = True
        self.streamed = streamed
        super().__init__(f"{operation} {model}" if model else operation, "client", attributes)
        self.provider = provider
        self.model = model
        self.operation = operation
        self.extract = extract
        self.model_parameter = model_parameter
        # The span name and attributes per model the calls asked for, made once each.
        self.by_model: dict[str, tuple[str, dict[str, object]]] = {}

    def open(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], activate: bool
    ) -> SpanHandle | None:
        name, attrs = self.name, self.attributes
        if self.model is None:
            asked = kwargs.get("model") if kwargs else None
            where = self.model_parameter
            if asked is None and where is not None:
                asked = args[where[0]] if len(args) > where[0] else where[1]
            if isinstance(asked, str) and asked:
                known = self.by_model.get(asked)
                if known is None:
                    known = (f"{self.operation} {asked}", {**attrs, _n.GEN_AI_REQUEST_MODEL: asked})
                    if len(self.by_model) < _MODELS_KEPT:
                        self.by_model[asked] = known
                name, attrs = known
        if activate:
            return _spans.start(name, "client", attrs)
        return _spans.begin(name, "client", attrs)

    def finish(self, handle: SpanHandle, result: Any) -> None:
        if result is not None:
            self._read(handle, result)
        handle.end()

    def each(self, handle: SpanHandle, item: Any) -> None:
        if self.streamed:
            _genai.first_chunk(handle, time_ns())
        self._read(handle, item)

    def _read(self, handle: SpanHandle, item: Any) -> None:
        try:
            if self.extract is None:
                _genai.usage_attributes(read_response(item, handle.attributes), handle.attributes)
            else:
                _put_facts(handle, self._extracted(item))
            if self.provider is None:
                self.guess_provider(handle, item)
        except Exception:
            pass

    def guess_provider(self, handle: SpanHandle, result: Any) -> None:
        guessed = _provider_of(result)
        if guessed is not None:
            handle.attributes[_n.GEN_AI_PROVIDER_NAME] = guessed

    def _extracted(self, result: Any) -> dict[str, Any]:
        try:
            given = self.extract(result)  # type: ignore[misc]
        except Exception:
            _log_debug("optel: the llm_call extractor raised; usage not recorded")
            return {}
        return dict(given) if given else {}


# What an ``extract=`` function returns (the keyword names of genai.finish), and the span
# attribute of each.
_FACT_ATTRIBUTES = {
    "response_model": _n.GEN_AI_RESPONSE_MODEL,
    "response_id": _n.GEN_AI_RESPONSE_ID,
    "input_tokens": _n.GEN_AI_USAGE_INPUT_TOKENS,
    "output_tokens": _n.GEN_AI_USAGE_OUTPUT_TOKENS,
    "cache_read_tokens": _n.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    "cache_creation_tokens": _n.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
    "reasoning_tokens": _n.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
    "finish_reasons": _n.GEN_AI_RESPONSE_FINISH_REASONS,
}
_ATTRIBUTE_NAMES = frozenset(_FACT_ATTRIBUTES.values())


def _put_facts(handle: SpanHandle, facts: Mapping[str, Any]) -> None:
    for key, value in facts.items():
        attr = _FACT_ATTRIBUTES.get(key, key if key in _ATTRIBUTE_NAMES else None)
        if attr is None or value is None:
            continue
        if attr == _n.GEN_AI_RESPONSE_FINISH_REASONS:
            if isinstance(value, str):
                value = [value]
            value = [r for r in value if isinstance(r, str)]
            if not value:
                continue
        handle.attributes[attr] = value


def _put_usage(handle: SpanHandle, usage: Any) -> None:
    """The token counts of a call's usage, read at flush (``spans.read_usage``)."""
    try:
        _genai.usage_attributes(usage, handle.attributes)
    except Exception:
        pass


def _provider_of(result: Any) -> str | None:
    module = getattr(type(result), "__module__", "") or ""
    top = module.partition(".")[0]
    return _genai.provider_name(top) if top in ("openai", "anthropic") else None


def _log_debug(message: str) -> None:
    from optel._logger import logger

    logger().debug(message)


# --- plain calls -----------------------------------------------------------------------------


def event(name: str | None = None, /, **attributes: Any) -> None:
    """A point event: a span event on the current span, or a zero-length span outside one.

    Only attribute names declared in the data dictionary or by the host
    (``init(attributes=[...])``) are kept. ``name`` is positional-only, so that an attribute
    called ``name`` is an attribute; without a positional name, a ``name=`` keyword names the
    event (never a TypeError in the host).
    """
    if not _spans._on:
        return
    if name is None:
        name = attributes.pop("name", None)
        if name is None:
            return
    _spans.event(name, attributes or None)


def count_input() -> None:
    """Count one user input (``optel.cli.user.inputs``)."""
    if not _spans._on:
        return
    _spans.measure(_n.OPTEL_USER_INPUTS, 1)


if TYPE_CHECKING:

    @overload
    def command(name: F, /) -> F: ...
    @overload
    def command(name: str | None = None, *, exit_code: bool = False) -> Callable[[F], F]: ...
    def command(name: Any = None, *, exit_code: bool = False) -> Any: ...
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
