"""The user's OTEL_* settings over OTLP/gRPC: a real host process, its uploader, a gRPC collector on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from optel import _paths
from optel.spool.files import Spool
from optel.spool.launch import uploader_running
from otlp_receiver import OTLPReceiver
from test_upload_grpc import GrpcCollector

APP = "otel-grpc-tool"
HOST = """
import optel
optel.init({app!r}, endpoint={endpoint!r})

@optel.command()
def deploy():
    optel.count_input()

deploy()
"""


@pytest.fixture(autouse=True)
def consented() -> None:
    user_file = _paths.user_config_file(APP)
    os.makedirs(os.path.dirname(user_file), exist_ok=True)
    with open(user_file, "w") as f:
        f.write(
            'mode = "anonymous"\ninstall_id = "3f1d0c9e-0000-4000-8000-0000000020c3"\nconsent_version = 1\n'
        )


def _run(app_url: str, **variables: str) -> None:
    # An uploader at every run's exit: the test follows the one the run starts.
    env = {**os.environ, "OPTEL_UPLOAD_INTERVAL": "0", **variables}
    script = HOST.format(app=APP, endpoint=app_url)
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, timeout=60)
    assert (done.returncode, done.stderr) == (0, b"")
    deadline = time.monotonic() + 30
    while uploader_running(APP) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not uploader_running(APP)


def test_a_grpc_deadline_is_the_users_timeout_in_milliseconds_even_above_five_seconds() -> None:
    with GrpcCollector() as collector, OTLPReceiver() as app:
        _run(app.url, OTEL_EXPORTER_OTLP_ENDPOINT=collector.url, OTEL_EXPORTER_OTLP_PROTOCOL="grpc",
             OTEL_EXPORTER_OTLP_TIMEOUT="7000", OTEL_EXPORTER_OTLP_METRICS_TIMEOUT="2500")  # fmt: skip
        [traces] = collector.accepted("traces")
        [metrics] = collector.accepted("metrics")
    # Above the 5 s every export was capped at before (less the time the call took to arrive; gRPC
    # rounds the timeout it puts on the wire up, so the server may see a few milliseconds more).
    assert traces.deadline is not None and 5.0 < traces.deadline <= 7.05
    assert metrics.deadline is not None and 0 < metrics.deadline <= 2.55
    assert Spool(APP).files() == []
    assert app.connections == 0


def test_grpc_exporter_none_and_sampler_at_the_users_endpoint() -> None:
    with GrpcCollector() as collector, OTLPReceiver() as app:
        _run(app.url, OTEL_EXPORTER_OTLP_ENDPOINT=collector.url, OTEL_EXPORTER_OTLP_PROTOCOL="grpc",
             OTEL_TRACES_SAMPLER="always_off")  # fmt: skip
        assert (collector.accepted("traces"), len(collector.accepted("metrics"))) == ([], 1)
        _run(app.url, OTEL_EXPORTER_OTLP_ENDPOINT=collector.url, OTEL_EXPORTER_OTLP_PROTOCOL="grpc",
             OTEL_METRICS_EXPORTER="none")  # fmt: skip
        assert (len(collector.accepted("traces")), len(collector.accepted("metrics"))) == (1, 1)
    assert Spool(APP).files() == []
    assert app.connections == 0
