"""What `import optel; optel.init(...)` (plus a decorated call and shutdown) costs a host at start-up.

Runs, side by side and interleaved, >= 20 times each: bare `python -c pass`, optel with telemetry
off (nothing stored, not a TTY), and optel with telemetry on (a user file saying anonymous, in a
temporary XDG_CONFIG_HOME; the spool goes to a temporary XDG_CACHE_HOME and the uploader is kept
from starting by a held lock). Each optel case runs twice: `import optel; optel.init()` alone
(then `os._exit(0)`, compared with bare Python that also ends with `os._exit(0)`: the
interpreter's own teardown costs ~1.5 ms, which neither of them pays), and the whole run (init, a
decorated call, shutdown, normal exit, compared with `python -c pass`). Prints medians and the
difference to the matching bare run. Bar: < 10 ms for each. The exit path has its own benchmark,
bench_exit.py.

The "on" runs start from an empty spool, as after an uploader took the previous run's file: each
whole run's spool file is counted and removed before the next case runs.

Child processes run with PYTHONDONTWRITEBYTECODE unset and a warm-up run first, so they import
from .pyc files as an installed package would (this harness may run with it set).

    python benchmarks/bench_import.py [RUNS]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

APP = "bench-import"
INIT_ONLY = f"""
import optel
optel.init({APP!r}, version="1.0")
import os
os._exit(0)
"""

SCRIPT = f"""
import optel
optel.init({APP!r}, version="1.0")

@optel.command("bench")
def bench():
    return 1

bench()
optel.shutdown()
"""

USER_FILE = """mode = "anonymous"
install_id = "0b7f3c52-7d36-4c5e-9d2a-6f1f7f0f7a10"
decided_at = "2026-01-01T00:00:00Z"
consent_version = 1
salt = "00112233445566778899aabbccddeeff"
first_seen = "2026-01-01T00:00:00Z"
"""


def _env(home: str, on: bool) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OTEL_", "OPTEL_", "XDG_")) and "TELEMETRY" not in k
    }
    # An installed package has its .pyc files; the warm-up run writes them here.
    for name in ("DO_NOT_TRACK", "CI", "GITHUB_ACTIONS", "PYTHONDONTWRITEBYTECODE"):
        env.pop(name, None)
    env["HOME"] = home
    env["XDG_CONFIG_HOME"] = os.path.join(home, "config-on" if on else "config-off")
    env["XDG_CACHE_HOME"] = os.path.join(home, "cache")
    return env


def _hold_uploader_lock(home: str) -> None:
    # A live lock keeps every run's shutdown from spawning an uploader, which would skew the timing
    # of the next runs (and try to reach a collector).
    from optel.spool.lock import acquire_lock

    spool = os.path.join(home, "cache", APP, "telemetry-spool")
    os.makedirs(spool, mode=0o700, exist_ok=True)
    acquire_lock(spool, os.getpid(), "benchmark")


def _time(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run; CPU time is what a loaded machine disturbs least."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    if hasattr(os, "wait4"):
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        cpu = usage.ru_utime + usage.ru_stime
    else:  # pragma: no cover - Windows
        proc.wait()
        wall = time.perf_counter() - start
        cpu = float("nan")
    if proc.returncode != 0:
        raise SystemExit(f"{argv[:2]} failed with {proc.returncode}")
    return wall, cpu


def main(runs: int = 30) -> None:
    with tempfile.TemporaryDirectory() as home:
        on_dir = os.path.join(home, "config-on", APP)
        os.makedirs(on_dir)
        with open(os.path.join(on_dir, "telemetry.toml"), "w", encoding="utf-8") as f:
            f.write(USER_FILE)
        _hold_uploader_lock(home)
        cases = {
            "bare python -c pass": ([sys.executable, "-c", "pass"], _env(home, False)),
            "bare python, os._exit(0)": (
                [sys.executable, "-c", "import os; os._exit(0)"],
                _env(home, False),
            ),
            "import+init, telemetry off": ([sys.executable, "-c", INIT_ONLY], _env(home, False)),
            "import+init, telemetry on": ([sys.executable, "-c", INIT_ONLY], _env(home, True)),
            "whole run, telemetry off": ([sys.executable, "-c", SCRIPT], _env(home, False)),
            "whole run, telemetry on": ([sys.executable, "-c", SCRIPT], _env(home, True)),
        }
        spool = os.path.join(home, "cache", APP, "telemetry-spool")
        written = 0

        def run(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
            nonlocal written
            timing = _time(argv, env)
            for name in os.listdir(spool):
                if name.endswith(".jsonl"):
                    os.unlink(os.path.join(spool, name))
                    written += 1
            return timing

        for argv, env in cases.values():  # warm the file cache and the .pyc files
            assert "PYTHONDONTWRITEBYTECODE" not in env
            run(argv, env)
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
        for _ in range(runs):
            for name, (argv, env) in cases.items():
                times[name].append(run(argv, env))
    print(f"{runs} runs each, interleaved; medians; init-only runs against bare with os._exit(0)")
    print(f"{'case':<28} {'wall':>9} {'over bare':>10} {'ratio':>6} {'cpu':>9} {'over bare':>10}")
    for name, values in times.items():
        base = times[
            "bare python, os._exit(0)"
            if "_exit" in name or "init," in name
            else "bare python -c pass"
        ]
        base_wall = statistics.median(w for w, _ in base)
        base_cpu = statistics.median(c for _, c in base)
        wall = statistics.median(w for w, _ in values)
        cpu = statistics.median(c for _, c in values)
        print(
            f"{name:<28} {wall * 1e3:6.2f} ms {(wall - base_wall) * 1e3:+7.2f} ms {wall / base_wall:5.2f}x"
            f" {cpu * 1e3:6.2f} ms {(cpu - base_cpu) * 1e3:+7.2f} ms"
        )
    print(
        f"spool files written by the whole 'on' runs: {written} (expected {runs + 1}; init-only runs write none)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
