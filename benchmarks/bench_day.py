"""A simulated day of a CLI: CPU per run, host and uploaders, under optel's delivery policy (issue 19).

Each round runs, side by side and interleaved, one fresh `python` process of the same small CLI
(one command with two steps) per variant:

- bare: the CLI without optel;
- off: optel, the user's stored choice "off";
- on: optel, anonymous, the collector (a local OTLP receiver) up;
- offline: optel, anonymous, nothing listening on the collector's port.

Time is simulated through the spool's clock: between two runs every spool file's name stamp, the
tally and the backoff files are moved back by the gap between runs (`--runs` over `--hours`), so
the delivery policy sees the data age as it would over the day. CPU comes from the processes' own
accounting (`os.wait4`), robust on a shared machine: this process is made a child subreaper, so
every detached uploader a host spawns is reaped here with its rusage. At the end, the offline
variant's collector comes up and `optel upload` must deliver every run's command (nothing lost).

    python benchmarks/bench_day.py [--runs 50] [--hours 24]

Prints per variant: median host CPU, uploaders started and their CPU, CPU per run amortised over
the day (host + uploaders) and above bare, peak RSS of host and uploader, spool bytes written per
run, and for `on` the age of the data when it arrived (simulated). Linux only (prctl, /proc).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
sys.path.insert(0, os.path.join(HERE, "..", "src"))

from bench_exit import clean_env  # noqa: E402
from bench_exit import user_file as _stored_choice  # noqa: E402

from otlp_receiver import OTLPReceiver  # noqa: E402

APP = "bench-day"
PR_SET_CHILD_SUBREAPER = 36

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


def cli_source(with_optel: bool) -> str:
    if not with_optel:
        return CLI.format(optel_import="", init="", step="", command="")
    return CLI.format(
        optel_import="import optel",
        init=f'optel.init({APP!r}, endpoint=sys.argv[1], version="1.0.0")',
        step="@optel.step()",
        command="@optel.command()",
    )


def user_file(config_home: Path, mode: str) -> None:
    _stored_choice(config_home, mode, APP)


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


def waiting(directory: Path) -> int:
    try:
        return sum(
            1 for name in os.listdir(directory) if ".jsonl" in name and not name.endswith(".tmp")
        )
    except OSError:
        return 0


def spool_bytes(directory: Path) -> int:
    try:
        return sum(p.stat().st_size for p in directory.iterdir() if ".jsonl" in p.name)
    except OSError:
        return 0


class Variant:
    def __init__(self, label: str, script: Path, env: dict[str, str], endpoint: str) -> None:
        self.label = label
        self.script = script
        self.env = env
        self.endpoint = endpoint
        self.spool = Path(env["XDG_CACHE_HOME"]) / APP / "telemetry-spool"
        self.reset()

    def reset(self) -> None:
        self.host_cpu: list[float] = []
        self.host_rss: list[int] = []
        self.uploader_cpu: list[float] = []
        self.uploader_rss: list[int] = []
        self.written: list[int] = []
        self.pending: list[float] = []  # simulated times of runs whose data waits
        self.delays: list[float] = []

    def run(self, now_s: float) -> None:
        before = spool_bytes(self.spool)
        argv = [sys.executable, str(self.script), self.endpoint]
        host = os.posix_spawn(argv[0], argv, self.env)
        others = 0
        while True:
            # Every descendant: the host, and (as orphans of this subreaper) the uploaders it spawned.
            try:
                pid, _, usage = os.wait4(-1, 0)
            except ChildProcessError:
                break
            cpu = usage.ru_utime + usage.ru_stime
            if pid == host:
                self.host_cpu.append(cpu)
                self.host_rss.append(usage.ru_maxrss)
                # Spool growth before any uploader could have taken it: the host's write.
                self.written.append(max(0, spool_bytes(self.spool) - before))
            else:
                others += 1
                self.uploader_cpu.append(cpu)
                self.uploader_rss.append(usage.ru_maxrss)
        self.pending.append(now_s)
        if others and waiting(self.spool) == 0:
            self.delays.extend(now_s - t for t in self.pending)
            self.pending.clear()

    def per_run_ms(self) -> float:
        return (sum(self.host_cpu) + sum(self.uploader_cpu)) / len(self.host_cpu) * 1000


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument(
        "--hours", type=float, default=24.0, help="the runs are spread evenly over this"
    )
    options = parser.parse_args()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        print("prctl(PR_SET_CHILD_SUBREAPER) failed: Linux only")
        return 2
    gap = options.hours * 3600 / options.runs
    tmp = Path(tempfile.mkdtemp(prefix="optel-bench-day-"))
    home = tmp / "home"
    home.mkdir()
    bare_script, optel_script = tmp / "cli_bare.py", tmp / "cli_optel.py"
    bare_script.write_text(cli_source(False))
    optel_script.write_text(cli_source(True))
    for name, mode in (
        ("bare", "off"),
        ("off", "off"),
        ("on", "anonymous"),
        ("offline", "anonymous"),
    ):
        user_file(tmp / f"config-{name}", mode)

    def env(name: str) -> dict[str, str]:
        return clean_env(home, tmp / f"config-{name}", tmp / f"cache-{name}")

    offline_port = closed_port()
    with OTLPReceiver() as receiver:
        variants = [
            Variant("bare python (no optel)", bare_script, env("bare"), receiver.url),
            Variant("optel, telemetry off", optel_script, env("off"), receiver.url),
            Variant("optel on, collector up", optel_script, env("on"), receiver.url),
            Variant(
                "optel on, offline",
                optel_script,
                env("offline"),
                f"http://127.0.0.1:{offline_port}",
            ),
        ]
        for variant in variants:  # warm-up: bytecode, page cache; then a clean spool
            variant.run(0.0)
            subprocess.run(["rm", "-rf", str(variant.spool)], check=True)
            variant.reset()
        load = os.getloadavg()[0]
        for i in range(options.runs):
            for variant in variants:
                if i:
                    shift_spool(variant.spool, gap)
                variant.run(i * gap)
        load_after = os.getloadavg()[0]
        arrived_on = len([s for s in receiver.spans() if s["name"].endswith("build")])

    bare, off, on, offline = variants
    # Recovery: the offline variant's collector comes up; `optel upload` sends what waits.
    with OTLPReceiver(port=offline_port) as late:
        subprocess.run(
            [sys.executable, "-m", "optel", "upload", "--app", APP],
            env=offline.env,
            capture_output=True,
            timeout=120,
        )
        recovered = len([s for s in late.spans() if s["name"].endswith("build")])
    base = statistics.mean(bare.host_cpu) * 1000

    print(
        f"A simulated day: {options.runs} runs over {options.hours:g} h (one every {gap / 60:.0f} min), "
        f"load average {load:.1f} -> {load_after:.1f}; CPU from wait4, ms"
    )
    print(
        f"  {'variant':26} {'host med':>8} {'host-off':>8} {'uploaders':>9} {'upl ms ea':>9} {'per run':>8} "
        f"{'- bare':>7} {'host RSS':>9} {'upl RSS':>8} {'B/run':>6}"
    )
    for v in variants:
        med = statistics.median(v.host_cpu) * 1000
        each = statistics.mean(v.uploader_cpu) * 1000 if v.uploader_cpu else 0.0
        print(
            f"  {v.label:26} {med:8.1f} {med - statistics.median(off.host_cpu) * 1000:+8.1f} {len(v.uploader_cpu):9d}"
            f" {each:9.0f} {v.per_run_ms():8.1f} {v.per_run_ms() - base:+7.1f}"
            f" {max(v.host_rss) / 1024:7.1f}Mi {max(v.uploader_rss, default=0) / 1024:6.1f}Mi"
            f" {statistics.mean(v.written):6.0f}"
        )
    if on.delays:
        print(
            f"  age of data at arrival (on, simulated): median {statistics.median(on.delays) / 3600:.1f} h, "
            f"max {max(on.delays) / 3600:.1f} h; {len(on.pending)} runs' data still waits at the day's end"
        )
    print(
        f"  commands received: on {arrived_on} during the day (+{waiting(on.spool)} files waiting); "
        f"offline after recovery {recovered}/{options.runs}"
    )
    return 0 if recovered == options.runs else 1


if __name__ == "__main__":
    sys.exit(main())
