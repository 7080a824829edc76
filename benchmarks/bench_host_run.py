"""CPU cost of one short run of a CLI with telemetry on vs off (host only; no uploader due).

A run: `import optel`, `optel.init`, a `@optel.command` with two `@optel.step`, exit. Each run is a
fresh interpreter; its CPU time (user + system, from the kernel's rusage of the child) is summed
over the whole process. In-process, the script also times `init()` and the exit path
(`optel.shutdown()`, which atexit would run) with `time.process_time_ns`. Runs alternate on/off;
medians are printed. The spool is emptied between runs so that no uploader is ever due.

    python bench_host_run.py [RUNS] [NAME=SRC_DIR ...]

Each NAME=SRC_DIR is measured beside the others, runs interleaved (optel imported from SRC_DIR);
without any, the optel this interpreter imports. Compile the sources first (`python -m compileall`):
with PYTHONDONTWRITEBYTECODE set, modules without a .pyc are compiled at every run.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile

HOST = r"""
import time
t0 = time.process_time_ns()
import optel
t1 = time.process_time_ns()
tel = optel.init("costapp", version="1.0")
t2 = time.process_time_ns()

@optel.step("one")
def one():
    return 1

@optel.step("two")
def two():
    return 2

@optel.command("run")
def run():
    one()
    two()

run()
t3 = time.process_time_ns()
optel.shutdown()
t4 = time.process_time_ns()
import sys
sys.stdout.write(f"{t1 - t0} {t2 - t1} {t3 - t2} {t4 - t3} {tel.recording}")
"""


def one_run(env: dict[str, str]) -> tuple[float, list[int], str]:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        os.dup2(w, 1)
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(devnull, 2)
        os.execve(sys.executable, [sys.executable, "-c", HOST], env)
    os.close(w)
    out = b""
    while chunk := os.read(r, 4096):
        out += chunk
    os.close(r)
    _, status, usage = os.wait4(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, out
    parts = out.decode().split()
    return (usage.ru_utime + usage.ru_stime) * 1000, [int(p) for p in parts[:4]], parts[4]


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    variants = dict(arg.split("=", 1) for arg in sys.argv[2:]) or {"optel": ""}
    home = tempfile.mkdtemp()
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPTEL", "OTEL", "CI", "DO_NOT", "PYTHONPATH"))
    }
    base.update(HOME=home, XDG_CONFIG_HOME=f"{home}/.config", XDG_CACHE_HOME=f"{home}/.cache")
    os.makedirs(f"{home}/.config/costapp")
    with open(f"{home}/.config/costapp/telemetry.toml", "w") as f:
        f.write(
            'mode = "anonymous"\ninstall_id = "0b7f3c52-7d36-4c5e-9d2a-6f1f7f0f7a10"\n'
            'consent_version = 1\ndecided_at = "2026-11-23T18:00:00Z"\n'
        )
    spool = f"{home}/.cache/costapp"
    envs = {}
    for name, src in variants.items():
        env = {**base, "PYTHONPATH": src} if src else dict(base)
        envs[(name, "off")] = {**env, "DO_NOT_TRACK": "1"}
        envs[(name, "on")] = env
    cpu: dict[tuple[str, str], list[float]] = {k: [] for k in envs}
    parts: dict[tuple[str, str], list[list[int]]] = {k: [] for k in envs}
    for _ in range(3):  # warm the page cache
        for env in envs.values():
            one_run(env)
            shutil.rmtree(spool, ignore_errors=True)
    for _ in range(runs):
        for key, env in envs.items():
            total, inside, recording = one_run(env)
            assert recording == str(key[1] == "on")
            cpu[key].append(total)
            parts[key].append(inside)
            shutil.rmtree(spool, ignore_errors=True)
    print(f"{runs} runs each, interleaved; medians, ms of CPU")
    print(f"{'':16}{'process':>9}{'import':>9}{'init':>9}{'run':>9}{'exit':>9}")
    for key in envs:
        cols = [statistics.median(p[i] for p in parts[key]) / 1e6 for i in range(4)]
        label = f"{key[0]} {key[1]}"
        print(f"{label:16}{statistics.median(cpu[key]):9.2f}" + "".join(f"{c:9.3f}" for c in cols))
    for name in variants:
        on, off = cpu[(name, "on")], cpu[(name, "off")]
        diff = statistics.median(a - b for a, b in zip(on, off))
        print(f"{name}: on - off, median of paired differences: {diff:+.2f} ms")
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
