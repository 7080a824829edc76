"""Where each signal goes and with what settings: the app's endpoint, or the user's own, never a mix.

The rule (docs/privacy.md#your-opentelemetry-settings-stay-yours): a header, resource attribute, timeout, certificate, compression or protocol
taken from the user's environment (`OTEL_*`) only ever goes to an endpoint that comes from that
same environment, signal by signal. `resolve()` is the one place that decides, from three inputs:

1. the uploader's environment: when it names an endpoint for the signal
   (`OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT`, else `OTEL_EXPORTER_OTLP_ENDPOINT`), the signal goes
   there, with every setting from that environment (per-signal variable first, then general);
2. else the run that recorded the data: the endpoint (and protocol) its environment named for the
   signal, written in the spool header by `recorded()` — the endpoint only, never its headers or
   other settings (secrets stay out of files), so it is sent there with optel's defaults;
3. else the app's endpoint, with the app's `headers=` and optel's defaults: nothing of any
   environment.

This module (with `optel._otel_env`, for the exporter, sampler, temporality and `k=v` lists) is
the one place that reads the OpenTelemetry variables (`OTEL_*`) at all: `sdk_disabled()` for
consent, and for a user's endpoint the OTLP exporter's own settings (docs/guide.md#every-otel_-variable).

Standard library only: the host calls `recorded()` when it writes a spool header.
"""

from __future__ import annotations

from optel._env import otel_bool

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

SIGNALS = ("traces", "metrics")
HTTP = "http/protobuf"
GRPC = "grpc"
HTTP_JSON = "http/json"  # OTLP/HTTP with JSON bodies (upload/otlp_json.py), for a user's endpoint
APP = "app"
USER = "user"
DEFAULT_BASE_URL = "http://localhost:4318"
DEFAULT_TIMEOUT = 5.0  # seconds; the specification's default is 10 s, optel's uploader keeps to 5
_TRACE_ID_BITS = (1 << 64) - 1  # TraceIdRatioBased decides on the low 64 bits of the trace id
PATHS = {"traces": "v1/traces", "metrics": "v1/metrics"}
# The header key under `export` that holds the recording run's own endpoints (docs/spool-format.md#lines-of-a-spool-file).
RECORDED_KEY = "user_endpoints"


def variable(environ: Mapping[str, str], signal: str, suffix: str) -> str | None:
    """`OTEL_EXPORTER_OTLP_<SIGNAL>_<suffix>`, else `OTEL_EXPORTER_OTLP_<suffix>`, trimmed; None when unset or empty."""
    specific = environ.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_{suffix}", "").strip()
    if specific:
        return specific
    return environ.get(f"OTEL_EXPORTER_OTLP_{suffix}", "").strip() or None


def protocol(environ: Mapping[str, str], signal: str) -> str:
    """`grpc`, `http/json` or `http/protobuf` (the default, and what a value the specification
    does not know falls back to, with a warning: `protocol_problem`)."""
    value = (variable(environ, signal, "PROTOCOL") or "").lower()
    return value if value in (GRPC, HTTP_JSON) else HTTP


def protocol_problem(environ: Mapping[str, str], signal: str) -> str | None:
    """The protocol the environment asks for when the specification knows no such value, or None."""
    value = (variable(environ, signal, "PROTOCOL") or HTTP).lower()
    return None if value in (HTTP, GRPC, HTTP_JSON) else value


def signal_url(base: str, signal: str, proto: str) -> str:
    """The URL for `signal` from a base URL: OTLP/HTTP appends the signal's path, gRPC takes it as is."""
    return base if proto == GRPC else base.rstrip("/") + "/" + PATHS[signal]


def endpoint_variable(environ: Mapping[str, str], signal: str) -> tuple[str, str] | None:
    """(name, value) of the variable that names `signal`'s endpoint: the per-signal one, else the general one."""
    for name in (f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        value = environ.get(name, "").strip()
        if value:
            return name, value
    return None


def user_endpoint(environ: Mapping[str, str], signal: str) -> tuple[str, str] | None:
    """(url, protocol) the user's environment names for `signal`, or None when it names none.

    A per-signal endpoint is the full URL, used as given; the general one is a base URL.
    """
    found = endpoint_variable(environ, signal)
    if found is None:
        return None
    proto = protocol(environ, signal)
    name, value = found
    return (
        value if name != "OTEL_EXPORTER_OTLP_ENDPOINT" else signal_url(value, signal, proto)
    ), proto


def recorded(environ: Mapping[str, str]) -> dict[str, dict[str, Any]] | None:
    """The spool header's record of this run's own endpoints: `{signal: {"endpoint", "protocol"}}`.

    Only where the environment names one, and only the endpoint (less any `user:password@`),
    protocol, and what the user chose to send there when it is not everything as it is:
    `"exporter": "none"`, `"sampler_ratio"`, `"temporality"`. Headers, keys, certificates and
    resource attributes are never written to disk (an uploader gets them from its own
    environment, when that names an endpoint). None when the environment names no endpoint.
    """
    out: dict[str, dict[str, Any]] = {}
    for signal in SIGNALS:
        found = user_endpoint(environ, signal)
        if found is None:
            continue
        from optel._urls import without_userinfo

        mark: dict[str, Any] = {"endpoint": without_userinfo(found[0]), "protocol": found[1]}
        chosen = _choices(Destination(signal, found[0], found[1], USER), environ, [])
        if not chosen.exporting:
            mark["exporter"] = "none"
        if chosen.ratio < 1.0:
            mark["sampler_ratio"] = chosen.ratio
        if chosen.temporality != "delta":
            mark["temporality"] = chosen.temporality
        out[signal] = mark
    return out or None


class Destination:
    """Where one signal goes and everything it is sent with; `owner` says whose settings they are."""

    __slots__ = (
        "certificate",
        "client_certificate",
        "client_key",
        "compression",
        "exporting",
        "headers",
        "insecure",
        "notes",
        "owner",
        "protocol",
        "ratio",
        "resource",
        "signal",
        "temporality",
        "timeout",
        "url",
    )

    def __init__(self, signal: str, url: str, proto: str, owner: str) -> None:
        self.signal = signal
        self.url = url
        self.protocol = proto
        self.owner = owner
        self.headers: dict[str, str] = {}
        self.timeout = DEFAULT_TIMEOUT
        self.compression = "none"
        self.certificate: str | None = None  # CA bundle (path); None: the system's
        self.client_certificate: str | None = None
        self.client_key: str | None = None
        self.insecure = _insecure_by_scheme(url, None)
        self.resource: dict[str, str] = {}  # attributes added under the file's own (user only)
        # The user's OTEL_<SIGNAL>_EXPORTER, OTEL_TRACES_SAMPLER and temporality preference (user only).
        self.exporting = True
        self.ratio = 1.0  # the share of traces sent (OTEL_TRACES_SAMPLER)
        self.temporality = "delta"
        self.notes: tuple[str, ...] = ()  # settings of the environment that could not be applied

    def keeps(self, trace_id: int) -> bool:
        """Whether the trace goes out under the sampler: the SDK's TraceIdRatioBased rule."""
        if self.ratio >= 1.0:
            return True
        return (trace_id & _TRACE_ID_BITS) < round(self.ratio * (_TRACE_ID_BITS + 1))

    def key(self) -> tuple[Any, ...]:
        """Everything that makes two destinations send differently (for reusing an exporter)."""
        return tuple(
            tuple(sorted(value.items())) if isinstance(value, dict) else value
            for value in (getattr(self, name) for name in self.__slots__)
        )

    def __repr__(self) -> str:
        # Headers are credentials: their names only.
        return f"Destination({self.signal}, {self.url!r}, {self.protocol}, owner={self.owner}, headers={sorted(self.headers)})"


def resolve(
    signal: str, export: Mapping[str, Any] | None, environ: Mapping[str, str]
) -> Destination:
    """Where `signal` of a spool file with this header `export` section goes, uploaded under `environ`."""
    export = export if isinstance(export, dict) else {}
    here = user_endpoint(environ, signal)
    if here is not None:
        return _from_environment(signal, here[0], here[1], environ)
    mark = export.get(RECORDED_KEY)
    mark = mark.get(signal) if isinstance(mark, dict) else None
    if (
        isinstance(mark, dict)
        and isinstance(mark.get("endpoint"), str)
        and mark["endpoint"].strip()
    ):
        proto = mark["protocol"] if mark.get("protocol") in (GRPC, HTTP_JSON) else HTTP
        return _recorded_choices(Destination(signal, mark["endpoint"].strip(), proto, USER), mark)
    return _app(signal, export)


def _recorded_choices(destination: Destination, mark: Mapping[str, Any]) -> Destination:
    """What the recording run's user chose to send to their endpoint (`recorded()`), applied."""
    destination.exporting = mark.get("exporter") != "none"
    ratio = mark.get("sampler_ratio")
    if isinstance(ratio, (int, float)) and not isinstance(ratio, bool) and 0.0 <= ratio < 1.0:
        destination.ratio = float(ratio)
    from optel._otel_env import TEMPORALITIES

    if mark.get("temporality") in TEMPORALITIES:
        destination.temporality = mark["temporality"]
    return destination


def _app(signal: str, export: Mapping[str, Any]) -> Destination:
    configured = export.get("endpoint")
    base = (
        configured.strip()
        if isinstance(configured, str) and configured.strip()
        else DEFAULT_BASE_URL
    )
    destination = Destination(signal, signal_url(base, signal, HTTP), HTTP, APP)
    headers = export.get("headers")
    if isinstance(headers, dict):
        destination.headers = {str(k).lower(): v for k, v in headers.items() if isinstance(v, str)}
    return destination


def _from_environment(signal: str, url: str, proto: str, environ: Mapping[str, str]) -> Destination:
    from optel._otel_env import parse_pairs, resource_attributes

    destination = Destination(signal, url, proto, USER)
    raw = variable(environ, signal, "HEADERS")
    if raw:
        destination.headers = parse_pairs(raw, lower=True)
    destination.timeout = _timeout(variable(environ, signal, "TIMEOUT"))
    compression = (variable(environ, signal, "COMPRESSION") or "none").lower()
    destination.compression = compression if compression in ("gzip", "deflate") else "none"
    destination.certificate = variable(environ, signal, "CERTIFICATE")
    destination.client_certificate = variable(environ, signal, "CLIENT_CERTIFICATE")
    destination.client_key = variable(environ, signal, "CLIENT_KEY")
    destination.insecure = _insecure_by_scheme(url, variable(environ, signal, "INSECURE"))
    destination.resource = resource_attributes(environ)
    notes: list[str] = []
    _choices(destination, environ, notes)
    asked = protocol_problem(environ, signal)
    if asked is not None:
        notes.append(
            f"OTLP protocol {asked!r} is not one of http/protobuf, http/json, grpc; using http/protobuf"
        )
    destination.notes = tuple(notes)
    return destination


def _choices(destination: Destination, environ: Mapping[str, str], notes: list[str]) -> Destination:
    """What the user chose to send to their endpoint: the signal's exporter, the sampler, the temporality."""
    # Imported only for a user's endpoint: a host's flush without one never loads it.
    from optel import _otel_env

    destination.exporting = _otel_env.exporting(environ, destination.signal, notes)
    if destination.signal == "traces":
        destination.ratio = _otel_env.sampler_ratio(environ, notes)
    else:
        destination.temporality = _otel_env.temporality(environ, notes)
    return destination


def _timeout(raw: str | None) -> float:
    """OTEL_EXPORTER_OTLP_*TIMEOUT, in milliseconds as the specification says, as seconds; else 5 s.

    (The Python SDK reads it as seconds; optel passes its exporters the value read here.)
    """
    try:
        value = float(raw) / 1000 if raw else 0.0
    except ValueError:
        value = 0.0
    return value if 0 < value < float("inf") else DEFAULT_TIMEOUT


def sdk_disabled(environ: Mapping[str, str]) -> bool:
    """OTEL_SDK_DISABLED by the specification's boolean rule: only `true` (any case) is true.

    Any other value is false, and one that is not `false` or empty is logged as a warning
    (`OTEL_SDK_DISABLED=1` does not disable: `DO_NOT_TRACK=1` does).
    """
    raw = environ.get("OTEL_SDK_DISABLED")
    value, understood = otel_bool(raw)
    if not understood:
        from optel._logger import logger

        logger().warning(
            "optel: OTEL_SDK_DISABLED=%r is not 'true' or 'false': read as false, as OpenTelemetry "
            "reads it (DO_NOT_TRACK=1 turns telemetry off)",
            raw,
        )
    return value


def _insecure_by_scheme(url: str, insecure: str | None) -> bool:
    """Whether a gRPC endpoint is plain text: `http://` yes, `https://` no, and without a scheme
    OTEL_EXPORTER_OTLP_*INSECURE decides (default: TLS), as the OTLP exporter specification says."""
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme in ("http", "https"):
        return scheme == "http"
    return otel_bool(insecure)[0]


def describe(environ: Mapping[str, str], configured: str | None) -> str:
    """Where data recorded now would go, for `optel status`: one endpoint, or one per signal."""

    def one(signal: str) -> str:
        found = endpoint_variable(environ, signal)
        if found is not None:
            return f"{found[1]} (from {found[0]})"
        return f"{configured} (set by the app)" if configured else "set by the app"

    traces, metrics = one("traces"), one("metrics")
    return traces if traces == metrics else f"traces: {traces}; metrics: {metrics}"
