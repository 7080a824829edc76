"""What scrubbing costs the host (issue 19): plain values never load the rule chain, common exception
messages never load ``re``, a plain run's exit flush loads neither the rule table nor ``pwd``; and
the cheap pre-filters that spare them (strings, keys, the login) never skip a match."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from optel.privacy import fastpath, identity, keys
from optel.privacy.credentials import _may_hold_a_key
from optel.privacy.fastpath import hex_between
from optel.privacy.hosts import _may_name_a_host
from optel.privacy.patterns import pattern
from test_import_budget import _consent_anonymous_without_uploader

PLAIN_RUN = r"""
import sys
import optel.privacy as p
loaded = lambda: sorted(m for m in sys.modules if m in CHAIN or m == "re")
CHAIN = {"optel.privacy.rules", "optel.privacy.credentials", "optel.privacy.locations",
         "optel.privacy.patterns", "optel.privacy.hosts", "optel.privacy.numbers",
         "optel.privacy.models", "optel.privacy.model_families", "optel.privacy.table",
         "optel.privacy.exceptions", "optel.privacy.hostrules"}
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


# -- a whole run: what the exit flush of a plain run loads ------------------------------------------

HOST_RUN = r"""
import atexit, os, sys
def dump():  # not json: it would load re
    with open(os.environ["MODULES_FILE"], "w", encoding="utf-8") as f:
        f.write("\n".join(sorted(sys.modules)))
atexit.register(dump)  # registered first, so it runs after optel's exit flush
import optel
optel.init("lazy-app", version="1.0.0")

@optel.step()
def fetch():
    return 1

@optel.step()
def render(x):
    return x + 1

@optel.command()
def main():
    render(fetch())

main()
"""
# What such a run's strings (declared names, versions, an exit code) never need: the rule table
# and the chain, exception descriptions, the host-rule parser, the generators.
NOT_LOADED = (
    "optel.privacy.table",
    "optel.privacy.rules",
    "optel.privacy.patterns",
    "optel.privacy.exceptions",
    "optel.privacy.hostrules",
    "optel.privacy.models",
    "optel.privacy.prefilter",
    "optel.privacy.generated",
    "re",
)


def _listed_in_passwd_file(uid: int) -> bool:
    try:
        with open("/etc/passwd", encoding="utf-8", errors="replace") as f:
            return any(line.split(":")[2:3] == [str(uid)] for line in f)
    except OSError:
        return False


def _run_host(python: str, tmp_path: Path, script: str, app: str) -> tuple[set[str], list[dict]]:
    # Anonymous consent, and a held spool lock: the detached uploader does not start.
    spool = _consent_anonymous_without_uploader(app)
    modules_file = tmp_path / "modules.json"
    subprocess.run(
        [python, "-c", script],
        env={**os.environ, "MODULES_FILE": str(modules_file)},
        stdin=subprocess.DEVNULL,
        check=True,
        timeout=60,
    )
    loaded = set(modules_file.read_text(encoding="utf-8").split("\n"))
    [name] = [n for n in os.listdir(spool) if n.endswith(".jsonl")]
    with open(os.path.join(spool, name), encoding="utf-8") as f:
        return loaded, [json.loads(line) for line in f]


# What scrubbing loads: a run whose strings are all declared names or optel's own facts needs none.
SCRUBBER = (
    "optel.privacy.scrubber",
    "optel.privacy.fastpath",
    "optel.privacy.identity",
    "optel.privacy.keys",
)


def test_a_plain_run_flushes_without_loading_the_scrubber(python: str, tmp_path: Path) -> None:
    loaded, records = _run_host(python, tmp_path, HOST_RUN, "lazy-app")
    assert "optel.record.flush" in loaded
    assert {"main", "fetch", "render"} <= {r.get("name") for r in records}
    # The declared name and version, as written.
    assert records[0]["resource"]["service.name"] == "lazy-app"
    assert records[0]["resource"]["service.version"] == "1.0.0"
    assert sorted(loaded.intersection(NOT_LOADED + SCRUBBER)) == []
    if _listed_in_passwd_file(os.getuid()):
        # The login is read from /etc/passwd; the name service is asked only for other accounts.
        assert "pwd" not in loaded


HOST_STRING_RUN = HOST_RUN.replace(
    'optel.init("lazy-app", version="1.0.0")',
    'optel.init("lazy-app-strings", version="1.0.0", attributes=["my_tool.input"])',
).replace(
    "    render(fetch())",
    '    render(fetch())\n    optel.event("opened", **{"my_tool.input": "/home/alice/notes/plan.txt"})',
)


def test_the_first_string_value_loads_the_scrubber_and_is_scrubbed(
    python: str, tmp_path: Path
) -> None:
    loaded, records = _run_host(python, tmp_path, HOST_STRING_RUN, "lazy-app-strings")
    assert set(SCRUBBER[:3]) <= loaded
    [opened] = [
        e for r in records if r.get("t") == "span" for e in r["events"] if e["name"] == "opened"
    ]
    assert opened["attributes"] == {"my_tool.input": "<path>"}
    assert "alice" not in json.dumps(records)


# -- the sensitive-key pre-filter never skips a key the rules would match ---------------------------


def test_every_word_the_key_rules_name_holds_a_trigger() -> None:
    words = [*keys.STRONG_WORDS, *keys.STRONG_ENDINGS, *keys.WEAK_WORDS]
    words += [second for _, second in keys.STRONG_PAIRS]
    for word in words:
        assert keys.may_name_a_credential(word), word


KEY_PIECES = (
    "api", "Api", "API", "key", "Key", "KEY", "token", "Token", "tokens", "auth", "OAuth", "pass",
    "PGPASSWORD", "passwd", "secret", "Secret", "session", "id", "type", "count", "client", "set",
    "cookie", "Cookie", "bearer", "jwt", "x", "db", "http", "request", "header", "private", "access",
    "refresh", "csrf", "credential", "pwd", "K", "\u212a", "\u0130", ".", "_", "-", " ", "", "9",
)  # fmt: skip


@given(st.lists(st.sampled_from(KEY_PIECES), max_size=7).map("".join))
def test_the_key_pre_filter_skips_no_key_the_rules_match(key: str) -> None:
    judged = key not in keys.KNOWN_TELEMETRY_KEYS and keys.names_a_credential(keys.key_words(key))
    assert keys.is_sensitive_key(key) == judged, key


@given(
    st.lists(st.sampled_from(KEY_PIECES), max_size=7).map("".join)
    | st.text(alphabet="ab.Z_-9 /:\t\x1c\u212a\u0130", max_size=12)
    | st.text(max_size=12)
)
def test_a_key_is_split_into_the_words_the_character_loop_finds(key: str) -> None:
    assert keys.key_words(key) == keys._words_char_by_char(key), key


def test_the_digit_table_maps_digits_to_0_and_all_else_to_x() -> None:
    assert bytes(48 if 48 <= i <= 57 else 120 for i in range(256)) == fastpath._DIGITS


# -- the login from /etc/passwd is the name service's ------------------------------------------------


def test_the_password_file_gives_each_account_the_name_service_gives() -> None:
    import pwd

    with open("/etc/passwd", encoding="utf-8", errors="replace") as f:
        uids = {
            int(line.split(":")[2]) for line in f if line.count(":") >= 6 and line[0] not in "+-"
        }
    assert uids
    for uid in uids:
        entry = pwd.getpwuid(uid)
        assert identity._passwd_file_entry(uid) == (entry.pw_name, entry.pw_dir), uid


def test_the_password_file_is_read_as_the_name_service_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    passwd = tmp_path / "passwd"
    passwd.write_bytes(
        b"+::::::\n"
        b"daemon:x:1:4242:daemon:/usr/sbin:/usr/sbin/nologin\n"  # 4242 as a gid only
        b"broken:x:4242\n"
        b"caf\xe9:x:4242:4242:Caf\xe9:/home/caf\xe9:/bin/sh\n"
        b"later:x:4242:4242::/home/later:/bin/sh\n"
    )
    monkeypatch.setattr(identity, "PASSWD_FILE", str(passwd))
    assert identity._passwd_file_entry(4242) == ("caf\udce9", "/home/caf\udce9")
    assert identity._passwd_file_entry(4) is None
    monkeypatch.setattr(identity, "PASSWD_FILE", str(tmp_path / "missing"))
    assert identity._passwd_file_entry(0) is None


def test_a_large_password_file_is_read_to_the_accounts_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Lines of other accounts past the first read (64 KiB), then the account's, split by a read.
    filler = b"".join(
        b"u%05d:x:%d:100::/home/u%05d:/bin/sh\n" % (n, 10000 + n, n) for n in range(1900)
    )
    filler += b"y" * (65536 * 2 - len(filler) - 10) + b"\n"
    passwd = tmp_path / "passwd"
    passwd.write_bytes(filler + b"zed:x:4242:4242::/home/zed:/bin/sh\nlast:x:1:1::/:/bin/sh")
    monkeypatch.setattr(identity, "PASSWD_FILE", str(passwd))
    assert identity._passwd_file_entry(4242) == ("zed", "/home/zed")
    assert identity._passwd_file_entry(1) == ("last", "/")  # no newline after the last line
    assert identity._passwd_file_entry(10000 + 1899) == ("u01899", "/home/u01899")
    assert identity._passwd_file_entry(99) is None


ACCOUNT_OUTSIDE_THE_FILE = r"""
import sys
from optel.privacy import identity, scrub_text
print(identity._system_account(), identity.watch_words(), "pwd" in sys.modules, scrub_text("ok"))
"""


# Runs this Python as another user: CI runs it on the default Python only (tests/conftest.py).
@pytest.mark.as_nobody
def test_an_account_the_password_file_does_not_list_is_asked_of_the_name_service(
    python: str,
) -> None:
    uid = 54321
    assert not _listed_in_passwd_file(uid)
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent-home", "HOSTNAME": "localhost"}
    command = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", python, "-c"]
    result = subprocess.run(
        [*command, ACCOUNT_OUTSIDE_THE_FILE],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    # The name service does not know the uid either: no login, and scrubbing goes on.
    assert result.stdout.split(") ", 1)[1].split() == ["()", "True", "ok"], result.stdout
