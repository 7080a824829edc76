"""The user's own OpenTelemetry settings go only to the user's own endpoint, signal by signal (SPEC §9).

Two real OTLP/HTTP receivers on 127.0.0.1: one is the app's endpoint (the maintainer's collector,
given to `optel.init`), the other the user's own backend (named by `OTEL_EXPORTER_OTLP_*`). A real
host process records a run and its detached uploader sends it; the test reads which receiver got
which signal, header and resource attribute.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from optel import _paths
from optel.spool.files import Spool
from optel.spool.launch import uploader_running
from otlp_receiver import OTLPReceiver

APP = "otel-settings-tool"
APP_TOKEN = "Bearer app-token"
USER_KEY = "user-secret-key"
HOST = """
import optel
optel.init({app!r}, endpoint={endpoint!r}, headers={{"authorization": {token!r}}})

@optel.command()
def deploy():
    optel.count_input()

deploy()
"""


@pytest.fixture
def receivers() -> Iterator[tuple[OTLPReceiver, OTLPReceiver]]:
    """(the app's endpoint, the user's own backend)."""
    with OTLPReceiver() as app, OTLPReceiver() as mine:
        yield app, mine


@pytest.fixture(autouse=True)
def consented() -> None:
    user_file = _paths.user_config_file(APP)
    os.makedirs(os.path.dirname(user_file), exist_ok=True)
    with open(user_file, "w") as f:
        f.write('mode = "anonymous"\ninstall_id = "3f1d0c9e-0000-4000-8000-0000000020c2"\nconsent_version = 1\n')


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, **extra}


def _settle(timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while uploader_running(APP) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not uploader_running(APP), "the uploader did not finish"


def run_host_and_its_uploader(app: OTLPReceiver, **variables: str) -> dict[str, str]:
    """A host run under `variables`, then its detached uploader (the one it started, or one started
    the same way, with the same environment, if the run did not start one)."""
    env = _env(**variables)
    script = HOST.format(app=APP, endpoint=app.url, token=APP_TOKEN)
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, timeout=60)
    assert (done.returncode, done.stderr) == (0, b"")
    _settle()
    if Spool(APP).files():
        command = [sys.executable, "-m", "optel", "upload", "--app", APP, "--detached"]
        subprocess.run(command, env=env, capture_output=True, timeout=60, check=True)
    return env


def _signals(receiver: OTLPReceiver) -> set[str]:
    return {r.path.rsplit("/", 1)[1] for r in receiver.accepted()}


def _header_values(receiver: OTLPReceiver, name: str) -> set[str | None]:
    return {r.headers.get(name) for r in receiver.requests}


def test_without_variables_everything_goes_to_the_app_with_the_apps_token(receivers):
    app, mine = receivers
    run_host_and_its_uploader(app)
    assert _signals(app) == {"traces", "metrics"}
    assert _header_values(app, "authorization") == {APP_TOKEN}
    assert mine.connections == 0


def test_headers_alone_never_reach_the_apps_endpoint(receivers):
    app, mine = receivers
    run_host_and_its_uploader(app, OTEL_EXPORTER_OTLP_HEADERS=f"x-api-key={USER_KEY}")
    assert _signals(app) == {"traces", "metrics"}
    assert _header_values(app, "x-api-key") == {None}
    assert _header_values(app, "authorization") == {APP_TOKEN}
    assert mine.connections == 0


def test_a_general_endpoint_gets_everything_with_the_users_headers_and_not_the_apps(receivers):
    app, mine = receivers
    run_host_and_its_uploader(
        app, OTEL_EXPORTER_OTLP_ENDPOINT=mine.url, OTEL_EXPORTER_OTLP_HEADERS=f"x-api-key={USER_KEY}"
    )
    assert app.connections == 0
    assert _signals(mine) == {"traces", "metrics"}
    assert _header_values(mine, "x-api-key") == {USER_KEY}
    assert _header_values(mine, "authorization") == {None}


def test_a_traces_endpoint_takes_the_general_headers_and_metrics_stay_the_apps_without_them(receivers):
    app, mine = receivers
    run_host_and_its_uploader(
        app,
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=mine.url + "/v1/traces",
        OTEL_EXPORTER_OTLP_HEADERS=f"x-api-key={USER_KEY}",
    )
    assert _signals(mine) == {"traces"}
    assert _header_values(mine, "x-api-key") == {USER_KEY}
    assert _header_values(mine, "authorization") == {None}
    assert _signals(app) == {"metrics"}
    assert _header_values(app, "x-api-key") == {None}
    assert _header_values(app, "authorization") == {APP_TOKEN}


def test_per_signal_headers_go_with_their_own_signals_endpoint_only(receivers):
    app, mine = receivers
    run_host_and_its_uploader(
        app,
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=mine.url + "/v1/traces",
        OTEL_EXPORTER_OTLP_TRACES_HEADERS="x-traces-key=t1",
        OTEL_EXPORTER_OTLP_METRICS_HEADERS="x-metrics-key=m1",
    )
    assert _signals(mine) == {"traces"}
    assert _header_values(mine, "x-traces-key") == {"t1"}
    assert _header_values(mine, "x-metrics-key") == {None}
    assert _signals(app) == {"metrics"}
    assert _header_values(app, "x-metrics-key") == {None}
    assert _header_values(app, "x-traces-key") == {None}


def test_resource_attributes_of_the_user_go_to_the_users_endpoint_only(receivers):
    app, mine = receivers
    run_host_and_its_uploader(
        app,
        OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=mine.url + "/v1/metrics",
        OTEL_RESOURCE_ATTRIBUTES="deployment.environment=dev,team=plat%20form",
        OTEL_SERVICE_NAME="users-service",
    )
    [user_point, *_] = mine.metrics()
    assert user_point["resource"]["team"] == "plat form"
    assert user_point["resource"]["deployment.environment"] == "dev"
    # The file's own attributes rank above the environment's, as the SDK ranks explicit ones.
    assert user_point["resource"]["service.name"] == APP
    assert _signals(app) == {"traces"}
    for span in app.spans():
        assert "team" not in span["resource"] and "deployment.environment" not in span["resource"]


def test_the_sdks_own_variables_do_not_reach_the_apps_endpoint_either(receivers, tmp_path):
    # Certificates, timeout and compression are the user's too: the app's endpoint is sent to
    # with optel's defaults (a client certificate would identify the user).
    app, mine = receivers
    run_host_and_its_uploader(
        app,
        OTEL_EXPORTER_OTLP_COMPRESSION="gzip",
        OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE=str(tmp_path / "missing-client.pem"),
        OTEL_EXPORTER_OTLP_PROTOCOL="grpc",
    )
    assert _signals(app) == {"traces", "metrics"}
    assert _header_values(app, "content-encoding") == {None}
    assert mine.connections == 0


def test_a_later_upload_from_a_shell_without_the_variables_sends_where_the_run_meant_without_its_headers(
    receivers,
):
    app, mine = receivers
    port = mine.port
    mine.stop()  # the user's backend is down while the run's own uploader tries
    env = _env(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=f"http://127.0.0.1:{port}/v1/traces",
               OTEL_EXPORTER_OTLP_HEADERS=f"x-api-key={USER_KEY}")  # fmt: skip
    script = HOST.format(app=APP, endpoint=app.url, token=APP_TOKEN)
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, timeout=60)
    assert (done.returncode, done.stderr) == (0, b"")
    _settle()
    [name] = Spool(APP).files()
    with open(os.path.join(Spool(APP).path, name), "rb") as f:
        raw = f.read()
    # The endpoint is recorded for later; the user's key is never written to disk.
    assert USER_KEY.encode() not in raw
    header = json.loads(raw.split(b"\n", 1)[0])
    assert header["export"]["user_endpoints"] == {
        "traces": {"endpoint": f"http://127.0.0.1:{port}/v1/traces", "protocol": "http/protobuf"}
    }
    with OTLPReceiver(port=port) as again:
        shell = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
        upload = subprocess.run(
            [sys.executable, "-m", "optel", "upload", "--app", APP], env=shell, capture_output=True, text=True, timeout=60
        )
        assert upload.returncode == 0, upload.stderr
        assert _signals(again) == {"traces"}, upload.stdout
        assert _header_values(again, "x-api-key") == {None}
        assert _header_values(again, "authorization") == {None}
    assert _header_values(app, "x-api-key") == {None}
    assert "traces" not in _signals(app)
