"""What `optel report` costs on a large input: 1M spans in the spool/audit format (and the same
spans as OTLP JSON lines, as a collector's file exporter writes them), read into the HTML page and
into the text summary: wall time and the child's peak memory (max RSS).

The input is generated first, streamed to a temporary file; the report must stream too: its peak
memory should stay flat as the input grows (compare `--spans 200000` with the default).

Run: ``python benchmarks/bench_report.py [--spans N]`` (one run each; nothing is asserted).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time

INSTALLS = 2000
VERSIONS = ("1.0.0", "1.1.0", "1.2.0", "2.0.0")
COMMANDS = ("build", "check", "deploy", "init", "chat")
MODELS = (
    ("openai", "gpt-4o-mini"),
    ("openai", "gpt-4o"),
    ("anthropic", "claude-3-5-sonnet-20241022"),
)
DAY_NS = 86_400 * 10**9
START_NS = 1_795_000_000 * 10**9
SPANS_PER_FLUSH = 20


def _header(rng: random.Random) -> dict[str, object]:
    install = rng.randrange(INSTALLS)
    return {
        "schema": "optel.spool/1", "app": "bench", "created_ns": START_NS,
        "resource": {
            "service.name": "bench", "service.version": VERSIONS[install % len(VERSIONS)],
            "optel.install.id": f"00000000-0000-4000-8000-{install:012d}",
            "optel.consent.mode": "anonymous" if install % 5 else "identified",
            "os.type": ("linux", "darwin", "windows")[install % 3],
            "process.runtime.name": "cpython", "process.runtime.version": f"3.{9 + install % 5}.1",
        },
    }  # fmt: skip


def _spans(rng: random.Random, n: int) -> list[dict[str, object]]:
    day = rng.randrange(60)
    start = START_NS + day * DAY_NS + rng.randrange(DAY_NS)
    command = rng.choice(COMMANDS)
    failed = rng.random() < 0.1
    root = {
        "t": "span", "trace_id": f"{rng.getrandbits(128):032x}", "span_id": f"{rng.getrandbits(64):016x}",
        "parent_span_id": None, "name": command, "kind": "internal", "start_ns": start,
        "end_ns": start + int(rng.lognormvariate(19, 1.2)),
        "attributes": {"command.name": command, **({"error.type": "ValueError"} if failed else {})},
        "status": "error" if failed else "ok", "status_message": None, "events": [],
    }  # fmt: skip
    out = [root]
    for _ in range(n - 1):
        provider, model = rng.choice(MODELS)
        out.append({
            "t": "span", "trace_id": root["trace_id"], "span_id": f"{rng.getrandbits(64):016x}",
            "parent_span_id": root["span_id"], "name": f"chat {model}", "kind": "client",
            "start_ns": start, "end_ns": start + int(rng.lognormvariate(20, 0.8)),
            "attributes": {
                "gen_ai.operation.name": "chat", "gen_ai.provider.name": provider,
                "gen_ai.request.model": model, "gen_ai.usage.input_tokens": rng.randrange(10, 4000),
                "gen_ai.usage.output_tokens": rng.randrange(10, 1000),
            },
            "status": "unset", "status_message": None, "events": [],
        })  # fmt: skip
    return out


def generate(path: str, spans: int) -> None:
    """`spans` spans in flushes of SPANS_PER_FLUSH, written as they are made (bounded memory)."""
    rng = random.Random(42)
    with open(path, "w") as f:
        for _ in range(spans // SPANS_PER_FLUSH):
            f.write(json.dumps(_header(rng), separators=(",", ":")) + "\n")
            for span in _spans(rng, SPANS_PER_FLUSH):
                f.write(json.dumps(span, separators=(",", ":")) + "\n")


def generate_otlp(spool_path: str, path: str) -> None:
    """The same flushes as OTLP JSON: one ExportTraceServiceRequest per flush, one line each."""

    def value(v: object) -> dict[str, object]:
        return {"intValue": str(v)} if isinstance(v, int) else {"stringValue": str(v)}

    def attrs(d: dict[str, object]) -> list[dict[str, object]]:
        return [{"key": k, "value": value(v)} for k, v in d.items()]

    with open(spool_path) as src, open(path, "w") as f:
        resource_attrs: list[dict[str, object]] = []
        spans: list[dict[str, object]] = []

        def flush() -> None:
            if spans:
                block = {
                    "resource": {"attributes": resource_attrs},
                    "scopeSpans": [{"spans": spans}],
                }
                f.write(json.dumps({"resourceSpans": [block]}, separators=(",", ":")) + "\n")

        for line in src:
            record = json.loads(line)
            if "schema" in record:
                flush()
                resource_attrs, spans = attrs(record["resource"]), []
                continue
            spans.append({
                "traceId": record["trace_id"], "spanId": record["span_id"],
                "parentSpanId": record["parent_span_id"] or "", "name": record["name"], "kind": 1,
                "startTimeUnixNano": str(record["start_ns"]), "endTimeUnixNano": str(record["end_ns"]),
                "attributes": attrs(record["attributes"]),
                "status": {"code": 2} if record["status"] == "error" else {},
            })  # fmt: skip
        flush()


def measure(label: str, args: list[str]) -> None:
    """One run of `optel report` in a child: wall time and the child's max RSS."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "optel", "report", *args], capture_output=True, text=True
    )
    took = time.perf_counter() - started
    peak = resource.getrusage(
        resource.RUSAGE_CHILDREN
    ).ru_maxrss  # KiB on Linux, the largest child so far
    if done.returncode != 0:
        raise SystemExit(f"{label}: optel report failed: {done.stderr.strip()}")
    note = "" if peak > before else " (not above an earlier child)"
    print(f"  {label:<28} {took:7.1f} s   peak RSS {peak / 1024:7.1f} MiB{note}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        spool, otlp = os.path.join(tmp, "spool.jsonl"), os.path.join(tmp, "otlp.jsonl")
        started = time.perf_counter()
        generate(spool, args.spans)
        generate_otlp(spool, otlp)
        mib = os.path.getsize(spool) / 2**20, os.path.getsize(otlp) / 2**20
        print(f"bench_report: {args.spans:,} spans, {INSTALLS} installs over 60 days")
        print(f"  inputs: spool format {mib[0]:.0f} MiB, OTLP JSON {mib[1]:.0f} MiB "
              f"(generated in {time.perf_counter() - started:.1f} s)")  # fmt: skip
        # Smallest expected peak first: ru_maxrss of children is the largest of any child so far.
        measure("text summary (spool)", [spool, "--format", "text"])
        measure("HTML page (spool)", [spool, "-o", os.path.join(tmp, "a.html")])
        measure("HTML page (OTLP JSON)", [otlp, "-o", os.path.join(tmp, "b.html")])
    return 0


if __name__ == "__main__":
    sys.exit(main())
