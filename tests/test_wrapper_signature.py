"""Decorated functions are called exactly like the originals: parameters, defaults, errors, kinds.

Plain functions get a wrapper with their own parameter list (optel.record.wrappers.fitted); the rest
keep the ``*args, **kwargs`` wrapper. Either way a call must bind, fail and return as the
original does, with telemetry off and on.
"""

from __future__ import annotations

import asyncio
import functools
import inspect

import pytest

import optel
from optel.testing import capture


def positional(a, b):
    return ("positional", a, b)


def with_defaults(a, b=2, c=None):
    return ("with_defaults", a, b, c)


def positional_only(a, b=2, /, c=3):
    return ("positional_only", a, b, c)


def keyword_only(a, *, b, c=3):
    return ("keyword_only", a, b, c)


def star_args(a, *rest):
    return ("star_args", a, rest)


def star_kwargs(a, **options):
    return ("star_kwargs", a, options)


def everything(a, /, b, *rest, c, d=4, **options):
    return ("everything", a, b, rest, c, d, options)


def nothing():
    return ("nothing",)


def six(a, b, c, d, e, f=6):
    return ("six", a, b, c, d, e, f)


def seven(a, b, c, d, e, f, g=7):
    return ("seven", a, b, c, d, e, f, g)


def clashing(_optel_fn, _optel_on=1, wrapper=2, _spans=3):
    return ("clashing", _optel_fn, _optel_on, wrapper, _spans)


# (function, calls as (args, kwargs)): good calls and calls that must fail the same way.
CALLS = [
    (
        positional,
        [
            ((1, 2), {}),
            ((1,), {"b": 2}),
            ((), {"a": 1, "b": 2}),
            ((1,), {}),
            ((1, 2, 3), {}),
            ((1, 2), {"a": 1}),
            ((1, 2), {"z": 1}),
        ],
    ),
    (
        with_defaults,
        [
            ((1,), {}),
            ((1, 5), {}),
            ((1,), {"c": 7}),
            ((), {"a": 1, "b": 5, "c": 6}),
            ((), {}),
            ((1, 2, 3, 4), {}),
        ],
    ),
    (
        positional_only,
        [((1,), {}), ((1, 5, 6), {}), ((1,), {"c": 9}), ((), {"a": 1}), ((1,), {"b": 2})],
    ),
    (keyword_only, [((1,), {"b": 2}), ((1,), {"b": 2, "c": 4}), ((1, 2), {}), ((1,), {})]),
    (star_args, [((1,), {}), ((1, 2, 3), {}), ((), {"a": 1}), ((1,), {"rest": 2})]),
    (star_kwargs, [((1,), {}), ((1,), {"x": 2, "y": 3}), ((), {"a": 1, "x": 2}), ((1, 2), {})]),
    (
        everything,
        [
            ((1, 2), {"c": 3}),
            ((1, 2, 9, 9), {"c": 3, "d": 5, "z": 6}),
            ((1,), {"b": 2, "c": 3}),
            ((), {"a": 1, "b": 2, "c": 3}),
        ],
    ),
    (nothing, [((), {}), ((1,), {}), ((), {"x": 1})]),
    (
        six,
        [
            ((1, 2, 3, 4, 5), {}),
            ((1, 2, 3, 4, 5, 0), {}),
            ((1, 2, 3, 4), {"e": 5, "f": 0}),
            ((1, 2, 3, 4), {}),
        ],
    ),
    (seven, [((1, 2, 3, 4, 5, 6), {}), ((1, 2, 3, 4, 5, 6, 0), {}), ((1, 2, 3, 4, 5), {})]),
    (clashing, [((1,), {}), ((1, 2, 3, 4), {}), ((), {"_optel_fn": 1, "_spans": 0})]),
]

DECORATORS = {
    "command": optel.command("c"),
    "step": optel.step,
    "timed": optel.timed("t"),
    "llm_call": optel.llm_call(provider="openai"),
}


def outcome(fn, args, kwargs):
    try:
        return "returned", fn(*args, **kwargs)
    except TypeError as exc:
        # Python names the function by its qualified name; the wrapper carries the original's.
        return "TypeError", str(exc)


@pytest.mark.parametrize("recording", [False, True], ids=["off", "on"])
@pytest.mark.parametrize("decorator", list(DECORATORS), ids=list(DECORATORS))
@pytest.mark.parametrize(("fn", "calls"), CALLS, ids=[fn.__name__ for fn, _ in CALLS])
def test_a_decorated_function_binds_and_fails_like_the_original(fn, calls, decorator, recording):
    wrapped = DECORATORS[decorator](fn)
    for args, kwargs in calls:
        expected = outcome(fn, args, kwargs)
        if recording:
            with capture():
                got = outcome(wrapped, args, kwargs)
        else:
            got = outcome(wrapped, args, kwargs)
        assert got == expected, (args, kwargs)


@pytest.mark.parametrize(("fn", "calls"), CALLS, ids=[fn.__name__ for fn, _ in CALLS])
def test_signature_metadata_and_defaults_are_the_originals(fn, calls):
    wrapped = optel.step(fn)
    assert inspect.signature(wrapped) == inspect.signature(fn)
    assert wrapped.__wrapped__ is fn
    assert (wrapped.__name__, wrapped.__qualname__, wrapped.__module__) == (
        fn.__name__,
        fn.__qualname__,
        fn.__module__,
    )
    own = inspect.signature(wrapped, follow_wrapped=False)
    if own != inspect.signature(fn):
        # Only the *args, **kwargs wrapper may differ, and only for functions that pack anyway.
        assert str(own) == "(*args, **kwargs)"
        assert fn in (keyword_only, star_args, star_kwargs, everything, seven, clashing)


def test_plain_positional_functions_get_their_own_parameter_list():
    for fn in (positional, with_defaults, positional_only, nothing, six):
        wrapped = optel.step(fn)
        assert inspect.signature(wrapped, follow_wrapped=False) == inspect.signature(fn)
        assert wrapped.__defaults__ is fn.__defaults__


def test_a_mutable_default_is_the_originals_object():
    def collect(item, bucket=[]):  # noqa: B006 - the shared default is the point
        bucket.append(item)
        return bucket

    wrapped = optel.step(collect)
    assert wrapped(1) is collect(2)
    assert collect(3) == [1, 2, 3]


def test_the_wrapped_functions_own_exception_passes_through_unchanged():
    def fails(a, b=1):
        raise TypeError("mine")

    wrapped = optel.step(fails)
    for recording in (False, True):
        with pytest.raises(TypeError, match=r"^mine$") as caught:
            if recording:
                with capture():
                    wrapped(1)
            else:
                wrapped(1)
        tb = caught.value.__traceback__
        while tb.tb_next is not None:
            tb = tb.tb_next
        assert tb.tb_frame.f_code is fails.__code__


def test_methods_classmethods_and_staticmethods_take_keywords():
    class Tool:
        scale = 10

        @optel.step
        def method(self, x, y=1):
            return (self.scale * x) + y

        @optel.timed("k")
        @classmethod
        def klass(cls, x, /, y=2):
            return cls.scale * x + y

        @classmethod
        @optel.step
        def klass_inner(cls, x):
            return cls.scale - x

        @optel.command("s")
        @staticmethod
        def static(x, *, y=3):
            return x + y

        @staticmethod
        @optel.step
        def static_inner(x, y=4):
            return x * y

    tool = Tool()
    for recording in (False, True):
        with capture() as records:
            if not recording:
                optel.record.spans.set_recording(False)
            assert tool.method(2) == 21
            assert tool.method(x=2, y=5) == 25
            assert Tool.method(tool, 3) == 31
            assert Tool.klass(2) == 22 and tool.klass(2, y=0) == 20
            assert Tool.klass_inner(x=1) == 9
            assert Tool.static(1, y=1) == 2 and tool.static(1) == 4
            assert Tool.static_inner(x=2) == 8 and tool.static_inner(2, 2) == 4
            with pytest.raises(TypeError):
                Tool.klass(x=2)  # positional-only stays positional-only
        assert bool(records) is recording
    assert inspect.signature(Tool.method) == inspect.signature(Tool.__dict__["method"].__wrapped__)
    assert str(inspect.signature(tool.method)) == "(x, y=1)"
    assert str(inspect.signature(Tool.klass)) == "(x, /, y=2)"


def test_async_generator_and_async_generator_functions_keep_their_kind():
    async def coro(a, b=1):
        return a + b

    def gen(a, b=1):
        yield a
        yield b

    async def agen(a, b=1):
        yield a + b

    w_coro, w_gen, w_agen = optel.step(coro), optel.step(gen), optel.step(agen)
    assert inspect.iscoroutinefunction(w_coro)
    assert inspect.isgeneratorfunction(w_gen)
    assert inspect.isasyncgenfunction(w_agen)
    for original, wrapped in ((coro, w_coro), (gen, w_gen), (agen, w_agen)):
        assert inspect.signature(wrapped) == inspect.signature(original)

    async def run():
        return await w_coro(1, b=2), [x async for x in w_agen(a=1)]

    assert asyncio.run(run()) == (3, [2])
    assert list(w_gen(5, b=6)) == [5, 6]


def test_callables_without_their_own_code_are_wrapped_as_they_are_called():
    class Adder:
        def __call__(self, a, b=1):
            return a + b

        def method(self, a):
            return a * 2

    base = Adder()
    for target, call, expected in (
        (functools.partial(with_defaults, 1), lambda w: w(b=5), ("with_defaults", 1, 5, None)),
        (base, lambda w: w(1, b=2), 3),
        (base.method, lambda w: w(a=4), 8),
        (len, lambda w: w([1, 2]), 2),
    ):
        wrapped = optel.step(target)
        with capture() as records:
            assert call(wrapped) == expected
        assert len([r for r in records if r["t"] == "span"]) == 1


def test_recursion_and_a_function_decorated_twice():
    @optel.step
    @optel.timed("inner")
    def countdown(n):
        return 0 if n == 0 else 1 + countdown(n - 1)

    with capture() as records:
        assert countdown(3) == 3
    assert len([r for r in records if r["t"] == "span"]) == 8


@pytest.mark.parametrize(
    ("call", "model"),
    [
        (lambda ask: ask("hi", "gpt-4o"), "gpt-4o"),
        (lambda ask: ask("hi", model="gpt-4o-mini"), "gpt-4o-mini"),
        (lambda ask: ask(prompt="hi"), "gpt-4.1"),
    ],
    ids=["by-position", "by-keyword", "its-default"],
)
def test_llm_call_request_model_is_the_calls_model_argument(call, model):
    @optel.llm_call(provider="openai")
    def ask(prompt, model="gpt-4.1"):
        return {"model": model, "usage": {"prompt_tokens": 1, "completion_tokens": 1}}

    with capture() as records:
        call(ask)
    (span,) = [r for r in records if r["t"] == "span"]
    assert span["name"] == f"chat {model}"
    assert span["attributes"]["gen_ai.request.model"] == model


def test_llm_call_model_from_keyword_arguments_of_a_packing_function():
    @optel.llm_call(provider="anthropic")
    def ask(prompt, **options):
        return None

    with capture() as records:
        ask("hi", model="claude-3-haiku-20240307", temperature=0)
        ask("hi")
    first, second = [r for r in records if r["t"] == "span"]
    assert first["attributes"]["gen_ai.request.model"] == "claude-3-haiku-20240307"
    assert "gen_ai.request.model" not in second["attributes"]
    assert second["name"] == "chat"
