"""Turning records into spool dicts: allow-list, public model names, scrub, and derived metrics.

This is the one place records are cleaned (docs/internals.md §4): every attribute not declared in
the data dictionary (nor by the host) is dropped, model names pass the public-name check, every
string passes the scrubber once, and the metrics that follow from a span (a command's count and
duration, a step's duration, an LLM call's duration and token usage) are derived from the span
after it was cleaned, so a span and its metrics always agree.
"""

from __future__ import annotations

from optel.privacy.exceptions import encodable as _encodable
from optel.privacy.modes import FORBIDDEN_KEYS, USER_ID
from optel.record import custom as _custom
from optel.record import dictionary as _dictionary
from optel.record import http as _http
from optel.record import names as n
from optel.record import provider_errors as _provider_errors
from optel.record.spans import Measurement, SpanHandle, read_usage

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable, Mapping

    Record = dict[str, object]

MAX_STRING = 1024
MAX_ARRAY = 64
_SPAN_NAMES = _dictionary.names_in(_dictionary.SPAN)
_EVENT_NAMES = _dictionary.names_in(_dictionary.EVENT)
# Names the maintainer declares (a command, a step, a timed request: the attributes that name a
# span family) are not personal data (SPEC §9): kept as written, only bounded. Values are scrubbed.
DECLARED_NAMES = frozenset(
    s.name[1:-1]
    for s in _dictionary.SPANS
    if s.name[:1] == "{" and s.name.count("{") == 1 and " " not in s.name
)
_TYPES = {name: a.type for name, a in _dictionary.ATTRIBUTES.items()}
_KINDS = frozenset(_dictionary.SPAN_KINDS)
_SCALARS = (str, bool, int, float)
# A host may allow-list its own attributes, never one that names a machine or a person: those
# are not sent in any mode (SPEC §4), and `user.id` only as the resource's, in identified mode.
_NEVER_FROM_HOST = FORBIDDEN_KEYS | {USER_ID}


MAX_MESSAGE = 512


class Scrubber:
    """The privacy functions a flush applies (``optel.privacy``'s, or a test's)."""

    __slots__ = ("attributes", "model", "text")

    def __init__(
        self,
        text: Callable[[str], str],
        model: Callable[[str, str | None], str | None],
        attributes: Callable[[Mapping[str, object]], dict[str, object]],
    ) -> None:
        self.text = text
        self.model = model
        self.attributes = attributes

    def message(self, text: str) -> str:
        """An exception message: scrubbed, then bounded to MAX_MESSAGE characters."""
        from optel.privacy.exceptions import bounded_message

        return bounded_message(text, self.text, MAX_MESSAGE)


def scrubber() -> Scrubber:
    """optel.privacy's current scrubber (the host's rules from ``init(scrub=...)`` included)."""
    from optel import privacy

    return Scrubber(privacy.scrub_text, privacy.public_model_name, privacy.scrub_attributes)


def _cut(text: str) -> str:
    # Every string of a record passes here: made writable as UTF-8 (a lone surrogate from a
    # non-UTF-8 file name would make the whole spool file unsendable), then bounded before the
    # scrubber sees it, so the cut must never split a token: half a key is too short for its
    # rule and would leak. The split word is dropped instead.
    if not text.isascii():
        text = _encodable(text)
    if len(text) <= MAX_STRING:
        return text
    from optel.privacy.exceptions import cut_at_whitespace

    return cut_at_whitespace(text, MAX_STRING)


def _finite(value: float) -> bool:
    return value - value == 0.0


def clean_value(value: object, declared: str | None) -> object:
    """``value`` if it fits the declared type (any scalar or scalar list when undeclared), else None."""
    kind = type(value)
    if declared is None:
        if kind is str:
            return _cut(value)  # type: ignore[arg-type]
        if kind is bool or kind is int:
            return value
        if kind is float:
            return value if _finite(value) else None  # type: ignore[arg-type]
        if kind in (list, tuple):
            items = list(value)[:MAX_ARRAY]  # type: ignore[call-overload]
            if (
                items
                and all(type(i) is type(items[0]) for i in items)
                and type(items[0]) in _SCALARS
            ):
                if type(items[0]) is str:
                    return [_cut(i) for i in items]
                return items
        return None
    if declared == _dictionary.STRING:
        return _cut(value) if kind is str else None  # type: ignore[arg-type]
    if declared == _dictionary.INT:
        return value if isinstance(value, int) and kind is not bool else None
    if declared == _dictionary.DOUBLE:
        if isinstance(value, (int, float)) and kind is not bool and _finite(float(value)):
            return float(value)
        return None
    if declared == _dictionary.BOOLEAN:
        return value if kind is bool else None
    if declared == _dictionary.STRING_ARRAY:
        if kind in (list, tuple):
            items = [_cut(i) for i in value if type(i) is str][:MAX_ARRAY]  # type: ignore[attr-defined]
            return items or None
        return None
    return None


def clean_attributes(
    attributes: Mapping[str, object] | None,
    allowed: Collection[str],
    host: Collection[str],
    scrub: Scrubber,
) -> dict[str, object]:
    """Keep allowed attributes whose value fits, map model names, scrub every string."""
    out: dict[str, object] = {}
    if not attributes:
        return out
    for key, value in attributes.items():
        if value is None or type(key) is not str:
            continue
        if key in allowed:
            cleaned = clean_value(value, _TYPES.get(key))
        elif key in host and key not in _NEVER_FROM_HOST:
            cleaned = clean_value(value, None)
        else:
            continue
        if cleaned is not None:
            out[key] = cleaned
    provider = out.get("gen_ai.provider.name")
    for key in ("gen_ai.request.model", "gen_ai.response.model"):
        model = out.get(key)
        if isinstance(model, str):
            public = scrub.model(model, provider if isinstance(provider, str) else None)
            if public:
                out[key] = public
            else:
                del out[key]
    if "exception.message" in out:
        out["exception.message"] = scrub.message(str(out["exception.message"]))
    names = {key: out.pop(key) for key in DECLARED_NAMES if key in out}
    return {**scrub.attributes(out), **names}


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
    return _cut(str(handle.name))


def stacktrace(frames: Iterable[object]) -> str:
    """``module:function:line`` lines of the (module, function, line) frames a span recorded,
    the outermost dropped first when they would not fit in MAX_STRING characters."""
    lines: list[str] = []
    size = 0
    for frame in reversed(tuple(frames)):
        if type(frame) is not tuple or len(frame) != 3:
            continue
        line = f"{frame[0]}:{frame[1]}:{frame[2]}"
        size += len(line) + 1
        if size > MAX_STRING + 1:
            break
        lines.append(line)
    return "\n".join(reversed(lines))


def _with_stacktrace(attributes: Mapping[str, object]) -> dict[str, object]:
    out = dict(attributes)
    frames = out.pop("exception.stacktrace")
    text = stacktrace(frames)  # type: ignore[arg-type]
    if text:
        out["exception.stacktrace"] = text
    return out


def span_dict(handle: SpanHandle, host: Collection[str], scrub: Scrubber) -> Record:
    """The spool dict of an ended span (docs/internals.md §5)."""
    if handle._usage is not None:
        # An LLM call's token counts, left for now (optel.testing's capture cleans each record
        # as it ends, without spans.take()).
        read_usage(handle)
    attrs = clean_attributes(handle.attributes, _SPAN_NAMES, host, scrub)
    if _http.SERVER_ADDRESS in handle.attributes or _http.SERVER_PORT in attrs:
        attrs = _declared_host_only(handle.attributes, attrs)
    events: list[dict[str, object]] = []
    for name, at_ns, event_attrs in handle.events or ():
        if event_attrs and type(event_attrs.get("exception.stacktrace")) is tuple:
            event_attrs = _with_stacktrace(event_attrs)
        events.append(
            {
                "name": _cut(str(name)),
                "time_ns": at_ns,
                "attributes": clean_attributes(event_attrs, _EVENT_NAMES, host, scrub),
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
        "kind": handle.kind if handle.kind in _KINDS else "internal",
        "start_ns": handle.start_ns,
        "end_ns": handle.end_ns,
        "attributes": attrs,
        "status": status,
        "status_message": scrub.message(str(message)) if message and status == "error" else None,
        "events": events,
    }


def _declared_host_only(raw: Mapping[str, object], attrs: dict[str, object]) -> dict[str, object]:
    """``server.address`` as written when the maintainer declared that host, else no host at all.

    The HTTP instrumentors only ever set a declared one; this holds for every other way a value
    could get there (``optel.event(..., **{"server.address": ...})``), checked where records
    leave. A declared name is not personal data, so no scrubbing rule for host names rewrites it.
    """
    address = raw.get(_http.SERVER_ADDRESS)
    if type(address) is str and address in _http.declared_hosts():
        attrs[_http.SERVER_ADDRESS] = address
    else:
        attrs.pop(_http.SERVER_ADDRESS, None)
        attrs.pop(_http.SERVER_PORT, None)
    return attrs


def _metric(name: str, value: float, attributes: dict[str, object], at_ns: int) -> Record:
    return {"t": "metric", "name": name, "value": value, "attributes": attributes, "time_ns": at_ns}


def _pick(attrs: Mapping[str, object], names: Iterable[str]) -> dict[str, object]:
    return {n: attrs[n] for n in names if n in attrs}


def derived_metrics(span: Mapping[str, object]) -> list[Record]:
    """The measurements a cleaned span stands for (counts, durations, token usage)."""
    attrs = span["attributes"]
    assert isinstance(attrs, dict)
    kind = family(attrs)
    if kind not in ("command", "step", "request", "llm", "http"):
        return []
    end_ns = span["end_ns"]
    start_ns = span["start_ns"]
    assert isinstance(end_ns, int) and isinstance(start_ns, int)
    seconds = max(end_ns - start_ns, 0) / 1e9
    metrics = _dictionary.METRICS
    out: list[Record] = []
    if kind == "command":
        outcome = "failure" if span["status"] == "error" else "success"
        base = {"command.name": attrs.get("command.name"), "outcome": outcome}
        out.append(_metric("optel.cli.command.invocations", 1, dict(base), end_ns))
        timing = dict(base)
        if "error.type" in attrs:
            timing["error.type"] = attrs["error.type"]
        out.append(_metric("optel.cli.command.duration", seconds, timing, end_ns))
    elif kind == "step":
        out.append(
            _metric(
                "optel.cli.step.duration",
                seconds,
                _pick(attrs, metrics["optel.cli.step.duration"].attributes),
                end_ns,
            )
        )
    elif kind == "request":
        out.append(
            _metric(
                "optel.request.duration",
                seconds,
                _pick(attrs, metrics["optel.request.duration"].attributes),
                end_ns,
            )
        )
    elif kind == "http":
        out.append(
            _metric(
                _http.DURATION_METRIC,
                seconds,
                _pick(attrs, metrics[_http.DURATION_METRIC].attributes),
                end_ns,
            )
        )
    else:
        out.append(
            _metric(
                "gen_ai.client.operation.duration",
                seconds,
                _pick(attrs, metrics["gen_ai.client.operation.duration"].attributes),
                end_ns,
            )
        )
        first_chunk = attrs.get("gen_ai.response.time_to_first_chunk")
        if isinstance(first_chunk, float):
            ttfc = "gen_ai.client.operation.time_to_first_chunk"
            out.append(_metric(ttfc, first_chunk, _pick(attrs, metrics[ttfc].attributes), end_ns))
        usage_attrs = _pick(attrs, metrics["gen_ai.client.token.usage"].attributes)
        for key, token_type in (
            ("gen_ai.usage.input_tokens", "input"),
            ("gen_ai.usage.output_tokens", "output"),
        ):
            tokens = attrs.get(key)
            if isinstance(tokens, int):
                out.append(
                    _metric(
                        "gen_ai.client.token.usage",
                        tokens,
                        {**usage_attrs, "gen_ai.token.type": token_type},
                        end_ns,
                    )
                )
    return out


def measurement_dict(record: Measurement, host: Collection[str], scrub: Scrubber) -> Record | None:
    """The spool dict of a measurement; None for an undeclared metric or a non-numeric value."""
    metric = _dictionary.METRICS.get(record.name) or _custom.declared(record.name)
    value = record.value
    if metric is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if not _finite(float(value)):
        return None
    attrs = clean_attributes(record.attributes, metric.attributes, (), scrub)
    return _metric(record.name, value, attrs, record.time_ns)


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
    forget = _provider_errors.forgetter()
    out: list[Record] = []
    for record in records:
        try:
            if forget is not None:
                forget.record(record)
            if isinstance(record, SpanHandle):
                if not record.end_ns:
                    continue
                span = span_dict(record, host_attributes, scrub)
                out.append(span)
                out.extend(derived_metrics(span))
            else:
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
    return _metric(n.PROCESS_UPTIME, max(now_ns - start_ns, 0) / 1e9, {}, now_ns)


def session_records(
    summary: Summary, start_ns: int, end_ns: int, scrub: Scrubber | None = None
) -> list[Record]:
    """The ``optel.cli.session`` summary span and ``optel.cli.session.duration``, once per process."""
    from optel.record.spans import new_id

    scrub = scrubber() if scrub is None else scrub
    attrs = clean_attributes(summary.attributes(), _SPAN_NAMES, (), scrub)
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
    return [span, _metric("optel.cli.session.duration", duration, {}, end_ns)]
