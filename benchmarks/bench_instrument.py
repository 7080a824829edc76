"""What the openai patch costs per chat call, and what ``optel.instrument(...)`` costs at startup.

    python benchmarks/bench_instrument.py [--rounds 30] [--calls 20]

1. A chat completion with the real openai SDK against the local fake API (tests/fake_llm_api.py):
   unpatched, patched with telemetry off, patched with telemetry on, measured side by side in
   interleaved batches; medians per call and ratios to the unpatched call.
2. The same patch on a method that does nothing: the layer's own cost, without network noise.
3. ``optel.instrument("openai", "anthropic", "click", "typer", "argparse")`` in a fresh
   interpreter where none of the targets is imported yet (the budget is 1 ms), with bytecode
   cached as in an installed package.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

STARTUP = """
import time
t0 = time.perf_counter()
import optel
t1 = time.perf_counter()
optel.instrument("openai", "anthropic", "click", "typer", "argparse")
t2 = time.perf_counter()
import sys
assert not {"openai", "anthropic", "click", "typer", "wrapt"} & set(sys.modules)
print((t1 - t0) * 1e6, (t2 - t1) * 1e6)
"""


def bench_calls(rounds: int, calls: int) -> None:
    import openai

    import optel
    from fake_llm_api import FakeLLMAPI
    from optel.record import spans

    messages = [{"role": "user", "content": "hello"}]
    results: dict[str, list[float]] = {"unpatched": [], "patched, telemetry off": [], "patched, telemetry on": []}

    with FakeLLMAPI() as api, openai.OpenAI(
        base_url=api.openai_base_url, api_key="bench", max_retries=0
    ) as client:

        def batch() -> float:
            start = time.perf_counter()
            for _ in range(calls):
                client.chat.completions.create(model="gpt-4o-mini", messages=messages)
            return (time.perf_counter() - start) / calls

        for _ in range(3):
            batch()  # connections, lazy imports
        def run(mode: str) -> None:
            if mode == "unpatched":
                optel.uninstrument("openai")
            else:
                optel.instrument("openai")
            spans.set_recording(mode == "patched, telemetry on")
            results[mode].append(batch())
            spans.set_recording(False)
            spans.take()

        modes = list(results)
        for i in range(rounds):
            # Each mode takes each place in the round equally often: no order bias.
            for mode in modes[i % 3 :] + modes[: i % 3]:
                run(mode)
        optel.uninstrument("openai")

    base = statistics.median(results["unpatched"])
    print(f"openai chat call against 127.0.0.1 ({rounds} rounds x {calls} calls, medians per call):")
    for name, values in results.items():
        median = statistics.median(values)
        print(f"  {name:<24} {median * 1e6:9.1f} us   ratio {median / base:.3f}   (+{(median - base) * 1e6:.1f} us)")


def bench_layer(rounds: int, calls: int = 20000) -> None:
    """The patch layer alone: the same wrapper on a method that does nothing, so no I/O noise."""
    from optel.instrumentation import _llm
    from optel.instrumentation._patch import Patches
    from optel.record import spans

    class Resource:
        def create(self, **kwargs: object) -> object:
            return kwargs

    resource = Resource()
    wrapper = _llm.sync_call("openai", "chat", lambda r, u: None, lambda i, u: None, tuple)

    def batch() -> float:
        start = time.perf_counter()
        for _ in range(calls):
            resource.create(model="gpt-4o-mini")
        return (time.perf_counter() - start) / calls

    results: dict[str, list[float]] = {"unpatched": [], "patched, telemetry off": [], "patched, telemetry on": []}
    for i in range(rounds):
        modes = list(results)
        for mode in modes[i % 3 :] + modes[: i % 3]:
            patches = Patches()
            if mode != "unpatched":
                patches.wrap(Resource, "create", wrapper)
            spans.set_recording(mode == "patched, telemetry on")
            results[mode].append(batch())
            spans.set_recording(False)
            spans.take()
            patches.restore()
    base = statistics.median(results["unpatched"])
    print(f"the patch layer alone, on a no-op method ({rounds} rounds x {calls} calls, medians per call):")
    for name, values in results.items():
        median = statistics.median(values)
        print(f"  {name:<24} {median * 1e9:9.0f} ns   (+{(median - base) * 1e9:.0f} ns)")


def bench_startup(runs: int) -> None:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory() as cache:
        env["PYTHONPYCACHEPREFIX"] = cache
        command = [sys.executable, "-c", STARTUP]
        subprocess.run(command, env=env, check=True, capture_output=True)  # write the bytecode
        imports, instruments = [], []
        for _ in range(runs):
            out = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
            a, b = (float(x) for x in out.stdout.split())
            imports.append(a)
            instruments.append(b)
    print(f"fresh interpreter, targets not imported ({runs} runs, medians):")
    print(f"  import optel                         {statistics.median(imports):8.1f} us")
    print(f"  optel.instrument(<all five>)          {statistics.median(instruments):8.1f} us   (budget 1000 us)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--startup-runs", type=int, default=20)
    args = parser.parse_args()
    bench_calls(args.rounds, args.calls)
    bench_layer(args.rounds)
    bench_startup(args.startup_runs)


if __name__ == "__main__":
    main()
