"""OTLP over gRPC (the `optel[grpc]` extra): through a real collector, and against a small gRPC
server that answers each export with the status code a test asks for."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc  # in the test extras, beside the optel[grpc] exporter: never skipped
import pytest
from google.protobuf.duration_pb2 import Duration
from google.rpc.error_details_pb2 import RetryInfo
from opentelemetry.proto.collector.metrics.v1 import (
    metrics_service_pb2,
    metrics_service_pb2_grpc,
)
from opentelemetry.proto.collector.trace.v1 import (
    trace_service_pb2,
    trace_service_pb2_grpc,
)

from optel._endpoints import resolve
from optel.spool.files import Spool
from optel.spool.launch import uploader_lock
from optel.upload import upload
from optel.upload.export import GRPC_KEEP, REJECTED, RETRY, classify_grpc
from otlp_receiver import OTLPReceiver
from rotel_process import free_port, running_rotel

APP = "grpc-tool"
T0 = 1_790_000_000_000_000_000
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
ROOT_ID = "00f067aa0ba902b7"
CHILD_ID = "b7ad6b7169203331"


# a gRPC collector that answers as told ------------------------------------------------------------


class Export:
    """One export request as the server saw it."""

    def __init__(
        self,
        signal: str,
        request: Any,
        metadata: dict[str, str],
        deadline: float | None,
        answer: str,
    ) -> None:
        self.signal = signal
        self.request = request
        self.metadata = metadata
        self.deadline = deadline  # seconds the client left for the call, as the server sees it
        self.answer = answer  # "OK", a status code's name, or "hang"


class GrpcCollector:
    """An OTLP/gRPC server on 127.0.0.1 (grpcio) that records every export and answers per plan."""

    def __init__(self) -> None:
        self.exports: list[Export] = []
        self._plan: list[tuple[str, float | None]] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_Traces(self), self._server)
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(_Metrics(self), self._server)
        self.port = self._server.add_insecure_port("127.0.0.1:0")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answer(self, *codes: str, retry_delay: float | None = None) -> None:
        """Answer the next exports with these codes ("OK", "UNAVAILABLE", ..., or "hang"), then OK."""
        with self._lock:
            self._plan.extend((code, retry_delay) for code in codes)

    def handle(self, signal: str, request: Any, context: Any, response: Any) -> Any:
        with self._lock:
            code, delay = self._plan.pop(0) if self._plan else ("OK", None)
            remaining = context.time_remaining()
            self.exports.append(
                Export(signal, request, dict(context.invocation_metadata()), remaining, code)
            )
        if code == "hang":
            self._release.wait(60)
            context.abort(grpc.StatusCode.UNAVAILABLE, "stopped")
        if code != "OK":
            if delay is not None:
                info = RetryInfo(
                    retry_delay=Duration(seconds=int(delay), nanos=int(delay % 1 * 1e9))
                )
                context.set_trailing_metadata(
                    (("google.rpc.retryinfo-bin", info.SerializeToString()),)
                )
            context.abort(getattr(grpc.StatusCode, code), f"told to answer {code}")
        return response

    def accepted(self, signal: str) -> list[Export]:
        with self._lock:
            return [e for e in self.exports if e.signal == signal and e.answer == "OK"]

    def span_names(self) -> list[str]:
        return sorted(
            span.name
            for export in self.accepted("traces")
            for rs in export.request.resource_spans
            for ss in rs.scope_spans
            for span in ss.spans
        )

    def metric_points(self) -> dict[str, list[Any]]:
        points: dict[str, list[Any]] = {}
        for export in self.accepted("metrics"):
            for rm in export.request.resource_metrics:
                for sm in rm.scope_metrics:
                    for metric in sm.metrics:
                        data = getattr(metric, metric.WhichOneof("data"))
                        points.setdefault(metric.name, []).extend(data.data_points)
        return points

    def __enter__(self) -> GrpcCollector:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._server.stop(grace=None).wait(5)


class _Traces(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, collector: GrpcCollector) -> None:
        self.collector = collector

    def Export(self, request: Any, context: Any) -> Any:  # the service's method name
        return self.collector.handle(
            "traces", request, context, trace_service_pb2.ExportTraceServiceResponse()
        )


class _Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
    def __init__(self, collector: GrpcCollector) -> None:
        self.collector = collector

    def Export(self, request: Any, context: Any) -> Any:
        return self.collector.handle(
            "metrics", request, context, metrics_service_pb2.ExportMetricsServiceResponse()
        )


@pytest.fixture
def collector() -> Iterator[GrpcCollector]:
    with GrpcCollector() as server:
        yield server


# spool files --------------------------------------------------------------------------------------


def _header(headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "app": APP,
        "created_ns": T0,
        "resource": {
            "service.name": APP,
            "service.version": "2.0.0",
            "optel.install.id": "install-1",
        },
        "consent": {"mode": "anonymous", "source": "user_file", "install_id": "install-1"},
        "export": {"endpoint": None, "headers": headers},
        "settings": {
            "policy": "opt-in",
            "sample_percent": 100.0,
            "consent_version": 1,
            "version_module": None,
        },
    }


def _records(name: str = "deploy") -> list[dict[str, Any]]:
    root = {
        "t": "span", "trace_id": TRACE, "span_id": ROOT_ID, "parent_span_id": None,
        "name": name, "kind": "internal", "start_ns": T0, "end_ns": T0 + 2_000_000,
        "attributes": {"command.name": name}, "status": "ok", "status_message": None, "events": [],
    }  # fmt: skip
    child = {
        **root, "span_id": CHILD_ID, "parent_span_id": ROOT_ID, "name": "chat gpt-4o", "kind": "client",
        "start_ns": T0 + 10, "end_ns": T0 + 1_000_000, "attributes": {"gen_ai.request.model": "gpt-4o"},
    }  # fmt: skip
    metric = {
        "t": "metric", "name": "optel.cli.command.invocations", "value": 1,
        "attributes": {"command.name": name, "outcome": "success"}, "time_ns": T0 + 2_000_000,
    }  # fmt: skip
    return [root, child, metric]


def _spool_one(headers: dict[str, str] | None = None, name: str = "deploy") -> Spool:
    spool = Spool(APP)
    assert spool.write(_header(headers), _records(name)) is not None
    return spool


def _grpc_env(url: str, **extra: str) -> dict[str, str]:
    return {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_ENDPOINT": url, **extra}


# outcomes -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "kind"),
    [("UNAVAILABLE", RETRY), ("DEADLINE_EXCEEDED", RETRY), ("RESOURCE_EXHAUSTED", RETRY), ("ABORTED", RETRY),
     ("CANCELLED", RETRY), ("OUT_OF_RANGE", RETRY), ("DATA_LOSS", RETRY), ("INTERNAL", RETRY), ("UNKNOWN", RETRY),
     ("INVALID_ARGUMENT", REJECTED), ("NOT_FOUND", RETRY), ("ALREADY_EXISTS", REJECTED),
     ("PERMISSION_DENIED", RETRY), ("UNAUTHENTICATED", RETRY), ("FAILED_PRECONDITION", REJECTED),
     ("UNIMPLEMENTED", RETRY)],
)  # fmt: skip
def test_grpc_status_codes_keep_or_drop_the_file(code: str, kind: str) -> None:
    outcome = classify_grpc(code, "details", 7.0)
    assert (outcome.kind, outcome.status) == (kind, code.lower())
    assert outcome.retry_after == (7.0 if kind == RETRY else None)
    assert set(GRPC_KEEP) <= {name for name in grpc.StatusCode.__members__}


def test_grpc_endpoints_follow_the_specification_no_path_and_scheme_decides_tls() -> None:
    env = {
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317",
    }
    assert resolve("traces", None, env).url == "http://collector:4317"
    assert resolve("metrics", {"endpoint": "https://ignored"}, env).url == "http://collector:4317"
    env["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"] = "https://metrics:4317"
    assert resolve("metrics", None, env).url == "https://metrics:4317"

    def insecure(url: str, **extra: str) -> bool:
        return resolve("traces", None, {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_ENDPOINT": url,
                                        **extra}).insecure  # fmt: skip

    assert insecure("http://collector:4317") is True
    assert insecure("https://collector:4317", OTEL_EXPORTER_OTLP_INSECURE="true") is False
    assert insecure("collector:4317") is False
    assert insecure("collector:4317", OTEL_EXPORTER_OTLP_TRACES_INSECURE="true") is True


def test_the_apps_endpoint_is_always_otlp_http_whatever_protocol_the_user_asks_for() -> None:
    # The protocol variable is the user's setting: it applies to the user's own endpoint only.
    app = resolve(
        "traces", {"endpoint": "https://gateway.example"}, {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
    )
    assert (app.url, app.protocol) == ("https://gateway.example/v1/traces", "http/protobuf")


def test_unavailable_keeps_the_file_and_the_next_run_sends_it_exactly_once(
    collector: GrpcCollector,
) -> None:
    spool = _spool_one()
    collector.answer("UNAVAILABLE")
    first = upload(APP, environ=_grpc_env(collector.url))
    assert (first.files_sent, first.files_kept, first.files_dropped) == (0, 1, 0)
    assert "UNAVAILABLE" in (first.error or "")
    assert len(spool.files()) == 1 and spool.backoff_until() is not None
    # One call: the SDK's own retry loop (which would have got OK on its second try) never ran.
    assert [e.answer for e in collector.exports] == ["UNAVAILABLE"]

    second = upload(APP, environ=_grpc_env(collector.url), respect_backoff=False)
    assert (second.files_sent, second.sent_spans, second.sent_metrics) == (1, 2, 1)
    assert collector.span_names() == ["chat gpt-4o", "deploy"]
    assert len(collector.accepted("traces")) == 1 and len(collector.accepted("metrics")) == 1
    assert spool.files() == [] and spool.backoff_until() is None
    third = upload(APP, environ=_grpc_env(collector.url), respect_backoff=False)
    assert third.files_sent == 0 and len(collector.accepted("traces")) == 1


@pytest.mark.parametrize("code", ["DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED", "ABORTED", "INTERNAL"])
def test_transient_codes_keep_the_file(collector: GrpcCollector, code: str) -> None:
    spool = _spool_one()
    collector.answer(code)
    summary = upload(APP, environ=_grpc_env(collector.url))
    assert (summary.files_sent, summary.files_kept, summary.files_dropped) == (0, 1, 0)
    assert code in (summary.error or "")
    assert len(spool.files()) == 1 and spool.failures() == 1


def test_the_retry_delay_a_collector_asks_for_is_remembered(collector: GrpcCollector) -> None:
    spool = _spool_one()
    collector.answer("RESOURCE_EXHAUSTED", retry_delay=600.0)
    summary = upload(APP, environ=_grpc_env(collector.url))
    assert summary.retry_after == 600.0
    until = spool.backoff_until()
    assert until is not None
    # The next detached run honours it: nothing is tried before the collector's delay is over.
    assert upload(APP, environ=_grpc_env(collector.url)).skipped
    assert len(collector.exports) == 1


def test_invalid_argument_drops_the_file_and_counts_it(collector: GrpcCollector) -> None:
    spool = _spool_one()
    collector.answer("INVALID_ARGUMENT")
    summary = upload(APP, environ=_grpc_env(collector.url))
    assert (summary.files_sent, summary.files_kept, summary.files_dropped) == (0, 0, 1)
    assert spool.files() == [] and spool.backoff_until() is None
    # Counted in records: the file's two spans and one measurement.
    assert spool.drop_counts() == {"rejected_invalid_argument": 3}

    # The count reaches the collector with the next successful upload.
    _spool_one(name="later")
    assert upload(APP, environ=_grpc_env(collector.url)).files_sent == 1
    dropped = collector.metric_points()["optel.spool.dropped"]
    assert [(p.as_int, {a.key: a.value.string_value for a in p.attributes}) for p in dropped] == [
        (3, {"reason": "rejected_invalid_argument"})
    ]
    assert spool.drop_counts() == {}


def test_a_collector_that_never_answers_is_given_up_on_within_the_uploaders_deadline(
    collector: GrpcCollector,
) -> None:
    spool = _spool_one()
    collector.answer("hang", "hang")
    # The exporter's own timeout is a minute; the uploader's deadline is what bounds the call.
    env = _grpc_env(collector.url, OTEL_EXPORTER_OTLP_TIMEOUT="60000")
    result: list[Any] = []
    runner = threading.Thread(
        target=lambda: result.append(upload(APP, environ=env, max_seconds=1.0))
    )
    runner.start()
    runner.join(30)
    assert not runner.is_alive(), "the uploader waited on its own timeout, not on its deadline"
    summary = result[0]
    assert (summary.files_sent, summary.files_kept) == (0, 1)
    assert "DEADLINE_EXCEEDED" in (summary.error or "")
    assert len(spool.files()) == 1
    (call,) = collector.exports
    assert call.deadline is not None and call.deadline <= 1.0


def test_a_refused_connection_keeps_the_file() -> None:
    spool = _spool_one()
    summary = upload(APP, environ=_grpc_env(f"http://127.0.0.1:{free_port()}"))
    assert (summary.files_sent, summary.files_kept, summary.files_dropped) == (0, 1, 0)
    assert "UNAVAILABLE" in (summary.error or "")
    assert len(spool.files()) == 1 and spool.failures() == 1


def test_headers_become_grpc_metadata_with_lower_case_keys(collector: GrpcCollector) -> None:
    _spool_one(headers={"Authorization": "Bearer app-token"})
    env = _grpc_env(collector.url, OTEL_EXPORTER_OTLP_HEADERS="X-Tenant=acme,Api-Key=k%201")
    assert upload(APP, environ=env).files_sent == 1
    assert {e.signal for e in collector.exports} == {"traces", "metrics"}
    for export in collector.exports:
        # The user's own endpoint: the user's headers, and not the app's token.
        assert "authorization" not in export.metadata
        assert export.metadata["x-tenant"] == "acme"
        assert export.metadata["api-key"] == "k 1"


def test_the_signal_endpoints_and_headers_are_read_from_the_given_environment(
    collector: GrpcCollector,
) -> None:
    _spool_one()
    env = {
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc",
        "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "grpc",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": collector.url,
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": collector.url,
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "authorization=traces-token",
    }
    assert upload(APP, environ=env).files_sent == 1
    (traces,) = collector.accepted("traces")
    (metrics,) = collector.accepted("metrics")
    assert traces.metadata.get("authorization") == "traces-token"
    assert "authorization" not in metrics.metadata


def _established_to(port: int) -> int:
    """Open TCP connections to `port` on this machine, from Linux's connection tables (grpc
    uses IPv6 sockets with IPv4-mapped addresses for 127.0.0.1, so both tables count)."""
    count = 0
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(name):
            continue
        with open(name) as table:
            for line in list(table)[1:]:
                fields = line.split()
                remote, state = fields[2], fields[3]
                if state == "01" and int(remote.rsplit(":", 1)[1], 16) == port:
                    count += 1
    return count


@pytest.mark.skipif(not os.path.exists("/proc/net/tcp"), reason="reads Linux's connection table")
def test_closing_the_exporters_of_a_run_closes_its_grpc_channels(collector: GrpcCollector) -> None:
    import time

    from optel.upload.attributes import FileResource
    from optel.upload.convert import span_from_record
    from optel.upload.export import SENT, Exporters
    from optel.upload.otlp import SpanRequest

    exporters = Exporters(_grpc_env(collector.url))
    request = SpanRequest()
    span_from_record(_records()[0], request.spans(FileResource({"service.name": APP})))
    assert exporters.export_spans(request, None, 5.0).kind == SENT
    assert _established_to(collector.port) >= 1
    # Closed while the run still holds its exporters: not left to the garbage collector.
    exporters.close()
    deadline = time.monotonic() + 10  # grpc closes sockets on its own threads
    while _established_to(collector.port) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _established_to(collector.port) == 0


def test_without_the_grpc_extra_the_file_is_kept_and_the_reason_given(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # What `import` finds when the extra (grpcio) is not installed.
    monkeypatch.setitem(sys.modules, "grpc", None)
    spool = _spool_one()
    with caplog.at_level("ERROR", logger="optel"):
        summary = upload(APP, environ=_grpc_env("http://127.0.0.1:9"))
    assert (summary.files_sent, summary.files_kept) == (0, 1)
    assert "optel[grpc]" in (summary.error or "") and "optel[grpc]" in caplog.text
    assert len(spool.files()) == 1


FAILING_UPLOAD = r"""
import sys
from optel.upload import upload

env = {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_ENDPOINT": sys.argv[2]}
summary = upload(sys.argv[1], environ=env, respect_backoff=False)
sys.stdout.write(repr((summary.files_kept, summary.error)) + "\n")
"""


def test_failed_grpc_exports_print_nothing_in_a_process_without_logging_setup(
    collector: GrpcCollector, tmp_path: Path, python: str
) -> None:
    # The host's daemon-thread uploader: the SDK's and grpc's log records must not reach stderr
    # through logging's last resort, and grpc's core must not print.
    _spool_one()
    script = tmp_path / "up.py"
    script.write_text(FAILING_UPLOAD)
    for url in (collector.url, f"http://127.0.0.1:{free_port()}"):
        collector.answer("UNAVAILABLE")
        result = subprocess.run(
            [python, str(script), APP, url],
            capture_output=True,
            text=True,
            timeout=60,
            env=dict(os.environ),
        )
        assert (result.returncode, result.stderr) == (0, "")
        assert result.stdout.startswith("(1, 'gRPC UNAVAILABLE")


# end to end through rotel -------------------------------------------------------------------------

HOST_APP = r"""
import optel

optel.init("grpc-host", version="4.2.0")


@optel.llm_call(provider="openai", model="gpt-4o-mini")
def ask(prompt):
    return {"model": "gpt-4o-mini-2024-07-18", "usage": {"prompt_tokens": 11, "completion_tokens": 7}}


@optel.command()
def summarize():
    ask("hello")
    return 0


summarize()
print("done")
"""
HOST = "grpc-host"
INSTALL_ID = "3f1d0c9e-0000-4000-8000-00000000a6c1"


@pytest.mark.slow
def test_a_host_apps_records_reach_a_backend_over_grpc_through_rotel(
    tmp_path: Path, isolated_home: Path, python: str
) -> None:
    config = isolated_home / ".config" / HOST
    config.mkdir(parents=True)
    (config / "telemetry.toml").write_text(
        f'mode = "anonymous"\ninstall_id = "{INSTALL_ID}"\ndecided_at = "2026-11-23T18:00:00Z"\nconsent_version = 1\n'
    )
    script = tmp_path / "host.py"
    script.write_text(HOST_APP)
    spool = Spool(HOST)
    # Held while the host runs, so that it starts no detached uploader: the upload below is ours.
    with uploader_lock(HOST) as held:
        assert held
        host = subprocess.run(
            [python, str(script)], capture_output=True, text=True, timeout=60, env=dict(os.environ)
        )
    assert (host.returncode, host.stdout, host.stderr) == (0, "done\n", "")
    (name,) = spool.files()
    lines = [json.loads(line) for line in Path(spool.path, name).read_text().splitlines()]
    recorded = {r["name"]: r for r in lines if r.get("t") == "span"}
    assert {"summarize", "chat gpt-4o-mini"} <= set(recorded)

    with OTLPReceiver() as backend, running_rotel(backend.url, grpc=True) as collector:
        env = {
            **os.environ,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
            "OTEL_EXPORTER_OTLP_ENDPOINT": collector,
        }
        result = subprocess.run(
            [python, "-m", "optel", "upload", "--app", HOST],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
        assert (result.returncode, result.stderr) == (0, "")
        assert result.stdout.startswith(f"sent {len(recorded)} spans and ")
        assert "from 1 file; kept 0; dropped 0" in result.stdout
        assert backend.wait_for(lambda r: len(r.spans()) == len(recorded), timeout=15)
        assert backend.wait_for(lambda r: {"optel.cli.command.invocations", "gen_ai.client.token.usage"}
                                <= {m["name"] for m in r.metrics()}, timeout=15)  # fmt: skip
    assert spool.files() == []

    spans = {s["name"]: s for s in backend.spans()}
    assert set(spans) == set(recorded)
    command, chat = spans["summarize"], spans["chat gpt-4o-mini"]
    for span in spans.values():
        original = recorded[span["name"]]
        assert (span["trace_id"], span["span_id"], span["parent_span_id"]) == (
            original["trace_id"], original["span_id"], original["parent_span_id"]
        )  # fmt: skip
        assert (span["start_ns"], span["end_ns"]) == (original["start_ns"], original["end_ns"])
        assert span["resource"]["service.name"] == HOST
        assert span["resource"]["service.version"] == "4.2.0"
    assert chat["parent_span_id"] == command["span_id"] and chat["trace_id"] == command["trace_id"]
    assert chat["kind"] == "client"
    assert chat["attributes"]["gen_ai.request.model"] == "gpt-4o-mini"
    assert chat["attributes"]["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"
    assert chat["attributes"]["gen_ai.usage.input_tokens"] == 11
    assert chat["attributes"]["gen_ai.usage.output_tokens"] == 7

    metrics = backend.metrics()
    assert {m["resource"]["service.name"] for m in metrics} == {HOST}
    invocations = [m for m in metrics if m["name"] == "optel.cli.command.invocations"]
    assert [(m["value"], m["temporality"]) for m in invocations] == [(1, "delta")]
    tokens = {
        m["attributes"]["gen_ai.token.type"]: m
        for m in metrics
        if m["name"] == "gen_ai.client.token.usage"
    }
    assert {kind: (m["count"], m["sum"], m["temporality"]) for kind, m in tokens.items()} == {
        "input": (1, 11, "delta"),
        "output": (1, 7, "delta"),
    }


# the user's own settings --------------------------------------------------------------------------

SETTINGS_HOST = r"""
import optel

optel.init("grpc-settings", endpoint=__import__("sys").argv[1], headers={"authorization": "Bearer app-token"})


@optel.command()
def deploy():
    optel.count_input()


deploy()
"""


def test_a_users_grpc_traces_endpoint_gets_their_headers_and_metrics_stay_on_the_apps_http_endpoint(
    collector: GrpcCollector, tmp_path: Path, isolated_home: Path, python: str
) -> None:
    app = "grpc-settings"
    config = isolated_home / ".config" / app
    config.mkdir(parents=True)
    (config / "telemetry.toml").write_text(
        f'mode = "anonymous"\ninstall_id = "{INSTALL_ID}"\nconsent_version = 1\n'
    )
    script = tmp_path / "host.py"
    script.write_text(SETTINGS_HOST)
    env = {
        **os.environ,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": collector.url,
        "OTEL_EXPORTER_OTLP_HEADERS": "x-api-key=user-secret",
        "OTEL_RESOURCE_ATTRIBUTES": "team=mine",
    }
    with OTLPReceiver() as app_endpoint:
        host = subprocess.run(
            [python, str(script), app_endpoint.url], capture_output=True, env=env, timeout=60
        )
        assert (host.returncode, host.stderr) == (0, b"")
        import time

        from optel.spool.launch import uploader_running

        deadline = time.monotonic() + 30
        while uploader_running(app) and time.monotonic() < deadline:
            time.sleep(0.05)
        if Spool(app).files():  # a run that started no uploader: one the same way
            command = [python, "-m", "optel", "upload", "--app", app, "--detached"]
            subprocess.run(command, env=env, capture_output=True, timeout=60, check=True)
        (traces,) = collector.accepted("traces")
        assert traces.metadata.get("x-api-key") == "user-secret"
        assert "authorization" not in traces.metadata
        resource = {
            kv.key: kv.value.string_value
            for kv in traces.request.resource_spans[0].resource.attributes
        }
        assert resource["team"] == "mine"
        assert collector.accepted("metrics") == []
        [metrics] = app_endpoint.accepted("/v1/metrics")
        assert metrics.headers.get("authorization") == "Bearer app-token"
        assert "x-api-key" not in metrics.headers
        assert all("team" not in m["resource"] for m in app_endpoint.metrics())
