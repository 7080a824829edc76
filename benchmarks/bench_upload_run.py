"""The fixed cost of one uploader run: CPU and peak RSS of the detached uploader process, online with a few spans and offline.

Each run is the exact command the host starts (`spool.launch.uploader_command`: `python -I -c ...
upload --app NAME --detached`) on a fresh copy of a spool of one file (5 spans, 2 measurements),
measured by `os.wait4` (user + system CPU of the process, its ru_maxrss). Online: a local OTLP/HTTP
receiver takes the data. Offline: the endpoint is a closed port on 127.0.0.1, the files are kept
and the backoff recorded. Medians of N runs, interleaved with `--before SRC` (another source tree,
e.g. `git archive main src | tar -x -C /tmp/before`, then `--before /tmp/before/src`).

    python benchmarks/bench_upload_run.py [--runs 15] [--before SRC]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, "..", "src"))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
sys.path.insert(0, SRC)

from bench_upload import T0, WRITE_SPOOL  # noqa: E402

from optel.spool.process import BOOTSTRAP  # noqa: E402
from otlp_receiver import OTLPReceiver  # noqa: E402

APP = "bench-upload"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def one_run(root: str, env: dict[str, str], cwd: str) -> tuple[float, float, int]:
    """(CPU seconds, peak RSS MiB, exit status) of one uploader process.

    Started under /usr/bin/time, whose report of its child's ru_maxrss is the uploader's own:
    a child forked from this (large) process would count this process's pages before its exec.
    The CPU is wait4's, which includes the waited-for uploader (time's own is negligible).
    """
    report = os.path.join(cwd, "time.out")
    argv = [sys.executable, "-I", "-c", BOOTSTRAP, cwd, root, "upload", "--app", APP, "--detached"]
    argv = ["/usr/bin/time", "-f", "%M", "-o", report, *argv]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = status
    with open(report) as f:
        rss_kib = int(f.read().split()[-1])
    return usage.ru_utime + usage.ru_stime, rss_kib / 1024, status


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--before", metavar="SRC")
    args = parser.parse_args()
    trees = {"this tree": SRC}
    if args.before:
        trees["before"] = os.path.abspath(args.before)
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-upload-run-") as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "DO_NOT_TRACK"))}
        env.update(HOME=home, XDG_CONFIG_HOME=os.path.join(home, "cfg"))
        template = os.path.join(home, "template")
        subprocess.run(
            [sys.executable, "-c", WRITE_SPOOL, "5", "5", "1", str(T0)],
            env=dict(env, XDG_CACHE_HOME=template, PYTHONPATH=SRC),
            check=True,
            capture_output=True,
        )
        cache = os.path.join(home, "cache")
        with OTLPReceiver() as receiver:
            where = {"online": receiver.url, "offline": f"http://127.0.0.1:{closed_port()}"}
            for _ in range(args.runs):
                for mode, url in where.items():
                    for name, root in trees.items():
                        shutil.rmtree(cache, ignore_errors=True)
                        shutil.copytree(template, cache)
                        run_env = dict(env, XDG_CACHE_HOME=cache, OTEL_EXPORTER_OTLP_ENDPOINT=url)
                        cpu, rss, status = one_run(root, run_env, home)
                        if status != 0:
                            print(f"{name} {mode}: exit status {status}")
                            return 1
                        results.setdefault((mode, name), []).append((cpu, rss))
            sent = len(receiver.accepted("/v1/traces"))
    print(
        f"one uploader run, median of {args.runs} (min-max); load average {os.getloadavg()[0]:.2f}"
    )
    print(f"  {'':<22} {'CPU ms':>22} {'peak RSS MiB':>22}")
    for (mode, name), rows in results.items():
        cpu = [c * 1000 for c, _ in rows]
        rss = [r for _, r in rows]
        print(
            f"  {mode + ', ' + name:<22} {statistics.median(cpu):>8.0f} ({min(cpu):.0f}-{max(cpu):.0f})"
            f"{'':>4} {statistics.median(rss):>8.1f} ({min(rss):.1f}-{max(rss):.1f})"
        )
    print(f"  (the receiver took {sent} span requests: one per online run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
