"""OTLP/HTTP with JSON bodies (`OTEL_EXPORTER_OTLP_PROTOCOL=http/json`), for a user's endpoint that asks for it.

The SDK has no JSON exporter, so this one encodes with the SDK's own OTLP encoders (the same
protobuf messages the `http/protobuf` exporters send) and writes them in the OTLP/JSON mapping:
protobuf's JSON form with lowerCamelCase field names and enums as integers, except that trace and
span ids are hex strings, not base64, as the OTLP specification requires. It sends through the
run's `ObservingSession` like the protobuf exporters: one attempt (one reconnect of a stale pooled
connection), a total deadline, the destination's headers and certificates only.
"""

from __future__ import annotations

import base64
import gzip
import json
import zlib
from typing import Any

import requests
from opentelemetry.sdk.metrics.export import MetricExportResult
from opentelemetry.sdk.trace.export import SpanExportResult

from optel._endpoints import Destination
from optel.upload.http import ObservingSession, Stop

CONTENT_TYPE = "application/json"
_IDS = frozenset({"traceId", "spanId", "parentSpanId"})


def encode(signal: str, payload: Any) -> bytes:
    """The OTLP/JSON request body for spans (a sequence of `ReadableSpan`) or `MetricsData`."""
    import importlib

    # protobuf comes with the SDK's exporters; by name, as its stubs are not a dependency.
    to_dict: Any = importlib.import_module("google.protobuf.json_format").MessageToDict
    if signal == "traces":
        from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

        message = encode_spans(payload)
    else:
        from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics

        message = encode_metrics(payload)
    body = to_dict(message, use_integers_for_enums=True)
    return json.dumps(_hex_ids(body), separators=(",", ":")).encode()


def _hex_ids(value: Any) -> Any:
    """Every `traceId`/`spanId`/`parentSpanId` (base64 in protobuf's JSON) as hex, in place."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in _IDS and isinstance(item, str):
                value[key] = base64.b64decode(item).hex()
            else:
                _hex_ids(item)
    elif isinstance(value, list):
        for item in value:
            _hex_ids(item)
    return value


class JsonExporter:
    """Sends one signal's exports to `destination` as OTLP/JSON through `session`."""

    def __init__(self, destination: Destination, session: ObservingSession) -> None:
        self._signal = destination.signal
        self._url = destination.url
        self._compression = destination.compression
        self._timeout = destination.timeout
        self._session = session

    def export(self, payload: Any, timeout_millis: float | None = None) -> Any:
        ok = self._send(self._compressed(encode(self._signal, payload)))
        if self._signal == "traces":
            return SpanExportResult.SUCCESS if ok else SpanExportResult.FAILURE
        return MetricExportResult.SUCCESS if ok else MetricExportResult.FAILURE

    def _compressed(self, body: bytes) -> bytes:
        if self._compression == "gzip":
            return gzip.compress(body)
        if self._compression == "deflate":
            return zlib.compress(body)
        return body

    def _send(self, body: bytes) -> bool:
        for _ in range(2):
            try:
                self._session.post(self._url, data=body, timeout=self._timeout)
                return True
            except requests.ConnectionError:
                continue  # the session lets the first one through: a stale pooled connection, once
            except Stop:
                return False  # the session kept what happened (status, Retry-After, error)
        return False

    def shutdown(self) -> None:
        """Nothing of its own to close: the run closes the session."""
