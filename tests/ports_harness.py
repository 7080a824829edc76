"""Running a port of examples/ports/ in a real process, as its users would, and reading what it recorded.

Each run gets its own audit log (``<APP>_TELEMETRY_LOG``): the header says which consent the run
decided (and why), the records say what would be sent. The spool says what is queued to be sent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from optel import _env, _paths
from optel.consent.ids import in_sample
from test_consent_prompt import read_until

PORTS = Path(__file__).resolve().parent.parent / "examples" / "ports"
# Connection refused on loopback: an uploader a run starts fails fast and keeps its files.
NOWHERE = "http://127.0.0.1:9"


class Run:
    """One finished run of a port: exit code, output, and what its audit log holds."""

    def __init__(self, app: str, returncode: int, stdout: str, stderr: str, log: Path) -> None:
        self.app = app
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.log = log
        self.headers, self.records = read_log(log)

    @property
    def mode(self) -> str:
        """The consent the run decided (the audit log's header), ``off`` when it recorded nothing."""
        return str(self.headers[-1]["consent"]["mode"]) if self.headers else "off"

    @property
    def source(self) -> str | None:
        return self.headers[-1]["consent"]["source"] if self.headers else None

    @property
    def resource(self) -> dict[str, Any]:
        return self.headers[-1]["resource"] if self.headers else {}

    def spans(self, name: str | None = None) -> list[dict[str, Any]]:
        return [
            r for r in self.records if r.get("t") == "span" and (name is None or r["name"] == name)
        ]

    def metrics(self, name: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r.get("t") == "metric" and r["name"] == name]

    def events(self) -> list[str]:
        return [e["name"] for s in self.spans() for e in s["events"]]

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8") if self.log.exists() else ""


def read_log(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    headers: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    if not path.exists():
        return headers, records
    for line in path.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        (headers if "schema" in item else records).append(item)
    return headers, records


def port_env(app: str, log: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": NOWHERE, "PYTHONUNBUFFERED": "1"}
    env[_env.app_env_prefix(app) + "_TELEMETRY_LOG"] = str(log)
    env.update(extra or {})
    return {k: v for k, v in env.items() if v is not None}


def fresh_log() -> Path:
    return Path(os.environ["HOME"]) / f"audit-{uuid.uuid4().hex[:8]}.jsonl"


def run(
    seed: str,
    app: str,
    *argv: str,
    env: dict[str, str] | None = None,
    cwd: str | None = None,
    timeout: float = 60,
) -> Run:
    """The port run with stdin, stdout and stderr not a terminal (a script, a container)."""
    log = fresh_log()
    done = subprocess.run(
        [sys.executable, str(PORTS / f"{seed}.py"), *argv],
        env=port_env(app, log, env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )
    return Run(app, done.returncode, done.stdout, done.stderr, log)


def run_on_terminal(
    seed: str,
    app: str,
    *argv: str,
    answers: list[tuple[bytes, bytes]] = (),
    env: dict[str, str] | None = None,  # type: ignore[assignment]
) -> tuple[Run, str]:
    """The port run on a pseudo-terminal; each (prompt text, answer) is typed once the text shows."""
    import pty

    log = fresh_log()
    full_env = port_env(app, log, env)
    pid, fd = pty.fork()
    if pid == 0:  # the child: exec at once, never return into pytest
        try:
            os.execve(sys.executable, [sys.executable, str(PORTS / f"{seed}.py"), *argv], full_env)
        finally:
            os._exit(127)
    buf = bytearray()
    deadline = time.monotonic() + 30
    try:
        for needle, answer in answers:
            assert read_until(fd, needle, deadline, buf), bytes(buf).decode(errors="replace")
            os.write(fd, answer)
        read_until(fd, b"\x00never", deadline, buf)  # drain to EOF
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    text = bytes(buf).decode(errors="replace").replace("\r\n", "\n")
    return Run(app, os.waitstatus_to_exitcode(status), text, "", log), text


def user_file(app: str) -> Path:
    return Path(_paths.user_config_file(app))


def stored(app: str) -> dict[str, Any]:
    """The user file as a dict ({} when there is none)."""
    from optel.consent import UserStore

    path = user_file(app)
    if not path.exists():
        return {}
    table = UserStore(str(path)).read()
    assert isinstance(table, dict), table
    return table


def store(app: str, **values: object) -> None:
    """Write the user file as optel would have (an earlier run's choice, a chosen install id)."""
    path = user_file(app)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        f"{k} = {json.dumps(v)}" if not isinstance(v, bool) else f"{k} = {str(v).lower()}"
        for k, v in values.items()
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def install_id(inside: bool, percent: float) -> str:
    """A uuid4 whose hash falls inside (or outside) ``percent`` of installs."""
    while True:
        candidate = str(uuid.uuid4())
        if in_sample(candidate, percent) is inside:
            return candidate


def spooled(app: str) -> list[str]:
    """The spool files queued for sending (locks and tallies aside)."""
    try:
        return sorted(n for n in os.listdir(_paths.spool_dir(app)) if ".jsonl" in n)
    except OSError:
        return []
