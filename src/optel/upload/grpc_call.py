"""OTLP over gRPC (the `optel[grpc]` extra): one `Export` call per request on a channel of the run, its status read.

The request is the uploader's encoded request (upload/otlp.py) parsed into its pb2 message, sent with the generated stub
of `opentelemetry-proto`: the destination's metadata, TLS settings and compression, and a
deadline of the time left (a gRPC deadline bounds the whole call). No retry inside the call: the
next run retries, after the backoff the spool remembers. Its TLS credentials are built from the
`Destination`, never from certificate variables of `os.environ`.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from optel._endpoints import Destination
from optel.upload.outcome import RETRY, SENT, Outcome, classify_grpc

_log = logging.getLogger("optel")

NEEDS_EXTRA = "OTLP over gRPC needs the grpc extra: pip install 'optel[grpc]'"
_STUBS = {
    "traces": ("opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc", "TraceServiceStub"),
    "metrics": (
        "opentelemetry.proto.collector.metrics.v1.metrics_service_pb2_grpc",
        "MetricsServiceStub",
    ),
}


def available() -> bool:
    """Whether the grpc extra is installed (asked before anything is imported)."""
    from importlib.util import find_spec

    try:
        return find_spec("grpc") is not None
    except (ImportError, ValueError):
        return False


class GrpcTarget:
    """The channel and stub of one gRPC destination for a run."""

    def __init__(self, destination: Destination) -> None:
        # The grpc extra may be missing; imported by name so that type checking does not need it.
        self._grpc: Any = importlib.import_module("grpc")
        module, name = _STUBS[destination.signal]
        grpc = self._grpc
        kind = {"gzip": grpc.Compression.Gzip, "deflate": grpc.Compression.Deflate}.get(
            destination.compression, grpc.Compression.NoCompression
        )
        url = destination.url
        _, sep, rest = url.partition("://")
        target = rest.split("/", 1)[0] if sep else url
        options = (("grpc.primary_user_agent", "optel"),)
        if destination.insecure:
            self.channel = grpc.insecure_channel(target, options=options, compression=kind)
        else:
            credentials = _credentials(grpc, destination)
            self.channel = grpc.secure_channel(
                target, credentials, options=options, compression=kind
            )
        self._stub = getattr(importlib.import_module(module), name)(self.channel)
        # gRPC metadata keys are lower case.
        self._metadata = tuple((k.lower(), v) for k, v in destination.headers.items())

    def send(self, request: Any, budget: float, destination: Destination | None = None) -> Outcome:
        try:
            message = request.message()  # the message parsed from the wire bytes (upload/otlp.py)
            self._stub.Export(message, timeout=max(budget, 0.01), metadata=self._metadata)
        except self._grpc.RpcError as error:
            code = getattr(error, "code", None)
            name = getattr(code() if callable(code) else None, "name", None)
            details = getattr(error, "details", None)
            text = details() if callable(details) else None
            return classify_grpc(
                name if isinstance(name, str) else "UNKNOWN",
                text if isinstance(text, str) else "",
                _retry_delay(error),
            )
        except Exception as error:
            _log.debug("optel: the gRPC call failed", exc_info=True)
            return Outcome(RETRY, None, None, f"{type(error).__name__}: {error}")
        return Outcome(SENT)

    def close(self) -> None:
        try:
            self.channel.close()
        except Exception:
            pass


def _retry_delay(error: BaseException) -> float | None:
    """The delay of a `google.rpc.RetryInfo` in the trailing metadata of a failed call, or None."""
    try:
        trailing = error.trailing_metadata()  # type: ignore[attr-defined]
        raw = dict(trailing or ()).get("google.rpc.retryinfo-bin")
        if not isinstance(raw, bytes):
            return None
        # googleapis-common-protos comes with the grpc extra; by name, as grpc itself.
        info = importlib.import_module("google.rpc.error_details_pb2").RetryInfo()
        info.ParseFromString(raw)
        delay = info.retry_delay.seconds + info.retry_delay.nanos / 1e9
    except Exception:
        return None
    return max(float(delay), 0.0)


def _credentials(grpc: Any, destination: Destination) -> Any:
    def read(path: str | None) -> bytes | None:
        if not path:
            return None
        with open(path, "rb") as f:
            return f.read()

    return grpc.ssl_channel_credentials(
        root_certificates=read(destination.certificate),
        private_key=read(destination.client_key),
        certificate_chain=read(destination.client_certificate),
    )
