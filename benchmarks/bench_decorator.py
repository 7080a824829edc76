"""What `@optel.step()` adds to a call, side by side with a bare call and OpenTelemetry SDK spans.

One run, interleaved repeats, medians of the per-call time:
- bare call;
- `@optel.step()` with telemetry off (before init, or consent off): bar < 150 ns over bare;
- `@optel.step()` with telemetry on (records kept, as after consent): bar < 3 us over bare;
- `@optel.llm_call()` with telemetry on, reading usage from an OpenAI-shaped dict;
- for comparison, an OpenTelemetry SDK span per call with a BatchSpanProcessor (exporter that
  drops everything), and one whose sampler drops it (ALWAYS_OFF).

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

    return {"otel sdk span, BatchSpanProcessor": sdk_batch, "otel sdk span, sampled out": sdk_sampled_out}


def main(calls: int = 20_000, repeats: int = 25) -> None:
    step_work = optel.step()(work)
    llm_ask = optel.llm_call(provider="openai")(ask)
    cases: dict[str, tuple[object, bool]] = {
        "bare call": (work, False),
        "pass-through wrapper (the floor)": (passthrough, False),
        "@optel.step, telemetry off": (step_work, False),
        "@optel.step, telemetry on": (step_work, True),
        "@optel.llm_call, telemetry on": (llm_ask, True),
    }
    for name, fn in _sdk_cases().items():
        cases[name] = (fn, False)
    per_call: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, (fn, on) in cases.items():
            spans.set_recording(on)
            seconds = timeit.timeit(lambda fn=fn: fn(1), number=calls)  # type: ignore[misc]
            spans.set_recording(False)
            spans.take()
            per_call[name].append(seconds / calls)
    # The lambda costs the same in every case, so differences to the bare call are the decorator's.
    bare = statistics.median(per_call["bare call"])
    print(f"{calls} calls x {repeats} repeats, interleaved; median per call")
    print(f"{'case':<36} {'per call':>10} {'over bare':>11} {'ratio':>7}")
    for name, values in per_call.items():
        median = statistics.median(values)
        print(f"{name:<36} {median * 1e9:7.0f} ns {(median - bare) * 1e9:+8.0f} ns {median / bare:6.1f}x")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    main(*args)
