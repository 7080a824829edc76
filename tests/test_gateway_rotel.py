"""`optel gateway` run for real: rotel with optel's processors, between a sender and a receiver.

Everything is real: the gateway is `python -m optel gateway` (which becomes rotel-agent, running
optel.gateway.processor in rotel's embedded interpreter), the receiver is tests/otlp_receiver.py,
and data comes either straight as OTLP/HTTP protobuf (planted values the client scrubber would
have caught, bypassing the client: the gateway is the second net) or from a real host process
through its uploader.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from optel import _paths
from optel.privacy import scrub_text, table
from otlp_receiver import OTLPReceiver
from rotel_process import _accepts_connections, free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SALT = "pepper42"
INSTALL_ID = "0b7f3c52-7d36-4c5e-9d2a-6f1f7f0f7a10"
HOME_PATH = "/home/alice/projects/payroll/secrets.env"
URL = "https://build.internal.example.com/jobs/17?token=abc"
EMAIL = "alice.smith@example.org"
IP = "10.20.30.40"
# One planted value per kind, each in a sentence; every one is something the client would catch.
PLANTED = {
    **{f"secret {shape.name}": shape.example for shape in table.SHAPES},
    "path": HOME_PATH,
    "url": URL,
    "email": EMAIL,
    "ip": IP,
    "bearer": "Bearer abcdefgh12345678",
}


def _kv(key: str, value: object) -> KeyValue:
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    if isinstance(value, list):
        array = AnyValue()
        array.array_value.values.extend(AnyValue(string_value=v) for v in value)
        return KeyValue(key=key, value=array)
    return KeyValue(key=key, value=AnyValue(string_value=str(value)))


@contextlib.contextmanager
def running_gateway(
    receiver_url: str, *options: str, salt: str | None = SALT, log_dir: Path, grpc: bool = False
) -> Iterator[str]:
    """`python -m optel gateway` on free loopback ports; yields its OTLP/HTTP base URL (with
    ``grpc=True``, the ``http://127.0.0.1:PORT`` of its OTLP/gRPC receiver)."""
    http_port, grpc_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROTEL_", "OTEL_", "OPTEL_"))}
    if salt is not None:
        env["OPTEL_INSTALL_ID_SALT"] = salt
    command = [
        sys.executable, "-m", "optel", "gateway",
        "--exporter-endpoint", receiver_url,
        "--http-endpoint", f"127.0.0.1:{http_port}",
        "--grpc-endpoint", f"127.0.0.1:{grpc_port}",
        "--batch-timeout", "50ms",
        "--pid-file", str(log_dir / "rotel.pid"),
        "--log-file", str(log_dir / "rotel-agent.log"),
        *options,
    ]  # fmt: skip
    log_path = log_dir / "gateway.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env
        )
    try:
        deadline = time.monotonic() + 20
        while not (_accepts_connections(http_port) and _accepts_connections(grpc_port)):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"gateway did not start ({process.poll()}):\n{log_path.read_text()[-2000:]}"
                )
            time.sleep(0.05)
        yield f"http://127.0.0.1:{grpc_port if grpc else http_port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _post(url: str, message: Any) -> None:
    request = urllib.request.Request(
        url, data=message.SerializeToString(), headers={"Content-Type": "application/x-protobuf"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def _resource(message: Any, **extra: object) -> None:
    attributes = {
        "service.name": "leaktool",
        "service.version": "1.0.0",
        "optel.install.id": INSTALL_ID,
        "app.installation.id": INSTALL_ID,
        "host.name": "alices-laptop",
        "process.command_line": f"leaktool deploy {HOME_PATH}",
        "os.description": f"Debian at {URL}",
        "my.resource.thing": "kept only when allowed",
        **extra,
    }
    message.resource.attributes.extend(_kv(k, v) for k, v in attributes.items())


def _send_traces(base: str, service: str = "leaktool") -> None:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    _resource(resource_spans, **{"service.name": service})
    span = resource_spans.scope_spans.add().spans.add()
    span.trace_id, span.span_id, span.name = bytes(range(1, 17)), bytes(range(1, 9)), "cmd deploy"
    span.start_time_unix_nano, span.end_time_unix_nano = 1_000, 2_000
    span.attributes.extend(_kv("error.type", f"failed: {value}") for value in PLANTED.values())
    span.attributes.extend(_kv("command.name", f"deploy {HOME_PATH}") for _ in range(1))
    span.attributes.extend(
        [
            _kv("process.exit.code", 3),
            _kv("net.peer.ip", IP),
            _kv("user.name", "alice"),
            _kv("note", "not in the dictionary"),
            _kv("gen_ai.response.id", "chatcmpl-1"),
            _kv("optel.cli.command.options", ["--verbose", HOME_PATH]),
            _kv("gen_ai.response.finish_reasons", ["stop", "length"]),
        ]
    )
    span.status.code, span.status.message = 2, " and ".join(PLANTED.values())
    event = span.events.add()
    event.name, event.time_unix_nano = "exception", 1_500
    event.attributes.extend(
        [
            _kv("exception.type", "ValueError"),
            _kv("exception.message", " ".join(PLANTED.values())),
            _kv("client_ip", IP),
            _kv("exception.locals", "x=1"),
        ]
    )
    _post(base + "/v1/traces", request)


def _send_metrics(base: str) -> None:
    request = ExportMetricsServiceRequest()
    resource_metrics = request.resource_metrics.add()
    _resource(resource_metrics)
    metric = resource_metrics.scope_metrics.add().metrics.add()
    metric.name = "optel.cli.command.count"
    metric.sum.aggregation_temporality, metric.sum.is_monotonic = 1, True
    point = metric.sum.data_points.add()
    point.as_int, point.start_time_unix_nano, point.time_unix_nano = 1, 1_000, 2_000
    point.attributes.extend(
        [
            _kv("command.name", f"deploy {URL} {EMAIL}"),
            _kv("error.type", PLANTED["secret github"]),
            _kv("remote_addr", IP),
            _kv("tenant.name", "acme"),
        ]
    )
    _post(base + "/v1/metrics", request)


def _hashed(install_id: str) -> str:
    return hashlib.sha256(f"{SALT}:{install_id}".encode()).hexdigest()


def _texts(value: object) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _texts(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _texts(item)
    elif isinstance(value, str):
        yield value


def _leaks(received: list[dict[str, Any]]) -> list[str]:
    text = "\n".join(t for row in received for t in _texts(row))
    needles = [
        *PLANTED.values(),
        "alices-laptop",
        "/home/alice",
        "build.internal",
        "alice.smith",
        INSTALL_ID,
    ]
    return [needle for needle in needles if needle in text]


@pytest.fixture
def receiver() -> Iterator[OTLPReceiver]:
    with OTLPReceiver() as running:
        yield running


def test_every_planted_value_is_one_the_client_scrubber_catches() -> None:
    # The premise of the tests below: these values stand for what a client that is not optel
    # (or an older optel) might send, and optel's own scrubber would never let out.
    for kind, value in PLANTED.items():
        assert value not in scrub_text(f"failed: {value}"), kind


def test_planted_values_sent_straight_to_the_gateway_arrive_scrubbed(
    receiver: OTLPReceiver, tmp_path: Path
) -> None:
    with running_gateway(receiver.url, log_dir=tmp_path) as gateway:
        _send_traces(gateway)
        _send_metrics(gateway)
        assert receiver.wait_for(lambda r: r.spans() and r.metrics(), timeout=20), (
            tmp_path / "gateway.log"
        ).read_text()
    spans, points = receiver.spans(), receiver.metrics()
    assert not _leaks(spans + points)
    span, point = spans[0], points[0]
    # What the allow-list keeps, scrubbed; what it does not know, dropped.
    assert set(span["attributes"]) == {
        "error.type",
        "command.name",
        "process.exit.code",
        "gen_ai.response.id",
        "gen_ai.response.finish_reasons",
    }
    # An array passes whole (optel's hold names) or, when scrubbing would change it, not at all.
    assert sorted(span["attributes"]["gen_ai.response.finish_reasons"]) == ["length", "stop"]
    assert span["attributes"]["process.exit.code"] == 3
    assert span["attributes"]["command.name"] == "deploy <path>"
    assert "<secret>" in span["attributes"]["error.type"]
    assert "<secret>" in span["status_message"] and "<path>" in span["status_message"]
    assert set(span["events"][0]["attributes"]) == {"exception.type", "exception.message"}
    assert "<url>" in span["events"][0]["attributes"]["exception.message"]
    assert set(point["attributes"]) == {"command.name", "error.type"}
    assert point["attributes"]["command.name"] == "deploy <url> <email>"
    assert point["attributes"]["error.type"] == "<secret>"
    for resource in (span["resource"], point["resource"]):
        assert "host.name" not in resource and "process.command_line" not in resource
        assert "my.resource.thing" not in resource
        assert resource["os.description"] == "Debian at <url>"
        assert (
            resource["optel.install.id"] == resource["app.installation.id"] == _hashed(INSTALL_ID)
        )


def test_without_a_salt_the_install_id_passes_and_allowed_keys_are_kept(
    receiver: OTLPReceiver, tmp_path: Path
) -> None:
    options = ("--allow-attribute", "note", "--allow-attribute", "my.resource.thing")
    with running_gateway(receiver.url, *options, salt=None, log_dir=tmp_path) as gateway:
        _send_traces(gateway)
        assert receiver.wait_for(lambda r: r.spans(), timeout=20)
    span = receiver.spans()[0]
    assert span["resource"]["optel.install.id"] == INSTALL_ID
    assert span["resource"]["my.resource.thing"] == "kept only when allowed"
    assert span["attributes"]["note"] == "not in the dictionary"
    # An operator's allowance never brings an identity key back.
    assert "user.name" not in span["attributes"] and "host.name" not in span["resource"]


def test_data_of_apps_the_gateway_does_not_serve_is_dropped(
    receiver: OTLPReceiver, tmp_path: Path
) -> None:
    with running_gateway(
        receiver.url, "--allowed-services", "leaktool|other", log_dir=tmp_path
    ) as gateway:
        _send_traces(gateway, service="intruder")
        _send_traces(gateway, service="leaktool")
        assert receiver.wait_for(lambda r: r.spans(), timeout=20)
        time.sleep(0.5)
    assert {s["resource"]["service.name"] for s in receiver.spans()} == {"leaktool"}


def test_what_arrives_over_grpc_is_cleaned_too(receiver: OTLPReceiver, tmp_path: Path) -> None:
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    with running_gateway(receiver.url, log_dir=tmp_path, grpc=True) as gateway:
        resource = Resource(
            {
                "service.name": "leaktool",
                "host.name": "alices-laptop",
                "optel.install.id": INSTALL_ID,
            }
        )
        provider = TracerProvider(resource=resource)
        provider.add_span_processor(
            SimpleSpanProcessor(OTLPSpanExporter(endpoint=gateway, insecure=True))
        )
        with provider.get_tracer("t").start_as_current_span(
            "cmd", attributes={"error.type": HOME_PATH, "note": "x"}
        ):
            pass
        provider.shutdown()
        assert receiver.wait_for(lambda r: r.spans(), timeout=20)
    (span,) = receiver.spans()
    assert span["attributes"] == {"error.type": "<path>"}
    assert "host.name" not in span["resource"]
    assert span["resource"]["optel.install.id"] == _hashed(INSTALL_ID)


def test_logs_are_refused_since_nothing_would_clean_them(
    receiver: OTLPReceiver, tmp_path: Path
) -> None:
    request = ExportLogsServiceRequest()
    resource_logs = request.resource_logs.add()
    _resource(resource_logs)
    record = resource_logs.scope_logs.add().log_records.add()
    record.body.string_value = " ".join(PLANTED.values())
    with running_gateway(receiver.url, log_dir=tmp_path) as gateway:
        with contextlib.suppress(urllib.error.HTTPError):
            _post(gateway + "/v1/logs", request)
        # Traces sent after the logs arrive: by then the logs would have been forwarded too.
        _send_traces(gateway)
        assert receiver.wait_for(lambda r: r.spans(), timeout=20)
        time.sleep(0.3)
    assert [r.path for r in receiver.requests if r.path != "/v1/traces"] == []


HOST = textwrap.dedent(
    """
    import optel
    optel.init("gwtool", version="2.0.0", attributes=("note", "detail"))

    @optel.command("deploy")
    def deploy():
        optel.event("fetched", note="kept by the gateway", detail="dropped by the gateway")
        raise RuntimeError("deploy failed")

    try:
        deploy()
    except RuntimeError:
        pass
    """
)


def test_host_uploader_gateway_receiver(
    receiver: OTLPReceiver, tmp_path: Path, isolated_home: Path
) -> None:
    config = _paths.user_config_file("gwtool")
    os.makedirs(os.path.dirname(config), exist_ok=True)
    Path(config).write_text(
        f'mode = "anonymous"\ninstall_id = "{INSTALL_ID}"\ndecided_at = "2026-01-01T00:00:00Z"\n'
        'consent_version = 1\nsalt = "00112233445566778899aabbccddeeff"\nfirst_seen = "2026-01-01T00:00:00Z"\n'
    )
    script = tmp_path / "host.py"
    script.write_text(HOST)
    with running_gateway(receiver.url, "--allow-attribute", "note", log_dir=tmp_path) as gateway:
        env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": gateway}
        host = subprocess.run(
            [sys.executable, str(script)], env=env, capture_output=True, timeout=60
        )
        assert host.returncode == 0, host.stderr
        # The host's detached uploader sends the spooled batch; `optel upload` drains what is left.
        if not receiver.wait_for(lambda r: r.spans(), timeout=10):
            done = subprocess.run(
                [sys.executable, "-m", "optel", "upload", "--app", "gwtool"],
                env=env,
                capture_output=True,
                timeout=60,
            )
            assert done.returncode == 0, done.stderr
        assert receiver.wait_for(
            lambda r: any(s["name"].startswith("cmd") or s["name"] == "deploy" for s in r.spans()),
            timeout=20,
        ), receiver.spans()
    spans = receiver.spans()
    assert {s["resource"]["service.name"] for s in spans} == {"gwtool"}
    assert {s["resource"]["optel.install.id"] for s in spans} == {_hashed(INSTALL_ID)}
    events = [e for s in spans for e in s["events"] if e["name"] == "fetched"] + [
        {"attributes": s["attributes"]} for s in spans if s["name"] == "fetched"
    ]
    assert events, spans
    for event in events:
        assert event["attributes"].get("note") == "kept by the gateway"
        assert "detail" not in event["attributes"]


# --- the configs the gateway's rules also live in ----------------------------------------------


def test_gateway_yaml_drops_the_same_identity_keys_as_the_table() -> None:
    processors = yaml.safe_load((ROOT / "collector" / "gateway.yaml").read_text())["processors"]
    span = processors["attributes/drop_identifying"]["actions"]
    resource = processors["resource/drop_identifying"]["attributes"]
    assert [a["key"] for a in span if "key" in a] == list(table.GATEWAY_IDENTITY_KEYS)
    assert [a["pattern"] for a in span if "pattern" in a] == [
        table.GATEWAY_NETWORK_KEY,
        table.GATEWAY_IP_KEY,
    ]
    assert [a["key"] for a in resource if "key" in a] == list(table.GATEWAY_RESOURCE_IDENTITY_KEYS)
    assert [a["pattern"] for a in resource if "pattern" in a] == [table.GATEWAY_IP_KEY]
    statements = processors["transform/pseudonymize"]["trace_statements"]
    assert [
        key for key in table.GATEWAY_INSTALL_ID_KEYS if any(f'["{key}"]' in s for s in statements)
    ] == list(table.GATEWAY_INSTALL_ID_KEYS)


# --- bad settings: one clear line, exit 2, and rotel is never started ---------------------------


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (
            ["--exporter-endpoint", "ftp://127.0.0.1:1"],
            {},
            "--exporter-endpoint must be an http:// or https:// URL",
        ),
        (
            ["--exporter-endpoint", "http://127.0.0.1:1", "--http-endpoint", "4318"],
            {},
            "--http-endpoint must be HOST:PORT",
        ),
        (
            ["--exporter-endpoint", "http://127.0.0.1:1", "--allowed-services", "("],
            {},
            "is not a regular expression",
        ),
        (
            ["--exporter-endpoint", "http://127.0.0.1:1"],
            {"OPTEL_INSTALL_ID_SALT": "a:b"},
            "letters and digits only",
        ),
    ],
)
def test_bad_gateway_settings_are_one_clear_line(
    argv: list[str], env: dict[str, str], message: str, tmp_path: Path
) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "optel",
            "gateway",
            *argv,
            "--pid-file",
            str(tmp_path / "rotel.pid"),
        ],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done
    assert done.stderr.startswith("optel gateway: ") and message in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert not (tmp_path / "rotel.pid").exists()
