"""Scrubber gaps an audit found: each shape that leaked (or was scrubbed for nothing), pinned with
the neighbours that must keep behaving as before."""

from __future__ import annotations

import base64
import random
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optel.privacy import Scrubber, is_sensitive_key, scrub_attributes
from optel.privacy.credentials import looks_like_camel_case, scrub_long_runs
from optel.privacy.fastpath import plainly_safe
from optel.privacy.identity import current_identity
from optel.privacy.rules import apply_builtin_rules
from optel.record.dictionary import ATTRIBUTES, METRICS


def _as(monkeypatch: pytest.MonkeyPatch, home: str, login: str) -> None:
    monkeypatch.setenv("HOME", home)
    for name in ("USER", "LOGNAME", "USERNAME"):
        monkeypatch.setenv(name, login)


# -- 1. a URL whose user is the home directory's name ----------------------------------------------


@pytest.mark.parametrize(
    ("home", "login", "text"),
    [
        ("/root", "root", "redis://root:pw123@cache:6379/0"),
        ("/app", "app", "postgres://app:hunter2@db.internal:5432/app"),
        ("/root", "root", "redis:\\/\\/root:pw123@cache:6379\\/0"),
        ("/home/alice", "alice", "file:///home/alice/taxes.pdf"),
        ("/Users/alice smith", "alice", "file:///Users/alice smith/notes.txt"),
    ],
)
def test_url_whose_user_is_the_home_name_is_one_url_marker(
    monkeypatch: pytest.MonkeyPatch, home: str, login: str, text: str
) -> None:
    _as(monkeypatch, home, login)
    assert apply_builtin_rules(text) == "<url>"


def test_home_is_still_replaced_after_a_single_colon_and_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _as(monkeypatch, "/root", "root")
    assert apply_builtin_rules("file:/root/x and /root/.ssh/id_rsa") == "file:<path> and <path>"


# -- 2. non-ASCII e-mail addresses -----------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    ["jürgen.müller@firma.de", "josé@example.com", "bob@münchen.de", "zoë@xn--mnchen-3ya.de"],
)
def test_non_ascii_emails_become_email_marker(address: str) -> None:
    assert apply_builtin_rules(f"contact {address}.") == "contact <email>."


@pytest.mark.parametrize("text", ["@décorateur", "paquet@1.2.3", "josé @ example", "müller@host"])
def test_non_ascii_at_signs_that_are_not_emails_survive(text: str) -> None:
    assert apply_builtin_rules(text) == text


# -- 3. a path right after a colon -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("file:/home/bob/taxes.pdf", "file:<path>"),
        ("PYTHONPATH=/opt/x:/home/bob/src", "PYTHONPATH=<path>:<path>"),
        ("config:/home/bob/.config/x", "config:<path>"),
        ("cp:~/Documents/x", "cp:<path>"),
        ("nfs host:/export/data", "nfs host:<path>"),
    ],
)
def test_path_right_after_a_colon_becomes_path(text: str, expected: str) -> None:
    assert apply_builtin_rules(text) == expected


def test_file_name_in_the_home_after_a_colon_does_not_leak(monkeypatch: pytest.MonkeyPatch) -> None:
    _as(monkeypatch, "/home/bob", "bob")
    assert apply_builtin_rules("file:/home/bob/secret-plans.txt") == "file:<path>"


@pytest.mark.parametrize(
    "text",
    [
        "12:30",
        "at 12:30:45 ok",
        "ratio 3:2",
        "a:b",
        "std::vector",
        "mytool.cli:main:42",
        "key:value pairs",
    ],
)
def test_colons_without_a_path_survive(text: str) -> None:
    assert apply_builtin_rules(text) == text


@pytest.mark.parametrize("text", ["C:\\Users\\bob\\x", "c:/data/x", "open D:\\\\repo\\\\x now"])
def test_drive_letters_stay_one_path_marker(text: str) -> None:
    assert apply_builtin_rules(text).replace("open ", "").replace(" now", "") == "<path>"


# -- 4. spaces in a path's last segment ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("saved to ~/Bob Smith CV.pdf", "saved to <path>"),
        ("saved to ~/Bob Smith CV.pdf.", "saved to <path>."),
        ("C:\\Users\\Bob Smith\\Documents\\report final.docx", "<path>"),
        ("/home/bob/My Documents/Tax Return 2024.pdf", "<path>"),
        ("see reports/2024/Tax Return.pdf now", "see <path> now"),
        ("\\\\fileserver\\share\\Q3 board deck.pptx", "<path>"),
    ],
)
def test_last_segment_with_spaces_up_to_an_extension_is_replaced_whole(
    text: str, expected: str
) -> None:
    assert apply_builtin_rules(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/tmp/x failed to open", "<path> failed to open"),
        ("see /tmp/a.log and then retry", "see <path> and then retry"),
        (
            "cannot write /var/lib/app/state.db for ops@example.com",
            "cannot write <path> for <email>",
        ),
        ("/tmp/x then alice.smith left", "<path> then alice.smith left"),
        ("wrote /tmp/out.json in 3.5s", "wrote <path> in 3.5s"),
    ],
)
def test_prose_after_a_path_is_not_swallowed(text: str, expected: str) -> None:
    assert apply_builtin_rules(text) == expected


# -- 5. sensitive keys, even when allow-listed -----------------------------------------------------

ALLOW_LISTED_CREDENTIALS = [
    "access_token",
    "refresh_token",
    "api_token",
    "id_token",
    "session_token",
    "sessionToken",
    "auth_token",
    "github.token",
    "session",
    "x-auth",
    "token",
    "password",
    "secret",
    "api_key",
    "auth",
    "cookie",
    "credential",
    "private_key",
    "myapp.session.owner",
]


@pytest.mark.parametrize("key", ALLOW_LISTED_CREDENTIALS)
def test_allow_listed_credential_keys_are_still_sensitive(key: str) -> None:
    assert is_sensitive_key(key, {key})
    assert Scrubber(attributes=[key]).scrub_value(key, "team-a") == "<secret>"


@pytest.mark.parametrize(
    "key", ["myapp.session.kind", "auth.method", "myapp.token.count", "cache.key"]
)
def test_keys_where_a_word_only_describes_stay_recorded_when_allow_listed(key: str) -> None:
    assert Scrubber(attributes=[key]).scrub_value(key, "team-a") == "team-a"


def test_no_attribute_of_the_data_dictionary_is_sensitive() -> None:
    declared = set(ATTRIBUTES) | set(METRICS)
    for metric in METRICS.values():
        declared.update(metric.attributes)
    assert {
        "gen_ai.usage.input_tokens",
        "gen_ai.token.type",
        "optel.cli.session.duration",
        "optel.install.id",
    } <= declared
    assert sorted(key for key in declared if is_sensitive_key(key)) == []
    scrubbed = scrub_attributes(dict.fromkeys(declared, "value"))
    assert set(scrubbed.values()) == {"value"}


def test_the_explicit_switch_still_turns_the_key_rule_off() -> None:
    assert Scrubber(disable_builtin_rules=True).scrub_value("access_token", "abc") == "abc"


# -- 6. key/value words and JSON-escaped URLs ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PGPASSWORD=hunter2", "PGPASSWORD=<secret>"),
        ("DB_PASS=hunter2", "DB_PASS=<secret>"),
        ("pass=hunter2", "pass=<secret>"),
        ("export MYSQL_ROOT_PASSWORD=hunter2 now", "export MYSQL_ROOT_PASSWORD=<secret> now"),
        ("adminpassword: hunter2", "adminpassword: <secret>"),
    ],
)
def test_run_together_and_short_password_keys_lose_their_value(text: str, expected: str) -> None:
    assert apply_builtin_rules(text) == expected


@pytest.mark.parametrize(
    "text", ["bypass=true", "compass=north", "pass.count=3", "passes=3", "password"]
)
def test_words_that_merely_hold_pass_keep_their_value(text: str) -> None:
    assert apply_builtin_rules(text) == text


def test_json_escaped_url_becomes_url_marker() -> None:
    text = '{"url": "https:\\/\\/internal.acme.corp\\/api\\/v1\\/customers\\/4711"}'
    assert apply_builtin_rules(text) == '{"url": "<url>"}'


def test_json_escaped_path_becomes_path_marker() -> None:
    assert apply_builtin_rules('{"cwd": "\\/home\\/bob\\/src"}') == '{"cwd": "<path>"}'


@pytest.mark.parametrize("text", ['{"ratio": "1\\/2"}', '{"a": "see:\\/"}', '{"sep": "\\/"}'])
def test_json_escaped_slashes_that_are_not_urls_or_paths_survive(text: str) -> None:
    assert apply_builtin_rules(text) == text


# -- 7. forward-slash UNC, scp-style remotes, short Basic credentials ------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mount //nas.acme.local/bob failed", "mount <path> failed"),
        ("//fileserver/share", "<path>"),
        ("git@gitlab.acme.internal:team/secret-project.git", "<url>"),
        ("push to deploy@10.0.0.5:/srv/app", "push to <url>"),
        ("Basic dXNlcjpwYXNz", "Basic <secret>"),
        ("retry with Basic dXNlcjpwYXNz now", "retry with Basic <secret> now"),
    ],
)
def test_unc_scp_remotes_and_short_basic_credentials_are_replaced(text: str, expected: str) -> None:
    assert apply_builtin_rules(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a // b", "a // b"),
        ("// TODO", "// TODO"),
        ("contact bob@example.com: he said", "contact <email>: he said"),
        ("name@host", "name@host"),
        ("Basic authentication", "Basic authentication"),
        ("Token Limits apply", "Token Limits apply"),
        ("Digest AUTHENTICATION", "Digest AUTHENTICATION"),
    ],
)
def test_slashes_at_signs_and_scheme_words_in_prose_survive(text: str, expected: str) -> None:
    assert apply_builtin_rules(text) == expected


# -- 8. CamelCase identifiers are names, not secrets -----------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "DataIngestionPipelineOrchestrator.run",
        "ProvisionedThroughputExceededException",
        "UserOnboardingCompletedSuccessfully",
        "getUserAccountPreferencesForDisplay",
        "S3BucketPolicyReplicationConfiguration",
        "AWSLambdaInvocationTimeoutException",
        "XMLHttpRequestEventTargetPrototypeX",
        "DataIngestionPipelineOrchestrator_v2",
        "test_UserOnboardingCompletedSuccessfully",
    ],
)
def test_long_camel_case_identifiers_survive(text: str) -> None:
    assert apply_builtin_rules(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
        "UikKfaOddJvpotoudJoobjkzVxtbyHjOzxTWeqtW",
        "notMGAPWyfOetydzwgwayQHaeqhlbYmoRTad",
        "WgePjuxzmJifunnoNwidxFOqdgWTigxv",
        "iilhmIfvJerlbgi7JRtYajdrUln_LO9o0Q",
    ],
)
def test_random_runs_that_happen_to_hold_words_are_still_secrets(text: str) -> None:
    assert scrub_long_runs(text) == "<secret>"


def test_random_base64_almost_never_reads_as_camel_case() -> None:
    rnd = random.Random(20240611)
    runs = [base64.b64encode(rnd.randbytes(rnd.randint(24, 64))).decode() for _ in range(5000)]
    runs += [
        base64.urlsafe_b64encode(rnd.randbytes(rnd.randint(24, 64))).decode().rstrip("=")
        for _ in range(5000)
    ]
    runs += [
        "".join(rnd.choice(string.ascii_letters + string.digits) for _ in range(40))
        for _ in range(5000)
    ]
    assert [run for run in runs if looks_like_camel_case(run)] == []


# -- 9. shared system accounts are not the user's name ---------------------------------------------


@pytest.mark.parametrize(
    "login", ["root", "app", "node", "ubuntu", "runner", "admin", "user", "www-data", "nobody"]
)
def test_shared_accounts_are_not_treated_as_the_login(
    monkeypatch: pytest.MonkeyPatch, login: str
) -> None:
    _as(monkeypatch, "/home/someone", login)
    assert login not in current_identity()[1]
    assert apply_builtin_rules(f"user {login} ran find_{login}") == f"user {login} ran find_{login}"


def test_a_shared_accounts_home_is_still_a_path(monkeypatch: pytest.MonkeyPatch) -> None:
    _as(monkeypatch, "/root", "root")
    assert apply_builtin_rules("user root wrote /root/notes.txt") == "user root wrote <path>"


def test_a_personal_login_is_still_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    _as(monkeypatch, "/home/alice", "alice")
    assert apply_builtin_rules("user alice ran find_alice") == "user <user> ran find_<user>"


# -- the fast path, near the new shapes ------------------------------------------------------------

# Pieces of the shapes above, so that generated strings come near each new edge; the fast path
# must send to the chain whatever the chain would change.
_FRAGMENTS = (
    "root",
    "app",
    "node",
    "alice",
    "Alice",
    "user ",
    "find_",
    "pass",
    "PASS",
    "PGPASSWORD",
    "DB_",
    "=",
    ":",
    " ",
    "_",
    "-",
    ".",
    "Basic ",
    "basic ",
    "Token ",
    "dXNlcjpwYXNz",
    "Digest ",
    "12:30",
    "3:2",
    "a:b",
    "file:",
    "config:",
    "//",
    "/",
    "\\/",
    "~",
    "@",
    "git@",
    "host:",
    "team/x.git",
    "jürgen",
    "münchen.de",
    "josé@",
    "CV.pdf",
    " Smith",
    "DataIngestionPipelineOrchestrator",
    "ProvisionedThroughputExceededException",
    "UikKfaOddJvpotoudJoobjkzVxtbyHjOzxTWeqtW",
    "v2",
    "access",
    "Token",
    "session",
    "auth",
    "secret",
    "https:",
    "www.",
    "1.2.3.4",
)


@pytest.mark.parametrize("login", ["root", "alice"])
@settings(max_examples=300, deadline=None)
@given(
    text=st.lists(st.sampled_from(_FRAGMENTS), max_size=10).map("".join)
    | st.lists(st.sampled_from(_FRAGMENTS), max_size=6).map(" ".join)
)
def test_fast_path_accepts_only_what_the_chain_leaves_unchanged_near_the_new_shapes(
    login: str, text: str
) -> None:
    with pytest.MonkeyPatch.context() as patch:
        _as(patch, "/home/" + login, login)
        if plainly_safe(text, current_identity()[1]):
            assert apply_builtin_rules(text) == text


def test_fast_path_sends_a_short_github_pat_to_the_chain() -> None:
    # "gh" stands for ghp_/gho_/... but is no substring of "github_pat_".
    text = "github_pat_" + "0" * 16
    assert not plainly_safe(text, ())
    assert apply_builtin_rules(text) == "<secret>"


def test_fast_path_takes_words_that_name_a_shared_account(monkeypatch: pytest.MonkeyPatch) -> None:
    _as(monkeypatch, "/root", "root")
    for text in ("find_root", "user root", "root"):
        assert plainly_safe(text, current_identity()[1]), text
        assert apply_builtin_rules(text) == text
