"""What scrubbing costs the host: a typical span's attributes (fast path, one slow string, all slow),
the first slow call (``import re`` and compiling), and ``import optel.privacy``; beside a bare
OpenTelemetry SDK span with the same attributes, for the bar: the typical span's fast path at or
below 0.7x a bare SDK span.

Run: ``python benchmarks/bench_scrub.py`` (medians of many runs; nothing is asserted).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

ROUNDS = 301
INNER = 50
IMPORT_RUNS = 41

FAST = {
    "command.name": "deploy",
    "outcome": "error",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.response.model": "claude-3-5-sonnet-20241022",
    "gen_ai.usage.input_tokens": 1200,
    "gen_ai.usage.output_tokens": 300,
    "error.type": "ValueError",
    "cli.duration": 1.25,
}
ONE_SLOW = dict(
    FAST, **{"exception.message": "cannot open /home/alice/project/config.toml: denied"}
)
ONE_SLOW.pop("cli.duration")
ALL_SLOW = {
    "command.name": "deploy to prod",
    "outcome": "error after retry",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.response.model": "see https://api.example.com/v1",
    "step.name": "read config at ~/x",
    "note": "user ops@example.com on 10.0.0.2",
    "error.type": "mytool.errors.DeployError",
    "exception.message": "cannot open /home/alice/project/config.toml: denied",
}


def _median_us(fn, arg) -> float:
    samples = []
    for _ in range(ROUNDS):
        start = time.perf_counter_ns()
        for _ in range(INNER):
            fn(arg)
        samples.append((time.perf_counter_ns() - start) / INNER / 1000)
    return statistics.median(samples)


def _median_wall_ms(code: str) -> float:
    samples = []
    for _ in range(IMPORT_RUNS):
        start = time.perf_counter_ns()
        subprocess.run([sys.executable, "-c", code], check=True)
        samples.append((time.perf_counter_ns() - start) / 1e6)
    return statistics.median(samples)


def _importtime_us(module: str) -> int:
    """The cumulative µs Python's own -X importtime reports for `module` (median of runs)."""
    values = []
    for _ in range(11):
        out = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import {module}"],
            capture_output=True,
            text=True,
            check=True,
        ).stderr
        for line in out.splitlines():
            parts = [p.strip() for p in line.split("|")]
            if len(parts) == 3 and parts[2] == module:
                values.append(int(parts[1]))
    return int(statistics.median(values))


def _first_slow_call_us() -> float:
    code = (
        "import time, optel.privacy as p; s = time.perf_counter_ns();"
        "p.scrub_text('cannot open /home/alice/x: denied'); print((time.perf_counter_ns() - s) / 1000)"
    )
    samples = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(IMPORT_RUNS)
    ]
    return statistics.median(samples)


def _bare_sdk_span_us() -> float | None:
    try:
        from opentelemetry.sdk.trace import TracerProvider
    except ImportError:
        return None
    tracer = TracerProvider().get_tracer("bench")

    def span(attributes: dict) -> None:
        tracer.start_span("deploy", attributes=attributes).end()

    return _median_us(span, FAST)


def main() -> None:
    os.environ.setdefault("USER", "alice")
    import optel.privacy as privacy

    privacy.scrub_text("warm up /home/alice/x")  # compile once, as the first flush would
    fast = _median_us(privacy.scrub_attributes, FAST)
    one_slow = _median_us(privacy.scrub_attributes, ONE_SLOW)
    all_slow = _median_us(privacy.scrub_attributes, ALL_SLOW)
    span = _bare_sdk_span_us()
    bare = _median_wall_ms("pass")
    with_privacy = _median_wall_ms("import optel.privacy")
    with_re = _median_wall_ms("import re")
    first_call = _first_slow_call_us()

    print(
        f"scrub_attributes, 8 attributes, all fast path   : {fast:8.2f} µs (median of {ROUNDS}x{INNER})"
    )
    print(f"scrub_attributes, 8 attributes, 1 slow string   : {one_slow:8.2f} µs")
    print(f"scrub_attributes, 8 attributes, 8 slow strings  : {all_slow:8.2f} µs")
    if span is not None:
        print(f"bare OpenTelemetry SDK span, same attributes    : {span:8.2f} µs")
        print(
            f"  ratios to the bare span: fast {fast / span:.2f}x, one slow {one_slow / span:.2f}x, "
            f"all slow {all_slow / span:.2f}x (bar: fast <= 0.70x)"
        )
    print(f"first slow scrub in a fresh process (import re + compile): {first_call:8.0f} µs")
    print(
        f"python -c pass: {bare:.2f} ms; import optel.privacy: {with_privacy:.2f} ms "
        f"(+{with_privacy - bare:.2f} ms); import re: {with_re:.2f} ms (+{with_re - bare:.2f} ms)"
    )
    print(
        f"-X importtime cumulative: optel.privacy {_importtime_us('optel.privacy')} µs, re {_importtime_us('re')} µs"
    )


if __name__ == "__main__":
    main()
