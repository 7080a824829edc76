"""optel runs with its declared runtime dependencies and nothing else (README, Dependencies).

A virtual environment is made from this one's installed files, holding only the distributions
optel's metadata requires (without extras, for this Python) and theirs, recursively: the test
suite's own packages (the OpenTelemetry SDK, its exporters, requests, grpcio) cannot be imported
there. A host run in it records, its detached uploader (started with that interpreter) sends to a
real OTLP/HTTP receiver over protobuf, and to the user's own endpoint over OTLP/JSON with
cumulative metrics; `optel status` answers. A module imported from a distribution optel does not
declare fails here, as it would for a user who installed optel alone.
"""

from __future__ import annotations

import os
import subprocess
import time
import venv
from collections.abc import Iterator
from importlib.metadata import Distribution, distribution
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from optel import _paths
from optel.spool.files import Spool
from optel.spool.launch import uploader_running
from otlp_receiver import OTLPReceiver

APP = "deps-tool"
HOST = """
import optel
optel.init({app!r}, endpoint={endpoint!r})

@optel.llm_call(provider="openai")
def ask(model):
    return {{"model": model, "usage": {{"prompt_tokens": 3, "completion_tokens": 4}}}}

@optel.command()
def main():
    optel.count_input()
    ask(model="gpt-4o-mini")
    optel.event("done")

main()
"""
# Installed here for the tests, never required by optel: none may be importable there.
NOT_DECLARED = (
    "opentelemetry.sdk",
    "opentelemetry.exporter",
    "opentelemetry.trace",
    "requests",
    "grpc",
)


def required(name: str) -> dict[str, Distribution]:
    """The distributions `name` requires at run time, itself included, by canonical name."""
    found: dict[str, Distribution] = {}
    todo: list[tuple[str, str]] = [(name, "")]
    seen: set[tuple[str, str]] = set()
    while todo:
        wanted, extra = todo.pop()
        key = canonicalize_name(wanted)
        if (key, extra) in seen:
            continue
        seen.add((key, extra))
        dist = found.setdefault(key, distribution(key))
        for line in dist.requires or ():
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": extra}):
                todo.append((requirement.name, ""))
                todo.extend((requirement.name, e) for e in requirement.extras)
    return found


def _site_packages(python: Path) -> Path:
    out = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(out.stdout.strip())


@pytest.fixture(scope="module")
def core_python(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Python whose site-packages links the files of optel's required distributions only."""
    root = tmp_path_factory.mktemp("core-env")
    venv.EnvBuilder(with_pip=False, symlinks=True).create(root)
    python = root / "bin" / "python"
    site = _site_packages(python)
    for dist in required("optel").values():
        for file in dist.files or ():
            if file.parts[0] == "..":
                continue  # console scripts: `python -m optel` runs the CLI
            source = Path(str(dist.locate_file(file)))
            if source.exists():
                target = site / file
                target.parent.mkdir(parents=True, exist_ok=True)
                if not target.exists():
                    target.symlink_to(source)
    yield str(python)


@pytest.fixture
def consented(isolated_home: Path) -> None:
    user_file = _paths.user_config_file(APP)
    os.makedirs(os.path.dirname(user_file), exist_ok=True)
    with open(user_file, "w") as f:
        f.write(
            'mode = "anonymous"\ninstall_id = "3f1d0c9e-0000-4000-8000-00000000d0e5"\nconsent_version = 1\n'
        )


def _host_run(python: str, endpoint: str, **variables: str) -> None:
    # OPTEL_UPLOAD_INTERVAL=0: the run's exit starts its uploader, with this interpreter.
    env = {**os.environ, "OPTEL_UPLOAD_INTERVAL": "0", **variables}
    script = HOST.format(app=APP, endpoint=endpoint)
    done = subprocess.run(
        [python, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stderr) == (0, "")
    deadline = time.monotonic() + 30
    while (uploader_running(APP) or Spool(APP).files()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert Spool(APP).files() == [], "the uploader did not send the run's file"


def test_the_test_suites_own_packages_cannot_be_imported_there(core_python: str) -> None:
    check = (
        "import importlib\n"
        "found = []\n"
        f"for name in {NOT_DECLARED!r}:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except ImportError:\n"
        "        continue\n"
        "    found.append(name)\n"
        "print(found)\n"
        "import optel, google.protobuf, opentelemetry.proto, wrapt, platformdirs, tomli_w\n"
    )
    done = subprocess.run([core_python, "-c", check], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr, done.stdout.strip()) == (0, "", "[]")


@pytest.mark.usefixtures("consented")
def test_a_run_and_its_uploader_send_over_otlp_http_with_the_declared_dependencies_alone(
    core_python: str,
) -> None:
    with OTLPReceiver() as receiver:
        _host_run(core_python, receiver.url)
        assert {span["name"] for span in receiver.spans()} >= {"main", "chat gpt-4o-mini"}
        assert receiver.metrics()


@pytest.mark.usefixtures("consented")
def test_otlp_json_and_cumulative_metrics_to_the_users_endpoint_need_nothing_more(
    core_python: str,
) -> None:
    with OTLPReceiver() as app, OTLPReceiver() as mine:
        _host_run(
            core_python,
            app.url,
            OTEL_EXPORTER_OTLP_ENDPOINT=mine.url,
            OTEL_EXPORTER_OTLP_PROTOCOL="http/json",
            OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE="cumulative",
        )
        assert app.connections == 0
        assert {r.headers.get("content-type") for r in mine.requests} == {"application/json"}
        assert {span["name"] for span in mine.spans()} >= {"main", "chat gpt-4o-mini"}
        assert mine.metrics()


@pytest.mark.usefixtures("consented")
def test_the_cli_stores_a_choice_and_reports_it_there(core_python: str) -> None:
    def optel(*args: str) -> str:
        done = subprocess.run(
            [core_python, "-m", "optel", "--app", APP, *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert (done.returncode, done.stderr) == (0, "")
        return done.stdout

    assert "anonymous" in optel("status")
    optel("disable")  # written with tomli-w; read back with tomllib or tomli
    assert "mode: off" in optel("status")


def test_optel_demo_runs_there_end_to_end(core_python: str, isolated_home: Path) -> None:
    # The README's first command: an example tool, its uploader and a receiver, all offline.
    done = subprocess.run(
        [core_python, "-m", "optel", "demo"], capture_output=True, text=True, timeout=120
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert "from 3 files; kept 0; dropped 0" in done.stdout
