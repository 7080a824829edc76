"""The flat TOML reader either agrees exactly with tomllib or declines, and reads what optel writes."""

from __future__ import annotations

import math

import pytest
import tomli_w
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from optel.consent import loads_flat, parse_toml

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib


def same(a: object, b: object) -> bool:
    """Equal values of the same types (True is not 1, 1.0 is not 1), NaN equal to NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        assert isinstance(b, dict)
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


def check(text: str) -> dict[str, object] | None:
    fast = loads_flat(text)
    if fast is None:
        return None
    try:
        full = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AssertionError(f"fast reader accepted invalid TOML {text!r}: {exc}") from exc
    assert same(fast, full), (text, fast, full)
    return fast


# Pieces chosen to sit on the subset's edges: escapes, control characters, number shapes,
# comments, line endings, and things just outside the subset. Valid pieces are drawn more often
# so that many whole documents are accepted and compared, not just declined.
KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
GOOD_KEYS = st.text(KEY_ALPHABET, min_size=1, max_size=6)
BAD_KEYS = st.sampled_from(["a.b", '"q"', "k k", "", "é"])
GOOD_ATOMS = st.sampled_from(
    [
        '"x"',
        '""',
        '"a\\"b"',
        '"\\\\"',
        '"\\n\\t\\b\\f\\r"',
        '"\\u00e9"',
        '"\\U0001F600"',
        '"tab\there"',
        '"é"',
        '"\u2028"',
        "true",
        "false",
        "0",
        "-0",
        "+0",
        "12",
        "-7",
        "+7",
        "9223372036854775807",
        "-9223372036854775808",
        "1.5",
        "-1.5",
        "1e5",
        "1E5",
        "1e+05",
        "1e-07",
        "1.5e3",
        "-0.0",
        "0.0001",
        "1e400",
    ]
)
BAD_ATOMS = st.sampled_from(
    [
        '"""x"""',
        "'lit'",
        '"\\uD800"',
        '"\\e"',
        '"\\x41"',
        '"\\u12"',
        '"\x01"',
        '"\x7f"',
        '"unterminated',
        "True",
        "truex",
        "01",
        "1_000",
        "9223372036854775808",
        "1.",
        ".5",
        "inf",
        "nan",
        "+inf",
        "0x1F",
        "0o7",
        "0b1",
        "1979-05-27",
        "[1, 2]",
        "{a = 1}",
        "",
        "1e",
        "1.5.5",
        "--1",
    ]
)
KEYS = st.one_of(GOOD_KEYS, GOOD_KEYS, GOOD_KEYS, BAD_KEYS)
ATOMS = st.one_of(GOOD_ATOMS, GOOD_ATOMS, GOOD_ATOMS, BAD_ATOMS)
SPACE = st.sampled_from(["", " ", "\t", "  "])
COMMENT = st.sampled_from(["", "", "", "# c", "#", "# é", "# \t tab", "# \x01", "#\x7f"])
ENDINGS = st.sampled_from(["\n", "\n", "\n", "\r\n", "\r", ""])


@st.composite
def lines(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["pair"] * 8 + ["comment", "blank", "table", "raw"]))
    if kind == "pair":
        text = (
            draw(SPACE) + draw(KEYS) + draw(SPACE) + "=" + draw(SPACE) + draw(ATOMS) + draw(SPACE)
        )
        comment = draw(COMMENT)
        return text + comment
    if kind == "comment":
        return draw(SPACE) + draw(COMMENT)
    if kind == "blank":
        return draw(SPACE)
    if kind == "table":
        return "[t]"
    return draw(st.text(max_size=12))


@st.composite
def documents(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.tuples(lines(), ENDINGS), max_size=6))
    return "".join(line + ending for line, ending in parts)


@settings(max_examples=700, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(documents())
@example('mode = "anonymous"\n')
@example("a = 1\na = 2\n")
@example("a = 1\r")
def test_fast_reader_agrees_with_tomllib_or_declines(text):
    check(text)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_fast_reader_on_arbitrary_text_agrees_or_declines(text):
    check(text)


optel_values = st.one_of(
    st.text(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(KEY_ALPHABET, min_size=1, max_size=12), optel_values, max_size=8))
def test_fast_reader_reads_everything_tomli_w_writes_for_optel(table):
    text = tomli_w.dumps(table)
    fast = loads_flat(text)
    assert fast is not None, f"declined optel's own output {text!r}"
    assert same(fast, tomllib.loads(text))


@pytest.mark.parametrize(
    "text",
    ["[t]\na = 1\n", "a = [1]\n", "a = 1979-05-27\n", "a = 'x'\n", "a.b = 1\n", 'a = """x"""\n'],
)
def test_fast_reader_declines_what_is_outside_the_subset(text):
    assert loads_flat(text) is None
    assert parse_toml(text) == tomllib.loads(text)


def test_parse_toml_reports_invalid_toml_as_broken():
    from optel.consent import Broken

    assert isinstance(parse_toml("a = \n"), Broken)


@st.composite
def flat_documents(draw: st.DrawFn) -> str:
    pairs = draw(st.dictionaries(GOOD_KEYS, GOOD_ATOMS, max_size=6))
    out = []
    for key, atom in pairs.items():
        if draw(st.booleans()):
            out.append(draw(SPACE) + draw(st.sampled_from(["", "# c", "# é", "#\ttab"])))
        line = draw(SPACE) + key + draw(SPACE) + "=" + draw(SPACE) + atom + draw(SPACE)
        out.append(line + draw(st.sampled_from(["", "# c", "#"])))
    return "".join(line + draw(st.sampled_from(["\n", "\r\n"])) for line in out)


@settings(max_examples=300, deadline=None)
@given(flat_documents())
def test_fast_reader_accepts_every_flat_document(text):
    assert check(text) is not None, f"declined flat TOML {text!r}"
