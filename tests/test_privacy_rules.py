"""Each built-in scrubbing rule alone: what it replaces, and what it must leave untouched."""

from __future__ import annotations

import pytest

from optel.privacy import credentials, locations, rules
from optel.privacy.rules import apply_builtin_rules

# Strings every rule, and the chain, must leave exactly as they are.
ORDINARY = [
    "hello world",
    "the deploy command failed after 3 retries",
    "1.2.3",
    "v2.10.0rc1",
    "0.4.0.dev3",
    "a1b2c3d",
    "gpt-4o-mini",
    "claude-3-5-sonnet-20241022",
    "llama-3.1-70b-instruct",
    "meta-llama/Meta-Llama-3-8B-Instruct",
    "openai/custom",
    "1.5s",
    "250ms",
    "init",
    "run --fast",
    "mytool.commands.Deploy",
    "builtins.ValueError",
    "mytool.cli:main:42\nmytool.commands:deploy:7",
    "12:30:45",
    "and/or n/a 11/23/2026",
    "input_tokens=120 output_tokens=30",
    "gen_ai.token.type: input",
    "optel.cli.session.duration=1.5",
    "550e8400-e29b-41d4-a716-446655440000",
    "some_long_snake_case_function_name_v2",
    "DeepSeek-R1-Distill-Qwen-32B-Instruct-GGUF",
    "Token limits apply; Basic usage only",
    "std::vector and Foo::Bar",
    "a / b",
    "~5s",
]


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_text_survives_the_whole_chain(text: str) -> None:
    assert apply_builtin_rules(text) == text


@pytest.mark.parametrize("rule", rules.BUILTIN_RULES)
@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_text_survives_each_rule(rule, text: str) -> None:
    assert rule(text) == text


# -- home ------------------------------------------------------------------------------------------


def test_home_directory_becomes_tilde_then_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/alice")
    assert locations.scrub_home("open /home/alice/x failed") == "open ~/x failed"
    assert apply_builtin_rules("open /home/alice/x failed") == "open <path> failed"


def test_home_with_spaces_is_replaced_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/Users/alice smith")
    assert (
        apply_builtin_rules("cannot read /Users/alice smith/notes.txt now")
        == "cannot read <path> now"
    )


def test_windows_home_is_replaced_in_any_case_and_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USERPROFILE", "C:\\Users\\Alice")
    assert locations.scrub_home("c:\\users\\alice\\x") == "~\\x"
    assert locations.scrub_home("'C:\\\\Users\\\\Alice\\\\x'") == "'~\\\\x'"
    assert locations.scrub_home("C:/Users/Alice/x") == "~/x"


def test_home_is_not_replaced_inside_a_longer_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/al")
    assert locations.scrub_home("/home/alex/x") == "/home/alex/x"


def test_root_as_home_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/")
    assert locations.scrub_home("/ and /etc") == "/ and /etc"


# -- URLs ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "https://example.com",
        "http://alice:pw@10.0.0.1:8080/a/b?token=x#frag",
        "ws://localhost:3000/socket",
        "wss://chat.example.org/x",
        "file:///home/bob/report.pdf",
        "postgres://user:pass@db.internal/prod",
        "www.example.com/page",
    ],
)
def test_urls_become_url_marker_with_nothing_kept(text: str) -> None:
    assert locations.scrub_urls(text) == "<url>"


def test_url_keeps_closing_punctuation_outside_the_marker() -> None:
    assert locations.scrub_urls("see (https://example.com/a).") == "see (<url>)."


@pytest.mark.parametrize("text", ["mytool.commands.Deploy", "a://", "see www", "x:/y"])
def test_not_urls_survive(text: str) -> None:
    assert locations.scrub_urls(text) == text


# -- paths -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/var/lib/app/db.sqlite", "<path>"),
        ("open '/etc/passwd' failed", "open '<path>' failed"),
        ("at /srv/app/main.py:12", "at <path>:12"),
        ("C:\\Users\\bob\\file.txt", "<path>"),
        ("c:/data/x", "<path>"),
        ("'C:\\\\Users\\\\bob\\\\x'", "'<path>'"),
        ("C:\\Program Files (x86)\\Acme\\x.exe was missing", "<path> was missing"),
        ("\\\\fileserver\\share\\dir", "<path>"),
        ("~/projects/x", "<path>"),
        ("~bob/x", "<path>"),
        ("in ~ now", "in <path> now"),
        ("./build/out", "<path>"),
        ("../x", "<path>"),
        ("src/optel/cli.py", "<path>"),
        ("docs/x", "docs/x"),
        ("a/b/c", "<path>"),
        ("/Users/Bob Smith/Documents/x.txt ok", "<path> ok"),
        ("see /tmp/a.log and then retry", "see <path> and then retry"),
    ],
)
def test_paths_become_path_marker(text: str, expected: str) -> None:
    assert locations.scrub_paths(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "and/or",
        "n/a",
        "11/23/2026",
        "a / b",
        "1/2",
        "km/h",
        "openai/custom",
        "qwen/Qwen2.5-7B",
        "/",
    ],
)
def test_things_with_slashes_that_are_not_paths_survive(text: str) -> None:
    assert locations.scrub_paths(text) == text


# -- e-mail ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "alice@example.com",
        "first.last+tag@mail.co.uk",
        "git@github.com",
        "bob@10.0.0.1",
        "root@localhost",
    ],
)
def test_emails_become_email_marker(text: str) -> None:
    assert locations.scrub_emails(f"<{text}>") == "<<email>>"


@pytest.mark.parametrize("text", ["@decorator", "pkg@1.2.3", "a @ b", "name@host"])
def test_at_signs_that_are_not_emails_survive(text: str) -> None:
    assert locations.scrub_emails(text) == text


# -- IP addresses ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "10.0.0.1",
        "192.168.1.254",
        "0.0.0.0",
        "255.255.255.255",
        "010.001.000.001",
        "::1",
        "::",
        "fe80::1%eth0",
        "2001:db8::8a2e:370:7334",
        "2001:0db8:0000:0000:0000:ff00:0042:8329",
        "::ffff:192.0.2.1",
        "1::",
    ],
)
def test_ip_addresses_become_ip_marker(text: str) -> None:
    assert locations.scrub_ips(f"from {text}: refused") == "from <ip>: refused"


def test_ip_with_port_and_brackets_keeps_the_port() -> None:
    assert locations.scrub_ips("[::1]:8080 and 10.1.2.3:443") == "[<ip>]:8080 and <ip>:443"


@pytest.mark.parametrize(
    "text",
    [
        "1.2.3",
        "1.2.3.4.5",
        "v1.2.3.4",
        "256.1.1.1",
        "12:30:45",
        "aa:bb:cc",
        "mod:func:12",
        "std::vector",
    ],
)
def test_versions_times_and_names_are_not_ips(text: str) -> None:
    assert locations.scrub_ips(text) == text


def test_is_ipv6_rejects_malformed_addresses() -> None:
    for bad in ("1:2:3", "1::2::3", ":1:2:3:4:5:6:7", "12345::1", "1:2:3:4:5:6:7:8:9", "g::1"):
        assert not locations.is_ipv6(bad), bad
    assert locations.is_ipv6("1:2:3:4:5:6:1.2.3.4")


# -- secrets ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        "sk-abcdefghijklmnopqrstuvwxyz123456",
        "sk-proj-abc123DEF456ghi789JKL012mno345",
        "sk-ant-api03-abcdefghijklmnopqrstuvwxyz-0123456789AA",
        "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "gho_abcdefghijklmnopqrstuvwxyz0123456789",
        "ghu_abcdefghijklmnopqrstuvwxyz0123456789",
        "ghs_abcdefghijklmnopqrstuvwxyz0123456789",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
        "xoxb-123456789012-123456789012-abcdefghijklmnopqrstuvwx",
        "xoxp-1234-5678-abcdefgh",
        "AKIAIOSFODNN7EXAMPLE",
        "ASIAY34FZKBOKMUTVV7A",
        "AIzaSyA-abcdefghijklmnopqrstuvwxyz01234",
        "sk_live_abcdefghijklmnop1234",
        "glpat-abcdefghij0123456789",
        "hf_abcdefghijklmnopqrstuvwxyz012345",
    ],
)
def test_vendor_keys_become_secret(token: str) -> None:
    assert credentials.scrub_token_prefixes(f"key {token}, then") == "key <secret>, then"


@pytest.mark.parametrize(
    "text",
    ["sk-learn", "task-runner-with-a-long-name", "risk-assessment-for-q3", "AKIA", "ghp_short"],
)
def test_words_that_start_like_keys_survive(text: str) -> None:
    assert credentials.scrub_token_prefixes(text) == text


def test_jwt_becomes_secret() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
    assert credentials.scrub_jwts(f"token {jwt}.") == "token <secret>."
    assert credentials.scrub_jwts("eyJ alone") == "eyJ alone"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bearer abc.def.ghi", "Bearer <secret>"),
        ("bearer ZXlKaGJHY2lPaUpJVXpJMU5pSjk", "bearer <secret>"),
        ("Basic dXNlcjpwYXNzd29yZA==", "Basic <secret>"),
        ("Token 0123456789abcdef", "Token <secret>"),
        ("Basic authentication", "Basic authentication"),
        ("Token limits", "Token limits"),
    ],
)
def test_auth_schemes(text: str, expected: str) -> None:
    assert credentials.scrub_auth_schemes(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer abc\nnext", "Authorization: <secret>\nnext"),
        ("cookie: sid=1; theme=dark", "cookie: <secret>"),
        ("Set-Cookie: a=b", "Set-Cookie: <secret>"),
        ("X-Api-Key: abc", "X-Api-Key: <secret>"),
        ("the cookie jar", "the cookie jar"),
    ],
)
def test_auth_headers(text: str, expected: str) -> None:
    assert credentials.scrub_auth_headers(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("password=hunter2", "password=<secret>"),
        ("db_password = hunter2 next", "db_password = <secret> next"),
        ("token: abc123", "token: <secret>"),
        ('{"api_key": "abc123", "n": 1}', '{"api_key": "<secret>", "n": 1}'),
        ("apiKey='abc'", "apiKey='<secret>'"),
        ("--password hunter2", "--password <secret>"),
        ("--token=abc", "--token=<secret>"),
        # The whole value, as a shell reads the word: "&y=1" may be the rest of the secret.
        ("auth_token=x&y=1", "auth_token=<secret>"),
        ("client_secret: s3cr3t", "client_secret: <secret>"),
        ("x: password=c", "x: password=<secret>"),
        ("'a\\npassword=abc'", "'a\\npassword=<secret>'"),
        ("Authorization => Bearer abc", "Authorization => Bearer <secret>"),
    ],
)
def test_sensitive_key_values_lose_their_value(text: str, expected: str) -> None:
    assert credentials.scrub_key_values(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "input_tokens=120",
        "max_tokens: 4096",
        "gen_ai.token.type: output",
        "optel.cli.session.duration=2",
        "author: Bob",
        "session.id=abc",
        "password",
        "token limit reached",
        "keyboard=us",
    ],
)
def test_harmless_key_values_survive(text: str) -> None:
    assert credentials.scrub_key_values(text) == text


def test_private_key_block_becomes_secret() -> None:
    block = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nabc\n-----END RSA PRIVATE KEY-----"
    assert credentials.scrub_private_keys(f"key:\n{block}\nend") == "key:\n<secret>\nend"
    assert (
        credentials.scrub_private_keys("-----BEGIN PRIVATE KEY-----\nMIIE truncated") == "<secret>"
    )


@pytest.mark.parametrize(
    "text",
    [
        "3f786850e387550fdab836ed7e6dc881de23001b",
        "D41D8CD98F00B204E9800998ECF8427E",
        "key-0123456789abcdef0123456789abcdef",
    ],
)
def test_long_hex_becomes_secret(text: str) -> None:
    assert "<secret>" in credentials.scrub_long_hex(text)
    assert "0123456789abcdef0123" not in credentials.scrub_long_hex(text)


@pytest.mark.parametrize(
    "text",
    [
        "a1b2c3d",
        "deadbeef",
        "0123456789abcdef0123456789abcde",
        "550e8400-e29b-41d4-a716-446655440000",
    ],
)
def test_short_hex_survives(text: str) -> None:
    assert credentials.scrub_long_hex(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "aGVsbG8gd29ybGQgdGhpcyBpcyBhIHRlc3QgMTIzNA==",
        "Zm9v+YmFy/YmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5",
        "wKq3_Yb-2Jz9LmN0pQrStUvWxYz0123456789AbCd",
        "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
    ],
)
def test_long_random_runs_become_secret(text: str) -> None:
    assert credentials.scrub_long_runs(f"({text})") == "(<secret>)"


@pytest.mark.parametrize(
    "text",
    [
        "meta-llama/Meta-Llama-3-8B-Instruct-with-extra-words",
        "DeepSeek-R1-Distill-Qwen-32B-Instruct-GGUF",
        "some_long_snake_case_function_name_v2",
        "abcdefghijklmnopqrstuvwxyzabcdefghij",
        "short-random-Xy7",
    ],
)
def test_long_names_survive_the_random_run_rule(text: str) -> None:
    assert credentials.scrub_long_runs(text) == text


# -- login name ------------------------------------------------------------------------------------


def test_login_becomes_user_marker_as_a_word_in_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USER", "alice")
    assert rules.scrub_login("by alice, Alice and ALICE") == "by <user>, <user> and <user>"
    assert rules.scrub_login("alice_notes alice-2 alice.txt") == "<user>_notes <user>-2 <user>.txt"


def test_login_inside_a_longer_word_survives(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USER", "ali")
    assert rules.scrub_login("alibaba and malice") == "alibaba and malice"


def test_login_never_eats_a_marker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USER", "path")
    assert rules.scrub_login("<path> and path") == "<path> and <user>"


def test_one_letter_login_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USER", "a")
    monkeypatch.setenv("LOGNAME", "a")
    assert "a" in rules.scrub_login("a b c")


# -- markers ---------------------------------------------------------------------------------------


def test_markers_are_fixed_words_that_echo_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/zed")
    monkeypatch.setenv("USER", "zed")
    text = "zed /home/zed/k https://k.io/zed zed@k.io 10.9.8.7 sk-zedzedzedzedzedzedzed123 password=zed99"
    out = apply_builtin_rules(text)
    assert out == "<user> <path> <url> <email> <ip> <secret> password=<secret>"


def test_rules_compile_nothing_until_needed(python: str) -> None:
    import subprocess

    code = (
        "import sys; import optel.privacy as p; assert 're' not in sys.modules, 'import';"
        "assert p.scrub_text('gpt-4o-mini') == 'gpt-4o-mini'; assert 're' not in sys.modules, 'fast';"
        "p.scrub_attributes({'command.name': 'deploy', 'n': 3, 'gen_ai.request.model': 'gpt-4o'});"
        "assert 're' not in sys.modules, 'attrs';"
        "assert p.public_model_name('ft:gpt-4o:acme::x') == 'custom'; assert 're' not in sys.modules, 'model';"
        "assert p.scrub_text('/etc/x') == '<path>'; assert 're' in sys.modules"
    )
    subprocess.run(
        [python, "-c", code], check=True, env={"HOME": "/nonexistent-home", "PATH": "/usr/bin"}
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Cookie: sid=abc; theme=dark", "Cookie: <secret>"),
        ("Authorization: Bearer abcdefghijk", "Authorization: <secret>"),
        ("password=/srv/app/x, then", "password=<secret>, then"),
        ('token: "<path>"', 'token: "<secret>"'),
        ("<password=x>", "<password=<secret>>"),
    ],
)
def test_a_value_an_earlier_rule_replaced_becomes_one_marker(text: str, expected: str) -> None:
    # The key/value rule took the ">" that closes an earlier rule's marker for closing
    # punctuation and left it outside its own: "Cookie: <secret>>".
    assert apply_builtin_rules(text) == expected
