"""The spool header records the endpoints a run's environment names, and loads the OpenTelemetry
settings reader (`optel._endpoints`) only when it names one (docs/spool-format.md#header)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from test_import_budget import _consent_anonymous_without_uploader

HEADER = r"""
import json, sys
import optel
optel.init("header-app", endpoint="http://127.0.0.1:9/", version="1.0")
from optel import _runtime
from optel.record.resource import spool_header
telemetry = _runtime.current()
header = spool_header(telemetry.settings, telemetry.consent)
sys.stdout.write(json.dumps([header["export"].get("user_endpoints"), "optel._endpoints" in sys.modules]))
"""


def _header(**variables: str) -> tuple[object, bool]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run(
        [sys.executable, "-c", HEADER], env={**env, **variables}, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    recorded, loaded = json.loads(done.stdout)
    return recorded, loaded


@pytest.fixture
def anonymous() -> None:
    _consent_anonymous_without_uploader("header-app")


def test_a_run_naming_no_endpoint_records_none_and_does_not_load_the_settings_reader(anonymous):
    # Other OTEL variables (headers, a protocol) name no endpoint: nothing is recorded.
    assert _header(OTEL_EXPORTER_OTLP_HEADERS="k=v", OTEL_EXPORTER_OTLP_PROTOCOL="grpc") == (
        None,
        False,
    )


@pytest.mark.parametrize(
    ("variable", "signals"),
    [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", {"traces", "metrics"}),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", {"traces"}),
        ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", {"metrics"}),
    ],
)
def test_each_endpoint_variable_is_recorded(anonymous, variable: str, signals: set[str]):
    recorded, loaded = _header(**{variable: "http://127.0.0.1:4318/v1/x"})
    assert loaded
    assert isinstance(recorded, dict) and set(recorded) == signals


@pytest.mark.parametrize(
    ("endpoint", "written"),
    [
        ("http://user:s3cret@127.0.0.1:4318/v1/traces", "http://127.0.0.1:4318/v1/traces"),
        # An `@` after the authority is not userinfo: the host stays the one the request goes to
        # (it used to be cut at the first `/` only, and this was written as http://b).
        ("http://127.0.0.1:4318?token=a@b", "http://127.0.0.1:4318?token=a@b"),
        ("http://user:s3cret@127.0.0.1:4318#x@b", "http://127.0.0.1:4318#x@b"),
    ],
)
def test_the_recorded_endpoint_loses_its_credentials_and_keeps_its_host(
    anonymous, endpoint: str, written: str
):
    recorded, _ = _header(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=endpoint)
    assert isinstance(recorded, dict)
    assert recorded["traces"]["endpoint"] == written
