"""Instructions per decorated call, counted by callgrind: the figures of bench_decorator.py that a busy machine cannot blur.

Wall-clock medians move by 2x on a shared machine; the number of instructions CPython executes
for one call does not. Each case runs N calls and 0 calls in a fresh interpreter under
``valgrind --tool=callgrind`` (garbage collection off, so a collection that happens to fall in
one run does not count), and the difference over N is the cost of one call. Printed side by side
with an OpenTelemetry SDK span with a BatchSpanProcessor and with a sampled-out one, as ratios.
Needs valgrind (Debian's package); without it the script says so and exits 0.

    python benchmarks/bench_instructions.py [CALLS]
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile

CASE = r"""
import gc, sys
import optel
from optel.record import spans

RESULT = {"model": "gpt-4o", "usage": {"prompt_tokens": 10, "completion_tokens": 5}}

def work(x):
    return x + 1

def ask(model="gpt-4o"):
    return RESULT

case, n = sys.argv[1], int(sys.argv[2])
step = optel.step()(work)
command = optel.command("work")(work)
llm = optel.llm_call(provider="openai")(ask)
if case.startswith("sdk"):
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    class Drop(SpanExporter):
        def export(self, batch):
            return SpanExportResult.SUCCESS

    if case == "sdk-batch":
        provider = TracerProvider()
        provider.add_span_processor(BatchSpanProcessor(Drop(), max_queue_size=1 << 20, schedule_delay_millis=10**9))
    else:
        provider = TracerProvider(sampler=ALWAYS_OFF)
    tracer = provider.get_tracer("bench")

    def traced(x):
        with tracer.start_as_current_span("work"):
            return work(x)
gc.disable()
on = case.endswith(" on")
spans.set_recording(on)
calls = {
    "bare": lambda: work(1),
    "step off": lambda: step(1),
    "step on": lambda: step(1),
    "command on": lambda: command(1),
    "llm_call off": lambda: llm(model="gpt-4o"),
    "llm_call on": lambda: llm(model="gpt-4o"),
    "sdk-batch": lambda: traced(1),
    "sdk-off": lambda: traced(1),
}
call = calls[case]
for _ in range(n):
    call()
spans.set_recording(False)
"""

CASES = {
    "bare": "bare call",
    "step off": "@optel.step, telemetry off",
    "llm_call off": "@optel.llm_call, telemetry off",
    "step on": "@optel.step, telemetry on",
    "command on": "@optel.command, telemetry on",
    "llm_call on": "@optel.llm_call, telemetry on",
    "sdk-batch": "otel sdk span, BatchSpanProcessor",
    "sdk-off": "otel sdk span, sampled out",
}


def callgrind_instructions(argv: list[str], env: dict[str, str] | None = None) -> int:
    """The instructions `argv` executes under callgrind (also bench_host_instructions.py's count)."""
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"Collected : (\d+)", out.stderr)
    if found is None:
        raise RuntimeError(f"callgrind printed no total: {out.stderr[-500:]}")
    return int(found.group(1))


def instructions(script: str, case: str, n: int) -> int:
    return callgrind_instructions([sys.executable, script, case, str(n)])


def main(calls: int = 3000) -> int:
    if shutil.which("valgrind") is None:
        print("bench_instructions: valgrind is not installed (apt-get install valgrind); skipped")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "case.py")
        with open(script, "w") as f:
            f.write(CASE)
        per_call = {
            case: (instructions(script, case, calls) - instructions(script, case, 0)) / calls
            for case in CASES
        }
    bare, sdk = per_call["bare"], per_call["sdk-batch"]
    print(
        f"callgrind, {calls} calls against 0 in a fresh interpreter each, gc off; instructions per call"
    )
    print(f"{'case':<36} {'instr':>8} {'over bare':>10} {'x sdk batch':>12}")
    for case, label in CASES.items():
        value = per_call[case]
        print(f"{label:<36} {value:8.0f} {value - bare:+10.0f} {value / sdk:12.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*(int(a) for a in sys.argv[1:])))
