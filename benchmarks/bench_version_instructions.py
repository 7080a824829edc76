"""A real CLI's ``--version``, wrapped by optel or bare, in instructions counted by callgrind.

The bar: a real tool's ``--version`` stays within 1.02x of the bare tool, telemetry on or off.
Wall-clock figures on a shared machine move by more than 2%; the instructions CPython executes for
the whole process do not. Each tool (httpie, llm, openapi-python-client: the ones the end-to-end
tests wrap, through the same entry-point wrappers, tests/tool_wrappers.py) runs once bare, once
wrapped with ``DO_NOT_TRACK=1`` and once wrapped with a stored "anonymous" choice, each in a fresh
home, after one unmeasured run of each (so that no run pays for compiling bytecode). Only the
tool's own process is counted: an uploader it starts is a process of its own. Needs valgrind
(Debian's package) and the test extra; without them the script says so and exits 0.

    python benchmarks/bench_version_instructions.py [TOOL ...]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from tool_wrappers import BARE, WRAPPERS

STORED_CHOICE = (
    'mode = "anonymous"\ninstall_id = "0b7f3c52-7d36-4c5e-9d2a-6f1f7f0f7a10"\nconsent_version = 1\n'
)


def script(tool: str, wrapped: bool) -> str:
    head = textwrap.dedent(WRAPPERS[tool]) if wrapped else BARE[tool]
    return head + "\nimport sys\nsys.argv = [sys.argv[0], '--version']\nsys.exit(main())\n"


def instructions(source: str, env: dict[str, str]) -> int:
    with tempfile.TemporaryDirectory() as out_dir:
        out = os.path.join(out_dir, "callgrind.out")
        subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, "-c", source],
            env=env, capture_output=True, check=False,
        )  # fmt: skip
        with open(out) as f:
            for line in f:
                if line.startswith(("summary:", "totals:")):
                    return int(line.split()[1])
    raise RuntimeError("callgrind wrote no total")


def measure(tool: str) -> tuple[int, float, float]:
    home = tempfile.mkdtemp(prefix="optel-bench-")
    try:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "PYTHONHASHSEED": "0",
            "XDG_CONFIG_HOME": f"{home}/config", "XDG_CACHE_HOME": f"{home}/cache",
        }  # fmt: skip
        off = {**env, "DO_NOT_TRACK": "1"}
        for wrapped in (False, True):  # bytecode compiled before anything is counted
            subprocess.run(
                [sys.executable, "-c", script(tool, wrapped)],
                env=off,
                capture_output=True,
                check=False,
            )
        bare = instructions(script(tool, False), env)
        wrapped_off = instructions(script(tool, True), off)
        os.makedirs(f"{home}/config/{tool}")
        Path(f"{home}/config/{tool}/telemetry.toml").write_text(STORED_CHOICE)
        wrapped_on = instructions(script(tool, True), env)
        return bare, wrapped_off / bare, wrapped_on / bare
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main() -> int:
    if shutil.which("valgrind") is None:
        print(
            "bench_version_instructions: valgrind is not installed (apt-get install valgrind); skipped"
        )
        return 0
    tools = sys.argv[1:] or sorted(WRAPPERS)
    print(
        "a real CLI's --version under callgrind: instructions of the whole process, wrapped / bare (bar: <= 1.02x)"
    )
    for tool in tools:
        try:
            bare, off, on = measure(tool)
        except (ImportError, RuntimeError, OSError) as exc:
            print(f"  {tool}: not measured ({exc})")
            continue
        verdict = "PASS" if max(off, on) <= 1.02 else "FAIL"
        print(f"  {tool:24} bare {bare / 1e6:8.1f} M   off {off:.4f}x   on {on:.4f}x   {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
