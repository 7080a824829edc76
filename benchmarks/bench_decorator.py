"""What the decorators add to a call, side by side with a bare call and OpenTelemetry SDK spans.

One run, interleaved repeats, medians of the per-call time:
- bare call, and a pass-through `*args, **kwargs` wrapper (what any such decorator costs);
- `@optel.command`, `@optel.step`, `@optel.timed`, `@optel.llm_call` with telemetry off (before
  init, or consent off): bar < 150 ns over bare;
- the same with telemetry on (records kept, as after consent): bar < 3 us over bare; the LLM call
  reads usage from an OpenAI-shaped dict and takes its model from the call;
- for comparison, an OpenTelemetry SDK span per call with a BatchSpanProcessor (exporter that
  drops everything), and one whose sampler drops it (ALWAYS_OFF);
- then what decorating costs (once per function, at the host's import): a host with 100
  decorated functions pays 100 times that.

    python benchmarks/bench_decorator.py [CALLS_PER_REPEAT] [REPEATS]
"""

from __future__ import annotations

import statistics
import sys
import timeit

import optel
from optel.record import spans


def work(x: int) -> int:
    return x + 1


def passthrough(*args: object, **kwargs: object) -> int:
    # The least any Python-level decorator costs: one more frame and the *args/**kwargs packing.
    return work(*args, **kwargs)  # type: ignore[arg-type]


RESULT = {"model": "gpt-4o", "usage": {"prompt_tokens": 10, "completion_tokens": 5}}


def ask(model: str = "gpt-4o") -> dict[str, object]:
    return RESULT


def _sdk_cases() -> dict[str, object]:
    try:
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            BatchSpanProcessor,
            SpanExporter,
            SpanExportResult,
        )
        from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
    except ImportError:
        return {}

    class Drop(SpanExporter):
        def export(self, spans):  # type: ignore[no-untyped-def]
            return SpanExportResult.SUCCESS

    # Own providers, never the global one.
    batch = TracerProvider()
    batch.add_span_processor(BatchSpanProcessor(Drop(), max_queue_size=1 << 20))
    sampled_out = TracerProvider(sampler=ALWAYS_OFF)
    batch_tracer = batch.get_tracer("bench")
    off_tracer = sampled_out.get_tracer("bench")

    def sdk_batch(x: int) -> int:
        with batch_tracer.start_as_current_span("work"):
            return work(x)

    def sdk_sampled_out(x: int) -> int:
        with off_tracer.start_as_current_span("work"):
            return work(x)

    return {
        "otel sdk span, BatchSpanProcessor": sdk_batch,
        "otel sdk span, sampled out": sdk_sampled_out,
    }


def main(calls: int = 20_000, repeats: int = 25) -> None:
    command_work = optel.command("work")(work)
    step_work = optel.step()(work)
    timed_work = optel.timed("work")(work)
    llm_ask = optel.llm_call(provider="openai")(ask)
    cases: dict[str, tuple[object, bool]] = {
        "bare call": (work, False),
        "pass-through wrapper": (passthrough, False),
    }
    for on in (False, True):
        state = "on" if on else "off"
        cases[f"@optel.command, telemetry {state}"] = (command_work, on)
        cases[f"@optel.step, telemetry {state}"] = (step_work, on)
        cases[f"@optel.timed, telemetry {state}"] = (timed_work, on)
        cases[f"@optel.llm_call, telemetry {state}"] = (llm_ask, on)
    cases["@optel.step in a command, on"] = (step_work, True)
    cases["@optel.llm_call in a command, on"] = (llm_ask, True)
    for name, fn in _sdk_cases().items():
        cases[name] = (fn, False)
    per_call: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, (fn, on) in cases.items():
            spans.set_recording(on)
            # The common shape: steps and LLM calls run inside a command's span.
            parent = (
                spans.start("command", "internal", {"command.name": "c"})
                if "in a command" in name
                else None
            )
            if fn is llm_ask:
                seconds = timeit.timeit(lambda fn=fn: fn(model="gpt-4o"), number=calls)  # type: ignore[misc]
            else:
                seconds = timeit.timeit(lambda fn=fn: fn(1), number=calls)  # type: ignore[misc]
            if parent is not None:
                parent.end()
            spans.set_recording(False)
            spans.take()
            per_call[name].append(seconds / calls)
    # The lambda costs the same in every case, so differences to the bare call are the decorator's.
    bare = statistics.median(per_call["bare call"])
    sdk = statistics.median(per_call.get("otel sdk span, BatchSpanProcessor", [float("nan")]))
    print(f"{calls} calls x {repeats} repeats, interleaved; median per call")
    print(f"{'case':<36} {'per call':>10} {'over bare':>11} {'ratio':>7} {'x sdk batch':>12}")
    for name, values in per_call.items():
        median = statistics.median(values)
        print(
            f"{name:<36} {median * 1e9:7.0f} ns {(median - bare) * 1e9:+8.0f} ns {median / bare:6.1f}x"
            f" {median / sdk:11.3f}"
        )
    decorating(repeats)


def decorating(repeats: int) -> None:
    """Decoration cost per function: a wrapper with the function's own parameters, and the rest."""

    def two(a, b=1):  # type: ignore[no-untyped-def]
        return a

    def packs(a, *rest, **options):  # type: ignore[no-untyped-def]
        return a

    number = 2000
    results: dict[str, list[float]] = {
        "@optel.step on (a, b=1)": [],
        "@optel.step on (a, *rest, **options)": [],
        "@optel.llm_call on (a, b=1)": [],
    }
    for _ in range(repeats):
        results["@optel.step on (a, b=1)"].append(
            timeit.timeit(lambda: optel.step(two), number=number) / number
        )
        results["@optel.step on (a, *rest, **options)"].append(
            timeit.timeit(lambda: optel.step(packs), number=number) / number
        )
        results["@optel.llm_call on (a, b=1)"].append(
            timeit.timeit(lambda: optel.llm_call(provider="openai")(two), number=number) / number
        )
    print("decorating, median per function (x100 for a host with 100 decorated functions)")
    for name, values in results.items():
        median = statistics.median(values)
        print(f"{name:<36} {median * 1e6:7.1f} us   x100: {median * 1e5:5.2f} ms")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    main(*args)
