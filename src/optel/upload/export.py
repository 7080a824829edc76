"""OTLP export with the SDK's exporters, and the outcome of each export (sent, retry later, rejected).

The SDK's HTTP exporters retry inside one call with exponential backoff until their timeout, and
report only SUCCESS or FAILURE. An uploader needs more: one bounded attempt per batch (the retry
happens in the next run, with backoff remembered in the spool), and the status code and
`Retry-After` of a failure to decide whether a spool file is kept or dropped. So the exporters get
a `requests.Session` (their public `session=` argument) that watches every response, caps each
request at the time left, and ends the SDK's retry loop at once: it raises an exception that is not
a connection error for any answer that is not a success (the SDK treats that as final) and lets a
connection error through only once (the SDK's immediate reconnect for a stale pooled connection).
The bytes on the wire are still made and sent by the SDK's `OTLPSpanExporter`/`OTLPMetricExporter`.

The gRPC exporters (the `optel[grpc]` extra) retry the same way, and have no session to hand over:
their stub is swapped for a `_GrpcCall` that makes the one call with the run's metadata and the
time left, keeps its status code and `RetryInfo`, and ends the retry loop with the same `_Stop`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import requests
from opentelemetry.sdk.metrics.export import MetricExportResult, MetricsData
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult

_log = logging.getLogger("optel")

DEFAULT_TIMEOUT = 5.0
MIN_TIMEOUT = 0.2
DEFAULT_BASE_URL = "http://localhost:4318"
_PATHS = {"traces": "v1/traces", "metrics": "v1/metrics"}
_GRPC_DEFAULT = "http://localhost:4317"
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
MISCONFIGURED = frozenset({401, 403, 404, "unauthenticated", "permission_denied", "unimplemented", "not_found"})

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
        self, kind: str, status: int | str | None = None, retry_after: float | None = None, detail: str = ""
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
            return Outcome(RETRY, status, retry_after if status in (429, 503) else None, f"HTTP {status}")
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


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delay-seconds or HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if seconds == seconds and seconds != float("inf") else None
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        from datetime import timezone

        when = when.replace(tzinfo=timezone.utc)
    return max(when.timestamp() - time.time(), 0.0)


# configuration ---------------------------------------------------------------------------------------


def _env(environ: Mapping[str, str], signal: str, suffix: str) -> str | None:
    specific = environ.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_{suffix}", "").strip()
    if specific:
        return specific
    general = environ.get(f"OTEL_EXPORTER_OTLP_{suffix}", "").strip()
    return general or None


def protocol(environ: Mapping[str, str], signal: str) -> str:
    """`grpc` or `http/protobuf` for `signal` (traces or metrics), from the standard variables."""
    value = (_env(environ, signal, "PROTOCOL") or "http/protobuf").lower()
    if value == "grpc":
        return "grpc"
    if value != "http/protobuf":
        _log.warning("optel: OTLP protocol %r is not supported; using http/protobuf", value)
    return "http/protobuf"


def endpoint(environ: Mapping[str, str], signal: str, configured: str | None, proto: str) -> str:
    """The URL to send `signal` to: the OTEL_EXPORTER_OTLP_* variables win over the app's endpoint."""
    specific = environ.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT", "").strip()
    if specific:
        return specific  # a per-signal endpoint is the full URL, used as given
    base = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip() or (configured or "").strip()
    if proto == "grpc":
        return base or _GRPC_DEFAULT
    base = base or DEFAULT_BASE_URL
    return base.rstrip("/") + "/" + _PATHS[signal]


def headers(environ: Mapping[str, str], signal: str, configured: Mapping[str, str] | None) -> dict[str, str]:
    """The app's headers (`headers=`), then the OTEL_EXPORTER_OTLP_*HEADERS variables over them."""
    out = {str(k).lower(): str(v) for k, v in (configured or {}).items() if isinstance(v, str)}
    raw = _env(environ, signal, "HEADERS")
    if raw:
        from opentelemetry.util.re import parse_env_headers

        out.update(parse_env_headers(raw, liberal=True))
    return out


def timeout_seconds(environ: Mapping[str, str], signal: str) -> float:
    """Per-request timeout: OTEL_EXPORTER_OTLP_*TIMEOUT in seconds (as the installed SDK reads it), else 5 s."""
    raw = _env(environ, signal, "TIMEOUT")
    if raw:
        try:
            value = float(raw)
        except ValueError:
            value = 0.0
        if value > 0:
            return value
    return DEFAULT_TIMEOUT


def compression(environ: Mapping[str, str], signal: str) -> str:
    value = (_env(environ, signal, "COMPRESSION") or "none").lower()
    return value if value in ("gzip", "deflate", "none") else "none"


def grpc_insecure(environ: Mapping[str, str], signal: str, url: str) -> bool:
    """Whether a gRPC endpoint is plain text: `http://` yes, `https://` no, and without a scheme
    OTEL_EXPORTER_OTLP_*INSECURE decides (default: TLS), as the OTLP exporter specification says."""
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme in ("http", "https"):
        return scheme == "http"
    return (_env(environ, signal, "INSECURE") or "false").lower() == "true"


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


# the session that watches --------------------------------------------------------------------------


class _Stop(Exception):
    """Raised inside the SDK's call to end its retry loop; not a connection error, so it is final."""


class ObservingSession(requests.Session):
    """A `requests.Session` that remembers the last answer and allows one attempt per export."""

    def __init__(self) -> None:
        super().__init__()
        self._environment: dict[tuple[Any, ...], dict[str, Any]] = {}
        self.begin(DEFAULT_TIMEOUT)

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        """`requests`' proxy and CA-bundle settings from the environment, looked up once per URL.

        requests reads every environment variable twice per request to find proxies: a third of
        its time per request, and the largest cost of a run of many small spool files. A session
        lives for one upload run, during which the environment does not change.
        """
        try:
            key = (url, tuple(sorted(proxies.items())) if proxies else None, stream, verify, cert)
            settings = self._environment.get(key)
        except TypeError:  # something unhashable: no caching
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        if settings is None:
            settings = self._environment[key] = super().merge_environment_settings(url, proxies, stream, verify, cert)
        return {name: dict(value) if isinstance(value, dict) else value for name, value in settings.items()}

    def begin(self, budget: float) -> None:
        self.budget = budget
        self.attempts = 0
        self.status: int | None = None
        self.retry_after: float | None = None
        self.error: BaseException | None = None

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> requests.Response:
        self.attempts += 1
        asked = kwargs.get("timeout")
        kwargs["timeout"] = min(asked, self.budget) if isinstance(asked, (int, float)) and asked > 0 else self.budget
        try:
            response = super().request(method, url, *args, **kwargs)
        except requests.Timeout as error:
            # The collector may have the data already; sending it again at once would not help.
            self.error = error
            raise _Stop(f"timed out after {kwargs['timeout']:.1f}s") from error
        except requests.ConnectionError as error:
            self.error = error
            if self.attempts == 1:
                raise  # the SDK reconnects once, at once: a pooled connection may have gone stale
            raise _Stop(str(error)) from error
        self.status = response.status_code
        if not 200 <= response.status_code < 300:
            self.retry_after = parse_retry_after(response.headers.get("retry-after"))
            response.close()
            raise _Stop(f"HTTP {response.status_code}")
        return response


# exporters -------------------------------------------------------------------------------------------


class _GrpcCall:
    """Stands in for a gRPC exporter's stub: the one call of an export, with the run's metadata and
    at most the time left, and what it came to (the status code's name, details, `RetryInfo` delay)."""

    def __init__(self, stub: Any, metadata: tuple[tuple[str, str], ...], rpc_error: type[BaseException]) -> None:
        self._stub = stub
        self._metadata = metadata
        self._rpc_error = rpc_error
        self.begin(DEFAULT_TIMEOUT)

    def begin(self, budget: float) -> None:
        self.budget = budget
        self.code: str | None = None
        self.details = ""
        self.retry_after: float | None = None
        self.error: BaseException | None = None

    def Export(self, request: Any, *args: Any, **kwargs: Any) -> Any:  # the stub's method name
        asked = kwargs.get("timeout")
        kwargs["timeout"] = min(asked, self.budget) if isinstance(asked, (int, float)) and asked > 0 else self.budget
        # The SDK falls back to os.environ's headers when given none; the run's environment decides.
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
            raise _Stop(f"gRPC {self.code}") from error
        except Exception as error:
            self.error = error
            raise _Stop(str(error)) from error

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

    def __init__(self, exporter: Any, session: ObservingSession | None, call: _GrpcCall | None = None) -> None:
        self.exporter = exporter
        self.session = session
        self.call = call

    def begin(self, budget: float) -> None:
        if self.session is not None:
            self.session.begin(budget)
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
    """The SDK exporters of one upload run, one per (signal, endpoint, headers), reusing connections."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        self._targets: dict[tuple[Any, ...], _Target] = {}
        # One session for every HTTP exporter of the run: exports happen one at a time, and the
        # spans and metrics of a file then share one keep-alive connection.
        self._session: ObservingSession | None = None

    def describe(self, signal: str, export: Mapping[str, Any] | None) -> str:
        """Where `signal` goes for a file with this header `export` section (for messages)."""
        proto = protocol(self._environ, signal)
        configured = export.get("endpoint") if isinstance(export, Mapping) else None
        return endpoint(self._environ, signal, configured if isinstance(configured, str) else None, proto)

    def _target(self, signal: str, export: Mapping[str, Any] | None) -> _Target | Outcome:
        export = export if isinstance(export, Mapping) else {}
        configured = export.get("endpoint")
        configured_headers = export.get("headers")
        proto = protocol(self._environ, signal)
        url = endpoint(self._environ, signal, configured if isinstance(configured, str) else None, proto)
        hdrs = headers(
            self._environ, signal, configured_headers if isinstance(configured_headers, Mapping) else None
        )
        key = (signal, proto, url, tuple(sorted(hdrs.items())))
        target = self._targets.get(key)
        if target is not None:
            return target
        timeout = timeout_seconds(self._environ, signal)
        comp = compression(self._environ, signal)
        if proto == "grpc":
            built = _grpc_exporter(signal, url, hdrs, timeout, comp, grpc_insecure(self._environ, signal, url))
            if isinstance(built, Outcome):
                return built
            target = built
        else:
            from opentelemetry.exporter.otlp.proto.http import Compression
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            if self._session is None:
                self._session = ObservingSession()
            session = self._session
            kind = {"gzip": Compression.Gzip, "deflate": Compression.Deflate}.get(comp, Compression.NoCompression)
            factory: Any = OTLPSpanExporter if signal == "traces" else OTLPMetricExporter
            exporter = factory(endpoint=url, headers=hdrs, timeout=timeout, compression=kind, session=session)
            target = _Target(exporter, session)
        self._targets[key] = target
        return target

    def export_spans(
        self, spans: Sequence[ReadableSpan], export: Mapping[str, Any] | None, budget: float
    ) -> Outcome:
        """Send one batch of spans; at most `budget` seconds."""
        return self._export("traces", spans, export, budget)

    def export_metrics(self, data: MetricsData, export: Mapping[str, Any] | None, budget: float) -> Outcome:
        """Send one file's metrics; at most `budget` seconds."""
        return self._export("metrics", data, export, budget)

    def _export(self, signal: str, payload: Any, export: Mapping[str, Any] | None, budget: float) -> Outcome:
        with quiet_sdk():
            target = self._target(signal, export)
            if isinstance(target, Outcome):
                return target
            _install_filter()  # again: building the exporter imported modules with their own loggers
            budget = max(budget, MIN_TIMEOUT)
            target.begin(min(budget, timeout_seconds(self._environ, signal)))
            try:
                if signal == "traces":
                    ok = target.exporter.export(payload) is SpanExportResult.SUCCESS
                else:
                    ok = target.exporter.export(payload, timeout_millis=budget * 1000) is MetricExportResult.SUCCESS
            except Exception as error:
                # The watcher's `_Stop` (gRPC, and HTTP on older SDKs) comes through here; what it
                # saw still says what happened. Anything else keeps the file.
                _log.debug("optel: exporter raised", exc_info=True)
                seen = target.seen()
                if seen is not None:
                    return seen
                return Outcome(RETRY, None, None, f"{type(error).__name__}: {error}")
        if ok:
            return Outcome(SENT, target.session.status if target.session is not None else None)
        return target.failed()

    def close(self) -> None:
        """Shut every exporter down, closing its connections (gRPC channels included)."""
        with quiet_sdk():
            for target in self._targets.values():
                target.close()
        self._targets.clear()


def _grpc_exporter(
    signal: str, url: str, hdrs: dict[str, str], timeout: float, comp: str, insecure: bool
) -> _Target | Outcome:
    import importlib

    try:
        # The grpc extra may be missing; imported by name so that type checking does not need it.
        module = importlib.import_module(f"opentelemetry.exporter.otlp.proto.grpc.{_GRPC_MODULES[signal]}")
        factory: Any = getattr(module, "OTLPSpanExporter" if signal == "traces" else "OTLPMetricExporter")
        grpc: Any = importlib.import_module("grpc")
    except ImportError:
        message = "OTLP over gRPC needs the grpc extra: pip install 'optel[grpc]'"
        _log.error("optel: %s", message)
        return Outcome(UNAVAILABLE, None, None, message)
    kind = {"gzip": grpc.Compression.Gzip, "deflate": grpc.Compression.Deflate}.get(comp, grpc.Compression.NoCompression)
    try:
        exporter = factory(endpoint=url, insecure=insecure, headers=hdrs, timeout=timeout, compression=kind)
    except Exception as error:
        # A TLS setting the SDK cannot load, say: a configuration that can be fixed, so keep.
        _log.debug("optel: could not build the gRPC exporter", exc_info=True)
        return Outcome(RETRY, None, None, f"gRPC exporter for {url}: {type(error).__name__}: {error}")
    stub = getattr(exporter, "_client", None)
    if stub is None or not callable(getattr(stub, "Export", None)):
        _log.debug("optel: this gRPC exporter's stub cannot be watched; it retries on its own")
        return _Target(exporter, None)
    call = _GrpcCall(stub, tuple(hdrs.items()), grpc.RpcError)
    # The SDK calls `self._client.Export(...)` once per attempt: one call is all it gets.
    exporter._client = call
    return _Target(exporter, None, call)
