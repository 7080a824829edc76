"""Spool span records -> OTLP `Span` messages: ids, times, names, attributes, events and status kept."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from optel.record.names import RENAMED
from optel.upload.attributes import InvalidRecord, clean_attributes, ns, renamed

__all__ = ["InvalidRecord", "span_from_record"]
from optel.upload.otlp import encode_attributes, span_attributes

_KINDS = {
    "internal": Span.SPAN_KIND_INTERNAL,
    "client": Span.SPAN_KIND_CLIENT,
    "server": Span.SPAN_KIND_SERVER,
    "producer": Span.SPAN_KIND_PRODUCER,
    "consumer": Span.SPAN_KIND_CONSUMER,
}
# What the SDK's encoder sets on a span whose parent is not remote (none of optel's is).
_FLAGS = 0x100  # SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK
_INTERNAL = Span.SPAN_KIND_INTERNAL
_OK = Status(code=Status.STATUS_CODE_OK)
_UNSET = Status(code=Status.STATUS_CODE_UNSET)
# spans -----------------------------------------------------------------------------------------------


def _id(value: object, digits: int) -> bytes:
    if type(value) is str and len(value) == digits:
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            raise InvalidRecord(f"an id must be hex, not {value!r}") from None
        if len(raw) == digits // 2 and raw.strip(b"\0"):  # fromhex skips spaces; zero is no id
            return raw
        raise InvalidRecord(f"an id must be a positive hex number, not {value!r}")
    raise InvalidRecord(f"an id must be {digits} hex digits, not {value!r}")


def _events(events: object, start: int) -> list[Span.Event]:
    if not isinstance(events, (list, tuple)):
        return []
    return [
        Span.Event(
            name=event["name"],
            time_unix_nano=ns(event.get("time_ns", start)),
            attributes=encode_attributes(clean_attributes(event.get("attributes"))),
        )
        for event in events
        if isinstance(event, Mapping) and isinstance(event.get("name"), str)
    ]


def span_from_record(record: Mapping[str, Any], into: Any = None) -> Span:
    """The OTLP `Span` of a span record: its own trace, span and parent ids, name, kind, times,
    attributes, events and status, as the SDK's encoder would write the same span.

    `into`: a repeated `spans` field (`otlp.SpanRequest.spans`) to build the span in, in place.
    Nothing is added when the record is invalid (InvalidRecord).
    """
    get = record.get
    trace_id = _id(get("trace_id"), 32)
    span_id = _id(get("span_id"), 16)
    parent_id = get("parent_span_id")
    parent = _id(parent_id, 16) if parent_id is not None else b""
    name = get("name")
    if not isinstance(name, str):
        raise InvalidRecord(f"a span name must be a string, not {name!r}")
    start = ns(get("start_ns"))
    end = ns(get("end_ns", start))
    status_word = get("status")
    if status_word == "ok":
        status = _OK
    elif status_word == "error":
        message = get("status_message")
        status = Status(code=Status.STATUS_CODE_ERROR)
        if isinstance(message, str):
            status.message = message
    else:
        status = _UNSET
    events = get("events")
    events = _events(events, start) if events else None
    attributes = get("attributes")
    wire = span_attributes(renamed(clean_attributes(attributes))) if attributes else b""
    kind = get("kind")
    span: Span = (Span if into is None else into.add)(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent,
        name=RENAMED.get(name, name),
        kind=_KINDS.get(kind, Span.SPAN_KIND_INTERNAL) if type(kind) is str else _INTERNAL,
        start_time_unix_nano=start,
        end_time_unix_nano=end if end > start else start,
        events=events,
        status=status,
        flags=_FLAGS,
    )
    if wire:
        span.MergeFromString(wire)
    return span
