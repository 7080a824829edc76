"""What scrubbing costs the host: a typical span's attributes (fast path, one slow string, all slow),
the first slow call (``import re`` and compiling), a typical exception's first scrub (message and
stack trace: no ``re``), and ``import optel.privacy``; beside a bare OpenTelemetry SDK span with
the same attributes, for the bar: the typical span's fast path at or below 0.7x a bare SDK span.
Fresh-process figures are CPU time measured inside the process (robust on a shared machine).

Run: ``python benchmarks/bench_scrub.py`` (medians of many runs; nothing is asserted).

``--host [--src DIR] [--runs N]``: instead, the CPU time of a real host run (import optel, init,
an @command with two @step calls, exit; and the same with a step that raises), telemetry on and
off side by side, from the processes' own rusage, with optel imported from DIR (default: this
checkout's src). ``git archive main src | tar -x -C /tmp/main`` and ``--src /tmp/main/src`` give
the figures before a change.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROUNDS = 301
INNER = 50
IMPORT_RUNS = 41

FAST = {
    "command.name": "deploy",
    "outcome": "error",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.response.model": "claude-3-5-sonnet-20241022",
    "gen_ai.usage.input_tokens": 1200,
    "gen_ai.usage.output_tokens": 300,
    "error.type": "ValueError",
    "cli.duration": 1.25,
}
ONE_SLOW = dict(
    FAST, **{"exception.message": "cannot open /home/alice/project/config.toml: denied"}
)
ONE_SLOW.pop("cli.duration")
ALL_SLOW = {
    "command.name": "deploy to prod",
    "outcome": "error after retry",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.response.model": "see https://api.example.com/v1",
    "step.name": "read config at ~/x",
    "note": "user ops@example.com on 10.0.0.2",
    "error.type": "mytool.errors.DeployError",
    "exception.message": "cannot open /home/alice/project/config.toml: denied",
}


def _median_us(fn, arg) -> float:
    samples = []
    for _ in range(ROUNDS):
        start = time.perf_counter_ns()
        for _ in range(INNER):
            fn(arg)
        samples.append((time.perf_counter_ns() - start) / INNER / 1000)
    return statistics.median(samples)


def _cpu_us(statement: str, setup: str = "import os, optel") -> tuple[float, bool]:
    """Median CPU µs of `statement` in fresh processes after `setup`, and whether it loaded ``re``."""
    code = (
        f"import sys, time\n{setup}\nstart = time.process_time_ns()\n{statement}\n"
        "print((time.process_time_ns() - start) / 1000, 're' in sys.modules)"
    )
    samples, loaded = [], False
    for _ in range(IMPORT_RUNS):
        out = subprocess.run(
            [sys.executable, "-S", "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONPATH": _PATH, "HOME": "/home/alice", "USER": "alice"},
        ).stdout.split()
        samples.append(float(out[0]))
        loaded = loaded or out[1] == "True"
    return statistics.median(samples), loaded


# `-S` keeps site's .pth files out (some import `re` at start-up); optel and its dependencies stay
# importable through PYTHONPATH.
_PATH = os.pathsep.join(p for p in sys.path if p)

TYPICAL_EXCEPTION = (
    "p.scrub_text(\"KeyError: 'region'\");"
    " p.scrub_text('__main__:load:8\\nmytool.cli:main:42\\nmytool.commands:deploy:7')"
)


def _bare_sdk_span_us() -> float | None:
    try:
        from opentelemetry.sdk.trace import TracerProvider
    except ImportError:
        return None
    tracer = TracerProvider().get_tracer("bench")

    def span(attributes: dict) -> None:
        tracer.start_span("deploy", attributes=attributes).end()

    return _median_us(span, FAST)


HOST = """\
import optel

optel.init("bench-scrub", endpoint="http://127.0.0.1:9", version="1.0.0")


@optel.step()
def load(path):
    if RAISE:
        raise KeyError("region")
    return path


@optel.step()
def build(n):
    return n * 2


@optel.command()
def deploy():
    try:
        load("config.toml")
    except KeyError:
        pass
    return build(21)


deploy()
"""


def _host_cpu_ms(args: list[str], env: dict[str, str]) -> float:
    process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    printed = process.stderr.read() if process.stderr else b""
    if status or printed:
        print(f"  host failed or printed: {status} {printed[-200:]!r}")
    return (usage.ru_utime + usage.ru_stime) * 1000


def host_runs(src: str, runs: int) -> None:
    """Telemetry on and off, interleaved, for the plain run and the one whose step raises."""
    from bench_exit import clean_env, uploader_done, user_file

    tmp = Path(tempfile.mkdtemp(prefix="optel-bench-scrub-"))
    (tmp / "home").mkdir()
    envs = {}
    for mode in ("anonymous", "off"):
        user_file(tmp / f"config-{mode}", mode, "bench-scrub")
        env = clean_env(tmp / "home", tmp / f"config-{mode}", tmp / f"cache-{mode}")
        env["PYTHONPATH"] = os.pathsep.join((src, _PATH))
        envs[mode] = env
    print(f"host run CPU (python -S, optel from {src}), medians of {runs}:")
    for raising in (False, True):
        script = tmp / f"host_{raising}.py"
        script.write_text(f"RAISE = {raising}\n" + HOST)
        times: dict[str, list[float]] = {"anonymous": [], "off": []}
        for index in range(runs + 1):
            for mode, env in envs.items():
                took = _host_cpu_ms([sys.executable, "-S", str(script)], env)
                uploader_done(tmp / f"cache-{mode}")
                if index:  # the first round compiles bytecode
                    times[mode].append(took)
        on, off = (statistics.median(times[mode]) for mode in ("anonymous", "off"))
        paired = statistics.median(a - b for a, b in zip(times["anonymous"], times["off"]))
        label = "a step raises" if raising else "plain        "
        print(f"  {label}: on {on:.1f} ms, off {off:.1f} ms, on - off {paired:+.1f} ms (paired)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", action="store_true", help="CPU of a real host run, on vs off")
    parser.add_argument("--src", default=str(Path(__file__).resolve().parents[1] / "src"))
    parser.add_argument("--runs", type=int, default=41)
    options = parser.parse_args()
    if options.host:
        host_runs(options.src, options.runs)
        return
    os.environ.setdefault("USER", "alice")
    import optel.privacy as privacy

    privacy.scrub_text("warm up /home/alice/x")  # compile once, as the first flush would
    fast = _median_us(privacy.scrub_attributes, FAST)
    one_slow = _median_us(privacy.scrub_attributes, ONE_SLOW)
    all_slow = _median_us(privacy.scrub_attributes, ALL_SLOW)
    span = _bare_sdk_span_us()
    import_cpu, import_re = _cpu_us("import optel.privacy")
    first_call, _ = _cpu_us(
        "p.scrub_text('cannot open /home/alice/x: denied')", "import optel.privacy as p"
    )
    exception, exception_re = _cpu_us(TYPICAL_EXCEPTION, "import optel.privacy as p")
    re_cpu, _ = _cpu_us("import re", "import os")

    print(
        f"scrub_attributes, 8 attributes, all fast path   : {fast:8.2f} µs (median of {ROUNDS}x{INNER})"
    )
    print(f"scrub_attributes, 8 attributes, 1 slow string   : {one_slow:8.2f} µs")
    print(f"scrub_attributes, 8 attributes, 8 slow strings  : {all_slow:8.2f} µs")
    if span is not None:
        print(f"bare OpenTelemetry SDK span, same attributes    : {span:8.2f} µs")
        print(
            f"  ratios to the bare span: fast {fast / span:.2f}x, one slow {one_slow / span:.2f}x, "
            f"all slow {all_slow / span:.2f}x (bar: fast <= 0.70x)"
        )
    print(f"CPU in fresh processes, medians of {IMPORT_RUNS}:")
    print(
        f"  import optel.privacy (after optel)              : {import_cpu:8.0f} µs, re loaded: {import_re}"
    )
    print(f"  first scrub of a path (import re + compile)     : {first_call:8.0f} µs")
    print(
        f"  first scrub of an exception (message and trace) : {exception:8.0f} µs, re loaded: {exception_re}"
    )
    print(f"  import re alone                                 : {re_cpu:8.0f} µs")


if __name__ == "__main__":
    main()
