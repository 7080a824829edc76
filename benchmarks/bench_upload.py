"""Uploader throughput (spool -> local OTLP/HTTP receiver, spans/s) and peak RSS, beside the bare SDK exporter.

For each shape of spool (by default 100k spans in files of 2,000, and 20k spans in files of 20, what
a CLI's runs leave behind), writes the spool files once (copied for every run), then in each round,
side by side and each against a fresh OTLP/HTTP receiver on 127.0.0.1:

- the uploader (`optel.upload.upload`) in a fresh process: spool files -> records -> OTLP protobuf
  requests built directly (upload/otlp.py), each file's consent decided before encoding, posted
  over HTTP, files batched up to `CHUNK_SPANS` spans per request;
- the SDK's `OTLPSpanExporter` alone in a fresh process, sending the same spans already built as
  `ReadableSpan`s in requests of the uploader's size (the floor: the SDK's encoding + HTTP);
- optionally the uploader on files that also hold one metric measurement per span.

Both clocks start once the modules are imported (their import is printed apart); spans/s are
wall clock, CPU spans/s use the process's own CPU time (robust on a shared machine, whose load
average is printed before and after). The ratio uploader / SDK alone is taken within each round.
Peak RSS is each process's VmHWM. Bars: >= 20,000 spans/s for every shape (issue 5), and the
uploader >= 0.9 x the SDK exporter alone (issue 19), wall median.

    python benchmarks/bench_upload.py [--shape 100000/2000 --shape 20000/20] [--rounds 5]
                                      [--compression none,gzip] [--metrics] [--before SRC]
    python benchmarks/bench_upload.py --spans 20000 --per-file 20      # one shape

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

CHILD_UPLOAD = (
    PEAK_RSS
    + r"""
import json, sys, time
start = time.perf_counter()
# What the uploader imports when it finds work, timed apart from the throughput: this tree's
# modules, or (--before) an older tree's, which sent through the SDK's exporters.
import importlib
from optel.upload import upload
for name in ("uploader", "batching", "convert", "metrics", "otlp", "export", "http", "sampler"):
    try:
        importlib.import_module("optel.upload." + name)
    except ImportError:
        pass
if "optel.upload.sampler" in sys.modules:
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
)

CHILD_SDK = (
    PEAK_RSS
    + r"""
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
)

WRITE_SPOOL = (
    PEAK_RSS
    + r"""
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
            records.append({"t": "metric", "name": "optel.cli.step.duration", "value": (i % 100) / 10,
                            "attributes": {"step.name": "s"}, "time_ns": t0 + i})
    spool.write(header, records, max_bytes=1 << 40)
print(json.dumps({"maxrss_kib": peak_rss_kib()}))
"""
)


def child(code: str, env: dict[str, str], *args: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def received_spans(receiver: OTLPReceiver) -> int:
    return sum(
        len(scope.spans)
        for request in receiver.accepted("/v1/traces")
        for resource in request.message.resource_spans
        for scope in resource.scope_spans
    )


class Shape:
    """A spool to upload: `spans` spans in files of `per_file`."""

    def __init__(self, text: str) -> None:
        spans, _, per_file = text.partition("/")
        self.spans = int(spans)
        self.per_file = int(per_file)
        self.files = -(-self.spans // self.per_file)
        self.name = f"{self.per_file}/file"

    def per_request(self, chunk: int) -> int:
        """Spans per request of the uploader: whole files up to `chunk` spans, a big file in chunks."""
        if self.per_file >= chunk:
            return chunk
        return min(self.spans, chunk // self.per_file * self.per_file)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--shape",
        action="append",
        metavar="SPANS/PER_FILE",
        help="a spool of SPANS spans in files of PER_FILE (repeatable; default 100000/2000 and 20000/20)",
    )
    parser.add_argument("--spans", type=int, help="with --per-file: one shape")
    parser.add_argument("--per-file", type=int)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--compression", default="none", help="comma-separated: none, gzip")
    parser.add_argument(
        "--metrics", action="store_true", help="also: files with one measurement per span"
    )
    parser.add_argument(
        "--before", metavar="SRC", help="also: the uploader of the optel package under SRC"
    )
    args = parser.parse_args()
    compressions = [c.strip() for c in args.compression.split(",") if c.strip()]
    if args.shape:
        shapes = [Shape(text) for text in args.shape]
    elif args.spans or args.per_file:
        shapes = [Shape(f"{args.spans or 100_000}/{args.per_file or 2000}")]
    else:
        shapes = [Shape("100000/2000"), Shape("20000/20")]

    from optel.upload import CHUNK_SPANS

    modes = [f"{kind} {c}" for c in compressions for kind in ("uploader", "sdk")]
    if args.before:
        modes.insert(1, "before none")
    if args.metrics:
        modes.append("uploader+metrics none")
    runs: dict[tuple[str, str], list[dict[str, float]]] = {
        (sh.name, m): [] for sh in shapes for m in modes
    }
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-upload-") as home:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "DO_NOT_TRACK"))}
        base.update(HOME=home, XDG_CONFIG_HOME=os.path.join(home, "cfg"))
        base["PYTHONPATH"] = (
            os.path.join(HERE, "..", "src") + os.pathsep + base.get("PYTHONPATH", "")
        )
        templates: dict[tuple[str, bool], str] = {}
        writer: dict[str, dict[str, float]] = {}
        for shape in shapes:
            for metrics in sorted({mode.startswith("uploader+metrics") for mode in modes}):
                cache = os.path.join(
                    home, f"template-{shape.per_file}-{shape.spans}-{int(metrics)}"
                )
                env = dict(base, XDG_CACHE_HOME=cache)
                out = child(
                    WRITE_SPOOL,
                    env,
                    str(shape.spans),
                    str(shape.per_file),
                    "1" if metrics else "0",
                    str(T0),
                )
                if not metrics:
                    writer[shape.name] = out
                templates[(shape.name, metrics)] = cache

        for _ in range(args.rounds):
            for shape in shapes:
                for mode in modes:
                    kind, compression = mode.split()
                    with OTLPReceiver() as receiver:
                        env = dict(base, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url)
                        if compression != "none":
                            env["OTEL_EXPORTER_OTLP_COMPRESSION"] = compression
                        if kind == "sdk":
                            per_request = shape.per_request(CHUNK_SPANS)
                            run = child(
                                CHILD_SDK,
                                env,
                                str(shape.spans),
                                str(per_request),
                                receiver.url,
                                str(T0),
                            )
                        else:
                            cache = os.path.join(home, "cache")
                            shutil.rmtree(cache, ignore_errors=True)
                            shutil.copytree(
                                templates[(shape.name, kind == "uploader+metrics")], cache
                            )
                            env["XDG_CACHE_HOME"] = cache
                            if kind == "before":
                                env["PYTHONPATH"] = (
                                    os.path.abspath(args.before) + os.pathsep + env["PYTHONPATH"]
                                )
                            run = child(CHILD_UPLOAD, env, APP)
                        received = received_spans(receiver)
                        run["requests"] = len(receiver.accepted("/v1/traces"))
                    if run["spans"] != shape.spans or received != shape.spans:
                        print(
                            f"{shape.name} {mode}: sent {run['spans']}, receiver got {received} of {shape.spans}: {run}"
                        )
                        return 1
                    runs[(shape.name, mode)].append(run)
    load_after = os.getloadavg()

    def rates(shape: Shape, mode: str, clock: str = "wall_s") -> list[float]:
        return [r["spans"] / r[clock] for r in runs[(shape.name, mode)]]

    def spread(values: list[float], fmt: str = "{:,.0f}") -> str:
        return f"{fmt.format(statistics.median(values)):>7} ({fmt.format(min(values))}-{fmt.format(max(values))})"

    print(
        f"median (min-max) of {args.rounds} rounds, fresh process each, shapes and modes interleaved; "
        f"{os.cpu_count()} CPUs, load average {load_before[0]:.2f} before, {load_after[0]:.2f} after"
    )
    verdicts: list[str] = []
    ratios: list[str] = []
    for shape in shapes:
        print(
            f"\n{shape.spans} spans in {shape.files} spool files of {shape.per_file}, "
            f"up to {CHUNK_SPANS} spans per request"
        )
        print(
            f"  {'':<24} {'spans/s (wall)':>24} {'spans/CPU-s':>24} {'requests':>9} {'peak RSS MiB':>13}"
        )
        for mode in modes:
            rows = runs[(shape.name, mode)]
            rss = statistics.median(r["maxrss_kib"] for r in rows) / 1024
            requests = statistics.median(r["requests"] for r in rows)
            print(
                f"  {mode:<24} {spread(rates(shape, mode)):>24} {spread(rates(shape, mode, 'cpu_s')):>24}"
                f" {requests:>9.0f} {rss:>13.1f}"
            )
        for compression in compressions:
            up, sdk = f"uploader {compression}", f"sdk {compression}"
            wall = [u / s for u, s in zip(rates(shape, up), rates(shape, sdk))]
            cpu = [u / s for u, s in zip(rates(shape, up, "cpu_s"), rates(shape, sdk, "cpu_s"))]
            print(
                f"  ratio uploader / SDK alone ({compression}):  wall {spread(wall, '{:.2f}')}"
                f"   CPU {spread(cpu, '{:.2f}')}"
            )
        if args.before:
            wall = [u / s for u, s in zip(rates(shape, "before none"), rates(shape, "sdk none"))]
            cpu = [
                u / s
                for u, s in zip(
                    rates(shape, "before none", "cpu_s"), rates(shape, "sdk none", "cpu_s")
                )
            ]
            print(
                f"  ratio before / SDK alone (none):    wall {spread(wall, '{:.2f}')}   CPU {spread(cpu, '{:.2f}')}"
            )
        print(
            f"  peak RSS of the process writing the spool: {writer[shape.name]['maxrss_kib'] / 1024:.1f} MiB"
        )
        best = statistics.median(rates(shape, f"uploader {compressions[0]}"))
        verdicts.append(f"{shape.name} {'PASS' if best >= 20_000 else 'FAIL'} ({best:,.0f})")
        up, sdk = f"uploader {compressions[0]}", f"sdk {compressions[0]}"
        ratio = statistics.median(u / s for u, s in zip(rates(shape, up), rates(shape, sdk)))
        ratios.append(f"{shape.name} {'PASS' if ratio >= 0.9 else 'FAIL'} ({ratio:.2f})")
    imports = [
        r["import_s"] * 1000
        for (_, mode), rows in runs.items()
        if mode.startswith("uploader")
        for r in rows
    ]
    print(
        f"\nuploader's imports before the clock starts: {statistics.median(imports):.0f} ms (median)"
    )
    print(
        f"bar >= 20,000 spans/s (uploader, {compressions[0]}, wall median): {', '.join(verdicts)}"
    )
    print(
        f"bar >= 0.9 x the SDK exporter alone ({compressions[0]}, wall median): {', '.join(ratios)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
