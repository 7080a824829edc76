"""Spool span records -> encoded OTLP `Span`s: ids, times, names, attributes, events and status kept."""

from __future__ import annotations

from _collections_abc import Mapping  # collections.abc's, without importing collections

from optel.record.names import RENAMED
from optel.upload.attributes import InvalidRecord, clean_attributes, ns, renamed
from optel.upload.wire import field, fixed32, fixed64, key_values, text, varint

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["InvalidRecord", "span_from_record"]

# Span fields: trace_id 1, span_id 2, parent_span_id 4, name 5, kind 6, start 7, end 8,
# attributes 9, events 11, status 15, flags 16 (fixed32, key 0x85 0x01).
_KINDS = {
    kind: b"\x30" + varint(number)
    for number, kind in enumerate(("internal", "server", "client", "producer", "consumer"), 1)
}
_INTERNAL = _KINDS["internal"]
# What the SDK's encoder sets on a span whose parent is not remote (none of optel's is):
# SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK.
_FLAGS = b"\x85\x01" + fixed32(0x100)
# Status: message 2, code 3 (UNSET 0, OK 1, ERROR 2); always present, as the SDK's encoder sets it.
_OK = field(b"\x7a", b"\x18\x01")
_UNSET = field(b"\x7a", b"")
_ERROR_CODE = b"\x18\x02"


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


def _time(key: bytes, value: int) -> bytes:
    return key + fixed64(value) if value else b""  # a zero is a default: not written


def _events(events: object, start: int) -> bytes:
    """Span field 11 of each event: time 1 (fixed64), name 2, attributes 3."""
    if not isinstance(events, (list, tuple)):
        return b""
    return b"".join(
        [
            field(
                b"\x5a",
                _time(b"\x09", ns(event.get("time_ns", start)))
                + (field(b"\x12", text(event["name"])) if event["name"] else b"")
                + key_values(b"\x1a", clean_attributes(event.get("attributes"))),
            )
            for event in events
            if isinstance(event, Mapping) and isinstance(event.get("name"), str)
        ]
    )


def _status(record: Mapping[str, Any]) -> bytes:
    word = record.get("status")
    if word == "ok":
        return _OK
    if word == "error":
        message = record.get("status_message")
        text_field = field(b"\x12", text(message)) if isinstance(message, str) and message else b""
        return field(b"\x7a", text_field + _ERROR_CODE)
    return _UNSET


def span_from_record(record: Mapping[str, Any], into: list[bytes] | None = None) -> bytes:
    """The encoded OTLP `Span` of a span record: its own trace, span and parent ids, name, kind,
    times, attributes, events and status, as the SDK's encoder would write the same span.

    `into`: a resource's spans (`otlp.SpanRequest.spans`) to append it to. Nothing is added when
    the record is invalid (InvalidRecord).
    """
    get = record.get
    trace_id = _id(get("trace_id"), 32)
    span_id = _id(get("span_id"), 16)
    parent_id = get("parent_span_id")
    name = get("name")
    if not isinstance(name, str):
        raise InvalidRecord(f"a span name must be a string, not {name!r}")
    name = RENAMED.get(name, name)
    start = ns(get("start_ns"))
    end = ns(get("end_ns", start))
    kind = get("kind")
    events = get("events")
    attributes = get("attributes")
    try:
        span = b"".join(
            (
                b"\x0a\x10", trace_id, b"\x12\x08", span_id,
                b"\x22\x08" + _id(parent_id, 16) if parent_id is not None else b"",
                field(b"\x2a", text(name)) if name else b"",
                _KINDS.get(kind, _INTERNAL) if type(kind) is str else _INTERNAL,
                _time(b"\x39", start), _time(b"\x41", end if end > start else start),
                key_values(b"\x4a", renamed(clean_attributes(attributes))) if attributes else b"",
                _events(events, start) if events else b"",
                _status(record), _FLAGS,
            )
        )  # fmt: skip
    except InvalidRecord:
        raise
    except ValueError as error:  # a string no UTF-8 holds (wire.text)
        raise InvalidRecord(str(error)) from None
    if into is not None:
        into.append(span)
    return span
