"""Turning records into spool dicts, where records leave the process.

Each span and measurement is cleaned (``optel.record.clean``), followed by the metrics it stands
for; the session summary is made here too.

This is the one place records are cleaned (docs/internals.md#records): every attribute not declared
in the data dictionary (nor by the host) is dropped, model names pass the public-name check, every
string but a declared name passes the scrubber once, and the metrics that follow from a span are derived from the span
after it was cleaned, so a span and its metrics always agree.
"""

from __future__ import annotations

import sys

from optel.record import names as n
from optel.record.clean import (
    EVENT_NAMES,
    KINDS,
    MAX_STRING,
    METRIC_ATTRIBUTES,
    SPAN_NAMES,
    Scrubber,
    clean_attributes,
    cut,
    declared_host_only,
    finite,
    scrubber,
)
from optel.record.spans import Measurement, SpanHandle

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping

    Record = dict[str, object]


# The duration metric of each span family that has one (a command's is below, with its count).
_DURATIONS = {
    "step": "optel.cli.step.duration",
    "request": "optel.request.duration",
    "http": n.HTTP_CLIENT_REQUEST_DURATION,
    "llm": "gen_ai.client.operation.duration",
}
_TTFC = "gen_ai.client.operation.time_to_first_chunk"
_TOKENS = "gen_ai.client.token.usage"


def family(attributes: Mapping[str, object]) -> str:
    """Which kind of span (data dictionary ``SPANS``) the attributes make: llm, command, step, ..."""
    if "gen_ai.operation.name" in attributes:
        return "llm"
    if n.HTTP_REQUEST_METHOD in attributes:
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
    out = [metric(name, seconds, _pick(attrs, METRIC_ATTRIBUTES[name]), end_ns)]
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
    out: list[Record] = []
    first_chunk = attrs.get("gen_ai.response.time_to_first_chunk")
    if isinstance(first_chunk, float):
        out.append(metric(_TTFC, first_chunk, _pick(attrs, METRIC_ATTRIBUTES[_TTFC]), end_ns))
    usage_attrs = _pick(attrs, METRIC_ATTRIBUTES[_TOKENS])
    for key, token_type in (
        ("gen_ai.usage.input_tokens", "input"),
        ("gen_ai.usage.output_tokens", "output"),
    ):
        tokens = attrs.get(key)
        if isinstance(tokens, int):
            typed = {**usage_attrs, "gen_ai.token.type": token_type}
            out.append(metric(_TOKENS, tokens, typed, end_ns))
    return out


class Summary:
    """What a session did, accumulated over its flushes for the ``optel.cli.session`` span."""

    __slots__ = (
        "commands",
        "errors",
        "input_tokens",
        "llm_requests",
        "models",
        "output_tokens",
        "steps",
        "user_inputs",
    )

    def __init__(self) -> None:
        self.commands = 0
        self.steps = 0
        self.llm_requests = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.user_inputs = 0
        self.errors = 0
        self.models: set[str] = set()

    def add(self, record: Mapping[str, object]) -> None:
        """Count one cleaned record."""
        if record.get("t") == "metric":
            name, value = record.get("name"), record.get("value")
            if isinstance(value, (int, float)):
                if name == "optel.cli.user.inputs":
                    self.user_inputs += int(value)
                elif name == "optel.cli.errors":
                    self.errors += int(value)
            return
        attrs = record.get("attributes")
        if not isinstance(attrs, dict):
            return
        kind = family(attrs)
        if kind == "command":
            self.commands += 1
        elif kind == "step":
            self.steps += 1
        elif kind == "llm":
            self.llm_requests += 1
            for key, total in (
                ("gen_ai.usage.input_tokens", "input_tokens"),
                ("gen_ai.usage.output_tokens", "output_tokens"),
            ):
                value = attrs.get(key)
                if isinstance(value, int):
                    setattr(self, total, getattr(self, total) + value)
            for key in ("gen_ai.response.model", "gen_ai.request.model"):
                model = attrs.get(key)
                if isinstance(model, str):
                    self.models.add(model)
                    break

    def attributes(self) -> dict[str, object]:
        return {
            "optel.cli.summary.commands": self.commands,
            "optel.cli.summary.steps": self.steps,
            "optel.cli.summary.llm_requests": self.llm_requests,
            "optel.cli.summary.input_tokens": self.input_tokens,
            "optel.cli.summary.output_tokens": self.output_tokens,
            "optel.cli.summary.user_inputs": self.user_inputs,
            "optel.cli.summary.errors": self.errors,
            "optel.cli.summary.models": sorted(self.models),
        }


def _span_name(handle: SpanHandle, attrs: Mapping[str, object], scrub: Scrubber) -> str:
    if family(attrs) == "llm":
        operation = attrs.get("gen_ai.operation.name")
        model = attrs.get("gen_ai.request.model")
        return f"{operation} {model}" if model else str(operation)
    return cut(str(handle.name))


def span_dict(handle: SpanHandle, host: Collection[str], scrub: Scrubber) -> Record:
    """The spool dict of an ended span (docs/spool-format.md#span-records)."""
    if handle._usage is not None:
        # An LLM call's token counts, left on its span until now (optel.record.llm_wrap).
        from optel.record.genai import read_usage

        read_usage(handle)
    attrs = clean_attributes(handle.attributes, SPAN_NAMES, host, scrub)
    if n.SERVER_ADDRESS in handle.attributes or n.SERVER_PORT in attrs:
        attrs = declared_host_only(handle.attributes, attrs)
    events: list[dict[str, object]] = []
    for name, at_ns, event_attrs in handle.events or ():
        if event_attrs and type(event_attrs.get("exception.stacktrace")) is tuple:
            # Frames a failed call kept (optel.record.failure, loaded when it recorded them).
            from optel.record.failure import with_stacktrace

            event_attrs = with_stacktrace(event_attrs, MAX_STRING)
        events.append(
            {
                "name": cut(str(name)),
                "time_ns": at_ns,
                "attributes": clean_attributes(event_attrs, EVENT_NAMES, host, scrub),
            }
        )
    message = handle.status_message
    status = handle.status if handle.status in ("unset", "ok", "error") else "unset"
    return {
        "t": "span",
        "trace_id": handle.trace_id,
        "span_id": handle.span_id,
        "parent_span_id": handle.parent_span_id,
        "name": _span_name(handle, attrs, scrub),
        "kind": handle.kind if handle.kind in KINDS else "internal",
        "start_ns": handle.start_ns,
        "end_ns": handle.end_ns,
        "attributes": attrs,
        "status": status,
        "status_message": scrub.message(str(message)) if message and status == "error" else None,
        "events": events,
    }


def measurement_dict(record: Measurement, host: Collection[str], scrub: Scrubber) -> Record | None:
    """The spool dict of a measurement; None for an undeclared metric or a non-numeric value."""
    allowed = METRIC_ATTRIBUTES.get(record.name)
    declared = None
    if allowed is None:  # a metric the host declared (optel.metric), loaded only then
        from optel.record.custom import declaration

        declared = declaration(record.name)
        allowed = None if declared is None else declared[3]
    value = record.value
    if allowed is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if not finite(float(value)):
        return None
    attrs = clean_attributes(record.attributes, allowed, (), scrub)
    out = metric(record.name, value, attrs, record.time_ns)
    if declared is not None:
        # What the uploader aggregates it as, and names it by (docs/spool-format.md#metric-records):
        # the dictionary tells it for optel's own metrics, the host's declaration for the host's.
        kind, unit, description = declared[:3]
        out["declared"] = {"kind": kind, "unit": cut(unit), "description": cut(description)}
    return out


def to_dicts(
    records: Iterable[SpanHandle | Measurement],
    *,
    host_attributes: Collection[str] = (),
    summary: Summary | None = None,
    scrub: Scrubber | None = None,
) -> list[Record]:
    """Clean records into spool dicts (spans followed by the metrics they stand for)."""
    scrub = scrubber() if scrub is None else scrub
    # None until an LLM call failed; then a failed call's messages are cut out of every record.
    remembered = sys.modules.get("optel.record.provider_errors")
    forget = remembered.forgetter() if remembered is not None else None
    out: list[Record] = []
    for record in records:
        try:
            if isinstance(record, SpanHandle):
                if forget is not None:
                    forget.span(record)
                if not record.end_ns:
                    continue
                span = span_dict(record, host_attributes, scrub)
                out.append(span)
                out.extend(derived_metrics(span))
            else:
                if forget is not None:
                    forget.measurement(record)
                measured = measurement_dict(record, host_attributes, scrub)
                if measured is not None:
                    out.append(measured)
        except Exception:
            # One malformed record (a host attribute whose __eq__ raises) must not cost the rest.
            continue
    if summary is not None:
        for item in out:
            summary.add(item)
    return out


def uptime_record(start_ns: int, now_ns: int) -> Record:
    """``process.uptime`` now: a long-running process reports it with each flush, not only at exit."""
    return metric(n.PROCESS_UPTIME, max(now_ns - start_ns, 0) / 1e9, {}, now_ns)


def session_records(
    summary: Summary, start_ns: int, end_ns: int, scrub: Scrubber | None = None
) -> list[Record]:
    """The ``optel.cli.session`` summary span and ``optel.cli.session.duration``, once per process."""
    from optel.record import new_id

    scrub = scrubber() if scrub is None else scrub
    attrs = clean_attributes(summary.attributes(), SPAN_NAMES, (), scrub)
    span: Record = {
        "t": "span",
        "trace_id": new_id() + new_id(),
        "span_id": new_id(),
        "parent_span_id": None,
        "name": "optel.cli.session",
        "kind": "internal",
        "start_ns": start_ns,
        "end_ns": end_ns,
        "attributes": attrs,
        "status": "unset",
        "status_message": None,
        "events": [],
    }
    duration = max(end_ns - start_ns, 0) / 1e9
    return [span, metric("optel.cli.session.duration", duration, {}, end_ns)]
