"""How ``@optel.llm_call`` records a call, with its hot path for plain functions.

The request model comes from the call's arguments, the response is read by the one GenAI reader
(``optel.record.genai``).

A plain function's token counts are left on its span as the usage object the response carries
and read at flush (``genai.read_usage``): the call itself pays for no reading it can defer.
"""

from __future__ import annotations

from time import time_ns

from optel.record import genai as _genai
from optel.record import names as _n
from optel.record import spans as _spans
from optel.record.genai_spans import first_chunk
from optel.record.spans import _current
from optel.record.wrappers import Call, log_debug

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

    from optel.record.spans import SpanHandle

    Extractor = Callable[[Any], "Mapping[str, Any]"]

# A host calls with a handful of models; one that makes up names per call gets no cache past this.
_MODELS_KEPT = 64
_FUNCTION = type(first_chunk)  # a plain Python function


def model_parameter(fn: Any) -> tuple[int, object] | None:
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


class LLMCall(Call):
    """An ``@optel.llm_call`` function's calls: a GenAI client span each, named by the model."""

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

    def plain(self, fn: Any) -> Callable[..., Any]:
        return wrap_llm(fn, self)

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
            first_chunk(handle, time_ns())
        self._read(handle, item)

    def _read(self, handle: SpanHandle, item: Any) -> None:
        try:
            if self.extract is None:
                usage = _genai.read_response(item, handle.attributes)
                _genai.usage_attributes(usage, handle.attributes)
            else:
                _genai.put_facts(handle.attributes, self._extracted(item))
            if self.provider is None:
                self.guess_provider(handle, item)
        except Exception:
            pass

    def read_later(self, handle: SpanHandle, result: Any) -> None:
        """``_read`` for a plain function's result, its token counts left for the flush."""
        try:
            if self.extract is None:
                usage = _genai.read_response(result, handle.attributes)
                if usage is not None:
                    # A dict is copied: a host may reuse it (a running total) after the call.
                    handle._usage = usage.copy() if type(usage) is dict else usage
                if self.provider is None:
                    self.guess_provider(handle, result)
            else:
                self.each(handle, result)
        except Exception:
            pass

    def guess_provider(self, handle: SpanHandle, result: Any) -> None:
        module = getattr(type(result), "__module__", "") or ""
        top = module.partition(".")[0]
        if top in ("openai", "anthropic"):
            handle.attributes[_n.GEN_AI_PROVIDER_NAME] = _genai.provider_name(top)

    def _extracted(self, result: Any) -> dict[str, Any]:
        try:
            given = self.extract(result)  # type: ignore[misc]
        except Exception:
            log_debug("optel: the llm_call extractor raised; usage not recorded")
            return {}
        return dict(given) if given else {}


def wrap_llm(fn: Any, call: LLMCall) -> Callable[..., Any]:
    """The generic wrapper of a plain ``@llm_call`` function, with the common case inlined.

    The hot path of an LLM app, where each method call costs a measurable share of the few µs a
    span costs: the span's name and attributes are known in advance unless the model comes from
    the call (then from ``by_model`` for a model seen before), and ``spans.start`` is inlined
    (an LLM call's attributes never name a command).
    """
    fixed = call.model is not None
    unasked = call.model_parameter is None
    at, default = call.model_parameter or (0, None)
    by_model = call.by_model
    span = _spans.SpanHandle
    commands = _spans._open_commands
    read_later = call.read_later

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not _spans._on:
            return fn(*args, **kwargs)
        known: tuple[str, dict[str, object]] | None
        if fixed or (unasked and not kwargs):
            known = (call.name, call.attributes)
        else:
            asked = kwargs.get("model") if kwargs else None
            if asked is None and not unasked:
                asked = args[at] if len(args) > at else default
            known = by_model.get(asked) if type(asked) is str else None
        if known is not None:
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
            read_later(handle, result)
        handle.end()
        return result

    return wrapper
