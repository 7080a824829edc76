"""What the openai patch costs per chat call, and what ``optel.instrument(...)`` costs at startup.

    python benchmarks/bench_instrument.py [--rounds 30] [--calls 20]

1. A chat call with each real LLM SDK (openai, litellm, ollama, mistralai, google-genai, boto3's
   bedrock-runtime) against the local fake API (tests/fake_llm_api.py): unpatched, patched with
   telemetry off, patched with telemetry on, measured side by side in interleaved batches;
   medians per call and ratios to the unpatched call (the budget is 1.05x).
2. The same patch on a method that does nothing: the layer's own cost, without network noise.
3. ``optel.instrument(...)`` of every LLM SDK and CLI framework in a fresh interpreter where
   none of the targets is imported yet (the budget is 2 ms), with bytecode cached as in an
   installed package.
4. What instrumenting a CLI framework adds to its import, beside the bare ``import click`` /
   ``import typer`` / ``import argparse``, with telemetry off (``DO_NOT_TRACK=1``) and on (consent
   stored): ``optel.instrument(name)`` then the import, timed in a fresh interpreter, interleaved
   with the bare import; the budget is 1 ms off, 3 ms on.
5. A real CLI's ``--version`` (httpie, llm, openapi-python-client, as in tests/test_e2e_tools.py),
   bare and wrapped with optel by an entry-point wrapper, telemetry off and on: whole processes,
   interleaved, medians and ratios (the budget is 1.02x).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

INSTRUMENTORS = (
    "openai",
    "anthropic",
    "click",
    "typer",
    "argparse",
    "litellm",
    "ollama",
    "mistralai",
    "google_genai",
    "bedrock",
)
STARTUP = """
import time
t0 = time.perf_counter()
import optel
t1 = time.perf_counter()
optel.instrument(*NAMES)
t2 = time.perf_counter()
import sys
targets = {"openai", "anthropic", "click", "typer", "wrapt", "litellm", "ollama", "mistralai"}
assert not (targets | {"google.genai", "botocore"}) & set(sys.modules)
print((t1 - t0) * 1e6, (t2 - t1) * 1e6)
""".replace("NAMES", repr(INSTRUMENTORS))


def _sdk_calls(api: Any) -> dict[str, Callable[[], object]]:
    """instrumentor name -> one chat call of its SDK against the fake API."""
    import boto3
    import litellm
    import ollama
    import openai
    from google import genai
    from mistralai.client import Mistral

    messages = [{"role": "user", "content": "hello"}]
    oai = openai.OpenAI(base_url=api.openai_base_url, api_key="bench", max_retries=0)
    oll = ollama.Client(host=api.ollama_host)
    mis = Mistral(api_key="bench", server_url=api.mistral_base_url)
    goo = genai.Client(api_key="bench", http_options={"base_url": api.google_base_url})
    aws = boto3.client("bedrock-runtime", endpoint_url=api.bedrock_endpoint)
    aws_messages = [{"role": "user", "content": [{"text": "hello"}]}]
    base = api.openai_base_url
    return {
        "openai": lambda: oai.chat.completions.create(model="gpt-4o-mini", messages=messages),
        "litellm": lambda: litellm.completion(
            "openai/gpt-4o-mini", messages=messages, api_base=base, api_key="b"
        ),
        "ollama": lambda: oll.chat("llama3", messages=messages),
        "mistralai": lambda: mis.chat.complete(model="mistral-small-latest", messages=messages),
        "google_genai": lambda: goo.models.generate_content(
            model="gemini-2.0-flash", contents="hello"
        ),
        "bedrock": lambda: aws.converse(
            modelId="anthropic.claude-3-haiku-20240307-v1:0", messages=aws_messages
        ),
    }


def bench_calls(rounds: int, calls: int) -> None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no price list from the internet
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "bench"),
        ("AWS_SECRET_ACCESS_KEY", "bench"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        os.environ.setdefault(name, value)
    from fake_llm_api import FakeLLMAPI

    with FakeLLMAPI() as api:
        for name, call in _sdk_calls(api).items():
            _bench_call(name, call, rounds, calls)


def _bench_call(sdk: str, call: Callable[[], object], rounds: int, calls: int) -> None:
    import optel
    from optel.record import spans

    results: dict[str, list[float]] = {
        "unpatched": [],
        "patched, telemetry off": [],
        "patched, telemetry on": [],
    }

    def batch() -> float:
        start = time.perf_counter()
        for _ in range(calls):
            call()
        return (time.perf_counter() - start) / calls

    for _ in range(3):
        batch()  # connections, lazy imports

    def run(mode: str) -> None:
        if mode == "unpatched":
            optel.uninstrument(sdk)
        else:
            spans.set_recording(True)  # the SDKs are patched once something records
            optel.instrument(sdk)
        spans.set_recording(mode == "patched, telemetry on")
        results[mode].append(batch())
        spans.set_recording(False)
        spans.take()

    modes = list(results)
    for i in range(rounds):
        # Each mode takes each place in the round equally often: no order bias.
        for mode in modes[i % 3 :] + modes[: i % 3]:
            run(mode)
    optel.uninstrument(sdk)

    base = statistics.median(results["unpatched"])
    print(f"{sdk} chat call against 127.0.0.1 ({rounds} rounds x {calls} calls, medians per call):")
    for name, values in results.items():
        median = statistics.median(values)
        print(
            f"  {name:<24} {median * 1e6:9.1f} us   ratio {median / base:.3f}   (+{(median - base) * 1e6:.1f} us)"
        )


def bench_layer(rounds: int, calls: int = 20000) -> None:
    """The patch layer alone: the same wrapper on a method that does nothing, so no I/O noise."""
    from optel.instrumentation import _llm
    from optel.instrumentation._patch import Patches
    from optel.record import spans

    class Resource:
        def create(self, **kwargs: object) -> object:
            return kwargs

    target = Resource()
    wrapper = _llm.sync_call("openai", "chat", lambda r, u: None, lambda i, u: None, tuple)

    def batch() -> float:
        start = time.perf_counter()
        for _ in range(calls):
            target.create(model="gpt-4o-mini")
        return (time.perf_counter() - start) / calls

    results: dict[str, list[float]] = {
        "unpatched": [],
        "patched, telemetry off": [],
        "patched, telemetry on": [],
    }
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
    print(
        f"the patch layer alone, on a no-op method ({rounds} rounds x {calls} calls, medians per call):"
    )
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
    print(
        f"  optel.instrument(<all {len(INSTRUMENTORS)}>)           {statistics.median(instruments):8.1f} us   (budget 2000 us)"
    )


FRAMEWORK = """
import sys, time
import optel
if ON:
    optel.init("bench-tool", version="1.0")
clock = time.thread_time_ns  # CPU time of this thread: what the host pays, steadier than wall time
hook_ns = 0
t0 = clock()
if INSTRUMENT:
    optel.instrument(NAME)
t1 = clock()
if INSTRUMENT:
    from optel.instrumentation import _hook

    run = _hook._run

    def timed(hook, module):
        global hook_ns
        start = clock()
        run(hook, module)
        hook_ns += clock() - start

    _hook._run = timed
t2 = clock()
__import__(NAME)
t3 = clock()
print(t1 - t0, hook_ns, t3 - t2 - hook_ns)
"""


def _bench_env(cache: str, on: bool) -> dict[str, str]:
    """A fresh home; telemetry off by DO_NOT_TRACK, or on by a stored anonymous choice."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "DO_NOT_TRACK")
    }
    env["PYTHONPYCACHEPREFIX"] = os.path.join(cache, "pycache")
    home = os.path.join(cache, "on" if on else "off")
    env.update(
        HOME=home,
        XDG_CONFIG_HOME=os.path.join(home, "config"),
        XDG_CACHE_HOME=os.path.join(home, "cache"),
    )
    if not on:
        env["DO_NOT_TRACK"] = "1"
        return env
    for app in ("bench-tool", "httpie", "llm", "openapi-python-client"):
        folder = os.path.join(home, "config", app)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "telemetry.toml"), "w", encoding="utf-8") as f:
            f.write(
                'mode = "anonymous"\ninstall_id = "0b7f3c52-7d36-4c5e-9d2a-6f1f7f0f7a10"\nconsent_version = 1\n'
            )
    return env


def bench_frameworks(runs: int) -> None:
    """instrument() and the patching it causes at import, beside the framework's own import.

    Timed inside one fresh interpreter, in CPU time: the difference of two whole imports would
    drown a few hundred microseconds in the noise of a loaded machine.
    """
    with tempfile.TemporaryDirectory() as cache:
        for on in (False, True):
            env = _bench_env(cache, on)
            budget = 3000 if on else 1000
            print(
                f"optel.instrument(<framework>), fresh interpreter, telemetry {'on' if on else 'off'} "
                f"({runs} runs, CPU time, medians; budget {budget} us):"
            )
            for name in ("argparse", "click", "typer"):
                bare, call, patch = [], [], []
                for i in range(runs + 1):
                    for instrument in (False, True):
                        program = (
                            f"ON = {on!r}\nINSTRUMENT = {instrument!r}\nNAME = {name!r}\n"
                            + FRAMEWORK
                        )
                        out = subprocess.run(
                            [sys.executable, "-c", program],
                            env=env,
                            check=True,
                            capture_output=True,
                            text=True,
                        )
                        if not i:
                            continue  # the first round writes the bytecode
                        a, b, c = (int(x) / 1000 for x in out.stdout.split())
                        if instrument:
                            call.append(a)
                            patch.append(b)
                        else:
                            bare.append(c)
                added = statistics.median([x + y for x, y in zip(call, patch)])
                print(
                    f"  import {name:<9} {statistics.median(bare):8.0f} us   + instrument() "
                    f"{statistics.median(call):5.0f} us + patching at import {statistics.median(patch):5.0f} us"
                    f" = added {added:5.0f} us"
                )


def bench_version(runs: int) -> None:
    from tool_wrappers import BARE, CONSOLE_SCRIPT, WRAPPERS

    argv = {"httpie": ["--version"], "llm": ["--version"], "openapi-python-client": ["--version"]}
    with tempfile.TemporaryDirectory() as cache:
        wrappers = os.path.join(cache, "wrappers")
        os.makedirs(wrappers)
        envs = {}
        for on in (False, True):
            env = _bench_env(cache, on)
            env["PYTHONPATH"] = wrappers
            envs[on] = env
        print(
            f"a real CLI's --version, whole process, bare vs wrapped ({runs} runs, interleaved, "
            "medians; CPU is user+sys time of the child; the budget is a ratio of 1.02):"
        )
        for app in argv:
            module = app.replace("-", "_") + "_telemetry"
            with open(os.path.join(wrappers, module + ".py"), "w", encoding="utf-8") as f:
                import textwrap

                f.write(textwrap.dedent(WRAPPERS[app]))
            variants = {
                "bare": (
                    [sys.executable, "-c", CONSOLE_SCRIPT.format(entry=BARE[app])],
                    envs[False],
                ),
                "wrapped, telemetry off": (
                    [
                        sys.executable,
                        "-c",
                        CONSOLE_SCRIPT.format(entry=f"from {module} import main"),
                    ],
                    envs[False],
                ),
                "wrapped, telemetry on": (
                    [
                        sys.executable,
                        "-c",
                        CONSOLE_SCRIPT.format(entry=f"from {module} import main"),
                    ],
                    envs[True],
                ),
            }
            cpu: dict[str, list[float]] = {name: [] for name in variants}
            wall: dict[str, list[float]] = {name: [] for name in variants}
            names = list(variants)
            for i in range(runs + 1):
                for name in names[i % 3 :] + names[: i % 3]:
                    command, env = variants[name]
                    before = resource.getrusage(resource.RUSAGE_CHILDREN)
                    start = time.perf_counter()
                    subprocess.run(
                        [*command, *argv[app]],
                        env=env,
                        check=True,
                        capture_output=True,
                        stdin=subprocess.DEVNULL,
                    )
                    elapsed = time.perf_counter() - start
                    after = resource.getrusage(resource.RUSAGE_CHILDREN)
                    if i:  # the first round writes the bytecode
                        wall[name].append(elapsed)
                        cpu[name].append(
                            after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
                        )
            cpu_base, wall_base = statistics.median(cpu["bare"]), statistics.median(wall["bare"])
            cpu_least = min(cpu["bare"])
            for name in names:
                c, w = statistics.median(cpu[name]), statistics.median(wall[name])
                # The least CPU time of the runs: the one least disturbed by a busy machine.
                least = min(cpu[name])
                print(
                    f"  {app + ' ' + name:<45} CPU {c * 1e3:7.1f} ms  ratio {c / cpu_base:.3f}  "
                    f"(least {least * 1e3:6.1f} ms, ratio {least / cpu_least:.3f})   "
                    f"wall {w * 1e3:7.1f} ms  ratio {w / wall_base:.3f}"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--startup-runs", type=int, default=20)
    parser.add_argument(
        "--only", choices=("calls", "layer", "startup", "frameworks", "version"), action="append"
    )
    args = parser.parse_args()
    only = set(args.only or ("calls", "layer", "startup", "frameworks", "version"))
    if "calls" in only:
        bench_calls(args.rounds, args.calls)
    if "layer" in only:
        bench_layer(args.rounds)
    if "startup" in only:
        bench_startup(args.startup_runs)
    if "frameworks" in only:
        bench_frameworks(args.startup_runs)
    if "version" in only:
        bench_version(args.startup_runs)


if __name__ == "__main__":
    main()
