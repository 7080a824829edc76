"""The metrics a cleaned span stands for: a command's count and duration, the duration of a step,
a timed request, an HTTP request or an LLM call, and an LLM call's token usage and time to first
chunk. Derived from the span after it was cleaned, so a span and its metrics always agree."""

from __future__ import annotations

from optel.record import dictionary as _dictionary
from optel.record import http as _http

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    Record = dict[str, object]

# The duration metric of each span family that has one (a command's is below, with its count).
_DURATIONS = {
    "step": "optel.cli.step.duration",
    "request": "optel.request.duration",
    "http": _http.DURATION_METRIC,
    "llm": "gen_ai.client.operation.duration",
}
_TTFC = "gen_ai.client.operation.time_to_first_chunk"
_TOKENS = "gen_ai.client.token.usage"


def family(attributes: Mapping[str, object]) -> str:
    """Which kind of span (data dictionary ``SPANS``) the attributes make: llm, command, step, ..."""
    if "gen_ai.operation.name" in attributes:
        return "llm"
    if _http.METHOD in attributes:
        return "http"
    if "command.name" in attributes:
        return "command"
    if "step.name" in attributes:
        return "step"
    if "request.name" in attributes:
        return "request"
    if "optel.cli.summary.commands" in attributes:
        return "session"
    return "other"


def metric(name: str, value: float, attributes: dict[str, object], at_ns: int) -> Record:
    """A spool metric record."""
    return {"t": "metric", "name": name, "value": value, "attributes": attributes, "time_ns": at_ns}


def _pick(attrs: Mapping[str, object], names: Iterable[str]) -> dict[str, object]:
    return {n: attrs[n] for n in names if n in attrs}


def derived_metrics(span: Mapping[str, object]) -> list[Record]:
    """The measurements a cleaned span stands for (counts, durations, token usage)."""
    attrs = span["attributes"]
    assert isinstance(attrs, dict)
    kind = family(attrs)
    if kind != "command" and kind not in _DURATIONS:
        return []
    end_ns = span["end_ns"]
    start_ns = span["start_ns"]
    assert isinstance(end_ns, int) and isinstance(start_ns, int)
    seconds = max(end_ns - start_ns, 0) / 1e9
    if kind == "command":
        return _command_metrics(attrs, span["status"] == "error", seconds, end_ns)
    name = _DURATIONS[kind]
    out = [metric(name, seconds, _pick(attrs, _dictionary.METRICS[name].attributes), end_ns)]
    if kind == "llm":
        out.extend(_llm_metrics(attrs, end_ns))
    return out


def _command_metrics(
    attrs: Mapping[str, object], failed: bool, seconds: float, end_ns: int
) -> list[Record]:
    base = {
        "command.name": attrs.get("command.name"),
        "outcome": "failure" if failed else "success",
    }
    timing = dict(base)
    if "error.type" in attrs:
        timing["error.type"] = attrs["error.type"]
    return [
        metric("optel.cli.command.invocations", 1, dict(base), end_ns),
        metric("optel.cli.command.duration", seconds, timing, end_ns),
    ]


def _llm_metrics(attrs: Mapping[str, object], end_ns: int) -> list[Record]:
    metrics = _dictionary.METRICS
    out: list[Record] = []
    first_chunk = attrs.get("gen_ai.response.time_to_first_chunk")
    if isinstance(first_chunk, float):
        out.append(metric(_TTFC, first_chunk, _pick(attrs, metrics[_TTFC].attributes), end_ns))
    usage_attrs = _pick(attrs, metrics[_TOKENS].attributes)
    for key, token_type in (
        ("gen_ai.usage.input_tokens", "input"),
        ("gen_ai.usage.output_tokens", "output"),
    ):
        tokens = attrs.get(key)
        if isinstance(tokens, int):
            typed = {**usage_attrs, "gen_ai.token.type": token_type}
            out.append(metric(_TOKENS, tokens, typed, end_ns))
    return out
