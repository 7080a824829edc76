"""Property tests: values planted in text, attributes and exception messages never survive scrubbing,
and the regex-free fast path never lets through anything the full chain would change."""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optel.privacy import Scrubber, describe_exception, scrub_attributes, scrub_text
from optel.privacy.fastpath import plainly_safe
from optel.privacy.identity import current_identity
from optel.privacy.rules import apply_builtin_rules
from privacy_strategies import (
    SECRET,
    WORDS,
    assert_scrubbed,
    injected_texts,
    key_value_secrets,
    login_env,
    logins,
    secret_tokens,
)

# The HOME fixture is per test, not per example; every example reads the same HOME, which is what
# the strategies expect.
PROPERTY = settings(
    max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@st.composite
def login_and_text(draw: st.DrawFn) -> tuple[str, str, list]:
    login = draw(logins())
    text, planted = draw(injected_texts(login=login))
    return login, text, planted


@pytest.mark.slow
@PROPERTY
@given(login_and_text())
def test_no_planted_value_survives_scrub_text(sample: tuple[str, str, list]) -> None:
    login, text, planted = sample
    with login_env(login):
        assert_scrubbed(scrub_text(text), planted)


@pytest.mark.slow
@PROPERTY
@given(login_and_text(), login_and_text(), secret_tokens(), key_value_secrets())
def test_no_planted_value_survives_scrub_attributes(first, second, token, pair) -> None:
    login, text, planted = first
    _, other_text, other_planted = second
    attributes = {
        "command.name": text,
        "app.args": [other_text, "init", 3],
        "gen_ai.usage.input_tokens": 120,
        "db.password": token.text,
        "http.request.header.authorization": "Bearer " + token.text,
        "cli.note": pair.text,
    }
    with login_env(login):
        scrubbed = scrub_attributes(attributes)
    assert_scrubbed(scrubbed["command.name"], planted)
    # The second text was planted under the first text's login; its own login mentions are not
    # this login's, so only its other values are checked.
    assert_scrubbed(
        scrubbed["app.args"][0], [p for p in other_planted if "<user>" not in p.markers]
    )
    assert scrubbed["app.args"][1:] == ["init", 3]
    assert scrubbed["gen_ai.usage.input_tokens"] == 120
    assert scrubbed["db.password"] == SECRET
    assert scrubbed["http.request.header.authorization"] == SECRET
    assert_scrubbed(scrubbed["cli.note"], [pair])


def _fail_with(kind: type[BaseException], text: str) -> None:
    raise kind(text)


@pytest.mark.slow
@PROPERTY
@given(login_and_text(), st.sampled_from([ValueError, RuntimeError, KeyError, OSError]))
def test_no_planted_value_survives_describe_exception(sample, kind: type[BaseException]) -> None:
    login, text, planted = sample
    try:
        _fail_with(kind, text)
    except BaseException as exc:
        with login_env(login):
            described = describe_exception(exc, __name__, max_message=100_000)
    assert_scrubbed(described["exception.message"], planted)
    frames = described["exception.stacktrace"].splitlines()
    assert [line.rsplit(":", 1)[0] for line in frames] == [
        f"{__name__}:test_no_planted_value_survives_describe_exception",
        f"{__name__}:_fail_with",
    ]


_SAFE_ALPHABET = string.ascii_letters + string.digits + "._:- "
# Pieces of what the rules look for, so that generated strings come near every rule's edge.
_FRAGMENTS = (
    "sk-",
    "sk_live_",
    "ghp_",
    "github_pat_",
    "xoxb-",
    "AKIA",
    "AIza",
    "eyJ",
    "www.",
    "hf_",
    ":",
    "::",
    ".",
    "-",
    "_",
    " ",
    "token",
    "Auth",
    "bearer ",
    "password",
    "key",
    "10",
    "1.2.3",
    "255",
    "fe80",
    "a" * 16,
    "Ab3" * 4,
    "0123456789abcdef",
    "root",
    "deploy",
    "gpt-4o",
    "v2",
    # and whole minimal positives, which the fast path must send to the chain wherever they stand
    "sk-" + "a" * 16,
    "ghp_" + "b" * 16,
    "xoxb-" + "c" * 8,
    "AKIA" + "D" * 12,
    "AIza" + "e" * 20,
    "hf_" + "f" * 20,
    "glpat-" + "g" * 16,
    "token: x1",
    "Bearer abc12345",
    "1.2.3.4",
    "fe80::1",
    "www.x",
    "f" * 32,
    "Zm9vYmFyYmF6cXV4" * 2,
)


@settings(max_examples=500, deadline=None)
@given(
    st.text(alphabet=_SAFE_ALPHABET, max_size=80)
    | st.lists(st.sampled_from(WORDS), max_size=5).map(" ".join)
    | st.sampled_from(_FRAGMENTS)
    | st.lists(st.sampled_from(_FRAGMENTS), max_size=12).map("".join)
    | st.lists(st.sampled_from(_FRAGMENTS), max_size=6).map(" ".join)
)
def test_fast_path_accepts_only_what_the_chain_leaves_unchanged(text: str) -> None:
    if plainly_safe(text, current_identity()[1]):
        assert apply_builtin_rules(text) == text


SAFE_CORPUS = [
    "",
    "init",
    "run --fast",
    "deploy",
    "ok",
    "error",
    "success",
    "1.2.3",
    "v2.10.0rc1",
    "0.4.0.dev3",
    "a1b2c3d",
    "gpt-4o-mini",
    "claude-3-5-sonnet-20241022",
    "llama-3.1-70b-instruct",
    "gemini-1.5-pro",
    "llama3:8b",
    "qwen2.5-coder:7b",
    "1.5s",
    "250ms",
    "mytool.commands.Deploy",
    "builtins.ValueError",
    "ValueError",
    "openai",
    "anthropic",
    "chat",
    "input",
    "output",
    "optel.cli.command.invocations",
    "gen_ai.client.token.usage",
    "Linux",
    "x86_64",
    "CPython",
    "3.11.7",
    "darwin",
    "arm64",
    "ubuntu 22.04",
    "custom",
    "openai/custom",
    "550e8400-e29b-41d4-a716-446655440000",
]


def test_fast_path_and_full_chain_agree_on_safe_corpus() -> None:
    logins_now = current_identity()[1]
    for text in SAFE_CORPUS:
        assert apply_builtin_rules(text) == text, text
        assert scrub_text(text) == text
        if plainly_safe(text, logins_now):
            assert Scrubber().scrub_text(text) is text


def test_fast_path_takes_most_of_a_typical_corpus() -> None:
    logins_now = current_identity()[1]
    taken = [t for t in SAFE_CORPUS if plainly_safe(t, logins_now)]
    assert len(taken) >= len(SAFE_CORPUS) * 3 // 4, sorted(set(SAFE_CORPUS) - set(taken))
