"""The public scrubbing API: values and attributes, sensitive keys, exceptions, model names, modes,
host rules and the switch that turns the built-in rules off."""

from __future__ import annotations

import logging
import re

import pytest

import optel.privacy as privacy
from optel.privacy import (
    Scrubber,
    apply_mode,
    configure,
    describe_exception,
    is_sensitive_key,
    public_model_name,
    scrub_attributes,
    scrub_text,
    scrub_value,
)
from optel.privacy.keys import key_words


@pytest.fixture(autouse=True)
def default_scrubber():
    """Each test starts and ends with the built-in rules alone."""
    configure()
    yield
    configure()


# -- values and attributes -------------------------------------------------------------------------


def test_scrub_value_scrubs_strings_and_lists_and_keeps_other_scalars() -> None:
    assert scrub_value("command.args", "/etc/hosts") == "<path>"
    assert scrub_value("command.args", ["init", "/etc/hosts", 3, None]) == [
        "init",
        "<path>",
        3,
        None,
    ]
    assert scrub_value("command.args", ("a@b.io",)) == ("<email>",)
    assert scrub_value("gen_ai.usage.input_tokens", 120) == 120
    assert scrub_value("ratio", 0.5) == 0.5
    assert scrub_value("flag", True) is True
    assert scrub_value("nothing", None) is None


def test_scrub_value_replaces_the_whole_value_under_a_sensitive_key() -> None:
    assert scrub_value("db.password", "hunter2") == "<secret>"
    assert scrub_value("http.request.header.authorization", ["Bearer x"]) == "<secret>"
    assert scrub_value("api_key", 123456) == "<secret>"
    assert scrub_value("pin.password", None) is None


def test_scrub_value_never_passes_bytes_or_unknown_objects_through() -> None:
    class Shown:
        def __str__(self) -> str:
            return "see /home/someone/x"

    assert scrub_value("blob", b"\x00secret") == "<secret>"
    assert scrub_value("obj", Shown()) == "see <path>"


def test_scrub_value_redacts_an_object_whose_str_raises() -> None:
    class Broken:
        def __str__(self) -> str:
            raise RuntimeError("no")

    assert scrub_value("obj", Broken()) == "<redacted>"


def test_scrub_attributes_returns_a_new_dict_and_leaves_the_input_alone() -> None:
    original = {
        "command.name": "deploy",
        "error.message": "open /var/x failed",
        "db.password": "pw",
    }
    copy = dict(original)
    scrubbed = scrub_attributes(original)
    assert scrubbed == {
        "command.name": "deploy",
        "error.message": "open <path> failed",
        "db.password": "<secret>",
    }
    assert original == copy
    assert scrubbed is not original
    assert scrub_attributes(None) == {}
    assert scrub_attributes({}) == {}


def test_scrub_attributes_scrubs_nested_mappings_by_their_own_keys() -> None:
    assert scrub_attributes({"ctx": {"token": "abc", "where": "/srv/x"}}) == {
        "ctx": {"token": "<secret>", "where": "<path>"}
    }


def test_scrub_text_cuts_giant_texts_at_whitespace_before_scrubbing() -> None:
    from optel.privacy.scrubber import MAX_TEXT

    text = "word " * (MAX_TEXT // 5) + "sk-" + "Zq9" * 20
    scrubbed = scrub_text(text)
    assert len(scrubbed) <= MAX_TEXT + 1
    assert scrubbed.endswith("word…")
    assert "sk-" not in scrubbed


def test_scrub_text_returns_safe_strings_unchanged_and_identical() -> None:
    text = "claude-3-5-sonnet-20241022"
    assert scrub_text(text) is text


# -- sensitive keys --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "db.password",
        "DB_PASSWORD",
        "passwd",
        "user.secret",
        "token",
        "auth",
        "auth_token",
        "x-auth-token",
        "github.token",
        "api_key",
        "apiKey",
        "X-Api-Key",
        "apikey",
        "http.request.header.authorization",
        "http.request.header.cookie",
        "set-cookie",
        "session",
        "session_token",
        "sessionid",
        "credentials",
        "aws.credential",
        "private_key",
        "privateKey",
        "ssh.private.key",
        "client_secret",
        "oauth",
        "accessToken",
        "refresh_token",
        "jwt",
    ],
)
def test_sensitive_keys(key: str) -> None:
    assert is_sensitive_key(key)


@pytest.mark.parametrize(
    "key",
    [
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.output_tokens",
        "gen_ai.token.type",
        "gen_ai.request.max_tokens",
        "optel.cli.session.duration",
        "session.id",
        "session.previous_id",
        "command.name",
        "error.type",
        "author",
        "keyboard.layout",
        "cache.key",
        "tokens",
        "myapp.token.count",
        "auth.method",
        "user.id",
    ],
)
def test_telemetry_keys_that_merely_mention_a_word_are_not_sensitive(key: str) -> None:
    assert not is_sensitive_key(key)


def test_key_words_split_on_punctuation_and_camel_case() -> None:
    assert key_words("http.request.header.X-Api-Key") == [
        "http",
        "request",
        "header",
        "x",
        "api",
        "key",
    ]
    assert key_words("accessToken2FA") == ["access", "token2", "fa"]


def test_allow_listing_a_key_exempts_it_from_no_sensitive_word() -> None:
    # A host attribute is only recorded when allow-listed: an exemption would protect none of them.
    scrubber = Scrubber(
        attributes=["myapp.session.owner", "myapp.db.password", "myapp.session.kind"]
    )
    assert scrubber.scrub_value("myapp.session.owner", "team-a") == "<secret>"
    assert scrubber.scrub_value("myapp.db.password", "pw") == "<secret>"
    assert scrubber.scrub_value("myapp.session.kind", "team-a") == "team-a"


# -- exceptions ------------------------------------------------------------------------------------


class DeployError(Exception):
    pass


def _raise_in_here(message: str) -> None:
    raise DeployError(message)


def test_describe_exception_gives_type_scrubbed_message_and_own_frames() -> None:
    try:
        _raise_in_here("cannot write /var/lib/app/state.db for ops@example.com")
    except DeployError as exc:
        described = describe_exception(exc, "test_privacy_api")
    assert described["error.type"] == "test_privacy_api.DeployError"
    assert described["exception.message"] == "cannot write <path> for <email>"
    lines = described["exception.stacktrace"].splitlines()
    assert lines[0].startswith(
        "test_privacy_api:test_describe_exception_gives_type_scrubbed_message_and_own_frames:"
    )
    assert lines[-1].startswith("test_privacy_api:_raise_in_here:")
    assert all(re.fullmatch(r"test_privacy_api:\w+:\d+", line) for line in lines)


def test_describe_exception_names_builtins_without_module_and_skips_foreign_frames() -> None:
    try:
        int("not a number")
    except ValueError as exc:
        described = describe_exception(exc)
        foreign = describe_exception(exc, "someone_else")
    assert described["error.type"] == "ValueError"
    assert (
        described["exception.message"] == "invalid literal for int() with base 10: 'not a number'"
    )
    assert described["exception.stacktrace"] == ""
    assert foreign["exception.stacktrace"] == ""


def test_describe_exception_never_shows_locals() -> None:
    def failing() -> None:
        local_secret = "sk-abcdefghijklmnopqrstuvwxyz0123"  # noqa: F841
        raise RuntimeError("boom")

    try:
        failing()
    except RuntimeError as exc:
        described = describe_exception(exc, "test_privacy_api")
    assert "abcdefghijklmnop" not in repr(described)
    assert described["exception.message"] == "boom"


def test_describe_exception_bounds_the_message_after_scrubbing() -> None:
    secret = "sk-" + "a1" * 30
    exc = RuntimeError("x" * 500 + " " + secret + " tail")
    described = describe_exception(exc, max_message=520)
    message = described["exception.message"]
    assert len(message) <= 520
    assert "a1a1a1" not in message
    assert message.startswith("x" * 500)


def test_describe_exception_drops_a_token_cut_by_the_generous_first_bound() -> None:
    # 68 paths fill the first 2040 characters and shrink to 476 once scrubbed, so what stood at the
    # 2048-character pre-cut would land inside the 512-character message.
    paths = "/srv/some/long/directory/name " * 68
    exc = RuntimeError(paths + "ghp_" + "Ab3" * 20)
    message = describe_exception(exc, max_message=512)["exception.message"]
    assert message == "<path> " * 67 + "<path>"
    assert "ghp_" not in message


def test_describe_exception_uses_the_raw_key_of_a_key_error() -> None:
    try:
        {}["line one\npassword=abc123"]
    except KeyError as exc:
        described = describe_exception(exc)
    assert described["exception.message"] == "line one\npassword=<secret>"


def test_describe_exception_survives_a_broken_str() -> None:
    class Weird(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    described = describe_exception(Weird())
    assert described["error.type"].endswith("Weird")
    assert described["exception.message"] == ""


def test_describe_exception_zero_bound_gives_empty_message() -> None:
    assert describe_exception(ValueError("x"), max_message=0)["exception.message"] == ""


# -- model names -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model",
    [
        "gpt-4o",
        "gpt-4o-mini",
        "gpt-4o-2024-08-06",
        "gpt-4.1-nano",
        "gpt-3.5-turbo-0125",
        "gpt-5",
        "gpt-oss-120b",
        "o1",
        "o1-preview",
        "o3-mini-high",
        "o4-mini",
        "chatgpt-4o-latest",
        "text-embedding-3-small",
        "text-embedding-ada-002",
        "dall-e-3",
        "whisper-1",
        "tts-1-hd",
        "claude-3-5-sonnet-20241022",
        "claude-3-opus-latest",
        "claude-sonnet-4-20250514",
        "claude-opus-4-1",
        "claude-instant-1.2",
        "claude-2.1",
        "gemini-1.5-pro-002",
        "gemini-2.0-flash-exp",
        "gemini-2.5-flash-lite",
        "gemma-2-9b-it",
        "gemma3:4b",
        "llama-3.1-70b-instruct",
        "llama3.1:8b",
        "Llama-3.3-70B-Instruct",
        "codellama:13b",
        "mistral-large-latest",
        "mistral-7b-instruct-v0.3",
        "mixtral-8x7b-instruct",
        "codestral-latest",
        "ministral-8b-latest",
        "deepseek-chat",
        "deepseek-reasoner",
        "deepseek-r1-distill-qwen-32b",
        "qwen2.5-coder:7b-instruct-q4_K_M",
        "qwen-max",
        "qwq-32b",
        "qwen3-235b-a22b",
        "command-r-plus",
        "command-r7b-12-2024",
        "command-a-03-2025",
        "grok-2",
        "grok-3-mini",
        "grok-beta",
        "phi-3-mini-4k-instruct",
        "phi4",
        "amazon.nova-pro-v1:0",
        "amazon.titan-text-express-v1",
        "anthropic.claude-3-5-sonnet-20240620-v1:0",
        "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
        "meta.llama3-1-70b-instruct-v1:0",
        "openai/gpt-4o",
        "meta-llama/Llama-3.1-8B-Instruct",
        "models/gemini-1.5-pro",
        "mistralai/Mistral-7B-Instruct-v0.3",
    ],
)
def test_public_model_names_are_kept_as_given(model: str) -> None:
    assert public_model_name(model) == model


@pytest.mark.parametrize(
    "model",
    [
        "ft:gpt-4o:acme::abc123",
        "ft:gpt-3.5-turbo-0125:personal:my-bot:9abc",
        "acme-support-bot",
        "gpt-4o-acme-prod",
        "claudette",
        "my-model",
        "alice/llama-3-8b",
        "yield-bot",
        "TheBloke/Mistral-7B-GGUF",
    ],
)
def test_private_model_names_become_custom(model: str) -> None:
    assert public_model_name(model) == "custom"
    assert public_model_name(model, provider="openai") == "custom"


def test_known_provider_prefix_keeps_provider_slash_custom() -> None:
    assert public_model_name("openai/my-finetune") == "openai/custom"
    assert public_model_name("bedrock/acme-model") == "bedrock/custom"
    assert (
        public_model_name("acme-gateway/our-model", provider="acme-gateway")
        == "acme-gateway/custom"
    )
    assert public_model_name("models/our-tuned", provider="google") == "google/custom"


def test_public_model_name_of_nothing_is_none() -> None:
    assert public_model_name(None) is None
    assert public_model_name("  ") is None


def test_public_model_names_survive_scrubbing() -> None:
    for model in (
        "claude-3-5-sonnet-20241022",
        "meta-llama/Llama-3.1-8B-Instruct",
        "openai/custom",
        "custom",
    ):
        assert scrub_text(model) == model


# -- modes -----------------------------------------------------------------------------------------


RESOURCE = {
    "service.name": "my-tool",
    "host.name": "alices-laptop",
    "user.name": "alice",
    "client.address": "10.0.0.2",
    "user.id": "smuggled",
    "os.type": "linux",
}


def test_anonymous_mode_never_carries_user_id_or_identity() -> None:
    assert apply_mode(RESOURCE, "anonymous", user_id="u-1") == {
        "service.name": "my-tool",
        "os.type": "linux",
    }


def test_identified_mode_adds_only_the_id_the_user_gave() -> None:
    assert apply_mode(RESOURCE, "identified", user_id=" u-1 ") == {
        "service.name": "my-tool",
        "os.type": "linux",
        "user.id": "u-1",
    }
    assert "user.id" not in apply_mode(RESOURCE, "identified", user_id="")


def test_off_mode_allows_nothing() -> None:
    assert apply_mode(RESOURCE, "off") == {}
    assert apply_mode(RESOURCE, "something-else") == {}


# -- host rules and the built-in switch ------------------------------------------------------------


def test_host_rules_run_before_the_built_ins() -> None:
    configure(
        rules=[
            ("ACME-[0-9]+", "<ticket>"),
            lambda text: text.replace("Project Falcon", "<project>"),
        ]
    )
    assert scrub_text("ACME-1234 in Project Falcon at /srv/x") == "<ticket> in <project> at <path>"


def test_host_rule_cannot_bring_back_what_built_ins_remove() -> None:
    configure(rules=[lambda text: text + " alice@example.com"])
    assert scrub_text("hello") == "hello <email>"


def test_host_rule_accepts_a_compiled_pattern_and_a_single_pair() -> None:
    assert (
        Scrubber([(re.compile(r"cust_\d+"), "<customer>")]).scrub_text("cust_42 ok")
        == "<customer> ok"
    )
    assert Scrubber((r"cust_\d+", "<customer>")).scrub_text("cust_42") == "<customer>"
    assert Scrubber(str.upper).scrub_text("abc") == "ABC"


def test_an_empty_rule_list_keeps_the_built_in_rules() -> None:
    for rules in ([], (), None):
        scrubber = Scrubber(rules)
        assert scrubber.builtin_rules_enabled
        assert scrubber.scrub_text("/etc/x") == "<path>"
    assert configure(rules=[]).scrub_text("/etc/x") == "<path>"


def test_only_the_explicit_switch_disables_built_ins_and_it_warns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    privacy.scrubber._warned.discard("builtin-off")
    with caplog.at_level(logging.WARNING, logger="optel"):
        scrubber = Scrubber([("ACME", "<x>")], disable_builtin_rules=True)
    assert not scrubber.builtin_rules_enabled
    assert scrubber.scrub_text("ACME /etc/x") == "<x> /etc/x"
    assert scrubber.scrub_value("password", "pw") == "pw"
    assert "disabled" in caplog.text
    assert Scrubber(disable_builtin_rules=1).builtin_rules_enabled  # type: ignore[arg-type]


def test_a_failing_host_rule_fails_closed() -> None:
    def broken(text: str) -> str:
        raise ValueError("bug in host rule")

    assert Scrubber([broken]).scrub_text("fine text") == "<redacted>"
    assert Scrubber([lambda text: None]).scrub_text("x") == "<redacted>"  # type: ignore[list-item, return-value]
    assert Scrubber([("(unclosed", "<x>")]).scrub_text("x") == "<redacted>"


@pytest.mark.parametrize("bad", ["a string", [42], [("pattern",)], [("p", 3)], 42])
def test_malformed_rules_are_refused_at_setup(bad: object) -> None:
    with pytest.raises(TypeError):
        Scrubber(bad)  # type: ignore[arg-type]


def test_configure_replaces_the_default_scrubber() -> None:
    scrubber = configure(rules=[("zzz", "<z>")])
    assert privacy.default_scrubber() is scrubber
    assert scrub_text("zzz") == "<z>"
    configure()
    assert scrub_text("zzz") == "zzz"


def test_the_identity_rules_have_one_home_that_every_flush_loads() -> None:
    # optel.privacy names them, loaded on first use from optel.record.clean, where a flush that
    # has nothing to scrub finds them without loading this package (docs/internals.md).
    import optel.record.clean as clean

    assert privacy.apply_mode is clean.apply_mode
    assert privacy.FORBIDDEN_KEYS is clean.FORBIDDEN_KEYS
    assert privacy.USER_ID == clean.USER_ID == "user.id"
    assert {"apply_mode", "FORBIDDEN_KEYS", "USER_ID"} <= set(dir(privacy))
