"""The host's own JSON encoder: what `json.loads` reads back is what the recorder handed over."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from optel.spool import dumps

finite = st.floats(allow_nan=False, allow_infinity=False)
scalars = st.none() | st.booleans() | st.integers() | finite | st.text()
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)


@given(values)
def test_json_loads_reads_back_every_value(value: object) -> None:
    assert json.loads(dumps(value)) == value


@given(values)
def test_output_is_ascii_and_compact_like_json_dumps(value: object) -> None:
    text = dumps(value)
    assert text.isascii()
    assert text == json.dumps(value, separators=(",", ":"))


@given(st.text())
def test_lone_surrogates_and_control_characters_survive(text: str) -> None:
    assert json.loads(dumps({"k": text})) == {"k": text}


def test_non_finite_floats_become_null() -> None:
    encoded = dumps({"nan": math.nan, "inf": math.inf, "ninf": -math.inf, "ok": 1.5})
    assert json.loads(encoded) == {"nan": None, "inf": None, "ninf": None, "ok": 1.5}
    assert "NaN" not in encoded and "Infinity" not in encoded


def test_unknown_types_become_null_rather_than_their_repr() -> None:
    class Secret:
        def __repr__(self) -> str:
            return "/home/alice/secret"

    assert json.loads(dumps({"a": Secret(), "b": {1, 2}, "c": b"bytes"})) == {
        "a": None,
        "b": None,
        "c": None,
    }


def test_tuples_become_lists_and_scalar_keys_become_strings() -> None:
    assert json.loads(dumps({"t": (1, "x"), 7: "int", True: "bool", None: "none", 2.5: "f"})) == {
        "t": [1, "x"],
        "7": "int",
        "true": "bool",
        "null": "none",
        "2.5": "f",
    }


def test_keys_json_cannot_spell_are_skipped() -> None:
    assert json.loads(dumps({("a", "b"): 1, "kept": 2})) == {"kept": 2}


def test_a_cycle_is_cut_off_instead_of_raising() -> None:
    loop: list[object] = []
    loop.append(loop)
    assert dumps(loop).startswith("[[[")
    json.loads(dumps(loop))


def test_bool_and_int_subclasses_use_their_plain_spelling() -> None:
    class Count(int):
        def __repr__(self) -> str:
            return "Count!"

    assert dumps([True, False, Count(3)]) == "[true,false,3]"


def test_strings_are_spelled_as_json_dumps_spells_them_without_loading_json() -> None:
    # The writer quotes strings itself: `_json` is a shared library a host's exit need not load.
    import subprocess
    import sys

    samples = [
        "",
        "plain",
        'a"b',
        "a\\b",
        "\n\r\t\b\f",
        "\x00\x1f\x7f",
        "é",
        "😀",
        "\ud800",
        "~ \u2028",
    ]
    program = (
        "import sys\nfrom optel.spool import dumps\n"
        f"sys.stdout.write(dumps({samples!r}))\n"
        "sys.stdout.write(' ' + str('_json' in sys.modules or 'json' in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    text, loaded = done.stdout.rsplit(" ", 1)
    assert text == json.dumps(samples, separators=(",", ":"))
    assert loaded == "False"


class _Loud(str):
    def isascii(self) -> bool:
        return True

    def __contains__(self, item: object) -> bool:
        return False


def test_a_str_subclass_cannot_change_how_it_is_quoted() -> None:
    assert dumps(_Loud('a"é')) == json.dumps('a"é')


@given(st.text())
def test_the_writers_own_quoting_spells_strings_as_json_dumps(text: str) -> None:
    # Tested directly: a large flush earlier in this process may have switched `dumps` to `_json`.
    from optel.spool.writer import _py_quote

    assert _py_quote(text) == json.dumps(text)


def test_a_large_flush_is_the_same_bytes_whichever_quoting_writes_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Past _C_QUOTE_FROM records a flush loads `_json` to quote its many strings faster.
    from optel.spool import writer

    header = {"app": "x", "export": {"endpoint": "http://127.0.0.1:1", "headers": {"k": 'v"é'}}}
    records = [
        {"t": "span", "name": f's{i} \u00e9\n"q"', "attributes": {"a": i}} for i in range(300)
    ]
    monkeypatch.setattr(writer, "_C_QUOTE_FROM", 10**9)
    monkeypatch.setattr(writer, "_quote", writer._py_quote)
    in_python = writer.encode_file(header, records)
    monkeypatch.setattr(writer, "_C_QUOTE_FROM", 128)
    assert writer.encode_file(header, records) == in_python
    assert writer._quote is not writer._py_quote
    lines = in_python.decode("ascii").splitlines()
    assert [json.loads(line) for line in lines[1:-1]] == records


def test_keys_are_spelled_the_same_once_kept_and_the_kept_ones_stay_bounded() -> None:
    from optel.spool import writer

    many = {f'k"{i}\\é': i for i in range(3 * writer._MAX_QUOTED_KEYS)}
    for _ in range(2):  # the second time, from the kept spellings
        assert dumps(many) == json.dumps(many, separators=(",", ":"))
    assert len(writer._quoted_keys) <= writer._MAX_QUOTED_KEYS
    # A str subclass key is spelled as its plain value and never kept.
    assert dumps({_Loud("q"): 1}) == '{"q":1}'
    assert all(type(key) is str for key in writer._quoted_keys)
