"""examples/ports/aider.py against aider's analytics page (shared/seeds), row by row, in real processes."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from ports_harness import install_id, run, run_on_terminal, store, stored

SEED, APP = "aider", "aider"
QUESTION = b"Send usage telemetry?"


def aider(*argv: str, **kw: object):
    return run(SEED, APP, *argv, **kw)  # type: ignore[arg-type]


def opt_in_only_collected_if_you_agree() -> None:
    first = aider("-m", "hello")
    assert first.mode == "off" and first.source == "not_a_tty"
    assert stored(APP).get("mode") is None


def anonymous_uuid4_user_identifier() -> None:
    done = aider("--analytics", "-m", "hello")
    assert done.mode == "anonymous"
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
        done.resource["optel.install.id"],
    )
    assert "user.id" not in done.resource


def which_llms_with_how_many_tokens() -> None:
    done = aider("--analytics", "--model", "gpt-4o", "-m", "make it faster please")
    (call,) = [s for s in done.spans() if s["attributes"].get("gen_ai.request.model")]
    assert call["attributes"]["gen_ai.request.model"] == "gpt-4o"
    assert call["attributes"]["gen_ai.usage.input_tokens"] == 14
    assert call["attributes"]["gen_ai.usage.output_tokens"] == 7
    assert done.metrics("gen_ai.client.token.usage")


def which_edit_formats_are_used() -> None:
    done = aider("--analytics", "--edit-format", "udiff", "-m", "rename x")
    (edit,) = [e for s in done.spans() for e in s["events"] if e["name"] == "edit"]
    assert edit["attributes"]["aider.edit_format"] == "udiff"


def how_often_features_and_commands_are_used() -> None:
    done = aider("--analytics", "-m", "/add src/secret_plans.py")
    # The in-chat command is a declared name, kept as written (not `<path>`); its argument is not sent.
    assert "/add" in done.events()
    assert "secret_plans" not in done.text()
    assert done.metrics("optel.cli.command.invocations")[0]["attributes"]["command.name"] == "chat"


def information_about_exceptions_and_errors() -> None:
    done = aider("--analytics", "-m", "/run make test")
    assert done.returncode == 1
    (chat,) = done.spans("chat")
    assert chat["attributes"]["error.type"] == "RuntimeError"
    assert "/run" in done.events()


def never_code_chat_messages_keys_or_personal_info() -> None:
    done = aider(
        "--analytics",
        "-m",
        "my key is sk-proj-abcdefghijklmnopqrstuvwxyz0123456789 and code def f(): pass",
    )
    text = done.text()
    assert done.records and "sk-proj" not in text and "def f()" not in text and "my key" not in text


def analytics_disable_opts_out_forever() -> None:
    done = aider("--analytics-disable", "-m", "hi")
    assert done.mode == "off"
    assert stored(APP)["mode"] == "off"
    later = aider("-m", "hi")
    assert later.mode == "off" and later.source == "user_file"


def analytics_turns_on_for_the_current_session() -> None:
    done = aider("--analytics", "-m", "hi")
    assert done.mode == "anonymous" and done.source == "session_flag"
    # Without a terminal the flag holds for this session only: nothing is stored.
    assert stored(APP).get("mode") is None
    assert aider("-m", "hi").mode == "off"


def analytics_has_no_effect_after_analytics_disable() -> None:
    aider("--analytics-disable")
    done = aider("--analytics", "-m", "hi")
    assert done.mode == "off" and done.source == "user_file"


def first_analytics_asks_to_confirm_and_stores_yes() -> None:
    done, screen = run_on_terminal(
        SEED, APP, "--analytics", "-m", "hi", answers=[(QUESTION, b"yes\n")]
    )
    assert "never file contents, prompts, paths or other personal data" in screen
    assert done.mode == "anonymous" and done.source == "prompt"
    assert stored(APP)["mode"] == "anonymous"
    # Asked once: the next --analytics (and the next plain run) use the stored answer.
    assert aider("-m", "hi").mode == "anonymous"


def saying_no_disables_analytics_permanently() -> None:
    done, _ = run_on_terminal(SEED, APP, "--analytics", "-m", "hi", answers=[(QUESTION, b"n\n")])
    assert done.mode == "off"
    assert stored(APP)["mode"] == "off"
    assert aider("--analytics", "-m", "hi").mode == "off"


def no_analytics_turns_off_for_the_current_session() -> None:
    store(APP, mode="anonymous", install_id=install_id(True, 100), consent_version=1)
    done = aider("--no-analytics", "-m", "hi")
    assert done.mode == "off" and done.source == "session_flag"
    assert stored(APP)["mode"] == "anonymous"
    assert (
        "for this run (--no-analytics)"
        in aider("--no-analytics", "-m", "hi", "--show-reason").stdout
    )


def without_a_flag_a_random_subset_is_asked() -> None:
    store(APP, install_id=install_id(True, 10))
    _, screen = run_on_terminal(SEED, APP, "-m", "hi", answers=[(QUESTION, b"y\n")])
    assert stored(APP)["mode"] == "anonymous", screen


def without_a_flag_the_others_are_never_asked() -> None:
    store(APP, install_id=install_id(False, 10))
    done, screen = run_on_terminal(SEED, APP, "-m", "hi")
    assert "Send usage telemetry" not in screen
    assert done.mode == "off" and done.source == "not_asked"


def never_enabled_at_random_after_analytics_disable() -> None:
    aider("--analytics-disable")
    done, screen = run_on_terminal(SEED, APP, "-m", "hi")
    assert "Send usage telemetry" not in screen and done.mode == "off"


def analytics_log_writes_what_is_collected() -> None:
    log = "analytics.jsonl"
    done = aider("--analytics", "--analytics-log", log, "-m", "hello")
    assert done.returncode == 0
    from pathlib import Path

    from ports_harness import read_log

    headers, records = read_log(Path(log))
    assert headers[0]["consent"]["mode"] == "anonymous"
    assert any(r["name"] == "chat" for r in records)


def analytics_log_with_no_analytics_logs_without_reporting() -> None:
    from pathlib import Path

    from ports_harness import read_log, spooled

    done = aider("--analytics-log", "only-log.jsonl", "--no-analytics", "-m", "hello")
    headers, records = read_log(Path("only-log.jsonl"))
    assert headers and headers[0]["consent"]["mode"] == "off"
    assert any(r["name"] == "chat" for r in records)
    assert spooled(APP) == [] and done.returncode == 0


def the_prompt_default_is_off_not_yes() -> None:
    # Deliberate deviation (docs/porting.md): aider's [Yes] default; with optel, Enter means off.
    done, _ = run_on_terminal(SEED, APP, "--analytics", "-m", "hi", answers=[(QUESTION, b"\n")])
    assert done.mode == "off" and stored(APP)["mode"] == "off"


ROWS: list[tuple[str, Callable[[], None]]] = [
    ("Opt-in: analytics are only collected if you agree", opt_in_only_collected_if_you_agree),
    (
        "associated with an anonymous, randomly generated UUID4 user identifier",
        anonymous_uuid4_user_identifier,
    ),
    ("which LLMs are used and with how many tokens", which_llms_with_how_many_tokens),
    ("which edit formats are used", which_edit_formats_are_used),
    ("how often features and commands are used", how_often_features_and_commands_are_used),
    ("information about exceptions and errors", information_about_exceptions_and_errors),
    (
        "never collects your code, chat messages, keys or personal info",
        never_code_chat_messages_keys_or_personal_info,
    ),
    ("--analytics-disable: opt out of analytics forever", analytics_disable_opts_out_forever),
    (
        "--analytics turns on analytics for the current session",
        analytics_turns_on_for_the_current_session,
    ),
    (
        "--analytics has no effect if permanently disabled",
        analytics_has_no_effect_after_analytics_disable,
    ),
    (
        "the first --analytics confirms you wish to opt in",
        first_analytics_asks_to_confirm_and_stores_yes,
    ),
    (
        "if you say no, analytics will be permanently disabled",
        saying_no_disables_analytics_permanently,
    ),
    (
        "--no-analytics turns off analytics for the current session",
        no_analytics_turns_off_for_the_current_session,
    ),
    (
        "no flag: randomly selected users are asked to opt in",
        without_a_flag_a_random_subset_is_asked,
    ),
    ("no flag: the other users are not asked", without_a_flag_the_others_are_never_asked),
    (
        "never enabled at random after --analytics-disable",
        never_enabled_at_random_after_analytics_disable,
    ),
    (
        "--analytics-log FILE: a full log of the analytics collected",
        analytics_log_writes_what_is_collected,
    ),
    (
        "--analytics-log FILE --no-analytics: log without reporting",
        analytics_log_with_no_analytics_logs_without_reporting,
    ),
    ("deviation: the confirmation's default is off, not [Yes]", the_prompt_default_is_off_not_yes),
]


@pytest.mark.parametrize("check", [row[1] for row in ROWS], ids=[row[0] for row in ROWS])
def test_aider_behaviour(check: Callable[[], None]) -> None:
    check()
