"""Exit cost with the collector unreachable: optel on, optel off, and the default OpenTelemetry SDK setup.

Side by side in one run (docs/internals.md#the-process-split, issue 5): each variant is a fresh
`python` process that records one command and exits, timed from outside. The bar: optel on - optel
off < 20 ms, nothing printed. Afterwards a receiver comes up on the collector's port and `optel
upload` must deliver every record the runs spooled.

    python benchmarks/bench_exit.py [--runs 15] [--sdk-runs 3]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

APP = "bench-exit"

OPTEL_HOST = """\
import optel
optel.init({app!r}, endpoint={endpoint!r}, version="1.0.0")

@optel.command()
def hello():
    return 42

hello()
"""

SDK_HOST = """\
from opentelemetry import metrics, trace
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

resource = Resource.create({{"service.name": {app!r}}})
tracer_provider = TracerProvider(resource=resource)
tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint={endpoint!r} + "/v1/traces")))
trace.set_tracer_provider(tracer_provider)
reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint={endpoint!r} + "/v1/metrics"))
metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=[reader]))

invocations = metrics.get_meter("bench").create_counter("optel.cli.command.invocations")
with trace.get_tracer("bench").start_as_current_span("hello"):
    invocations.add(1, {{"command.name": "hello"}})
"""


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def user_file(config_home: Path, mode: str, app: str = APP) -> None:
    """A stored choice for `app`, with the install's id, salt and first-seen date as optel's store
    writes them: a real install's run hashes its project id with that salt at every flush."""
    directory = config_home / app
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "telemetry.toml").write_text(
        f'mode = "{mode}"\ninstall_id = "5b0e2c1e-6a43-4c38-9d2e-bench0000001"\n'
        'salt = "8d0f4a7c2b9e6d1f3a5c7e9b0d2f4a6c"\nfirst_seen = "2026-11-23T18:00:00Z"\n'
        'decided_at = "2026-11-23T18:00:00Z"\nconsent_version = 1\n'
    )


def clean_env(home: Path, config_home: Path, cache_home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not (
            k.startswith(("OTEL_", "OPTEL_", "XDG_"))
            or "_TELEMETRY" in k
            or k in ("DO_NOT_TRACK", "CI")
        )
    }
    # Users run with compiled bytecode; this harness may not.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(config_home), XDG_CACHE_HOME=str(cache_home))
    return env


def uploader_done(cache_home: Path, timeout: float = 20.0) -> None:
    lock = cache_home / APP / "telemetry-spool" / "uploader.lock"
    deadline = time.time() + timeout
    while lock.exists() and time.time() < deadline:
        time.sleep(0.02)


class Variant:
    def __init__(
        self, label: str, script: Path, env: dict[str, str], *, fresh_cache: bool = False
    ) -> None:
        self.label = label
        self.script = script
        self.env = env
        self.fresh_cache = fresh_cache
        self.times: list[float] = []
        self.printed: list[str] = []
        self.failed: list[str] = []

    def run_once(self) -> None:
        cache = Path(self.env["XDG_CACHE_HOME"])
        if self.fresh_cache:
            shutil.rmtree(cache, ignore_errors=True)
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, str(self.script)], env=self.env, capture_output=True, text=True
        )
        self.times.append(time.perf_counter() - start)
        if done.stdout or done.stderr:
            self.printed.append((done.stdout + done.stderr).strip().splitlines()[-1][:120])
        if done.returncode:
            self.failed.append(f"exit {done.returncode}")
        # A spawned uploader must not compete with the next measured run.
        uploader_done(cache)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.times) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--sdk-runs", type=int, default=3, help="the SDK waits out its export retries at exit"
    )
    options = parser.parse_args()

    port = closed_port()
    endpoint = f"http://127.0.0.1:{port}"
    tmp = Path(tempfile.mkdtemp(prefix="optel-bench-exit-"))
    try:
        home = tmp / "home"
        home.mkdir()
        for name, mode in (
            ("on", "anonymous"),
            ("first", "anonymous"),
            ("off", "off"),
            ("sdk", "off"),
        ):
            user_file(tmp / f"config-{name}", mode)
        scripts = {
            "bare": "pass\n",
            "optel": OPTEL_HOST.format(app=APP, endpoint=endpoint),
            "sdk": SDK_HOST.format(app=APP, endpoint=endpoint),
        }
        paths = {}
        for name, text in scripts.items():
            paths[name] = tmp / f"host_{name}.py"  # not `optel.py`: it would shadow the package
            paths[name].write_text(text)

        def env(name: str) -> dict[str, str]:
            return clean_env(home, tmp / f"config-{name}", tmp / f"cache-{name}")

        bare = Variant("bare python", paths["bare"], env("off"))
        on = Variant("(a) optel on", paths["optel"], env("on"))
        first = Variant(
            "(a') optel on, no backoff yet", paths["optel"], env("first"), fresh_cache=True
        )
        off = Variant("(b) optel off", paths["optel"], env("off"))
        sdk = Variant("(c) OTel SDK default setup", paths["sdk"], env("sdk"))
        quick = [bare, on, first, off]
        for variant in [*quick, sdk]:
            variant.run_once()  # warm-up: compile bytecode, fill the page cache
            variant.times.clear()
            variant.printed.clear()
        for _ in range(options.runs):
            for variant in quick:
                variant.run_once()
        for _ in range(options.sdk_runs):
            sdk.run_once()

        print(
            f"Exit with the collector unreachable ({endpoint}), medians of {options.runs} runs"
            f" ({options.sdk_runs} for the SDK); the host: optel.init + @optel.command"
        )
        print(
            f"  {'variant':34} {'median ms':>10} {'min ms':>8} {'x bare':>8} {'x (b)':>8}  printed"
        )
        for variant in [bare, on, first, off, sdk]:
            printed = f"yes: {variant.printed[0]!r}" if variant.printed else "nothing"
            if variant.failed:
                printed += f" (FAILED: {variant.failed[0]})"
            print(
                f"  {variant.label:34} {variant.median_ms:10.1f} {min(variant.times) * 1000:8.1f}"
                f" {variant.median_ms / bare.median_ms:8.2f}"
                f" {variant.median_ms / off.median_ms:8.2f}  {printed}"
            )
        delta = on.median_ms - off.median_ms
        delta_first = first.median_ms - off.median_ms
        silent = not (on.printed or first.printed or off.printed)
        print(
            f"  (a) - (b) = {delta:.1f} ms; (a') - (b) = {delta_first:.1f} ms (bar: < 20 ms): "
            f"{'PASS' if max(delta, delta_first) < 20 and silent else 'FAIL'}"
        )
        print(f"  (c) / (a) = {sdk.median_ms / on.median_ms:.0f}x")
        return deliver_afterwards(tmp, port, env("on"), options.runs + 1)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def deliver_afterwards(tmp: Path, port: int, env: dict[str, str], runs: int) -> int:
    """Bring a receiver up on the collector's port: every span (a) spooled must arrive, once."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    try:
        from otlp_receiver import OTLPReceiver  # type: ignore[import-not-found]
    except ImportError as exc:
        print(f"  delivery check skipped: {exc}")
        return 0
    if importlib.util.find_spec("optel.upload") is None:
        print("  delivery check skipped: optel.upload is missing")
        return 0
    from optel.spool import Spool

    spool = Spool.at(str(Path(env["XDG_CACHE_HOME"]) / APP / "telemetry-spool"))
    spooled = sum(
        sum(
            1 for line in (Path(spool.path) / name).read_text().splitlines() if '"t":"span"' in line
        )
        for name in spool.files()
    )
    with OTLPReceiver(port=port) as receiver:
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "optel", "upload", "--app", APP],
            env=env,
            capture_output=True,
            text=True,
        )
        took = time.perf_counter() - start
        received = len(receiver.spans())
    ok = received == spooled and spooled >= runs and not spool.files()
    print(
        f"  receiver up: `optel upload` sent {received} of {spooled} spooled spans from {runs} runs in {took * 1000:.0f} ms"
        f" ({done.stdout.strip() or done.stderr.strip()[-200:]}): {'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
