"""Three real tools from PyPI, with telemetry added by an entry-point wrapper (docs/guide.md), end to end.

``llm`` (click, the openai SDK) against the fake LLM API, ``httpie`` (argparse, no sub-commands)
against a local HTTP server, ``openapi-python-client`` (typer) on a local OpenAPI file. Each runs
through its real entry point, wrapped without editing its source, as a console script runs it
(``sys.exit(main())``), in a subprocess; the spool goes through a real collector (rotel) to an
OTLP receiver. Each must work exactly as the bare tool does, exit with the same status, and be
recorded with its own version, its own exit status and its own frames.
"""

from __future__ import annotations

import http.server
import importlib.metadata
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest

from fake_llm_api import RESPONSE_TEXT, FakeLLMAPI
from otlp_receiver import OTLPReceiver
from rotel_process import running_rotel
from tool_wrappers import BARE, CONSOLE_SCRIPT, WRAPPERS

pytestmark = pytest.mark.slow


class Tool:
    """One tool, bare or wrapped, run as its console script would run it."""

    def __init__(self, app: str, tmp_path: Path, env: dict[str, str]) -> None:
        self.app = app
        self.env = env
        self.dir = tmp_path / "wrappers"
        self.dir.mkdir(exist_ok=True)
        module = app.replace("-", "_") + "_telemetry"
        (self.dir / f"{module}.py").write_text(textwrap.dedent(WRAPPERS[app]))
        self.wrapped_entry = f"from {module} import main"

    def run(
        self, *argv: str, bare: bool = False, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        entry = BARE[self.app] if bare else self.wrapped_entry
        env = {**self.env, "PYTHONPATH": str(self.dir)}
        return subprocess.run(
            [sys.executable, "-c", CONSOLE_SCRIPT.format(entry=entry), *argv],
            env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    def upload(self) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "optel", "upload", "--app", self.app],
            env=self.env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
def collector() -> Iterator[tuple[OTLPReceiver, str]]:
    with OTLPReceiver() as backend, running_rotel(backend.url) as endpoint:
        yield backend, endpoint


@pytest.fixture
def env(collector: tuple[OTLPReceiver, str], tmp_path: Path) -> dict[str, str]:
    _, endpoint = collector
    return {
        **os.environ,
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "LLM_USER_PATH": str(tmp_path / "llm"),
    }


def command_spans(backend: OTLPReceiver, count: int) -> list[dict[str, Any]]:
    def ready(r: OTLPReceiver) -> bool:
        return len([s for s in r.spans() if "command.name" in s["attributes"]]) >= count

    assert backend.wait_for(ready, timeout=30)
    spans = [s for s in backend.spans() if "command.name" in s["attributes"]]
    return sorted(spans, key=lambda s: s["start_ns"])


def enable(tool: Tool, *argv: str) -> None:
    """Consent stored through the tool's own embedded command, as a user would give it."""
    done = tool.run(*argv)
    assert done.returncode == 0, done.stderr


def frames(span: dict[str, Any]) -> str:
    (event,) = [e for e in span["events"] if e["name"] == "exception"]
    return str(event["attributes"].get("exception.stacktrace", ""))


# --- llm (click) ------------------------------------------------------------------------------


def test_llm_works_unchanged_and_is_recorded_with_its_version_and_exit_status(
    collector, env, tmp_path
):
    backend, _ = collector
    tool = Tool("llm", tmp_path, env)
    version = importlib.metadata.version("llm")
    with FakeLLMAPI() as api:
        env.update(OPENAI_API_KEY="sk-test", OPENAI_BASE_URL=api.openai_base_url)
        prompt = ("prompt", "-m", "gpt-4o-mini", "--no-stream", "hello")
        bare, wrapped = tool.run(*prompt, bare=True), None
        enable(tool, "telemetry", "enable")
        wrapped = tool.run(*prompt)
        assert (
            (wrapped.returncode, wrapped.stdout)
            == (bare.returncode, bare.stdout)
            == (0, wrapped.stdout)
        )
        assert RESPONSE_TEXT in wrapped.stdout
        tool.upload()
        # An unknown model: llm says so and exits 1; a bad option: click's usage error, exit 2.
        unknown = tool.run("prompt", "-m", "no-such-model", "hello")
        assert (
            unknown.returncode
            == tool.run("prompt", "-m", "no-such-model", "hello", bare=True).returncode
            == 1
        )
        usage = tool.run("prompt", "--no-such-option", "--no-telemetry")
        assert usage.returncode == 2
        usage = tool.run("prompt", "--no-such-option")
        assert usage.returncode == tool.run("prompt", "--no-such-option", bare=True).returncode == 2
        version_line = tool.run("--version")
        assert version_line.stdout.split()[-1] == version
    tool.upload()
    ok, failed, misused = command_spans(backend, 3)
    assert [s["name"] for s in (ok, failed, misused)] == ["llm prompt"] * 3
    assert [s["attributes"]["process.exit.code"] for s in (ok, failed, misused)] == [0, 1, 2]
    assert [s["attributes"].get("error.type") for s in (ok, failed, misused)] == [None, "1", "2"]
    assert {s["resource"]["service.version"] for s in (ok, failed, misused)} == {version}
    assert failed["resource"]["optel.install.first_version"] == version
    assert "llm.cli" in frames(failed) and "optel" not in frames(failed)
    chats = [s for s in backend.spans() if s["name"].startswith("chat ")]
    assert [c["parent_span_id"] for c in chats] == [ok["span_id"]]


# --- httpie (argparse, no sub-commands) --------------------------------------------------------


class _Pages(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"hello": "world"}' if self.path == "/ok" else b'{"error": "not found"}'
        self.send_response(200 if self.path == "/ok" else 404)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def pages() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_httpie_works_unchanged_and_is_recorded_with_its_version_and_exit_status(
    collector, env, tmp_path, pages
):
    backend, _ = collector
    tool = Tool("httpie", tmp_path, env)
    version = importlib.metadata.version("httpie")
    # --ignore-stdin: httpie would send a stdin that is not a terminal as a POST body.
    runs = {
        "ok": ("--ignore-stdin", "--print=b", "--pretty=none", f"{pages}/ok"),
        # --check-status: a 404 is exit 4, which httpie's main() returns for sys.exit().
        "missing": (
            "--ignore-stdin",
            "--print=b",
            "--pretty=none",
            "--check-status",
            f"{pages}/missing",
        ),
        # A usage error: argparse exits 2, httpie catches it and exits 1.
        "usage": ("--ignore-stdin", "--no-such-option", f"{pages}/ok"),
    }
    bare = {name: tool.run(*argv, bare=True) for name, argv in runs.items()}
    assert [bare[n].returncode for n in runs] == [0, 4, 1]
    # Every command line that worked without optel works with it: no required positional added.
    enable(tool, "--telemetry-command", "enable")
    wrapped = {name: tool.run(*argv) for name, argv in runs.items()}
    for name in runs:
        assert (wrapped[name].returncode, wrapped[name].stdout) == (
            bare[name].returncode,
            bare[name].stdout,
        )
    assert tool.run("--version").stdout.strip() == version
    status = tool.run("--telemetry-command", "status")
    assert status.returncode == 0 and "mode: anonymous" in status.stdout
    tool.upload()
    spans = command_spans(backend, 3)
    assert [s["name"] for s in spans] == ["httpie"] * 3
    assert [s["attributes"]["process.exit.code"] for s in spans] == [0, 4, 1]
    assert [s["attributes"].get("error.type") for s in spans] == [None, "4", "1"]
    assert {s["resource"]["service.version"] for s in spans} == {version}
    assert spans[1]["attributes"]["optel.cli.command.options"] == [
        "--ignore-stdin",
        "--print",
        "--pretty",
        "--check-status",
    ]


# --- openapi-python-client (typer) -------------------------------------------------------------

SPEC = """
openapi: 3.0.0
info: {title: Pets, version: 1.0.0}
paths:
  /pets:
    get:
      operationId: listPets
      responses:
        "200":
          description: the pets
          content:
            application/json:
              schema: {type: array, items: {type: string}}
"""


def test_openapi_python_client_works_unchanged_and_is_recorded_with_its_version_and_exit_status(
    collector, env, tmp_path
):
    backend, _ = collector
    tool = Tool("openapi-python-client", tmp_path, env)
    version = importlib.metadata.version("openapi-python-client")
    (tmp_path / "spec.yaml").write_text(SPEC)
    generate = ("generate", "--path", "spec.yaml", "--meta", "none", "--output-path")
    bare = tool.run(*generate, "bare", bare=True, cwd=tmp_path)
    enable(tool, "telemetry", "enable")
    # --no-telemetry after the command, where a user types a global flag: this run is not recorded.
    assert tool.run(*generate, "unrecorded", "--no-telemetry", cwd=tmp_path).returncode == 0
    wrapped = tool.run(*generate, "wrapped", cwd=tmp_path)
    assert bare.returncode == wrapped.returncode == 0, wrapped.stderr
    listing = {p: sorted(q.name for q in (tmp_path / p).rglob("*.py")) for p in ("bare", "wrapped")}
    assert listing["bare"] == listing["wrapped"] != []
    missing = tool.run("generate", "--path", "missing.yaml", cwd=tmp_path)
    assert (
        missing.returncode
        == tool.run("generate", "--path", "missing.yaml", bare=True, cwd=tmp_path).returncode
    )
    tool.upload()
    spans = command_spans(backend, 2)
    assert [s["name"] for s in spans] == ["openapi-python-client generate"] * 2
    codes = [s["attributes"]["process.exit.code"] for s in spans]
    assert codes == [0, missing.returncode] and missing.returncode != 0
    assert {s["resource"]["service.version"] for s in spans} == {version}
    assert "openapi_python_client" in frames(spans[1])
