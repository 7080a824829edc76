"""`optel demo`: run the example LLM tool with telemetry granted for the demo only, upload what it
recorded to a receiver on 127.0.0.1, and show what arrived."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, TextIO

DEMO_APP = "optel-demo"
RUNS = (
    ["build", "add a --json flag to the export command"],
    ["build", "rename the config file", "--answer", "n"],
    ["check"],
)

# Anything in the user's environment that would steer the demo's consent or export elsewhere.
_STEERING_PREFIXES = ("OTEL_", "OPTEL_")
_STEERING = (
    "DO_NOT_TRACK",
    "CI",
    "GITHUB_ACTIONS",
    "GITLAB_CI",
    "BUILDKITE",
    "JENKINS_URL",
    "TF_BUILD",
    "CIRCLECI",
)


def example_app() -> Path:
    """The example tool: shipped inside the wheel, or in examples/ of a source checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "llm_cli.py", here.parents[2] / "examples" / "llm_cli.py"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        "the demo's example app (examples/llm_cli.py) is missing from this installation"
    )


def demo_environment(root: Path, endpoint: str) -> dict[str, str]:
    """The example's environment: a throw-away config and cache, and export to the local receiver."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(_STEERING_PREFIXES) and k not in _STEERING and "_TELEMETRY" not in k
    }
    env.update(
        XDG_CONFIG_HOME=str(root / "config"),
        XDG_CACHE_HOME=str(root / "cache"),
        OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
    )
    return env


def grant_demo_consent(env: dict[str, str]) -> Path:
    """Store `anonymous` for the demo app in the temporary config: the user's real one is never read or written."""
    from optel.consent import UserStore

    config = Path(env["XDG_CONFIG_HOME"]) / DEMO_APP / "telemetry.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    UserStore(str(config)).update(mode="anonymous", consent_version=1)
    return config


def run_demo(out: TextIO = sys.stdout, *, keep: bool = False, timeout: float = 30.0) -> int:
    """Run the whole demo and print the summary; returns the exit code for `optel demo`."""
    from optel.demo.receiver import LocalReceiver
    from optel.demo.summary import render_summary
    from optel.spool.process import optel_command

    root = Path(tempfile.mkdtemp(prefix="optel-demo-"))
    try:
        with LocalReceiver() as receiver:
            env = demo_environment(root, receiver.endpoint)
            grant_demo_consent(env)
            app = example_app()
            out.write(f"optel demo: running {app.name} with telemetry granted for this demo only\n")
            out.write(
                f"  config and spool in {root} (removed afterwards); receiver at {receiver.endpoint}\n\n"
            )
            for args in RUNS:
                started = time.perf_counter()
                done = subprocess.run(
                    [sys.executable, str(app), *args],
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=timeout,
                    cwd=str(root),
                )
                took = (time.perf_counter() - started) * 1000
                out.write(
                    f"$ llm-cli {' '.join(args)}  -> exit {done.returncode} in {took:.0f} ms\n"
                )
                for line in (done.stdout + done.stderr).splitlines():
                    out.write(f"    {line}\n")
            # The runs' data waits in the spool until it is due
            # (docs/internals.md#the-delivery-policy): `optel upload` sends it now, in the
            # foreground, so the demo does not depend on timing.
            # Not `python -m optel`: that would import an `optel/` (or `argparse.py`) from the cwd.
            upload = subprocess.run(
                optel_command(["--app", DEMO_APP, "upload"], cwd=str(root)),
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
            out.write(f"\n$ optel upload  -> {upload.stdout.strip() or upload.stderr.strip()}\n")
            out.write(
                "    (a run starts an uploader only when the spool is due: data 4 hours old; this sends it now)\n"
            )
            _wait_for_delivery(receiver, Path(env["XDG_CACHE_HOME"]), timeout)
            out.write("\n")
            render_summary(receiver.spans(), receiver.metric_points(), out)
            if not receiver.spans():
                out.write("nothing arrived at the receiver: see `optel status --app optel-demo`\n")
                return 1
        return 0
    finally:
        if keep:
            out.write(f"\n(kept {root})\n")
        else:
            shutil.rmtree(root, ignore_errors=True)


def _wait_for_delivery(receiver: Any, cache: Path, timeout: float) -> None:
    spool = cache / DEMO_APP / "telemetry-spool"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pending = [p for p in spool.glob("*.jsonl*")] if spool.is_dir() else []
        if not pending and receiver.spans():
            return
        time.sleep(0.05)
