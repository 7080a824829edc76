"""OTLP/JSON bodies (`OTEL_EXPORTER_OTLP_PROTOCOL=http/json`) from the same protobuf requests the `http/protobuf` path sends.

Protobuf's JSON form with lowerCamelCase field names and enums as integers, except that trace and
span ids are hex strings, not base64, as the OTLP specification requires.
"""

from __future__ import annotations

import base64
import json
from typing import Any

CONTENT_TYPE = "application/json"
_IDS = frozenset({"traceId", "spanId", "parentSpanId"})


def as_dict(message: Any, use_integers_for_enums: bool = True) -> Any:
    """A request (`ExportTraceServiceRequest`, `ExportMetricsServiceRequest`) in the OTLP/JSON mapping."""
    import importlib

    # protobuf comes with opentelemetry-proto; by name, as its stubs are not a dependency.
    to_dict: Any = importlib.import_module("google.protobuf.json_format").MessageToDict
    return _hex_ids(to_dict(message, use_integers_for_enums=use_integers_for_enums))


def encode(message: Any) -> bytes:
    """The OTLP/JSON request body of a request message."""
    return json.dumps(as_dict(message), separators=(",", ":")).encode()


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
