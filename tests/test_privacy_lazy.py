"""What scrubbing costs the host (issue 19): plain values never load the rule chain, common exception
messages never load ``re``; and the cheap pre-filters that spare them never skip a match."""

from __future__ import annotations

import subprocess

from hypothesis import given
from hypothesis import strategies as st

from optel.privacy.credentials import _may_hold_a_key
from optel.privacy.fastpath import hex_between
from optel.privacy.hosts import _may_name_a_host
from optel.privacy.patterns import pattern

PLAIN_RUN = r"""
import sys
import optel.privacy as p
loaded = lambda: sorted(m for m in sys.modules if m in CHAIN or m == "re")
CHAIN = {"optel.privacy.rules", "optel.privacy.credentials", "optel.privacy.locations",
         "optel.privacy.patterns", "optel.privacy.hosts", "optel.privacy.numbers",
         "optel.privacy.models", "optel.privacy.model_families"}
assert loaded() == [], ("import", loaded())
values = {"outcome": "success", "app.version": "1.0.0", "cli.duration": 1.5, "step.count": 2,
          "error.type": "ValueError", "service.name": "bench-cpu"}
assert p.scrub_attributes(values) == values
assert loaded() == [], ("plain values", loaded())
for message in ("[Errno 111] Connection refused", "KeyError: 'region'", "list index out of range",
                "invalid literal for int() with base 10: 'abc'",
                "[Errno 2] No such file or directory: 'config.toml'",
                "'NoneType' object has no attribute 'split'",
                "__main__:load:8\nmytool.cli:main:42\nmytool.commands:deploy:7"):
    assert p.scrub_text(message) == message, message
assert "re" not in sys.modules, ("messages", loaded())
assert p.scrub_text("connecting to db-primary:5432") == "connecting to <host>:5432"
assert p.scrub_text("KeyError: api_key=abc") == "KeyError: api_key=<secret>"
assert p.scrub_text("from fe80::1 nic 00:1a:2b:3c:4d:5e") == "from <ip> nic <mac>"
assert "re" in sys.modules
"""


def test_plain_values_load_no_rule_and_common_messages_no_regex(python: str) -> None:
    subprocess.run(
        [python, "-c", PLAIN_RUN],
        check=True,
        env={"HOME": "/nonexistent-home", "PATH": "/usr/bin", "USER": "zed"},
        timeout=60,
    )


# Words that make or nearly make the contexts of both patterns, in both cases and with separators.
PIECES = (
    "host", "Host", "HOSTNAME", "hostname", "server", "at", "resolve", "not", "known", "known:",
    "ENOTFOUND", "connect", "connecting", "connected", "Connection", "to", "lookup", "on", "db",
    "db:5432", "no such host", "key", "Key", "KEY", "api", "API", "access", "private", "_", "-",
    "pass", "PASSWORD", "pwd", "secret", "token", "auth", "credential", "cookie", "session", "jwt",
    "bearer", "basic", "digest", "=", ":", "=>", " ", "  ", "'", '"', "x", "1", "--",
)  # fmt: skip
TEXTS = st.lists(st.sampled_from(PIECES), min_size=1, max_size=8).map("".join)


@given(TEXTS)
def test_a_text_the_host_pre_filter_skips_holds_no_host_context(text: str) -> None:
    if not _may_name_a_host(text, text.lower()):
        assert pattern_search("context", text) is None, text


@given(TEXTS)
def test_a_text_the_key_pre_filter_skips_holds_no_key_value_pair(text: str) -> None:
    if not _may_hold_a_key(text.lower()):
        assert pattern("key_value").search(text) is None, text


def pattern_search(name: str, text: str) -> object:
    from optel.privacy.hosts import _pattern

    return _pattern(name).search(text)


# Hex groups, separators and the letters just past "f", joined at random: near-addresses of both kinds.
HEXISH = st.lists(
    st.sampled_from(
        ("", "0", "1f", "A", "abc", "fe80", "12345", "g", "G1", "x", ":", "::", "-", ".", " ", "\n")
    ),
    min_size=1,
    max_size=14,
).map("".join)


@given(HEXISH)
def test_a_text_the_ipv6_pre_filter_skips_holds_no_ipv6_shape(text: str) -> None:
    if not hex_between(text, ":", 0, 4):
        assert pattern("ipv6").search(text) is None, text


@given(HEXISH)
def test_a_text_the_mac_pre_filter_skips_holds_no_mac_shape(text: str) -> None:
    from optel.privacy.numbers import _pattern

    if not hex_between(text, ":", 2, 2) and not hex_between(text, "-", 2, 2):
        assert _pattern("mac").search(text) is None, text
