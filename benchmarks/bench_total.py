"""The total cost of telemetry over a simulated day of a CLI: optel beside the plain OpenTelemetry SDK (issue 19).

The day: `--runs` runs with the collector up, `--runs` with it down, then recovery (it is up again
and the CLI keeps being run until every run's data arrived, at most `--runs` more runs), spread
evenly over `--hours`. Every run is a fresh `python` process of the same small CLI (one command
with two steps), interleaved variant by variant:

- bare: the CLI without telemetry;
- off: optel, the user's stored choice "off";
- optel: optel, anonymous, its own collector (a local OTLP receiver) up or down with the phase;
- sdk: the plain OpenTelemetry SDK set up as its docs say (TracerProvider + BatchSpanProcessor +
  OTLP/HTTP span exporter, MeterProvider + PeriodicExportingMetricReader + OTLP/HTTP metric
  exporter), its own collector up or down with the phase. Its offline runs wait out the
  exporter's retries at exit, so they run in batches of `--batch` at once, after optel's.

Time is simulated through the spool's clock: between two runs every spool file's name stamp, the
tally and the backoff files are moved back by the gap, so the delivery policy sees data age as it
would over the day. CPU comes from the processes' own accounting (`os.wait4`: user + system),
robust on a shared machine: this process is a child subreaper, so every detached uploader is
reaped here with its rusage. Disk writes are the processes' `ru_oublock` (512-byte blocks).

    python benchmarks/bench_total.py [--runs 50] [--hours 24] [--batch 10]

Prints per variant: host CPU, uploaders and their CPU, CPU per run amortised over the day (host +
uploaders) and above bare, peak RSS of the host and of an uploader, disk writes per run, and
the data: how much arrived, and its age at arrival (simulated). The host bar (+3 ms over telemetry
off) is for a run with no uploader due: it is taken over the runs that started none (a run that
starts one also pays for the spawn); the figure over all runs is printed beside it. Linux only
(prctl, wait4).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
sys.path.insert(0, os.path.join(HERE, "..", "src"))

from bench_exit import clean_env  # noqa: E402
from bench_exit import user_file as _stored_choice  # noqa: E402

from optel.spool import DELIVERY_INTERVAL_S  # noqa: E402
from otlp_receiver import OTLPReceiver  # noqa: E402

APP = "bench-total"

CLI = """\
import sys
{optel_import}
{init}

{step}
def compile_():
    return 1

{step}
def link():
    return 2

{command}
def build():
    return compile_() + link()

build()
"""

SDK_CLI = """\
import sys, time
from opentelemetry import metrics, trace
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

endpoint = sys.argv[1]
resource = Resource.create({"service.name": "bench-total", "service.version": "1.0.0"})
tracer_provider = TracerProvider(resource=resource)
tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint + "/v1/traces")))
trace.set_tracer_provider(tracer_provider)
reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=endpoint + "/v1/metrics"))
metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=[reader]))
tracer = trace.get_tracer("bench-total")
meter = metrics.get_meter("bench-total")
invocations = meter.create_counter("cli.command.invocations")
duration = meter.create_histogram("cli.command.duration", unit="s")

def step(name, value):
    with tracer.start_as_current_span(name):
        return value

def build():
    start = time.perf_counter()
    with tracer.start_as_current_span("build"):
        result = step("compile", 1) + step("link", 2)
    invocations.add(1, {"command.name": "build", "outcome": "success"})
    duration.record(time.perf_counter() - start, {"command.name": "build"})
    return result

build()
"""


def cli_source(with_optel: bool) -> str:
    if not with_optel:
        return CLI.format(optel_import="", init="", step="", command="")
    return CLI.format(
        optel_import="import optel",
        init=f'optel.init({APP!r}, endpoint=sys.argv[1], version="1.0.0")',
        step="@optel.step()",
        command="@optel.command()",
    )


def shift_spool(directory: Path, seconds: float) -> None:
    """Move the spool's clock back by `seconds`: flush names, the tally and the backoffs."""
    if not directory.is_dir():
        return
    ns = int(seconds * 1e9)
    for path in directory.iterdir():
        name = path.name
        if ".jsonl" in name and name.split("-", 1)[0].isdigit():
            stamp, rest = name.split("-", 1)
            path.rename(directory / f"{int(stamp) - ns}-{rest}")
        elif name == "tally":
            checked, total, oldest = (int(word) for word in path.read_text().split())
            path.write_text(f"{checked - ns} {total} {oldest - ns if oldest else 0}\n")
        elif name == "backoff" or (name.startswith("backoff.") and not name.endswith(".tmp")):
            until, failures = path.read_text().split()
            path.write_text(f"{float(until) - seconds!r} {failures}\n")


def spool_bytes(directory: Path) -> int:
    try:
        return sum(p.stat().st_size for p in directory.iterdir() if ".jsonl" in p.name)
    except OSError:
        return 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# The process that starts and reaps every measured process. Small on purpose: a child started with
# posix_spawn (vfork + exec) inherits its parent's peak RSS as its own `ru_maxrss`, so the parent
# must not be this process, which holds the collectors (~36 MiB). It is the child subreaper, so
# the detached uploaders are reaped there too, with their rusage.
RUNNER = """\
import ctypes, json, os, sys
if ctypes.CDLL(None).prctl(36, 1, 0, 0, 0) != 0:
    sys.exit("prctl(PR_SET_CHILD_SUBREAPER) failed: Linux only")
null = os.open(os.devnull, os.O_RDWR)
actions = [(os.POSIX_SPAWN_DUP2, null, 0), (os.POSIX_SPAWN_DUP2, null, 1), (os.POSIX_SPAWN_DUP2, null, 2)]
for line in sys.stdin:
    order = json.loads(line)
    hosts = {os.posix_spawn(order["argv"][0], order["argv"], order["env"], file_actions=actions)
             for _ in range(order["count"])}
    done = []
    while True:
        try:
            pid, _, ru = os.wait4(-1, 0)
        except ChildProcessError:
            break
        done.append([pid in hosts, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, ru.ru_oublock * 512])
    print(json.dumps(done), flush=True)
"""


class Runner:
    """Runs processes in the small runner and returns their usage: (is host, cpu s, KiB, bytes)."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", RUNNER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def run(self, argv: list[str], env: dict[str, str], count: int = 1) -> list[list[object]]:
        """`count` processes at once, waited for with every process they left behind."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps({"argv": argv, "env": env, "count": count}) + "\n")
        self.process.stdin.flush()
        done: list[list[object]] = json.loads(self.process.stdout.readline())
        return done

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(10)


class Usage:
    """CPU (s), peak RSS (KiB) and disk writes (bytes) of processes of one kind."""

    def __init__(self) -> None:
        self.cpu: list[float] = []
        self.rss: list[int] = []
        self.written: list[int] = []

    def add(self, cpu: float, rss: int, written: int) -> None:
        self.cpu.append(cpu)
        self.rss.append(rss)
        self.written.append(written)


class Variant:
    def __init__(self, label: str, argv: list[str], env: dict[str, str], port: int | None) -> None:
        self.label = label
        self.argv = argv
        self.env = env
        self.port = port
        self.spool = Path(env["XDG_CACHE_HOME"]) / APP / "telemetry-spool"
        self.reset()

    def reset(self) -> None:
        self.host = Usage()
        self.uploaders = Usage()
        self.phase_cpu: dict[str, float] = {}
        self.phase_runs: dict[str, int] = {}
        self.phase_host: dict[str, list[float]] = {}
        self.phase_uploaders: dict[str, list[float]] = {}
        # Host CPU of the runs that started no uploader: issue 19's host bar is for a run with
        # no uploader due (a run that starts one also pays for the spawn).
        self.host_no_uploader: list[float] = []
        self.windows: list[tuple[int, int, float]] = []  # (start ns, end ns, simulated s) per run
        self.arrived: dict[int, float] = {}  # run index -> simulated arrival time
        self.spool_written: list[int] = []

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port or 9}"

    def run(self, runner: Runner, phase: str, now_s: float) -> None:
        """One run, waited for with every uploader it started."""
        before = spool_bytes(self.spool)
        start = time.time_ns()
        done = runner.run([*self.argv, self.endpoint], self.env)
        self.windows.append((start, time.time_ns(), now_s))
        self.spool_written.append(max(0, spool_bytes(self.spool) - before))
        self.count(phase, done)
        if all(host for host, *_ in done):
            self.host_no_uploader.extend(cpu for _, cpu, *_ in done)

    def count(self, phase: str, done: list[list[Any]]) -> None:
        for host, cpu, rss, written in done:
            (self.host if host else self.uploaders).add(cpu, rss, written)
            (self.phase_host if host else self.phase_uploaders).setdefault(phase, []).append(cpu)
            self.phase_cpu[phase] = self.phase_cpu.get(phase, 0.0) + cpu
        self.phase_runs[phase] = self.phase_runs.get(phase, 0) + sum(1 for d in done if d[0])

    def run_batch(self, runner: Runner, phase: str, count: int, batch: int) -> None:
        """`count` runs, `batch` at a time (the SDK's offline exits wait on retries, not CPU)."""
        for first in range(0, count, batch):
            done = runner.run([*self.argv, self.endpoint], self.env, min(batch, count - first))
            self.count(phase, done)

    def note_arrivals(self, receiver: OTLPReceiver, now_s: float) -> None:
        for span in receiver.spans():
            if not span["name"].endswith("build"):
                continue
            for index, (start, end, _) in enumerate(self.windows):
                if start <= span["start_ns"] <= end and index not in self.arrived:
                    self.arrived[index] = now_s

    def ages_h(self) -> list[float]:
        return [(self.arrived[i] - self.windows[i][2]) / 3600 for i in sorted(self.arrived)]

    def per_run_ms(self) -> float:
        return (sum(self.host.cpu) + sum(self.uploaders.cpu)) / len(self.host.cpu) * 1000


class Collector:
    """A variant's collector on a fixed port, brought up and down with the phases."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.receiver: OTLPReceiver | None = None
        self.seen: list[dict[str, object]] = []

    def up(self) -> OTLPReceiver:
        if self.receiver is None:
            self.receiver = OTLPReceiver(port=self.port).start()
        return self.receiver

    def down(self) -> None:
        if self.receiver is not None:
            self.receiver.stop()
            self.receiver = None


def setup(tmp: Path) -> tuple[list[Variant], dict[str, Collector]]:
    home = tmp / "home"
    home.mkdir()
    scripts = {"bare": cli_source(False), "optel": cli_source(True), "sdk": SDK_CLI}
    for name, text in scripts.items():
        (tmp / f"cli_{name}.py").write_text(text)
    for name, mode in (("bare", "off"), ("off", "off"), ("optel", "anonymous"), ("sdk", "off")):
        _stored_choice(tmp / f"config-{name}", mode, APP)
    collectors = {name: Collector(free_port()) for name in ("optel", "sdk")}

    def variant(label: str, name: str, script: str) -> Variant:
        env = clean_env(home, tmp / f"config-{name}", tmp / f"cache-{name}")
        port = collectors[name].port if name in collectors else None
        return Variant(label, [sys.executable, str(tmp / f"cli_{script}.py")], env, port)

    variants = [
        variant("bare python (no telemetry)", "bare", "bare"),
        variant("optel, telemetry off", "off", "optel"),
        variant("optel on", "optel", "optel"),
        variant("OTel SDK (docs setup)", "sdk", "sdk"),
    ]
    return variants, collectors


def simulate(
    runner: Runner,
    variants: list[Variant],
    collectors: dict[str, Collector],
    runs: int,
    gap: float,
    batch: int,
) -> int:
    """The day's three phases; returns how many recovery runs it took optel's data to arrive."""
    bare, off, on, sdk = variants
    now = 0.0

    def one_round(phase: str, with_sdk: bool) -> None:
        for variant in (bare, off, on, sdk) if with_sdk else (bare, off, on):
            shift_spool(variant.spool, gap)
            variant.run(runner, phase, now)
        for name, variant in (("optel", on), ("sdk", sdk)):
            receiver = collectors[name].receiver
            if receiver is not None:
                variant.note_arrivals(receiver, now)

    for name in collectors:
        collectors[name].up()
    for _ in range(runs):
        one_round("collector up", True)
        now += gap
    for name in collectors:
        collectors[name].down()
    for _ in range(runs):
        one_round("offline", False)
        now += gap
    sdk.run_batch(runner, "offline", runs, batch)
    for name in collectors:
        collectors[name].up()
    recovery = 0
    while recovery < runs and len(on.arrived) < len(on.windows):
        one_round("recovery", True)
        now += gap
        recovery += 1
    return recovery


def report(
    variants: list[Variant], runs: int, hours: float, gap: float, recovery: int, loads: tuple
) -> bool:
    bare, off, on, sdk = variants
    base = statistics.mean(bare.host.cpu) * 1000
    off_med = statistics.median(off.host.cpu) * 1000
    print(
        f"A simulated day of a CLI: {runs} runs collector up, {runs} offline, {recovery} in recovery, "
        f"one every {gap / 60:.0f} min ({hours:g} h for the first {2 * runs}); delivery interval "
        f"{DELIVERY_INTERVAL_S / 3600:g} h; load average {loads[0]:.1f} -> {loads[1]:.1f}"
    )
    print("CPU from wait4 (user + system) in ms; RSS peak in MiB; disk = ru_oublock per run in KiB")
    print(
        f"  {'variant':28} {'host med':>8} {'-off':>6} {'upl':>4} {'upl ea':>7} {'per run':>8}"
        f" {'-bare':>7} {'host RSS':>8} {'upl RSS':>7} {'disk':>6}"
    )
    for v in variants:
        med = statistics.median(v.host.cpu) * 1000
        each = statistics.mean(v.uploaders.cpu) * 1000 if v.uploaders.cpu else 0.0
        disk = (sum(v.host.written) + sum(v.uploaders.written)) / len(v.host.cpu) / 1024
        print(
            f"  {v.label:28} {med:8.1f} {med - off_med:+6.1f} {len(v.uploaders.cpu):4d} {each:7.0f}"
            f" {v.per_run_ms():8.1f} {v.per_run_ms() - base:+7.1f}"
            f" {max(v.host.rss) / 1024:8.1f} {max(v.uploaders.rss, default=0) / 1024:7.1f} {disk:6.1f}"
        )
    print("  per phase, CPU per run (host + uploaders), ms:")
    for v in (on, sdk):
        parts = ", ".join(
            f"{phase} {v.phase_cpu[phase] / v.phase_runs[phase] * 1000:.1f} ({v.phase_runs[phase]} runs)"
            for phase in v.phase_cpu
        )
        print(f"    {v.label:26} {parts}")
    print("  per phase, host CPU median over off's (same phase), ms:")
    for v in (on, sdk):
        parts = ", ".join(
            f"{phase} {(statistics.median(cpus) - statistics.median(off.phase_host[phase])) * 1000:+.1f}"
            for phase, cpus in v.phase_host.items()
            if phase in off.phase_host
        )
        print(f"    {v.label:26} {parts}")
    parts = ", ".join(
        f"{phase} {len(cpus)} x {statistics.mean(cpus) * 1000:.0f} ({min(cpus) * 1000:.0f}-{max(cpus) * 1000:.0f})"
        for phase, cpus in on.phase_uploaders.items()
    )
    print(f"  uploaders of {on.label} per phase, count x mean CPU ms (min-max): {parts or 'none'}")
    print(f"  optel spool bytes written per run: {statistics.mean(on.spool_written):.0f}")
    for v in (on, sdk):
        ages = v.ages_h()
        line = f"  data of {v.label}: {len(v.arrived)}/{len(v.host.cpu)} runs arrived"
        if ages:
            line += f"; age at arrival (simulated) median {statistics.median(ages):.1f} h, max {max(ages):.1f} h"
        print(line)
    amortised = on.per_run_ms() - base
    quiet = on.host_no_uploader
    host = statistics.median(quiet) * 1000 - off_med
    print(
        f"  {on.label}: {len(quiet)} of {len(on.host.cpu)} runs started no uploader; their host"
        f" CPU median over off's: {host:+.1f} ms (all runs: {statistics.median(on.host.cpu) * 1000 - off_med:+.1f})"
    )
    print(
        f"  bars: optel per run over bare {amortised:+.1f} ms (<= 15): {'PASS' if amortised <= 15 else 'FAIL'};"
        f" host over off, no uploader started {host:+.1f} ms (<= 3): {'PASS' if host <= 3 else 'FAIL'}"
    )
    return len(on.arrived) == len(on.windows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50, help="runs per phase")
    parser.add_argument("--hours", type=float, default=24.0, help="the first two phases span this")
    parser.add_argument("--batch", type=int, default=10, help="SDK offline runs at once")
    options = parser.parse_args()
    gap = options.hours * 3600 / (2 * options.runs)
    tmp = Path(tempfile.mkdtemp(prefix="optel-bench-total-"))
    collectors: dict[str, Collector] = {}
    runner = Runner()
    try:
        variants, collectors = setup(tmp)
        for name in collectors:
            collectors[name].up()
        for variant in variants:  # warm-up: bytecode, page cache; then a clean spool
            variant.run(runner, "warm-up", 0.0)
            shutil.rmtree(variant.spool, ignore_errors=True)
            variant.reset()
        load = os.getloadavg()[0]
        recovery = simulate(runner, variants, collectors, options.runs, gap, options.batch)
        complete = report(
            variants, options.runs, options.hours, gap, recovery, (load, os.getloadavg()[0])
        )
        if not complete:
            # Nothing lost: what still waits goes out with `optel upload`.
            on = variants[2]
            subprocess.run(
                [sys.executable, "-m", "optel", "upload", "--app", APP],
                env=on.env,
                capture_output=True,
                timeout=120,
            )
            receiver = collectors["optel"].up()
            on.note_arrivals(receiver, float("nan"))
            print(f"  after `optel upload`: {len(on.arrived)}/{len(on.windows)} runs arrived")
            complete = len(on.arrived) == len(on.windows)
        return 0 if complete else 1
    finally:
        runner.close()
        for collector in collectors.values():
            collector.down()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
