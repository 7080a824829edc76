"""Issue 11, item 4: each class of value that used to get past the scrubber, generated and checked
through scrub_text, scrub_attributes and describe_exception; and the neighbours that must survive.

The same classes run end to end (host -> spool -> uploader -> rotel -> receiver) in test_privacy_e2e.
"""

from __future__ import annotations

import os
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optel.privacy import describe_exception, public_model_name, scrub_attributes, scrub_text
from optel.privacy.endpoints import redact_endpoint, redact_export
from optel.privacy.fastpath import plainly_safe
from optel.privacy.identity import machine_names, watch_words
from optel.privacy.model_families import FAMILIES
from optel.privacy.numbers import luhn_valid
from optel.privacy.rules import apply_builtin_rules
from optel.record.dictionary import ATTRIBUTES, METRICS
from privacy_strategies import CLASSES, assert_scrubbed, injected_texts, login_env, logins

PROPERTY = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
NEW_CLASSES = ("whole_value_secrets", "host_names", "repr_paths", "personal_numbers")


@st.composite
def class_sample(draw: st.DrawFn, name: str) -> tuple[str, str, list]:
    login = draw(logins())
    # Neither name in the other, nor the machine's first label (a name of its own) in the login.
    machine = draw(logins().filter(lambda m: login not in m and m.partition(".")[0] not in login))
    classes = [name] if name not in ("machine",) else ["machine"]
    text, planted = draw(injected_texts(login=login, machine=machine, classes=classes))
    return login, machine, text, planted  # type: ignore[return-value]


@pytest.mark.parametrize("name", [*NEW_CLASSES, "machine"])
def test_each_new_class_is_scrubbed_in_text(name: str) -> None:
    @PROPERTY
    @given(class_sample(name))
    def check(sample: tuple) -> None:
        login, machine, text, planted = sample
        with login_env(login, machine):
            assert_scrubbed(scrub_text(text), planted)
            assert_scrubbed(scrub_attributes({"cli.note": text})["cli.note"], planted)

    check()


@pytest.mark.parametrize("name", [*NEW_CLASSES, "machine"])
def test_each_new_class_is_scrubbed_in_exception_messages(name: str) -> None:
    @settings(max_examples=100, deadline=None)
    @given(class_sample(name))
    def check(sample: tuple) -> None:
        login, machine, text, planted = sample
        with login_env(login, machine):
            described = describe_exception(RuntimeError(text), None, max_message=100_000)
        assert_scrubbed(described["exception.message"], planted)

    check()


def test_every_class_of_the_strategies_is_checked_somewhere() -> None:
    assert set(NEW_CLASSES) <= set(CLASSES)


# -- key=value: the whole value ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("api_token=Ab3x&yZ9", "api_token=<secret>"),
        ("password=ab;cd,ef)gh}ij<kl>mn next", "password=<secret> next"),
        ('password="correct horse battery" ok', 'password="<secret>" ok'),
        ("token: 'two words' ok", "token: '<secret>' ok"),
        ('secret=ab"cd"ef ok', "secret=<secret> ok"),
        ('{"api_key": "a \\"b c", "n": 1}', '{"api_key": "<secret>", "n": 1}'),
        ("f(password=x), then", "f(password=<secret>), then"),
        ("say 'password=abc' and 'x'", "say 'password=<secret>' and 'x'"),
    ],
)
def test_key_value_secrets_lose_their_whole_value(text: str, expected: str) -> None:
    assert apply_builtin_rules(text) == expected


# -- host names -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "HTTPSConnectionPool(host='api.acme.internal', port=443)",
            "HTTPSConnectionPool(host='<host>', port=443)",
        ),
        ("Name or service not known: db7", "Name or service not known: <host>"),
        (
            'could not translate host name "db-primary" to address',
            'could not translate host name "<host>" to address',
        ),
        (
            "ssh: Could not resolve hostname bastion: Name",
            "ssh: Could not resolve hostname <host>: Name",
        ),
        ("redis.ns.svc.cluster.local:6379 down", "<host>:6379 down"),
        ("clone gitlab.com/org/repo/ failed", "clone <url> failed"),
        ("Error -2 connecting to redis-master:6379.", "Error -2 connecting to <host>:6379."),
        ("getaddrinfo ENOTFOUND db.prod", "getaddrinfo ENOTFOUND <host>"),
        ("dial tcp: lookup db on 127.0.0.53:53", "dial tcp: lookup <host> on <ip>:53"),
        ("BUILD.ACME.COM failed", "<host> failed"),
        (
            "calling api.openai.com and api.anthropic.com",
            "calling api.openai.com and api.anthropic.com",
        ),
        ("Host: localhost", "Host: localhost"),
        # a key after a host context is still the key of its pair
        (
            "Name or service not known: password=hunter2x",
            "Name or service not known: password=<secret>",
        ),
    ],
)
def test_host_names_become_host(text: str, expected: str) -> None:
    assert apply_builtin_rules(text) == expected


_CODE_NAMES = [
    "openai.APIError", "os.path.join", "config.toml", "1.2.3", "v2.10.0rc1", "mytool.commands.Deploy",
    "builtins.ValueError", "System.Net.Http", "pyproject.toml", "e.g. this", "setup.py", "main.rs",
    "README.md", "x.to(device)", "df.at[0]", "np.int64", "pathlib.Path.home", "flask.Flask",
    "gpt-4o-mini", "claude-3-5-sonnet-20241022", "3.11.7", "ubuntu 22.04", "a.b", "foo.bar.baz",
]  # fmt: skip


@pytest.mark.parametrize("text", _CODE_NAMES)
def test_code_names_versions_and_file_names_are_no_hosts(text: str) -> None:
    assert apply_builtin_rules(text) == text


def test_no_name_of_the_data_dictionary_reads_as_a_host() -> None:
    names = set(ATTRIBUTES) | set(METRICS)
    for metric in METRICS.values():
        names.update(metric.attributes)
    assert len(names) > 20
    assert {
        name: apply_builtin_rules(name) for name in names if apply_builtin_rules(name) != name
    } == {}


def test_the_machines_own_name_and_fqdn_become_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOSTNAME", "bobs-mbp.corp.acme.net")
    assert {"bobs-mbp.corp.acme.net", "bobs-mbp"} <= set(machine_names())
    assert set(machine_names()) <= set(watch_words())
    assert not plainly_safe("bobs-mbp", watch_words())
    text = "built on bobs-mbp (BOBS-MBP.local), bobs-mbp.corp.acme.net:22"
    assert scrub_text(text) == "built on <host> (<host>), <host>:22"


def test_the_kernels_node_name_is_a_machine_name() -> None:
    node = os.uname().nodename.lower()
    if len(node) >= 3 and node not in ("localhost",):
        assert node in machine_names()
        assert scrub_text(f"on {node} now") == "on <host> now"


@pytest.mark.parametrize("name", ["localhost", "ubuntu", "vm"])
def test_generic_machine_names_are_no_personal_data(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv("HOSTNAME", name)
    assert name not in machine_names()


# -- paths written by repr() --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "/srv/data/caf\udce9/notes.txt",
        "/srv/a\x1bb/secret.txt",
        "/srv/line\nname.txt",
        "/srv/da\tta/x",
        "/srv/x/caf\xe9.txt",
    ],
)
def test_paths_written_by_repr_lose_their_file_name(raw: str) -> None:
    assert apply_builtin_rules(f"open {raw!r} failed") == "open '<path>' failed"


def test_relative_directories_with_a_trailing_slash_become_path() -> None:
    assert apply_builtin_rules("cloned into org/project-name/ ok") == "cloned into <path> ok"
    assert apply_builtin_rules("and/or n/a openai/custom") == "and/or n/a openai/custom"


# -- model names ------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(
        ["gpt-4o", "claude-3-5-sonnet", "llama-3.1-8b", "gemini-1.5-pro", "mistral-large"]
    ),
    st.integers(10**8, 10**14),
)
def test_model_names_with_a_long_numeric_suffix_are_custom(family: str, suffix: int) -> None:
    assert public_model_name(f"{family}-{suffix}") == "custom"


@pytest.mark.parametrize(
    "model",
    ["gpt-4o-2024-08-06", "claude-3-5-sonnet-20241022", "gpt-3.5-turbo-0125", "gemini-exp-1206",
     "mistral-large-2407", "qwen3-235b-a22b", "Mixtral-8x7B-Instruct-v0.1", "o1-2024-12-17"],
)  # fmt: skip
def test_public_model_names_with_dates_and_versions_stay(model: str) -> None:
    assert public_model_name(model) == model
    assert any(model.lower().startswith(family) for family in FAMILIES)


# -- numbers ----------------------------------------------------------------------------------------


def test_luhn_check_accepts_known_card_numbers_and_rejects_a_changed_digit() -> None:
    assert luhn_valid("4111111111111111") and luhn_valid("378282246310005")
    assert not luhn_valid("4111111111111112")


@pytest.mark.parametrize(
    "text",
    ["build 20241022 ok", "id 4111111111111112", "at 12:30:45", "port 6379", "uuid 550e8400-e29b-41d4-a716-446655440000",
     "v2024.11.23", "took 1234567 ms"],
)  # fmt: skip
def test_numbers_that_name_no_one_survive(text: str) -> None:
    assert apply_builtin_rules(text) == text


# -- endpoint credentials ---------------------------------------------------------------------------


def test_endpoint_credentials_are_redacted_and_the_endpoint_kept() -> None:
    url = "https://bob:hunter2@telemetry.example.com:4318/v1?api_key=abc123&region=eu#frag"
    assert (
        redact_endpoint(url)
        == "https://<secret>@telemetry.example.com:4318/v1?api_key=<secret>&region=<secret>#<secret>"
    )
    assert redact_endpoint("http://127.0.0.1:4318") == "http://127.0.0.1:4318"
    assert redact_endpoint("not a url with pw") == "<secret>"
    shown = redact_export(
        {
            "endpoint": url,
            "headers": {"authorization": "Bearer x"},
            "signal_endpoints": {"traces": url},
        }
    )
    assert (
        "hunter2" not in repr(shown)
        and "abc123" not in repr(shown)
        and "Bearer x" not in repr(shown)
    )


def test_random_query_values_never_survive_endpoint_redaction() -> None:
    rnd = random.Random(11)
    for _ in range(200):
        value = "".join(rnd.choice("abcdefXYZ0123456789-_.~%") for _ in range(rnd.randint(1, 20)))
        user = "".join(rnd.choice("abcdef0123") for _ in range(rnd.randint(1, 8)))
        shown = redact_endpoint(f"https://{user}:{value}@h.example.com/p?k={value}&t={value}")
        assert value not in shown.replace("h.example.com/p", "")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("paid with 4623 0123 8360 773 1.2.3", "paid with <number> 1.2.3"),
        ("card 3782 822463 10005 7 days", "card <number> 7 days"),
        ("+49 30 1234567 123-45-6789", "<number> <number>"),
        # A card window must not take the first group of a dashed number after it (or before it).
        ("4831 0744 3503 8908 942-312-2387", "<number> <number>"),
        ("555-123-4567 4111 1111 1111 1111", "<number> <number>"),
        ("4111 1111 1111 1111 123-45-6789", "<number> <number>"),
        ("call (555) 123-4567 or 555.123.4567", "call <number> or <number>"),
        ("mac 00-1A-2B-3C-4D-5E: down", "mac <mac>: down"),
    ],
)
def test_numbers_next_to_other_numbers_are_each_found(text: str, expected: str) -> None:
    assert apply_builtin_rules(text) == expected
