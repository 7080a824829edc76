"""The decorators: every function shape, with and without parentheses, before init, on failure."""

from __future__ import annotations

import asyncio
import inspect
import sys

import pytest

import optel
from optel.testing import capture


def spans(records):
    return [r for r in records if r["t"] == "span"]


def metrics(records, name):
    return [r for r in records if r["t"] == "metric" and r["name"] == name]


def only_span(records):
    (span,) = spans(records)
    return span


# --- shapes -----------------------------------------------------------------------------------


@pytest.mark.parametrize("parentheses", [True, False])
def test_step_on_a_plain_function_records_a_span_and_its_duration(parentheses):
    def work(x, y=2):
        """Doc."""
        return x + y

    decorated = optel.step()(work) if parentheses else optel.step(work)
    with capture() as records:
        assert decorated(1, y=3) == 4
    span = only_span(records)
    assert span["name"] == "test_step_on_a_plain_function_records_a_span_and_its_duration.work"
    assert span["attributes"] == {"step.name": span["name"]}
    assert span["kind"] == "internal"
    assert span["status"] == "unset"
    (duration,) = metrics(records, "optel.cli.step.duration")
    assert duration["attributes"] == {"step.name": span["name"]}
    assert duration["value"] == (span["end_ns"] - span["start_ns"]) / 1e9


def test_step_name_can_be_given():
    @optel.step("load config")
    def load():
        return 1

    with capture() as records:
        load()
    assert only_span(records)["name"] == "load config"


def test_metadata_and_signature_are_those_of_the_function():
    def work(a: int, *, b: str = "x") -> str:
        """Does work."""
        return b * a

    work.custom = "kept"
    for decorator in (
        optel.command(),
        optel.step,
        optel.timed("t"),
        optel.llm_call(provider="openai"),
    ):
        wrapped = decorator(work)
        assert wrapped.__name__ == "work"
        assert wrapped.__qualname__ == work.__qualname__
        assert wrapped.__doc__ == "Does work."
        assert wrapped.__module__ == __name__
        assert wrapped.__wrapped__ is work
        assert wrapped.custom == "kept"
        assert inspect.signature(wrapped) == inspect.signature(work)


def test_async_function_is_recorded_around_its_awaiting():
    @optel.step
    async def fetch(delay):
        await asyncio.sleep(delay)
        return "done"

    assert inspect.iscoroutinefunction(fetch)
    with capture() as records:
        assert asyncio.run(fetch(0.01)) == "done"
    span = only_span(records)
    assert span["end_ns"] - span["start_ns"] >= 10_000_000


def test_generator_span_covers_the_whole_iteration_and_ends_on_exhaustion():
    @optel.step
    def numbers(n):
        yield from range(n)
        return "finished"

    assert inspect.isgeneratorfunction(numbers)
    with capture() as records:
        gen = numbers(3)
        assert next(gen) == 0
        assert spans(records) == []
        assert list(gen) == [1, 2]
    assert only_span(records)["status"] == "unset"


def test_generator_closed_early_ends_its_span_without_error():
    @optel.step
    def forever():
        n = 0
        while True:
            yield n
            n += 1

    with capture() as records:
        gen = forever()
        next(gen)
        gen.close()
    span = only_span(records)
    assert span["status"] == "unset"
    assert "error.type" not in span["attributes"]


def test_generator_forwards_send_and_throw():
    @optel.step
    def echo():
        received = []
        try:
            while True:
                received.append((yield len(received)))
        except KeyError:
            yield received

    with capture() as records:
        gen = echo()
        assert next(gen) == 0
        assert gen.send("a") == 1
        assert gen.throw(KeyError("stop")) == ["a"]
        gen.close()
    assert only_span(records)["status"] == "unset"


def test_generator_error_is_recorded_and_reraised():
    @optel.step
    def broken():
        yield 1
        raise RuntimeError("boom")

    with capture() as records:
        gen = broken()
        next(gen)
        with pytest.raises(RuntimeError, match="boom"):
            next(gen)
    assert only_span(records)["attributes"]["error.type"] == "RuntimeError"


def test_async_generator_span_covers_iteration_and_forwards_asend():
    @optel.step
    async def ticks(n):
        for i in range(n):
            got = yield i
            if got == "stop":
                return

    assert inspect.isasyncgenfunction(ticks)

    async def main():
        out = [i async for i in ticks(3)]
        agen = ticks(10)
        first = await agen.__anext__()
        with pytest.raises(StopAsyncIteration):
            await agen.asend("stop")
        return out, first

    with capture() as records:
        assert asyncio.run(main()) == ([0, 1, 2], 0)
    assert len(spans(records)) == 2


def test_async_generator_closed_early_ends_its_span():
    @optel.step
    async def forever():
        while True:
            yield 1

    async def main():
        agen = forever()
        await agen.__anext__()
        await agen.aclose()

    with capture() as records:
        asyncio.run(main())
    assert only_span(records)["status"] == "unset"


def test_methods_staticmethods_and_classmethods():
    class Tool:
        factor = 3

        @optel.step
        def method(self, x):
            return x * self.factor

        @optel.step()
        @staticmethod
        def static(x):
            return x + 1

        @optel.step
        @classmethod
        def klass(cls, x):
            return x * cls.factor

        @staticmethod
        @optel.step
        def static_inner(x):
            return x - 1

    with capture() as records:
        assert Tool().method(2) == 6
        assert Tool.static(2) == 3
        assert Tool().static(2) == 3
        assert Tool.klass(2) == 6
        assert Tool.static_inner(2) == 1
    names = [s["name"] for s in spans(records)]
    assert names == [
        "test_methods_staticmethods_and_classmethods.Tool.method",
        "test_methods_staticmethods_and_classmethods.Tool.static",
        "test_methods_staticmethods_and_classmethods.Tool.static",
        "test_methods_staticmethods_and_classmethods.Tool.klass",
        "test_methods_staticmethods_and_classmethods.Tool.static_inner",
    ]


def test_decorators_record_nothing_before_init():
    @optel.command
    def cmd():
        optel.event("x")
        optel.count_input()
        return step()

    @optel.step
    def step():
        return 42

    assert optel.record.spans.recording() is False
    assert cmd() == 42
    assert optel.record.spans.take() == []


def test_a_class_is_returned_unchanged():
    class Thing:
        pass

    assert optel.step(Thing) is Thing


# --- commands, timed requests, events, inputs -------------------------------------------------


def test_command_records_span_count_and_duration():
    @optel.command("deploy")
    def deploy():
        pass

    with capture() as records:
        deploy()
    span = only_span(records)
    assert span["name"] == "deploy"
    assert span["parent_span_id"] is None
    # The CLI conventions require the exit code on every command span: 0 for a success.
    assert span["attributes"] == {"command.name": "deploy", "process.exit.code": 0}
    (count,) = metrics(records, "optel.cli.command.invocations")
    assert count["value"] == 1
    assert count["attributes"] == {"command.name": "deploy", "outcome": "success"}
    (duration,) = metrics(records, "optel.cli.command.duration")
    assert duration["attributes"] == {"command.name": "deploy", "outcome": "success"}


def test_a_command_declared_with_exit_code_that_returns_zero_records_it_and_succeeds():
    @optel.command(exit_code=True)
    def deploy() -> int:
        return 0

    with capture() as records:
        assert deploy() == 0
    span = only_span(records)
    assert span["status"] == "unset"
    assert span["attributes"] == {"command.name": "deploy", "process.exit.code": 0}
    (count,) = metrics(records, "optel.cli.command.invocations")
    assert count["attributes"] == {"command.name": "deploy", "outcome": "success"}


def test_a_command_declared_with_exit_code_that_returns_non_zero_is_a_failure_typed_by_the_code():
    @optel.command(exit_code=True)
    def check() -> int:
        return 3

    @optel.command("check-async", exit_code=True)
    async def check_async() -> int:
        return 2

    with capture() as records:
        assert check() == 3
        assert asyncio.run(check_async()) == 2
    first, second = (r for r in records if r["t"] == "span")
    assert first["status"] == "error"
    assert first["attributes"] == {
        "command.name": "check",
        "process.exit.code": 3,
        "error.type": "3",
    }
    assert second["attributes"]["process.exit.code"] == 2
    outcomes = sorted(
        m["attributes"]["outcome"] for m in metrics(records, "optel.cli.command.invocations")
    )
    assert outcomes == ["failure", "failure"]
    assert sorted(m["attributes"]["error.type"] for m in metrics(records, "optel.cli.errors")) == [
        "2",
        "3",
    ]


def test_what_a_command_returns_is_not_looked_at_unless_it_is_declared_an_exit_code():
    @optel.command
    def count() -> int:
        return 7

    @optel.command(exit_code=True)
    def listing() -> list[str]:
        return ["a"]

    @optel.command(exit_code=True)
    def flag() -> bool:
        return False

    with capture() as records:
        assert count() == 7
        listing()
        flag()
    for span in (r for r in records if r["t"] == "span"):
        # Not what it returned: a command that returns without raising exited with 0.
        assert span["attributes"]["process.exit.code"] == 0
        assert span["status"] == "unset"


def test_a_command_that_raises_exits_as_python_would_and_its_span_says_so():
    @optel.command
    def crash() -> None:
        raise ValueError("boom")

    @optel.command
    def interrupted() -> None:
        raise KeyboardInterrupt

    with capture() as records:
        for command in (crash, interrupted):
            with pytest.raises((ValueError, KeyboardInterrupt)):
                command()
    codes = {
        r["attributes"]["command.name"]: r["attributes"]["process.exit.code"]
        for r in records
        if r["t"] == "span"
    }
    assert codes == {"crash": 1, "interrupted": 130}


def test_command_ending_with_sys_exit_zero_is_a_success():
    @optel.command
    def done():
        sys.exit(0)

    with capture() as records, pytest.raises(SystemExit):
        done()
    span = only_span(records)
    assert span["status"] == "unset"
    assert span["attributes"] == {"command.name": "done", "process.exit.code": 0}
    assert metrics(records, "optel.cli.errors") == []


def test_command_ending_with_sys_exit_two_is_a_failure_with_its_code():
    @optel.command
    def bad():
        sys.exit(2)

    with capture() as records, pytest.raises(SystemExit):
        bad()
    span = only_span(records)
    assert span["status"] == "error"
    assert span["attributes"]["process.exit.code"] == 2
    assert (
        metrics(records, "optel.cli.command.invocations")[0]["attributes"]["outcome"] == "failure"
    )


def test_timed_records_request_duration():
    @optel.timed("fetch-index")
    def fetch():
        return b""

    with capture() as records:
        fetch()
    assert only_span(records)["attributes"] == {"request.name": "fetch-index"}
    (duration,) = metrics(records, "optel.request.duration")
    assert duration["attributes"] == {"request.name": "fetch-index"}


def test_event_inside_a_span_is_a_span_event_and_outside_a_zero_length_span():
    @optel.step("s")
    def work():
        optel.event("cache.miss", plan="pro", password="hunter2")

    with capture(attributes={"plan"}) as records:
        work()
        optel.event("startup", plan="free")
    inside, outside = spans(records)
    (event,) = inside["events"]
    assert event["name"] == "cache.miss"
    assert event["attributes"] == {"plan": "pro"}
    assert outside["name"] == "startup"
    assert outside["start_ns"] == outside["end_ns"]
    assert outside["attributes"] == {"plan": "free"}


def test_an_event_attribute_called_name_is_an_attribute_not_an_error():
    with capture(attributes={"name"}) as records:
        optel.event("signup", name="pro plan")
    assert only_span(records)["name"] == "signup"
    assert only_span(records)["attributes"] == {"name": "pro plan"}


def test_count_input_counts_user_inputs():
    with capture() as records:
        optel.count_input()
        optel.count_input()
    assert [m["value"] for m in metrics(records, "optel.cli.user.inputs")] == [1, 1]


# --- exceptions -------------------------------------------------------------------------------


def _raise_here():
    raise ValueError("cannot read /home/alice/notes.txt")


def test_exception_is_reraised_unchanged_with_its_traceback_and_recorded_scrubbed():
    original = ValueError("x")

    @optel.command("c")
    def outer():
        inner()

    @optel.step("s")
    def inner():
        _raise_here()

    with capture() as records, pytest.raises(ValueError) as caught:
        outer()
    exc = caught.value
    assert type(exc) is ValueError and exc is not original
    assert str(exc) == "cannot read /home/alice/notes.txt"
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame.f_code.co_name)
        tb = tb.tb_next
    assert frames[-1] == "_raise_here"
    assert "inner" in frames and "outer" in frames
    step, command = spans(records)
    for span in (step, command):
        assert span["status"] == "error"
        assert span["attributes"]["error.type"] == "ValueError"
        assert "/home/alice" not in span["status_message"]
        assert "<path>" in span["status_message"]
        (event,) = span["events"]
        assert event["name"] == "exception"
        assert event["attributes"]["exception.type"] == "ValueError"
    # One exception unwinding two spans is one error.
    (errors,) = metrics(records, "optel.cli.errors")
    assert errors["value"] == 1
    assert errors["attributes"] == {"error.type": "ValueError"}


def test_async_exception_is_reraised_with_traceback():
    @optel.step
    async def fails():
        _raise_here()

    with capture() as records, pytest.raises(ValueError) as caught:
        asyncio.run(fails())
    tb = caught.value.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    assert tb.tb_frame.f_code.co_name == "_raise_here"
    assert only_span(records)["status"] == "error"


def test_module_qualified_error_type_outside_builtins():
    class QuotaExceeded(Exception):
        pass

    @optel.step
    def work():
        raise QuotaExceeded()

    with capture() as records, pytest.raises(QuotaExceeded):
        work()
    span = only_span(records)
    assert span["attributes"]["error.type"] == (
        f"{__name__}.test_module_qualified_error_type_outside_builtins.<locals>.QuotaExceeded"
    )
    assert span["status_message"] is None


# --- llm_call ---------------------------------------------------------------------------------


class Obj:
    def __init__(self, **fields):
        self.__dict__.update(fields)


OPENAI_DICT = {
    "model": "gpt-4o-2024-08-06",
    "usage": {
        "prompt_tokens": 120,
        "completion_tokens": 30,
        "prompt_tokens_details": {"cached_tokens": 100},
    },
    "choices": [{"finish_reason": "stop"}],
}
OPENAI_OBJ = Obj(
    model="gpt-4o-mini",
    usage=Obj(prompt_tokens=7, completion_tokens=3),
    choices=[Obj(finish_reason="length")],
)
RESPONSES_OBJ = Obj(model="gpt-4.1", usage=Obj(input_tokens=11, output_tokens=4))
ANTHROPIC_OBJ = Obj(
    model="claude-3-5-sonnet-20241022",
    usage=Obj(
        input_tokens=10, output_tokens=20, cache_read_input_tokens=50, cache_creation_input_tokens=5
    ),
    stop_reason="end_turn",
)
ANTHROPIC_DICT = {
    "model": "claude-3-haiku-20240307",
    "usage": {"input_tokens": 9, "output_tokens": 1},
    "stop_reason": "max_tokens",
}


@pytest.mark.parametrize(
    ("result", "provider", "expected"),
    [
        (
            OPENAI_DICT,
            "openai",
            {
                "gen_ai.response.model": "gpt-4o-2024-08-06",
                "gen_ai.usage.input_tokens": 120,
                "gen_ai.usage.output_tokens": 30,
                "gen_ai.usage.cache_read.input_tokens": 100,
                "gen_ai.response.finish_reasons": ["stop"],
            },
        ),
        (
            OPENAI_OBJ,
            "openai",
            {
                "gen_ai.response.model": "gpt-4o-mini",
                "gen_ai.usage.input_tokens": 7,
                "gen_ai.usage.output_tokens": 3,
                "gen_ai.response.finish_reasons": ["length"],
            },
        ),
        (
            RESPONSES_OBJ,
            "openai",
            {
                "gen_ai.response.model": "gpt-4.1",
                "gen_ai.usage.input_tokens": 11,
                "gen_ai.usage.output_tokens": 4,
            },
        ),
        # Anthropic counts cache reads and writes apart; the conventions' input_tokens includes them.
        (
            ANTHROPIC_OBJ,
            "anthropic",
            {
                "gen_ai.response.model": "claude-3-5-sonnet-20241022",
                "gen_ai.usage.input_tokens": 65,
                "gen_ai.usage.output_tokens": 20,
                "gen_ai.usage.cache_read.input_tokens": 50,
                "gen_ai.usage.cache_creation.input_tokens": 5,
                "gen_ai.response.finish_reasons": ["end_turn"],
            },
        ),
        (
            ANTHROPIC_DICT,
            "anthropic",
            {
                "gen_ai.response.model": "claude-3-haiku-20240307",
                "gen_ai.usage.input_tokens": 9,
                "gen_ai.usage.output_tokens": 1,
                "gen_ai.response.finish_reasons": ["max_tokens"],
            },
        ),
    ],
    ids=["openai-dict", "openai-object", "openai-responses", "anthropic-object", "anthropic-dict"],
)
def test_llm_call_reads_usage_and_model_from_the_result(result, provider, expected):
    @optel.llm_call(provider=provider)
    def ask(prompt, model):
        return result

    with capture() as records:
        assert ask("hello", model="gpt-4o") is result
    span = only_span(records)
    assert span["kind"] == "client"
    assert span["name"] == "chat gpt-4o"
    attrs = span["attributes"]
    assert attrs.pop("gen_ai.operation.name") == "chat"
    assert attrs.pop("gen_ai.provider.name") == provider
    assert attrs.pop("gen_ai.request.model") == "gpt-4o"
    assert attrs == expected
    usage = metrics(records, "gen_ai.client.token.usage")
    assert [(m["attributes"]["gen_ai.token.type"], m["value"]) for m in usage] == [
        ("input", expected["gen_ai.usage.input_tokens"]),
        ("output", expected["gen_ai.usage.output_tokens"]),
    ]
    (duration,) = metrics(records, "gen_ai.client.operation.duration")
    assert duration["attributes"] == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": provider,
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.response.model": expected["gen_ai.response.model"],
    }


def test_llm_call_with_an_extractor_and_a_fixed_model():
    def extract(result):
        return {
            "input_tokens": result["in"],
            "output_tokens": result["out"],
            "response_model": "gpt-4o",
        }

    @optel.llm_call(provider="openai", model="gpt-4o", operation="text_completion", extract=extract)
    def complete():
        return {"in": 5, "out": 6}

    with capture() as records:
        complete()
    attrs = only_span(records)["attributes"]
    assert only_span(records)["name"] == "text_completion gpt-4o"
    assert attrs["gen_ai.usage.input_tokens"] == 5
    assert attrs["gen_ai.usage.output_tokens"] == 6


def test_llm_call_private_model_names_become_custom():
    @optel.llm_call(provider="openai", model="ft:gpt-4o:acme:secret-project:abc123")
    def ask():
        return {"model": "ft:gpt-4o:acme:secret-project:abc123"}

    with capture() as records:
        ask()
    span = only_span(records)
    assert span["name"] == "chat custom"
    assert span["attributes"]["gen_ai.request.model"] == "custom"
    assert span["attributes"]["gen_ai.response.model"] == "custom"


def test_llm_call_without_parentheses_guesses_nothing_from_a_plain_dict():
    @optel.llm_call
    def ask():
        return {"usage": {"input_tokens": 1, "output_tokens": 2}}

    with capture() as records:
        ask()
    attrs = only_span(records)["attributes"]
    assert attrs["gen_ai.provider.name"] == "unknown"
    assert attrs["gen_ai.usage.output_tokens"] == 2


def test_llm_call_on_a_stream_reads_the_usage_chunk():
    @optel.llm_call(provider="openai", model="gpt-4o")
    def stream():
        yield {"choices": [{"delta": "hi"}]}
        yield {
            "model": "gpt-4o",
            "usage": {"prompt_tokens": 3, "completion_tokens": 2},
            "choices": [],
        }

    with capture() as records:
        assert len(list(stream())) == 2
    attrs = only_span(records)["attributes"]
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (3, 2)


def test_llm_call_failure_records_error_and_no_token_usage():
    class RateLimitError(Exception):
        pass

    @optel.llm_call(provider="openai", model="gpt-4o")
    async def ask():
        raise RateLimitError("slow down")

    with capture() as records, pytest.raises(RateLimitError):
        asyncio.run(ask())
    span = only_span(records)
    assert span["status"] == "error"
    assert metrics(records, "gen_ai.client.token.usage") == []
    (duration,) = metrics(records, "gen_ai.client.operation.duration")
    assert duration["attributes"]["error.type"].endswith("RateLimitError")


def test_a_raising_extractor_does_not_reach_the_host():
    def extract(result):
        raise KeyError("nope")

    @optel.llm_call(provider="openai", extract=extract)
    def ask():
        return "text"

    with capture() as records:
        assert ask() == "text"
    assert only_span(records)["status"] == "unset"


def test_decorating_an_object_whose_attribute_lookups_raise_returns_it_unwrapped():
    class Proxy:
        # Like a context-local proxy outside its context: every lookup it forwards fails.
        def __getattr__(self, name):
            raise RuntimeError(f"working outside of context: {name}")

        def __call__(self):
            return "called"

    class BadDoc:
        @property
        def __doc__(self):  # type: ignore[override]
            raise ValueError("no doc")

        def __call__(self):
            return "called"

    for decorate in (
        optel.step,
        optel.command(),
        optel.timed("t"),
        optel.llm_call(provider="openai"),
    ):
        for target in (Proxy(), BadDoc()):
            decorated = decorate(target)
            assert decorated() == "called"


def test_event_named_by_a_keyword_is_recorded_and_one_without_a_name_is_ignored():
    with capture() as records:
        optel.event(name="cache.miss")
        optel.event()
        optel.event("cache.hit", name="ignored-as-undeclared")
    names = sorted(r["name"] for r in records if r["t"] == "span")
    assert names == ["cache.hit", "cache.miss"]


def test_a_host_cannot_allow_list_identity_attributes():
    identity = {
        "host.name": "build-box-7",
        "user.name": "Alice Smith",
        "user.id": "alice-77",
        "client.address": "10.1.2.3",
    }
    with capture(attributes=[*identity, "myapp.region"]) as records:
        optel.event("who", **{**identity, "myapp.region": "eu"})
    (span,) = [r for r in records if r["t"] == "span"]
    assert span["attributes"] == {"myapp.region": "eu"}


# --- properties (issue 12.12) ------------------------------------------------------------------

DECORATORS = {
    "command": optel.command,
    "step": optel.step,
    "timed": optel.timed,
    "llm_call": optel.llm_call,
}


def _decorate(name, parentheses):
    decorator = DECORATORS[name]
    return decorator() if parentheses else decorator


def _property_class(name, parentheses, above):
    """A class with a property and a cached_property, the optel decorator above or below them."""
    import functools

    deco = _decorate(name, parentheses)

    class Reader:
        calls = 0

        def __init__(self):
            self._size = 3

        def _read(self):
            type(self).calls += 1
            return self._size

        if above:

            @deco
            @property
            def size(self):
                """The size."""
                return self._read()

            @size.setter
            def size(self, value):
                self._size = value

            @deco
            @functools.cached_property
            def cached(self):
                return self._read() * 10

        else:

            @property
            @deco
            def size(self):
                """The size."""
                return self._read()

            @size.setter
            def size(self, value):
                self._size = value

            @functools.cached_property
            @deco
            def cached(self):
                return self._read() * 10

    return Reader


@pytest.mark.parametrize("above", [True, False], ids=["above", "below"])
@pytest.mark.parametrize("parentheses", [True, False], ids=["call", "bare"])
@pytest.mark.parametrize("name", sorted(DECORATORS))
def test_a_decorator_stacked_with_property_or_cached_property_keeps_the_attribute_working(
    name, parentheses, above
):
    reader_class = _property_class(name, parentheses, above)
    reader = reader_class()
    with capture() as records:
        assert reader.size == 3
        reader.size = 4
        assert reader.size == 4
        assert reader.cached == 40
        assert reader.cached == 40
    assert reader_class.calls == 3  # two reads of size, one of cached: cached_property still caches
    assert reader_class.size.__doc__ == "The size."
    assert isinstance(reader_class.__dict__["size"], property)
    # Each read of the getter is recorded: two of size, one of cached.
    assert len(spans(records)) == 3
    assert {s["status"] for s in spans(records)} == {"unset"}


def test_a_decorated_property_records_the_error_of_its_getter_and_raises_it_unchanged():
    class Config:
        @optel.step
        @property
        def path(self):
            raise KeyError("path")

    with capture() as records, pytest.raises(KeyError):
        _ = Config().path
    (span,) = spans(records)
    assert span["status"] == "error" and span["attributes"]["error.type"] == "KeyError"
