"""Uploader throughput (spool -> local OTLP/HTTP receiver, spans/s) and peak RSS, beside the bare SDK exporter.

Writes 100k spans as spool files (once, copied for every run), then in each round, side by side and
each against a fresh OTLP/HTTP receiver on 127.0.0.1:

- the uploader (`optel.upload.upload`) in a fresh process: spool files -> records -> `ReadableSpan`s
  through the consent `Sampler` -> the SDK's `OTLPSpanExporter`;
- the SDK's `OTLPSpanExporter` alone in a fresh process, sending the same spans already built as
  `ReadableSpan`s in batches of the uploader's size (the floor: the SDK's encoding + HTTP);
- optionally the uploader on files that also hold one metric measurement per span.

Both clocks start once the SDK is imported (its import, ~0.2 s, is printed apart); spans/s are
wall clock, CPU spans/s use the process's own CPU time (robust on a shared machine). The ratio
uploader / SDK alone is taken within each round. Peak RSS is each process's VmHWM. Bar (issue 5):
>= 20,000 spans/s.

    python benchmarks/bench_upload.py [--spans 100000] [--per-file 2000] [--rounds 5]
                                      [--compression none,gzip] [--metrics] [--before SRC]

`--before SRC` adds the uploader of another source tree, e.g. the last commit's
(`git archive HEAD src | tar -x -C /tmp/before`, then `--before /tmp/before/src`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
sys.path.insert(0, os.path.join(HERE, "..", "src"))

from otlp_receiver import OTLPReceiver  # noqa: E402

APP = "bench-upload"
T0 = 1_790_000_000_000_000_000

PEAK_RSS = r"""
import resource

def peak_rss_kib():
    # VmHWM belongs to this process's own address space; ru_maxrss would also count the parent's
    # peak from before exec on Linux.
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
"""

CHILD_UPLOAD = PEAK_RSS + r"""
import json, sys, time
start = time.perf_counter()
# What the uploader imports when it finds work, timed apart from the throughput.
from optel.upload import upload
import optel.upload.uploader, optel.upload.convert, optel.upload.export, optel.upload.sampler
import opentelemetry.exporter.otlp.proto.http.trace_exporter, opentelemetry.exporter.otlp.proto.http.metric_exporter
imported = time.perf_counter()
cpu = time.process_time()
summary = upload(sys.argv[1])
cpu = time.process_time() - cpu
done = time.perf_counter()
print(json.dumps({"spans": summary.sent_spans, "points": summary.sent_metrics, "files": summary.files_sent,
                  "kept": summary.files_kept, "error": summary.error, "import_s": imported - start,
                  "wall_s": done - imported, "cpu_s": cpu, "maxrss_kib": peak_rss_kib()}))
"""

CHILD_SDK = PEAK_RSS + r"""
import json, sys, time
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, Status, StatusCode, TraceFlags
n, per_request, url, t0 = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
# The same spans as the spool files hold, built the way an SDK user would build them.
resource_ = Resource({"service.name": "bench-upload", "service.version": "1"})
scope = InstrumentationScope("optel", "0")
flags = TraceFlags(TraceFlags.SAMPLED)
ok = Status(StatusCode.OK)
spans = [ReadableSpan(name=f"step {i % 50}", context=SpanContext(i // 20 + 1, i + 1, False, flags),
                      parent=SpanContext(i // 20 + 1, (i // 20) * 20 + 1, False, flags) if i % 20 else None,
                      resource=resource_, attributes={"step.name": "s", "command.name": "c"}, status=ok,
                      start_time=t0 + i, end_time=t0 + i + 500, instrumentation_scope=scope)
         for i in range(n)]
exporter = OTLPSpanExporter(endpoint=url + "/v1/traces", timeout=10)
start = time.perf_counter()
cpu = time.process_time()
for at in range(0, n, per_request):
    assert exporter.export(spans[at:at + per_request]).name == "SUCCESS"
cpu = time.process_time() - cpu
done = time.perf_counter()
print(json.dumps({"spans": n, "wall_s": done - start, "cpu_s": cpu, "maxrss_kib": peak_rss_kib()}))
"""

WRITE_SPOOL = PEAK_RSS + r"""
import json, sys
from optel.spool.files import Spool
spans, per_file, metrics, t0 = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1", int(sys.argv[4])
header = {"app": "bench-upload", "created_ns": 1, "resource": {"service.name": "bench-upload", "service.version": "1"},
          "consent": {"mode": "anonymous", "source": "user_file", "install_id": "bench"},
          "export": {"endpoint": None, "headers": None},
          "settings": {"policy": "opt-in", "sample_percent": 100.0, "consent_version": 1, "version_module": None}}
spool = Spool("bench-upload")
for first in range(0, spans, per_file):
    records = []
    for i in range(first, min(first + per_file, spans)):
        trace = f"{i // 20 + 1:032x}"
        records.append({"t": "span", "trace_id": trace, "span_id": f"{i + 1:016x}",
                        "parent_span_id": None if i % 20 == 0 else f"{(i // 20) * 20 + 1:016x}",
                        "name": f"step {i % 50}", "kind": "internal", "start_ns": t0 + i, "end_ns": t0 + i + 500,
                        "attributes": {"step.name": "s", "command.name": "c"}, "status": "ok",
                        "status_message": None, "events": []})
        if metrics:
            records.append({"t": "metric", "name": "cli.step.duration", "value": (i % 100) / 10,
                            "attributes": {"step.name": "s"}, "time_ns": t0 + i})
    spool.write(header, records, max_bytes=1 << 40)
print(json.dumps({"maxrss_kib": peak_rss_kib()}))
"""


def child(code: str, env: dict[str, str], *args: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", code, *args], env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def received_spans(receiver: OTLPReceiver) -> int:
    return sum(
        len(scope.spans)
        for request in receiver.accepted("/v1/traces")
        for resource in request.message.resource_spans
        for scope in resource.scope_spans
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--spans", type=int, default=100_000)
    parser.add_argument("--per-file", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--compression", default="none", help="comma-separated: none, gzip")
    parser.add_argument("--metrics", action="store_true", help="also: files with one measurement per span")
    parser.add_argument("--before", metavar="SRC", help="also: the uploader of the optel package under SRC")
    args = parser.parse_args()
    compressions = [c.strip() for c in args.compression.split(",") if c.strip()]

    from optel.upload import CHUNK_SPANS

    per_request = min(CHUNK_SPANS, args.per_file)
    modes = [f"{kind} {c}" for c in compressions for kind in ("uploader", "sdk")]
    if args.before:
        modes.insert(1, "before none")
    if args.metrics:
        modes.append("uploader+metrics none")
    runs: dict[str, list[dict[str, float]]] = {mode: [] for mode in modes}
    with tempfile.TemporaryDirectory(prefix="bench-upload-") as home:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "DO_NOT_TRACK"))}
        base.update(HOME=home, XDG_CONFIG_HOME=os.path.join(home, "cfg"))
        base["PYTHONPATH"] = os.path.join(HERE, "..", "src") + os.pathsep + base.get("PYTHONPATH", "")
        templates: dict[bool, str] = {}
        writer: dict[bool, dict[str, float]] = {}
        for metrics in sorted({mode.startswith("uploader+metrics") for mode in modes}):
            cache = os.path.join(home, f"template-{int(metrics)}")
            env = dict(base, XDG_CACHE_HOME=cache)
            writer[metrics] = child(WRITE_SPOOL, env, str(args.spans), str(args.per_file), "1" if metrics else "0", str(T0))
            templates[metrics] = cache

        for _ in range(args.rounds):
            for mode in modes:
                kind, compression = mode.split()
                with OTLPReceiver() as receiver:
                    env = dict(base, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url)
                    if compression != "none":
                        env["OTEL_EXPORTER_OTLP_COMPRESSION"] = compression
                    if kind == "sdk":
                        run = child(CHILD_SDK, env, str(args.spans), str(per_request), receiver.url, str(T0))
                    else:
                        cache = os.path.join(home, "cache")
                        shutil.rmtree(cache, ignore_errors=True)
                        shutil.copytree(templates[kind == "uploader+metrics"], cache)
                        env["XDG_CACHE_HOME"] = cache
                        if kind == "before":
                            env["PYTHONPATH"] = os.path.abspath(args.before) + os.pathsep + env["PYTHONPATH"]
                        run = child(CHILD_UPLOAD, env, APP)
                    received = received_spans(receiver)
                if run["spans"] != args.spans or received != args.spans:
                    print(f"{mode}: sent {run['spans']}, receiver got {received} of {args.spans}: {run}")
                    return 1
                runs[mode].append(run)

    def rates(mode: str, clock: str = "wall_s") -> list[float]:
        return [r["spans"] / r[clock] for r in runs[mode]]

    def spread(values: list[float], fmt: str = "{:,.0f}") -> str:
        return f"{fmt.format(statistics.median(values)):>7} ({fmt.format(min(values))}-{fmt.format(max(values))})"

    print(
        f"{args.spans} spans in {-(-args.spans // args.per_file)} spool files of {args.per_file}, "
        f"{per_request} spans per request; median (min-max) of {args.rounds} rounds, fresh process each"
    )
    print(f"  {'':<28} {'spans/s (wall)':>24} {'spans/CPU-s':>24} {'peak RSS MiB':>14}")
    for mode in modes:
        rss = statistics.median(r["maxrss_kib"] for r in runs[mode]) / 1024
        print(f"  {mode:<28} {spread(rates(mode)):>24} {spread(rates(mode, 'cpu_s')):>24} {rss:>14.1f}")
    for compression in compressions:
        up, sdk = f"uploader {compression}", f"sdk {compression}"
        wall = [u / s for u, s in zip(rates(up), rates(sdk))]
        cpu = [u / s for u, s in zip(rates(up, "cpu_s"), rates(sdk, "cpu_s"))]
        print(
            f"  ratio uploader / SDK alone ({compression}):  wall {spread(wall, '{:.2f}')}"
            f"   CPU {spread(cpu, '{:.2f}')}"
        )
    if args.before:
        wall = [u / s for u, s in zip(rates("before none"), rates("sdk none"))]
        cpu = [u / s for u, s in zip(rates("before none", "cpu_s"), rates("sdk none", "cpu_s"))]
        print(f"  ratio before / SDK alone (none):    wall {spread(wall, '{:.2f}')}   CPU {spread(cpu, '{:.2f}')}")
    imports = [r["import_s"] * 1000 for mode in modes if mode.startswith("uploader") for r in runs[mode]]
    print(f"  uploader's SDK import before the clock starts: {statistics.median(imports):.0f} ms (median)")
    print(f"  peak RSS of the process writing the spool: {writer[False]['maxrss_kib'] / 1024:.1f} MiB")
    best = statistics.median(rates(f"uploader {compressions[0]}"))
    print(f"  bar >= 20,000 spans/s (uploader, {compressions[0]}, wall median): {'PASS' if best >= 20_000 else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
