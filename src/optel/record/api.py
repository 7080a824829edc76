"""The public recording API: ``@command``, ``@step``, ``@llm_call``, ``@timed``, ``event``, ``count_input``.

Each decorator works with or without parentheses on plain, async, generator and async-generator
functions, on methods, staticmethods, classmethods, properties and cached properties (their
getter is decorated): ``optel.record.wrappers`` builds the wrappers (a plain function's with its
own parameters), ``optel.record.llm_wrap`` reads an LLM call.
"""

from __future__ import annotations

from optel.record import names as _n
from optel.record import spans as _spans
from optel.record.wrappers import Call, CommandCall, apply, display_name, is_target, shape_of, wrap

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any, TypeVar, overload

    F = TypeVar("F", bound=Callable[..., Any])
    Extractor = Callable[[Any], "Mapping[str, Any]"]


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
        path = path if isinstance(path, str) else display_name(fn)
        return wrap(fn, CommandCall(path, "internal", {_n.COMMAND_NAME: path}, exit_code))

    if is_target(name):
        fn, name = name, None
        return apply(fn, build)
    return lambda fn: apply(fn, build)


def _step(name: Any = None) -> Any:
    """A step inside a command: a child span and ``optel.cli.step.duration``."""

    def build(fn: Any) -> Any:
        label = name if isinstance(name, str) and name else display_name(fn)
        return wrap(fn, Call(label, "internal", {_n.STEP_NAME: label}))

    if is_target(name):
        fn, name = name, None
        return apply(fn, build)
    return lambda fn: apply(fn, build)


def _timed(name: Any = None) -> Any:
    """The latency of any request: a span and ``optel.request.duration`` with ``request.name``."""

    def build(fn: Any) -> Any:
        label = name if isinstance(name, str) and name else display_name(fn)
        return wrap(fn, Call(label, "internal", {_n.REQUEST_NAME: label}))

    if is_target(name):
        fn, name = name, None
        return apply(fn, build)
    return lambda fn: apply(fn, build)


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
    ``optel.record.genai.FACTS``. The request model is ``model=``, else the call's ``model``
    argument (by keyword, by position, or its default). Without a provider, it is guessed from
    the result's package.
    """

    # Read by the consent prompt, which tells the user what this app records (LLM calls or not).
    declared.add("llm")
    # Loaded by the first @llm_call: a CLI that makes none never imports the GenAI reader.
    from optel.record.llm_wrap import LLMCall, model_parameter

    def build(target: Any) -> Any:
        streamed = shape_of(target) in ("gen", "asyncgen")
        call = LLMCall(given, model, operation, extract, model_parameter(target), streamed)
        return wrap(target, call)

    if is_target(provider):
        given = None
        return apply(provider, build)
    given = provider if isinstance(provider, str) and provider else None
    return lambda target: apply(target, build)


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
