"""Host CPU of one CLI run with telemetry on against the same run with telemetry off (issue 19).

Side by side in one run: a fresh ``python`` per run of a host script (import, ``init``, one
``@command`` with two ``@step`` calls, exit), telemetry on (stored anonymous consent, collector
down, no uploader due) and off (stored ``off``), alternated; the CPU of each process from
``wait4`` (user + system), medians. Then, in the on run, where the CPU goes, phase by phase
(``time.process_time_ns`` around each, medians): the exit flush is done by hand in the same steps
``optel.shutdown`` takes, so that the record side (``to_dicts``, the header's resource facts) and
the spool side are told apart. Bar: on - off <= 3 ms.

    python benchmarks/bench_host_run.py [--runs 40]
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
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_exit import user_file

APP = "bench-run"
HOST = """\
import optel
optel.init({app!r}, endpoint={endpoint!r}, version="1.0.0")

@optel.step()
def fetch():
    return 1

@optel.step()
def render(x):
    return x + 1

@optel.command()
def main():
    render(fetch())

main()
"""

PHASES = """\
import sys
from time import process_time_ns as now, time_ns
marks = [now()]
import optel
marks.append(now())
optel.init({app!r}, endpoint={endpoint!r}, version="1.0.0")
marks.append(now())

@optel.step()
def fetch():
    return 1

@optel.command()
def main():
    fetch()

main()
marks.append(now())
from optel import _flushes, _runtime
from optel.record import flush, spans
marks.append(now())
telemetry = _runtime.current()
summary = flush.Summary()
records = flush.to_dicts(spans.take(), host_attributes=telemetry.settings.attributes, summary=summary)
records += flush.session_records(summary, telemetry._started_ns, time_ns())
marks.append(now())
from optel.record.resource import spool_header
header = spool_header(telemetry.settings, telemetry.consent)
marks.append(now())
_flushes.deliver(telemetry.app, header, records, send=telemetry.sending, debug=False, log_file=None)
marks.append(now())
spans.set_recording(False)
sys.stderr.write(" ".join(str(b - a) for a, b in zip(marks, marks[1:])) + "\\n")
"""
PHASE_NAMES = (
    "import optel",
    "init",
    "decorate and run",
    "import flush (and privacy)",
    "to_dicts + session",
    "header",
    "spool deliver",
)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env_for(root: Path, mode: str) -> dict[str, str]:
    home, config, cache = root / "home", root / "config", root / "cache"
    for directory in (home, config / APP, cache):
        directory.mkdir(parents=True, exist_ok=True)
    user_file(config, mode, APP)
    env = {
        k: v
        for k, v in os.environ.items()
        if not (k.startswith(("OTEL_", "OPTEL_", "XDG_")) or "_TELEMETRY" in k)
        and k not in ("DO_NOT_TRACK", "CI", "PYTHONDONTWRITEBYTECODE")
    }
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(config), XDG_CACHE_HOME=str(cache))
    env["OPTEL_UPLOAD_INTERVAL"] = "86400"  # no uploader due
    return env


def cpu_ms(script: Path, env: dict[str, str]) -> tuple[float, str]:
    process = subprocess.Popen(
        [sys.executable, str(script)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    assert process.stderr is not None
    err = process.stderr.read().decode()
    process.stderr.close()
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"the host failed: {err}")
    return (usage.ru_utime + usage.ru_stime) * 1000, err


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=40)
    runs = parser.parse_args().runs
    root = Path(tempfile.mkdtemp())
    try:
        endpoint = f"http://127.0.0.1:{closed_port()}"
        host, phases = root / "host.py", root / "phases.py"
        host.write_text(HOST.format(app=APP, endpoint=endpoint))
        phases.write_text(PHASES.format(app=APP, endpoint=endpoint))
        envs = {mode: env_for(root / mode, mode) for mode in ("anonymous", "off")}
        for mode in envs:  # bytecode and first-run files
            for _ in range(3):
                cpu_ms(host, envs[mode])
        cpu: dict[str, list[float]] = {mode: [] for mode in envs}
        for _ in range(runs):
            for mode in envs:
                cpu[mode].append(cpu_ms(host, envs[mode])[0])
        on, off = statistics.median(cpu["anonymous"]), statistics.median(cpu["off"])
        print(f"host CPU per run, median of {runs}: on {on:.1f} ms, off {off:.1f} ms")
        print(f"on - off: {on - off:+.1f} ms (bar: +3 ms)")
        rows = [cpu_ms(phases, envs["anonymous"])[1].split() for _ in range(runs)]
        print("telemetry on, phase by phase (CPU ms, medians):")
        for name, column in zip(PHASE_NAMES, zip(*rows)):
            print(f"  {name:<28} {statistics.median(int(x) for x in column) / 1e6:6.2f}")
    finally:
        # A file can still appear in the spool while it is removed (a run's leftovers drained).
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
