"""The protobuf wire format written by hand: varints, fixed-width numbers, length-delimited fields and OTLP's `KeyValue`s.

The uploader's requests are these bytes (upload/otlp.py), so the default OTLP/HTTP protobuf path
imports neither `google.protobuf` nor `opentelemetry.proto`. Fields go in field-number order and
default values of plain (non-oneof, non-optional) fields are left out, as protobuf's serializer
writes them: `tests/test_upload_wire.py` compares the bytes with opentelemetry-proto's
`SerializeToString` of the same messages (docs/internals.md, "Upload").
"""

from __future__ import annotations

from struct import Struct

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

fixed64 = Struct("<Q").pack
sfixed64 = Struct("<q").pack
double = Struct("<d").pack
fixed32 = Struct("<I").pack

_ONE_BYTE = [bytes((n,)) for n in range(128)]


def varint(value: int) -> bytes:
    """A varint; a negative int64 as its two's complement in ten bytes, as protobuf writes it."""
    if 0 <= value < 128:
        return _ONE_BYTE[value]
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def tag(field: int, wire_type: int) -> bytes:
    """A field's key: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32."""
    return varint(field << 3 | wire_type)


def field(key: bytes, body: bytes) -> bytes:
    """A length-delimited field (a string, bytes, a message or a packed array) under `key`."""
    return key + varint(len(body)) + body


def text(value: str) -> bytes:
    """A string's UTF-8, or ValueError for a string no UTF-8 can hold (a lone surrogate)."""
    try:
        return value.encode()
    except UnicodeEncodeError:
        raise ValueError(f"a string must be valid Unicode, not {value!r}") from None


# AnyValue: string_value 1, bool_value 2, int_value 3, double_value 4, array_value 5. A oneof
# member is written even when it holds its type's default.
_STRING, _BOOL, _INT, _DOUBLE, _ARRAY = b"\x0a", b"\x10", b"\x18", b"\x21", b"\x2a"
_TRUE, _FALSE = b"\x10\x01", b"\x10\x00"


def any_value(value: Any) -> bytes:
    """The body of an `AnyValue` holding a clean attribute value (`attributes.clean_attributes`)."""
    kind = type(value)
    if kind is str:
        return field(_STRING, text(value))
    if kind is bool:
        return _TRUE if value else _FALSE
    if kind is int:
        return _INT + varint(value)
    if kind is float:
        return _DOUBLE + double(value)
    if kind is list or kind is tuple:
        # ArrayValue: values 1, each an AnyValue message (an empty one written too).
        return field(_ARRAY, b"".join(field(b"\x0a", any_value(v)) for v in value))
    return b""  # nothing OTLP carries: an empty AnyValue


# A key and value's `KeyValue` (key 1, value 2), length prefix included, reused across the run: a
# CLI's records repeat the same few attribute values.
_PAIRS: dict[tuple[str, type, Any], bytes] = {}
_MAX_PAIRS = 50_000


def key_values(key: bytes, attributes: Mapping[str, Any]) -> bytes:
    """`attributes` as repeated `KeyValue` fields under `key`, in their order."""
    parts = []
    pairs = _PAIRS
    for name, value in attributes.items():
        kind = type(value)
        if kind is list or (kind is float and not value):
            # a list is not hashable; -0.0 == 0.0 as a key, but not on the wire
            parts.append(key + _pair(name, value))
            continue
        cached = pairs.get((name, kind, value))
        if cached is None:
            cached = _pair(name, value)
            if len(pairs) < _MAX_PAIRS:
                pairs[(name, kind, value)] = cached
        parts.append(key + cached)
    return b"".join(parts)


def _pair(name: str, value: Any) -> bytes:
    body = (field(b"\x0a", text(name)) if name else b"") + field(b"\x12", any_value(value))
    return varint(len(body)) + body
