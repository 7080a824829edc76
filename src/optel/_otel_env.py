"""The user's OpenTelemetry variables beside the endpoint: exporter, trace sampler, metric temporality, and `k=v` lists.

Applied only to an endpoint that also comes from the user's environment (``optel._endpoints``).
Standard library only. Each reader returns the setting in force and appends to `notes` what it
could not apply, for the uploader's log.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

TEMPORALITIES = ("delta", "cumulative", "lowmemory")
# OTEL_TRACES_SAMPLER values optel can apply to recorded traces: the share of traces kept, None for
# the ratio of OTEL_TRACES_SAMPLER_ARG. A parent-based sampler decides as its root sampler: every
# trace optel records starts at a root span it recorded, and a trace is kept or dropped whole.
SAMPLERS = {
    "always_on": 1.0,
    "always_off": 0.0,
    "traceidratio": None,
    "parentbased_always_on": 1.0,
    "parentbased_always_off": 0.0,
    "parentbased_traceidratio": None,
}


def exporting(environ: Mapping[str, str], signal: str, notes: list[str]) -> bool:
    """OTEL_<SIGNAL>_EXPORTER: False for `none` (the signal is not exported at all); optel
    exports OTLP only, so other exporter names are noted and OTLP is used."""
    name = f"OTEL_{signal.upper()}_EXPORTER"
    names = {part.strip().lower() for part in environ.get(name, "").split(",") if part.strip()}
    if names == {"none"}:
        return False
    others = sorted(names - {"otlp", "none"})
    if others:
        notes.append(
            f"{name} names {', '.join(others)}: optel exports OTLP only, to the endpoint set"
        )
    return True


def sampler_ratio(environ: Mapping[str, str], notes: list[str]) -> float:
    """The share of traces OTEL_TRACES_SAMPLER (and its _ARG) keeps; 1.0 when unset or unknown."""
    name = environ.get("OTEL_TRACES_SAMPLER", "").strip().lower()
    if not name:
        return 1.0
    if name not in SAMPLERS:
        notes.append(
            f"OTEL_TRACES_SAMPLER={name} cannot be applied to recorded traces; every trace is sent"
        )
        return 1.0
    fixed = SAMPLERS[name]
    if fixed is not None:
        return fixed
    raw = environ.get("OTEL_TRACES_SAMPLER_ARG", "").strip()
    try:
        ratio = float(raw) if raw else 1.0
    except ValueError:
        ratio = -1.0
    if not 0.0 <= ratio <= 1.0:
        notes.append(f"OTEL_TRACES_SAMPLER_ARG={raw} is not a ratio from 0 to 1; using 1.0")
        return 1.0
    return ratio


def temporality(environ: Mapping[str, str], notes: list[str]) -> str:
    """OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: delta (when unset), cumulative or lowmemory."""
    name = "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"
    value = environ.get(name, "").strip().lower()
    if not value:
        return "delta"
    if value not in TEMPORALITIES:
        notes.append(f"{name}={value} is not one of {', '.join(TEMPORALITIES)}; using delta")
        return "delta"
    return value


def _unquote(text: str) -> str:
    if "%" not in text:
        return text
    from optel._urls import unquote

    return unquote(text)


def parse_pairs(raw: str, *, lower: bool) -> dict[str, str]:
    """`k1=v1,k2=v2`, percent-decoded, as the OTel specification writes headers (`lower`: names
    lower-cased) and resource attributes; malformed pairs skipped."""
    out: dict[str, str] = {}
    for pair in raw.split(","):
        name, sep, value = pair.partition("=")
        name = _unquote(name.strip()).strip()
        if sep and name:
            out[name.lower() if lower else name] = _unquote(value.strip()).strip()
    return out


def resource_attributes(environ: Mapping[str, str]) -> dict[str, str]:
    """`OTEL_RESOURCE_ATTRIBUTES`, with `OTEL_SERVICE_NAME` over its `service.name`, as the SDK reads them."""
    out = parse_pairs(environ.get("OTEL_RESOURCE_ATTRIBUTES", ""), lower=False)
    service = environ.get("OTEL_SERVICE_NAME", "").strip()
    if service:
        out["service.name"] = service
    return out
