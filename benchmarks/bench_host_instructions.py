"""The host's cost of one CLI run in instructions (callgrind): issue 19's host bar, without the noise.

CPU medians of a ~20 ms process move by a millisecond on a shared machine; the number of
instructions CPython executes for the run does not (to within 0.1%). The run is
``bench_host_run.py``'s host (import, ``init``, one ``@command`` with two ``@step`` calls, exit),
telemetry on (stored anonymous consent, the spool holding earlier runs' flushes, nothing due)
and off (stored ``off``), and bare Python running the same functions. The on - off difference is
then split by running the host cut short with ``os._exit``:

- init and the run: cut right after the command;
- the exit's imports: the flush's modules imported, then cut;
- the flush's own work: ``optel.shutdown()``, then cut;
- interpreter teardown: what is left.

Each module optel loads costs ~190 K instructions before its code, then its code objects and names
(unmarshalled, interned) and its body: the split says which part a change moves. Needs valgrind
(Debian's package); without it the script says so and exits 0.

    python benchmarks/bench_host_instructions.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_host_run as host_run
from bench_instructions import callgrind_instructions

BARE = "def fetch():\n    return 1\ndef render(x):\n    return x + 1\ndef main():\n    render(fetch())\nmain()\n"
# The modules an "on" run's exit flush imports (optel._flushes.flush): imported ahead, then cut.
EXIT_IMPORTS = (
    "import os, gc\ngc.disable()\n"
    "import optel.record.flush, optel.record.resource, optel.record.project, optel.spool.writer\n"
    "os._exit(0)\n"
)
CUTS = {
    "run": "import os\nos._exit(0)\n",
    "imports": EXIT_IMPORTS,
    "flush": "import os, optel\noptel.shutdown()\nos._exit(0)\n",
    "whole": "",
}


def instructions(script: Path, env: dict[str, str]) -> int:
    return callgrind_instructions([sys.executable, str(script)], env)


def main() -> int:
    if shutil.which("valgrind") is None:
        print(
            "bench_host_instructions: valgrind is not installed (apt-get install valgrind); skipped"
        )
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        host = host_run.HOST.format(
            app=host_run.APP, endpoint=f"http://127.0.0.1:{host_run.closed_port()}"
        )
        envs = {mode: host_run.env_for(root / mode, mode) for mode in ("anonymous", "off")}
        scripts = {}
        for name, cut in CUTS.items():
            scripts[name] = root / f"{name}.py"
            scripts[name].write_text(host + cut)
        bare = root / "bare.py"
        bare.write_text(BARE)
        for env in envs.values():
            for _ in range(3):  # caches written, and earlier runs' flushes in the spool
                subprocess.run([sys.executable, str(scripts["whole"])], env=env, check=True)
        counts = {
            (name, mode): instructions(script, env)
            for name, script in scripts.items()
            for mode, env in envs.items()
        }
        counts["bare", "bare"] = instructions(bare, envs["off"])
    on = {name: counts[name, "anonymous"] for name in CUTS}
    off = {name: counts[name, "off"] for name in CUTS}
    million = 1e6
    print("Instructions of one run (callgrind), millions:")
    print(f"  bare python            {counts['bare', 'bare'] / million:8.2f}")
    print(
        f"  optel, telemetry off   {off['whole'] / million:8.2f}   over bare {(off['whole'] - counts['bare', 'bare']) / million:+.2f}"
    )
    print(
        f"  optel, telemetry on    {on['whole'] / million:8.2f}   over off  {(on['whole'] - off['whole']) / million:+.2f}"
    )
    print("on - off, part by part:")
    parts = (
        ("init and the run", on["run"] - off["run"]),
        ("the exit's imports", on["imports"] - on["run"]),
        ("the flush's own work", on["flush"] - on["imports"]),
        ("interpreter teardown", (on["whole"] - on["flush"]) - (off["whole"] - off["flush"])),
    )
    for label, value in parts:
        print(f"  {label:24} {value / million:+8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
