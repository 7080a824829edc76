"""Uploader throughput (spool -> local OTLP/HTTP receiver, spans/s) and the uploader's peak RSS.

Writes 100k spans (plus one metric measurement per span) as spool files, then runs the uploader
in a fresh process (`optel.upload.upload`) against a real OTLP/HTTP receiver on 127.0.0.1, and,
side by side, the SDK's `OTLPSpanExporter` alone sending the same spans already built as
`ReadableSpan`s (the floor: encoding + HTTP). Prints medians of several rounds and the ratio.
Bar (issue 5): >= 20,000 spans/s.

    python benchmarks/bench_upload.py [--spans 100000] [--per-file 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
sys.path.insert(0, os.path.join(HERE, "..", "src"))

from otlp_receiver import OTLPReceiver  # noqa: E402

APP = "bench-upload"

CHILD_UPLOAD = r"""
import json, resource, sys, time

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
start = time.perf_counter()
from optel.upload import upload
imported = time.perf_counter()
summary = upload(sys.argv[1])
done = time.perf_counter()
print(json.dumps({"spans": summary.sent_spans, "points": summary.sent_metrics, "files": summary.files_sent,
                  "kept": summary.files_kept, "error": summary.error, "import_s": imported - start,
                  "upload_s": done - imported, "maxrss_kib": peak_rss_kib()}))
"""

CHILD_SDK = r"""
import json, resource, sys, time

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
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanContext, TraceFlags
n, per_request, url = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
resource_ = Resource({"service.name": "bench"})
flags = TraceFlags(TraceFlags.SAMPLED)
spans = [ReadableSpan(name=f"step {i % 50}", context=SpanContext(i // 20 + 1, i + 1, False, flags),
                      parent=SpanContext(i // 20 + 1, (i // 20) * 20 + 1, False, flags) if i % 20 else None,
                      resource=resource_, attributes={"step.name": "s", "command.name": "c"},
                      start_time=1_790_000_000_000_000_000 + i, end_time=1_790_000_000_000_000_500 + i)
         for i in range(n)]
exporter = OTLPSpanExporter(endpoint=url + "/v1/traces", timeout=10)
start = time.perf_counter()
for at in range(0, n, per_request):
    assert exporter.export(spans[at:at + per_request]).name == "SUCCESS"
done = time.perf_counter()
print(json.dumps({"spans": n, "upload_s": done - start,
                  "maxrss_kib": peak_rss_kib()}))
"""


def write_spool(env: dict[str, str], url: str, spans: int, per_file: int, metrics: bool) -> None:
    code = r"""
import sys
from optel.spool.files import Spool
url, spans, per_file, metrics = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
header = {"app": "bench-upload", "created_ns": 1, "resource": {"service.name": "bench-upload", "service.version": "1"},
          "consent": {"mode": "anonymous", "source": "user_file", "install_id": "bench"},
          "export": {"endpoint": url, "headers": None},
          "settings": {"policy": "opt-in", "sample_percent": 100.0, "consent_version": 1, "version_module": None}}
t0 = 1_790_000_000_000_000_000
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
"""
    subprocess.run([sys.executable, "-c", code, url, str(spans), str(per_file), "1" if metrics else "0"], env=env, check=True)


def child(code: str, env: dict[str, str], *args: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", code, *args], env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=100_000)
    parser.add_argument("--per-file", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    runs: dict[str, list[dict[str, float]]] = {"spans": [], "spans+metrics": [], "sdk": []}
    with tempfile.TemporaryDirectory(prefix="bench-upload-") as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "DO_NOT_TRACK"))}
        env.update(HOME=home, XDG_CACHE_HOME=os.path.join(home, "cache"), XDG_CONFIG_HOME=os.path.join(home, "cfg"))
        env["PYTHONPATH"] = os.path.join(HERE, "..", "src") + os.pathsep + env.get("PYTHONPATH", "")
        from optel.upload import CHUNK_SPANS

        for _ in range(args.rounds):
            # Side by side in each round: the uploader on spans only, on spans with one metric
            # measurement each, then the bare SDK exporter, each against a fresh receiver.
            for mode in ("spans", "spans+metrics"):
                with OTLPReceiver() as receiver:
                    write_spool(env, receiver.url, args.spans, args.per_file, mode == "spans+metrics")
                    run = child(CHILD_UPLOAD, env, APP)
                    received = len(receiver.spans())
                if run["spans"] != args.spans or received != args.spans:
                    print(f"uploader sent {run['spans']}, receiver got {received} of {args.spans}: {run}")
                    return 1
                runs[mode].append(run)
            with OTLPReceiver() as receiver:
                runs["sdk"].append(child(CHILD_SDK, env, str(args.spans), str(CHUNK_SPANS), receiver.url))

    def rate(mode: str) -> float:
        return statistics.median(r["spans"] / r["upload_s"] for r in runs[mode])

    def rss(mode: str) -> float:
        return statistics.median(r["maxrss_kib"] for r in runs[mode]) / 1024

    files = args.spans // args.per_file
    print(f"{args.spans} spans in {files} spool files, median of {args.rounds} rounds (uploader: fresh process each)")
    rows = [
        ("optel uploader, spans only", "spans"),
        ("optel uploader, + 1 measurement/span", "spans+metrics"),
        ("bare SDK OTLPSpanExporter, prebuilt", "sdk"),
    ]
    for label, mode in rows:
        print(f"  {label:<40} {rate(mode):>9,.0f} spans/s   peak RSS {rss(mode):6.1f} MiB")
    print(f"  ratio uploader (spans only) / bare SDK:  {rate('spans') / rate('sdk'):9.2f}")
    print(f"  import of optel.upload (median):         {statistics.median(r['import_s'] for r in runs['spans']) * 1000:9.0f} ms")
    print(f"  bar >= 20,000 spans/s (spans only):      {'PASS' if rate('spans') >= 20_000 else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
