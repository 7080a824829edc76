"""The test suite's OTLP/HTTP receiver: it decodes what the SDK's exporters send and misbehaves on request."""

from __future__ import annotations

import gzip
import socket

import pytest
import requests
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from otlp_receiver import OTLPReceiver


def _request(name: str = "cmd") -> bytes:
    span = Span(
        trace_id=b"\x01" * 16,
        span_id=b"\x02" * 8,
        name=name,
        start_time_unix_nano=5,
        end_time_unix_nano=9,
    )
    resource = Resource(
        attributes=[KeyValue(key="service.name", value=AnyValue(string_value="tool"))]
    )
    message = ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(resource=resource, scope_spans=[ScopeSpans(spans=[span])])]
    )
    return message.SerializeToString()


def _post(url: str, body: bytes, **headers: str) -> requests.Response:
    headers = {"Content-Type": "application/x-protobuf", **headers}
    return requests.post(url + "/v1/traces", data=body, headers=headers, timeout=5)


@pytest.fixture
def receiver():
    with OTLPReceiver() as r:
        yield r


def test_receiver_decodes_spans_with_their_resource(receiver: OTLPReceiver) -> None:
    assert _post(receiver.url, _request()).status_code == 200
    [span] = receiver.spans()
    assert span["trace_id"] == "01" * 16
    assert span["span_id"] == "02" * 8
    assert span["parent_span_id"] is None
    assert (span["name"], span["start_ns"], span["end_ns"]) == ("cmd", 5, 9)
    assert span["resource"] == {"service.name": "tool"}


def test_receiver_decompresses_gzip_bodies(receiver: OTLPReceiver) -> None:
    response = _post(
        receiver.url, gzip.compress(_request("zipped")), **{"Content-Encoding": "gzip"}
    )
    assert response.status_code == 200
    assert [s["name"] for s in receiver.spans()] == ["zipped"]


def test_receiver_counts_every_tcp_connection(receiver: OTLPReceiver) -> None:
    assert receiver.connections == 0
    with socket.create_connection(("127.0.0.1", receiver.port)):
        pass
    assert receiver.wait_for(lambda r: r.connections == 1)


def test_receiver_answers_the_planned_status_then_recovers(receiver: OTLPReceiver) -> None:
    receiver.respond_with(429, {"Retry-After": "7"}, times=1)
    first = _post(receiver.url, _request())
    assert (first.status_code, first.headers["Retry-After"]) == (429, "7")
    assert receiver.spans() == []  # refused requests are not received
    assert _post(receiver.url, _request()).status_code == 200
    assert len(receiver.spans()) == 1
    assert [r.status for r in receiver.requests] == [429, 200]


def test_receiver_rejects_undecodable_bodies(receiver: OTLPReceiver) -> None:
    assert _post(receiver.url, b"\xff\xff\xff not protobuf").status_code == 400


def test_receiver_can_reset_a_connection_mid_body(receiver: OTLPReceiver) -> None:
    receiver.reset(times=1)
    with pytest.raises(requests.ConnectionError):
        _post(receiver.url, _request() * 2000)
    assert receiver.spans() == []


def test_receiver_can_hang_without_answering(receiver: OTLPReceiver) -> None:
    receiver.hang(times=1)
    with pytest.raises(requests.Timeout):
        requests.post(receiver.url + "/v1/traces", data=_request(), timeout=0.3)
    assert receiver.wait_for(lambda r: len(r.requests) == 1)
    assert receiver.requests[0].status == 0


def test_receiver_misbehaves_only_after_the_requests_it_was_told_to_let_through(
    receiver: OTLPReceiver,
) -> None:
    receiver.respond_with(503, times=1, after=2)
    assert [_post(receiver.url, _request()).status_code for _ in range(4)] == [200, 200, 503, 200]
