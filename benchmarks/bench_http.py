"""What the HTTP client patches cost per request, and ``optel.instrument()`` of everything at startup.

    python benchmarks/bench_http.py [--rounds 60] [--calls 20] [--startup-runs 20]

1. A GET with httpx, requests and aiohttp against a local server on 127.0.0.1
   (tests/http_status_server.py), each client kept open (keep-alive), as a tool would: unpatched,
   patched with telemetry off, patched with telemetry on, measured side by side in interleaved
   batches; medians per call and ratios to the unpatched call (budget: 1.05). The openai figure
   measured the same way is bench_instrument.py's first.
2. The HTTP wrapper alone, on a send that does nothing: its own cost without I/O noise (on a
   loaded machine the request figures above swing by more than the patch costs).
3. ``optel.instrument(<everything instrumentable>, http_hosts=[...])`` in a fresh interpreter
   where none of the targets is imported yet, with telemetry on and off (budgets: 2 ms on,
   1 ms off), with bytecode cached as in an installed package.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

ALL = (
    "openai",
    "anthropic",
    "click",
    "typer",
    "argparse",
    "httpx",
    "httpx2",
    "requests",
    "aiohttp",
)
STARTUP = """
import sys, time
ALL = sys.argv[2].split(",")
t0 = time.perf_counter()
import optel
t1 = time.perf_counter()
if sys.argv[1] == "on":
    from optel.record import spans
    spans.set_recording(True)
t2 = time.perf_counter()
optel.instrument(*ALL, http_hosts=["api.example.com"])
t3 = time.perf_counter()
assert not {"openai", "anthropic", "click", "typer", "httpx", "httpx2", "requests", "aiohttp", "wrapt"} & set(sys.modules)
print((t1 - t0) * 1e6, (t3 - t2) * 1e6)
"""


def report(title: str, results: dict[str, list[float]]) -> None:
    base = statistics.median(results["unpatched"])
    print(title)
    for name, values in results.items():
        median = statistics.median(values)
        print(
            f"  {name:<24} {median * 1e6:9.1f} us   ratio {median / base:.3f}   (+{(median - base) * 1e6:.1f} us)"
        )


def interleaved(name: str, batch: Callable[[], float], rounds: int) -> dict[str, list[float]]:
    """Unpatched, patched off, patched on: each mode takes each place in a round equally often."""
    import optel
    from optel.record import spans

    results: dict[str, list[float]] = {
        "unpatched": [],
        "patched, telemetry off": [],
        "patched, telemetry on": [],
    }
    modes = list(results)
    for _ in range(3):
        batch()  # connections, lazy imports
    for i in range(rounds):
        for mode in modes[i % 3 :] + modes[: i % 3]:
            if mode == "unpatched":
                optel.uninstrument(name)
            else:
                optel.instrument(name)
            spans.set_recording(mode == "patched, telemetry on")
            results[mode].append(batch())
            spans.set_recording(False)
            spans.take()
    optel.uninstrument(name)
    return results


def bench_http(rounds: int, calls: int) -> None:
    import asyncio

    import aiohttp
    import httpx
    import requests

    from http_status_server import StatusServer

    with StatusServer() as server:
        url = f"http://127.0.0.1:{server.port}/status/200/bench"

        def timed(call: Callable[[], object]) -> Callable[[], float]:
            def batch() -> float:
                start = time.perf_counter()
                for _ in range(calls):
                    call()
                return (time.perf_counter() - start) / calls

            return batch

        title = f"{{}} GET against 127.0.0.1 ({rounds} rounds x {calls} calls, medians per call):"
        with httpx.Client() as client:
            report(
                title.format("httpx"), interleaved("httpx", timed(lambda: client.get(url)), rounds)
            )
        with requests.Session() as session:
            report(
                title.format("requests"),
                interleaved("requests", timed(lambda: session.get(url)), rounds),
            )

        loop = asyncio.new_event_loop()
        session_box: list[aiohttp.ClientSession] = []

        async def get() -> None:
            async with session_box[0].get(url) as response:
                await response.read()

        async def open_session() -> None:
            session_box.append(aiohttp.ClientSession())

        async def many() -> float:
            start = time.perf_counter()
            for _ in range(calls):
                await get()
            return (time.perf_counter() - start) / calls

        loop.run_until_complete(open_session())
        try:
            results = interleaved("aiohttp", lambda: loop.run_until_complete(many()), rounds)
            report(title.format("aiohttp"), results)
        finally:
            loop.run_until_complete(session_box[0].close())
            loop.close()


def bench_http_layer(rounds: int, calls: int = 20000) -> None:
    """The HTTP wrapper alone, on a transport whose send does nothing: its cost without I/O noise."""
    import httpx

    from optel.instrumentation._http import Library, sync_request
    from optel.instrumentation.httpx import _address, _request, _status
    from optel.instrumentation.patching import PatchSite, patch
    from optel.record import spans

    response = httpx.Response(200)

    class Transport:
        def handle_request(self, request: object) -> object:
            return response

    transport = Transport()
    request = httpx.Request("GET", "http://127.0.0.1:8080/bench")
    wrapper = sync_request(Library("httpx", _request, _address, _status))
    probe = type(sys)("bench_http_probe")
    probe.Transport = Transport  # type: ignore[attr-defined]
    sys.modules["bench_http_probe"] = probe

    def batch() -> float:
        start = time.perf_counter()
        for _ in range(calls):
            transport.handle_request(request)
        return (time.perf_counter() - start) / calls

    results: dict[str, list[float]] = {
        "unpatched": [],
        "patched, telemetry off": [],
        "patched, telemetry on": [],
    }
    modes = list(results)
    for i in range(rounds):
        for mode in modes[i % 3 :] + modes[: i % 3]:
            done = (
                patch(PatchSite("bench_http_probe", "Transport.handle_request", wrapper))
                if mode != "unpatched"
                else None
            )
            spans.set_recording(mode == "patched, telemetry on")
            results[mode].append(batch())
            spans.set_recording(False)
            spans.take()
            if done is not None:
                done.undo()
    base = statistics.median(results["unpatched"])
    print(
        f"the HTTP wrapper alone, on a send that does nothing ({rounds} rounds x {calls} calls, medians per call):"
    )
    for name, values in results.items():
        median = statistics.median(values)
        print(f"  {name:<24} {median * 1e9:9.0f} ns   (+{(median - base) * 1e9:.0f} ns)")


def bench_startup(runs: int) -> None:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory() as cache:
        env["PYTHONPYCACHEPREFIX"] = cache
        print(f"fresh interpreter, targets not imported ({runs} runs, medians):")
        for telemetry, budget in (("off", 1000), ("on", 2000)):
            command = [sys.executable, "-c", STARTUP, telemetry, ",".join(ALL)]
            subprocess.run(command, env=env, check=True, capture_output=True)  # write the bytecode
            imports, instruments = [], []
            for _ in range(runs):
                out = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
                a, b = (float(x) for x in out.stdout.split())
                imports.append(a)
                instruments.append(b)
            print(
                f"  telemetry {telemetry}: import optel              {statistics.median(imports):8.1f} us"
            )
            print(
                f"  telemetry {telemetry}: optel.instrument(<all {len(ALL)}>)  "
                f"{statistics.median(instruments):8.1f} us   (budget {budget} us)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--startup-runs", type=int, default=20)
    args = parser.parse_args()
    bench_http(args.rounds, args.calls)
    bench_http_layer(args.rounds)
    bench_startup(args.startup_runs)


if __name__ == "__main__":
    main()
