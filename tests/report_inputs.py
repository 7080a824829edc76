"""Real optel data in the three formats `optel report` reads, and the OTLP requests the dashboards are checked on.

`build(root)` runs the example LLM tool (examples/llm_cli.py, the demo's runs) for three installs
(two versions, anonymous and identified consent) with an audit log, while a real OTLP receiver on
127.0.0.1 answers 503: the uploaders keep their spool files, which are copied as they are. Then the
receiver accepts, `optel upload` sends each install's spool, and every accepted request is written
as one OTLP JSON line, as the collector's file exporter writes them (collector/local.yaml).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from host_process import alive
from optel.demo import RUNS, example_app
from optel.spool.lock import read_lock
from optel.upload.otlp_json import as_dict
from otlp_receiver import OTLPReceiver

APP = "optel-demo"
# (version, consent mode) per install; the first install runs the demo's runs twice.
INSTALLS = (("1.0.0", "anonymous", 2), ("1.0.0", "identified", 1), ("1.1.0", "anonymous", 1))


@dataclass
class Inputs:
    audit: Path
    spool: Path
    otlp: Path
    # The accepted ExportTraceServiceRequest and ExportMetricsServiceRequest messages.
    requests: list[Any]
    runs: int  # command runs in all


def install_id(i: int) -> str:
    return f"3f1d0c9e-0000-4000-8000-00000000{i:04d}"


def _environment(home: Path, endpoint: str, audit: Path) -> dict[str, str]:
    # Built from nothing: the runner's own CI=true or OTEL_* must not decide for these runs.
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"), "XDG_CACHE_HOME": str(home / "cache"),
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OPTEL_DEMO_TELEMETRY_LOG": str(audit),
    }  # fmt: skip


def _consent(home: Path, i: int, mode: str) -> None:
    config = home / "config" / APP / "telemetry.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    user = 'user_id = "dev-7"\n' if mode == "identified" else ""
    config.write_text(
        f'mode = "{mode}"\ninstall_id = "{install_id(i)}"\ndecided_at = "2026-11-23T18:00:00Z"\n'
        f"consent_version = 1\n{user}"
    )


def _settle(spool: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = read_lock(str(spool))
        if info is None or not alive(info.pid):
            return
        time.sleep(0.05)
    raise AssertionError("the detached uploader did not finish")


def _run_install(root: Path, i: int, endpoint: str, audit: Path) -> tuple[dict[str, str], int]:
    version, mode, rounds = INSTALLS[i]
    home = root / f"install{i}"
    _consent(home, i, mode)
    script = root / f"llm_cli_{i}.py"
    script.write_text(example_app().read_text().replace('version="1.0.0"', f'version="{version}"'))
    env = _environment(home, endpoint, audit)
    for _ in range(rounds):
        for args in RUNS:
            subprocess.run(
                [sys.executable, str(script), *args], env=env, capture_output=True, timeout=60
            )
    return env, rounds * len(RUNS)


def build(root: Path) -> Inputs:
    audit, spool, otlp = root / "audit.jsonl", root / "spool", root / "otlp.jsonl"
    spool.mkdir()
    runs = 0
    with OTLPReceiver() as receiver:
        receiver.respond_with(503)
        envs = []
        for i in range(len(INSTALLS)):
            env, n = _run_install(root, i, receiver.url, audit)
            runs += n
            own = Path(env["XDG_CACHE_HOME"]) / APP / "telemetry-spool"
            _settle(own)
            for name in sorted(os.listdir(own)):
                if ".jsonl" in name:
                    shutil.copy(own / name, spool / f"{i}-{name}")
            envs.append(env)
        receiver.behave()
        for env in envs:
            done = subprocess.run(
                [sys.executable, "-m", "optel", "--app", APP, "upload"],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 0, done.stderr
        requests = [
            r.message for r in receiver.accepted() if r.path in ("/v1/traces", "/v1/metrics")
        ]
    with open(otlp, "w") as f:
        for message in requests:
            f.write(json.dumps(otlp_json(message), separators=(",", ":")) + "\n")
    return Inputs(audit, spool, otlp, requests, runs)


def otlp_json(message: Any) -> dict[str, Any]:
    """A request as OTLP/JSON writes it: protobuf's JSON mapping, with ids in hex (not base64)."""
    value: dict[str, Any] = as_dict(message, use_integers_for_enums=False)
    return value
