"""OTLP export with the SDK's exporters, and the outcome of each export (sent, retry later, rejected).

Where each signal goes, and with what headers and settings, is decided by `optel._endpoints.resolve`
(the app's settings, or the user's own, never a mix); this module builds an SDK exporter per
`Destination` so that it sends exactly those (`http/json`, which the SDK lacks: upload/otlp_json.py).
The HTTP exporters send through an
`ObservingSession` (optel/upload/http.py: one attempt, a total deadline, the destination's headers
and certificates only). The gRPC exporters (the `optel[grpc]` extra) retry the same way and have no
session to hand over: their stub is swapped for a `_GrpcCall` that makes the one call with the
destination's metadata and the time left (a gRPC deadline is total), keeps its status code and
`RetryInfo`, and ends the retry loop with the same `Stop`; their TLS credentials are built here
from the destination, so that the SDK reads no certificate variable of its own.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry.sdk.metrics.export import MetricExportResult, MetricsData, ResourceMetrics
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult

from optel._endpoints import DEFAULT_TIMEOUT, GRPC, HTTP_JSON, Destination, resolve
from optel.upload.http import ObservingSession, Stop, parse_retry_after
from optel.upload.temporality import Totals, state_file

__all__ = [
    "DEFAULT_TIMEOUT", "INVALID", "REJECTED", "RETRY", "SENT", "UNAVAILABLE", "Exporters", "ObservingSession",
    "Outcome", "classify", "classify_grpc", "parse_retry_after",
]  # fmt: skip

_log = logging.getLogger("optel")

MIN_TIMEOUT = 0.2
_GRPC_MODULES = {"traces": "trace_exporter", "metrics": "metric_exporter"}
# gRPC codes that keep the file: the retryable ones of the OTLP specification, plus INTERNAL and
# UNKNOWN (a collector that failed is not the data's fault, as with HTTP 5xx). Every other code
# (INVALID_ARGUMENT, UNAUTHENTICATED, UNIMPLEMENTED, ...) is the collector refusing the data: drop.
GRPC_KEEP = frozenset(
    {
        "CANCELLED",
        "DEADLINE_EXCEEDED",
        "RESOURCE_EXHAUSTED",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNAVAILABLE",
        "DATA_LOSS",
        "INTERNAL",
        "UNKNOWN",
    }
)

# Refusals that say the endpoint or its credentials are wrong, not the data: a setting the app's
# maintainer can fix. They keep the file (within the spool's bounds) and back off like a 503.
MISCONFIGURED = frozenset(
    {401, 403, 404, "unauthenticated", "permission_denied", "unimplemented", "not_found"}
)

SENT = "sent"
RETRY = "retry"  # keep the file, back off, stop this run
REJECTED = "rejected"  # the collector refused it for good: drop the file (counted)
INVALID = "invalid"  # it cannot even be encoded: quarantine the file
UNAVAILABLE = "unavailable"  # the configured exporter cannot be used here (no grpc extra): keep


class Outcome:
    """What one export came to: `kind` is one of SENT, RETRY, REJECTED, INVALID, UNAVAILABLE.

    `status` is the HTTP status code, or for gRPC the status code's name in lower case
    (`invalid_argument`), so that a dropped file is counted as `rejected_<status>` either way.
    """

    __slots__ = ("detail", "kind", "retry_after", "status")

    def __init__(
        self,
        kind: str,
        status: int | str | None = None,
        retry_after: float | None = None,
        detail: str = "",
    ) -> None:
        self.kind = kind
        self.status = status
        self.retry_after = retry_after
        self.detail = detail

    def __repr__(self) -> str:
        return f"Outcome({self.kind!r}, status={self.status}, retry_after={self.retry_after})"


def classify(status: int | None, error: BaseException | None, retry_after: float | None) -> Outcome:
    """The outcome of a failed export from the last answer (SPEC §6 retry rules).

    Connection errors, timeouts, 408, 429 and every 5xx keep the file (a 500 is the collector's
    fault, not the data's); other 4xx drop it; a redirect, 401, 403 or 404 keeps it (a
    misconfigured endpoint can be fixed, dropped data cannot come back).
    """
    if status is not None:
        if status in (408, 429) or status >= 500 or 300 <= status < 400 or status in MISCONFIGURED:
            return Outcome(
                RETRY, status, retry_after if status in (429, 503) else None, f"HTTP {status}"
            )
        if 400 <= status < 500:
            return Outcome(REJECTED, status, None, f"HTTP {status}")
    if error is not None:
        return Outcome(RETRY, None, None, f"{type(error).__name__}: {error}")
    return Outcome(INVALID, None, None, "the exporter refused the batch before sending it")


def classify_grpc(code: str | None, details: str, retry_after: float | None) -> Outcome:
    """The outcome of a failed gRPC export from its status code's name (`UNAVAILABLE`, ...).

    The codes of `GRPC_KEEP` keep the file, with the delay of the collector's `RetryInfo` when it
    sent one; the others drop it. No code at all (the call failed before it was made) keeps it.
    """
    if code is None:
        return Outcome(RETRY, None, None, details or "the gRPC call failed")
    detail = f"gRPC {code}: {details}" if details else f"gRPC {code}"
    if code in GRPC_KEEP or code.lower() in MISCONFIGURED:
        return Outcome(RETRY, code.lower(), retry_after, detail)
    return Outcome(REJECTED, code.lower(), None, detail)


# quiet SDK logs --------------------------------------------------------------------------------------

_quiet = threading.local()
_filter_lock = threading.Lock()
_filtered: set[str] = set()


class _WhileExporting(logging.Filter):
    """Drops the SDK's records made on a thread that is inside an optel export.

    The SDK logs each failed export at ERROR; in a host without logging setup that reaches stderr
    through logging's last-resort handler, and optel never prints. The host's own OpenTelemetry
    logs, made outside optel's calls, pass untouched.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(_quiet, "on", False):
            _log.debug("optel: (sdk) %s", record.getMessage())
            return False
        return True


_FILTER = _WhileExporting()


_scanned = [-1]  # how many loggers existed at the last scan


def _install_filter() -> None:
    with _filter_lock:
        # Loggers are only ever added; every export asks, and most find nothing new.
        loggers = logging.Logger.manager.loggerDict
        if len(loggers) == _scanned[0]:
            return
        names = [n for n in list(loggers) if n.startswith(("opentelemetry", "grpc"))]
        for name in names:
            if name not in _filtered:
                logging.getLogger(name).addFilter(_FILTER)
                _filtered.add(name)
        _scanned[0] = len(loggers)


@contextmanager
def quiet_sdk() -> Iterator[None]:
    """Keep the SDK's log records of this thread's exports off the terminal."""
    _install_filter()
    before = getattr(_quiet, "on", False)
    _quiet.on = True
    try:
        yield
    finally:
        _quiet.on = before


def silence_sdk_loggers() -> None:
    """Detached mode: nothing of the `opentelemetry` and `grpc` loggers goes anywhere."""
    for name in ("opentelemetry", "grpc"):
        logger = logging.getLogger(name)
        logger.addHandler(logging.NullHandler())
        logger.propagate = False


# exporters -------------------------------------------------------------------------------------------


class _GrpcCall:
    """Stands in for a gRPC exporter's stub: the one call of an export, with the run's metadata and
    at most the time left, and what it came to (the status code's name, details, `RetryInfo` delay)."""

    def __init__(
        self, stub: Any, metadata: tuple[tuple[str, str], ...], rpc_error: type[BaseException]
    ) -> None:
        self._stub = stub
        self._metadata = metadata
        self._rpc_error = rpc_error
        self.begin(DEFAULT_TIMEOUT)

    def begin(self, budget: float) -> None:
        self.deadline = time.monotonic() + budget
        self.code: str | None = None
        self.details = ""
        self.retry_after: float | None = None
        self.error: BaseException | None = None

    def Export(self, request: Any, *args: Any, **kwargs: Any) -> Any:  # the stub's method name
        asked = kwargs.get("timeout")
        left = max(self.deadline - time.monotonic(), 0.01)  # a gRPC deadline bounds the whole call
        kwargs["timeout"] = (
            min(asked, left) if isinstance(asked, (int, float)) and asked > 0 else left
        )
        # The SDK falls back to os.environ's headers when given none: the destination's, always.
        kwargs["metadata"] = self._metadata
        try:
            return self._stub.Export(request, *args, **kwargs)
        except self._rpc_error as error:
            code = getattr(error, "code", None)
            name = getattr(code() if callable(code) else None, "name", None)
            self.code = name if isinstance(name, str) else "UNKNOWN"
            details = getattr(error, "details", None)
            text = details() if callable(details) else None
            self.details = text if isinstance(text, str) else ""
            self.retry_after = _retry_delay(error)
            raise Stop(f"gRPC {self.code}") from error
        except Exception as error:
            self.error = error
            raise Stop(str(error)) from error

    def seen(self) -> Outcome | None:
        if self.code is not None:
            return classify_grpc(self.code, self.details, self.retry_after)
        if self.error is not None:
            return Outcome(RETRY, None, None, f"{type(self.error).__name__}: {self.error}")
        return None


def _retry_delay(error: BaseException) -> float | None:
    """The delay of a `google.rpc.RetryInfo` in the trailing metadata of a failed call, or None."""
    try:
        trailing = error.trailing_metadata()  # type: ignore[attr-defined]
        raw = dict(trailing or ()).get("google.rpc.retryinfo-bin")
        if not isinstance(raw, bytes):
            return None
        import importlib

        # googleapis-common-protos comes with the grpc extra; by name, as grpc itself.
        info = importlib.import_module("google.rpc.error_details_pb2").RetryInfo()
        info.ParseFromString(raw)
        delay = info.retry_delay.seconds + info.retry_delay.nanos / 1e9
    except Exception:
        return None
    return max(float(delay), 0.0)


class _Target:
    __slots__ = ("call", "exporter", "session")

    def __init__(
        self, exporter: Any, session: ObservingSession | None, call: _GrpcCall | None = None
    ) -> None:
        self.exporter = exporter
        self.session = session
        self.call = call

    def begin(self, budget: float, destination: Destination) -> None:
        if self.session is not None:
            self.session.begin(budget, destination)
        if self.call is not None:
            self.call.begin(budget)

    def seen(self) -> Outcome | None:
        """What the watched request or call came to, when it got that far."""
        session = self.session
        if session is not None and (session.status is not None or session.error is not None):
            return classify(session.status, session.error, session.retry_after)
        if self.call is not None:
            return self.call.seen()
        return None

    def failed(self) -> Outcome:
        """The outcome of an export the SDK called a FAILURE."""
        seen = self.seen()
        if seen is not None:
            return seen
        if self.session is not None:
            return classify(None, None, None)
        # A gRPC exporter that failed without a call (shut down, or an SDK whose stub is not
        # watched): keep the file and let the backoff decide.
        return Outcome(RETRY, None, None, "gRPC export failed")

    def close(self) -> None:
        try:
            self.exporter.shutdown()
        except Exception:
            pass
        if self.call is not None:
            # The SDK's shutdown closes its channel; an older one may not, and an open channel
            # keeps a connection and grpc's threads alive.
            channel = getattr(self.exporter, "_channel", None)
            try:
                if channel is not None:
                    channel.close()
            except Exception:
                pass


class Exporters:
    """The SDK exporters of one upload run, one per `Destination`, reusing connections."""

    def __init__(self, environ: Mapping[str, str], state_dir: str | None = None) -> None:
        self._environ = environ
        # Where a cumulative preference keeps its running totals (the spool directory; None: delta only).
        self._state_dir = state_dir
        self._totals: dict[str, Totals] = {}
        self._targets: dict[tuple[Any, ...], _Target] = {}
        self._resources: dict[tuple[Any, ...], Resource] = {}
        self._said: set[str] = set()  # each problem with the user's settings is logged once a run
        # One session for every HTTP exporter of the run: exports happen one at a time, and the
        # spans and metrics of a file then share one keep-alive connection.
        self._session: ObservingSession | None = None

    def destination(self, signal: str, export: Mapping[str, Any] | None) -> Destination:
        """Where `signal` of a file with this header `export` section goes, and with what."""
        destination = resolve(signal, export, self._environ)
        for note in destination.notes:
            self._say(logging.WARNING, note)
        return destination

    def _say(self, level: int, message: str) -> None:
        if message not in self._said:
            self._said.add(message)
            _log.log(level, "optel: %s", message)

    def describe(self, signal: str, export: Mapping[str, Any] | None) -> str:
        """Where `signal` goes for a file with this header `export` section (for messages)."""
        return self.destination(signal, export).url

    def _target(self, destination: Destination) -> _Target | Outcome:
        key = destination.key()
        target = self._targets.get(key)
        if target is not None:
            return target
        if destination.protocol == HTTP_JSON:
            from optel.upload.otlp_json import JsonExporter

            target = _Target(JsonExporter(destination, self._http_session()), self._session)
        elif destination.protocol == GRPC:
            built = _grpc_exporter(destination)
            if isinstance(built, Outcome):
                return built
            target = built
        else:
            target = self._http_exporter(destination)
        self._targets[key] = target
        return target

    def _http_exporter(self, destination: Destination) -> _Target:
        from opentelemetry.exporter.otlp.proto.http import Compression
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        session = self._http_session()
        kind = {"gzip": Compression.Gzip, "deflate": Compression.Deflate}.get(
            destination.compression, Compression.NoCompression
        )
        factory: Any = OTLPSpanExporter if destination.signal == "traces" else OTLPMetricExporter
        # Every value explicit; what the SDK still reads from os.environ (headers, certificates)
        # never reaches the wire: the session sends the destination's own (upload/http.py).
        exporter = factory(
            endpoint=destination.url,
            certificate_file=destination.certificate,
            client_key_file=destination.client_key,
            client_certificate_file=destination.client_certificate,
            headers=destination.headers,
            timeout=destination.timeout,
            compression=kind,
            session=session,
        )
        return _Target(exporter, session)

    def _http_session(self) -> ObservingSession:
        if self._session is None:
            self._session = ObservingSession()
        return self._session

    def export_spans(
        self, spans: Sequence[ReadableSpan], export: Mapping[str, Any] | None, budget: float
    ) -> Outcome:
        """Send one batch of spans; at most `budget` seconds."""
        return self._export("traces", spans, export, budget)

    def export_metrics(
        self, data: MetricsData, export: Mapping[str, Any] | None, budget: float
    ) -> Outcome:
        """Send one file's metrics; at most `budget` seconds."""
        return self._export("metrics", data, export, budget)

    def _export(
        self, signal: str, payload: Any, export: Mapping[str, Any] | None, budget: float
    ) -> Outcome:
        # The budget counts from now: building the first exporter (importing it) is part of it.
        until = time.monotonic() + max(budget, MIN_TIMEOUT)
        with quiet_sdk():
            destination = self.destination(signal, export)
            if not destination.exporting:
                return Outcome(
                    SENT
                )  # OTEL_<SIGNAL>_EXPORTER=none at the user's endpoint: sent nowhere
            if signal == "traces" and destination.ratio < 1.0:
                payload = [span for span in payload if destination.keeps(span.context.trace_id)]
                if not payload:
                    return Outcome(SENT)  # the user's sampler kept none of these traces
            target = self._target(destination)
            if isinstance(target, Outcome):
                return target
            _install_filter()  # again: building the exporter imported modules with their own loggers
            if destination.resource:
                payload = self._with_resource(signal, payload, destination.resource)
            totals = self._cumulative(destination)
            if totals is not None:
                payload = totals.cumulative(payload)
            budget = min(max(until - time.monotonic(), MIN_TIMEOUT), destination.timeout)
            target.begin(budget, destination)
            try:
                if signal == "traces":
                    ok = target.exporter.export(payload) is SpanExportResult.SUCCESS
                else:
                    ok = (
                        target.exporter.export(payload, timeout_millis=budget * 1000)
                        is MetricExportResult.SUCCESS
                    )
            except Exception as error:
                # The watcher's `Stop` (gRPC, and HTTP on older SDKs) comes through here; what it
                # saw still says what happened. Anything else keeps the file.
                _log.debug("optel: exporter raised", exc_info=True)
                seen = target.seen()
                if seen is not None:
                    return seen
                return Outcome(RETRY, None, None, f"{type(error).__name__}: {error}")
        if ok:
            if totals is not None:
                totals.commit()
            return Outcome(SENT, target.session.status if target.session is not None else None)
        return target.failed()

    def _cumulative(self, destination: Destination) -> Totals | None:
        """The running totals of a user's endpoint that prefers cumulative metrics (upload/temporality.py)."""
        if (
            destination.signal != "metrics"
            or destination.temporality != "cumulative"
            or not self._state_dir
        ):
            return None
        found = self._totals.get(destination.url)
        if found is None:
            found = self._totals[destination.url] = Totals(
                state_file(self._state_dir, destination.url)
            )
        return found

    def _with_resource(self, signal: str, payload: Any, extra: dict[str, str]) -> Any:
        """The payload with the user's resource attributes added under each file's own (user's endpoint only)."""
        from optel.upload.convert import with_resource, with_user_resource

        def merged(resource: Resource) -> Resource:
            key = (resource, tuple(sorted(extra.items())))
            found = self._resources.get(key)
            if found is None:
                found = self._resources[key] = with_user_resource(resource, extra)
            return found

        if signal == "traces":
            return [with_resource(span, merged(span.resource)) for span in payload]
        return MetricsData(
            resource_metrics=[
                ResourceMetrics(
                    resource=merged(rm.resource),
                    scope_metrics=rm.scope_metrics,
                    schema_url=rm.schema_url,
                )
                for rm in payload.resource_metrics
            ]
        )

    def close(self) -> None:
        """Shut every exporter down, closing its connections (gRPC channels included)."""
        with quiet_sdk():
            for target in self._targets.values():
                target.close()
            if self._session is not None:
                self._session.close()
        self._targets.clear()
        self._resources.clear()


def _grpc_exporter(destination: Destination) -> _Target | Outcome:
    import importlib

    try:
        # The grpc extra may be missing; imported by name so that type checking does not need it.
        module = importlib.import_module(
            f"opentelemetry.exporter.otlp.proto.grpc.{_GRPC_MODULES[destination.signal]}"
        )
        factory: Any = getattr(
            module, "OTLPSpanExporter" if destination.signal == "traces" else "OTLPMetricExporter"
        )
        grpc: Any = importlib.import_module("grpc")
    except ImportError:
        message = "OTLP over gRPC needs the grpc extra: pip install 'optel[grpc]'"
        _log.error("optel: %s", message)
        return Outcome(UNAVAILABLE, None, None, message)
    kind = {"gzip": grpc.Compression.Gzip, "deflate": grpc.Compression.Deflate}.get(
        destination.compression, grpc.Compression.NoCompression
    )
    url = destination.url
    try:
        # Credentials built here from the destination: given none, the SDK would read the
        # certificate variables of os.environ itself.
        credentials = None if destination.insecure else _grpc_credentials(grpc, destination)
        exporter = factory(
            endpoint=url,
            insecure=destination.insecure,
            credentials=credentials,
            headers=destination.headers,
            timeout=destination.timeout,
            compression=kind,
        )
    except Exception as error:
        # A TLS setting that cannot be loaded, say: a configuration that can be fixed, so keep.
        _log.debug("optel: could not build the gRPC exporter", exc_info=True)
        return Outcome(
            RETRY, None, None, f"gRPC exporter for {url}: {type(error).__name__}: {error}"
        )
    stub = getattr(exporter, "_client", None)
    if stub is None or not callable(getattr(stub, "Export", None)):
        _log.debug("optel: this gRPC exporter's stub cannot be watched; it retries on its own")
        return _Target(exporter, None)
    call = _GrpcCall(stub, tuple(destination.headers.items()), grpc.RpcError)
    # The SDK calls `self._client.Export(...)` once per attempt: one call is all it gets.
    exporter._client = call
    return _Target(exporter, None, call)


def _grpc_credentials(grpc: Any, destination: Destination) -> Any:
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
