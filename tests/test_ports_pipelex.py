"""examples/ports/pipelex.py against Pipelex's telemetry page (shared/seeds), row by row, in real processes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ports_harness import install_id, run, run_on_terminal, store, stored, user_file

SEED, APP = "pipelex", "pipelex"
CHOICE = b"Enter your choice"
ANONYMOUS = {"mode": "anonymous", "install_id": "", "consent_version": 1}


def pipelex(*argv: str, env: dict[str, str] | None = None):
    return run(SEED, APP, *argv, env=env)


def on_terminal(*answers: bytes, argv: tuple[str, ...] = ("run", "hello")):
    return run_on_terminal(
        SEED, APP, *argv, answers=[(CHOICE, answers[0]), *((b"User id", a) for a in answers[1:])]
    )


def stored_anonymous() -> None:
    store(APP, **{**ANONYMOUS, "install_id": install_id(True, 100)})


def first_command_prompts_with_numbered_choices() -> None:
    done, screen = on_terminal(b"2\n")
    for choice in ("[1] off", "[2] anonymous", "[3] identified", "[q] later"):
        assert choice in screen, screen
    assert done.mode == "anonymous"


def init_never_prompts() -> None:
    _, screen = run_on_terminal(SEED, APP, "init")
    assert "Enter your choice" not in screen and "project initialised" in screen
    assert not user_file(APP).exists()


def answer_1_is_off() -> None:
    done, _ = on_terminal(b"1\n")
    assert done.mode == "off" and stored(APP)["mode"] == "off"
    assert pipelex("run", "hello").mode == "off"


def answer_2_is_anonymous() -> None:
    done, _ = on_terminal(b"2\n")
    assert done.mode == "anonymous" and "user.id" not in done.resource
    assert stored(APP)["mode"] == "anonymous"


def answer_3_is_identified_with_a_user_id() -> None:
    done, _ = on_terminal(b"3\n", b"ada\n")
    assert done.mode == "identified" and done.resource["user.id"] == "ada"
    assert stored(APP)["user_id"] == "ada"


def identified_without_a_user_id_is_anonymous() -> None:
    # Deliberate deviation (docs/porting.md): identified without an id sends nothing more than anonymous.
    done, _ = on_terminal(b"3\n", b"\n")
    assert done.mode == "anonymous" and stored(APP)["mode"] == "anonymous"


def answer_q_asks_again_next_time() -> None:
    done, screen = on_terminal(b"q\n")
    assert done.mode == "off" and "asked again next time" in screen
    assert stored(APP).get("mode") is None
    again, screen = on_terminal(b"2\n")
    assert "[q] later" in screen and again.mode == "anonymous"


def enter_means_off() -> None:
    done, _ = on_terminal(b"\n")
    assert done.mode == "off" and stored(APP)["mode"] == "off"


def anonymous_collects_which_commands_are_run() -> None:
    stored_anonymous()
    done = pipelex("run", "hello")
    assert done.metrics("optel.cli.command.invocations")[0]["attributes"] == {
        "command.name": "run",
        "outcome": "success",
    }


def anonymous_collects_pipeline_success_failure_and_performance() -> None:
    stored_anonymous()
    ok, failed = pipelex("run", "hello"), pipelex("run", "broken_pipe")
    assert failed.returncode == 1
    outcomes = [
        e["attributes"]["pipelex.pipe.outcome"]
        for r in (ok, failed)
        for s in r.spans("run")
        for e in s["events"]
        if e["name"] == "pipeline.result"
    ]
    assert outcomes == ["success", "failure"]
    (step,) = failed.spans("pipe")
    assert step["attributes"]["error.type"] == "ValueError"
    assert ok.metrics("optel.cli.command.duration") and ok.metrics("optel.cli.step.duration")


def anonymous_collects_feature_usage() -> None:
    stored_anonymous()
    done = pipelex("run", "hello")
    (event,) = [e for s in done.spans("run") for e in s["events"] if e["name"] == "pipeline"]
    assert event["attributes"]["pipelex.feature"] == "structured_output"


def anonymous_has_no_identification_prompts_responses_paths_or_urls() -> None:
    stored_anonymous()
    done = pipelex("run", "hello", "--input", "/home/ada/private/plan.txt")
    url = pipelex("run", "hello", "--input", "https://intranet.example/doc?id=42")
    assert "user.id" not in done.resource
    inputs = [
        e["attributes"]["pipelex.input"]
        for r in (done, url)
        for s in r.spans("run")
        for e in s["events"]
        if e["name"] == "pipeline"
    ]
    assert inputs == ["<path>", "<url>"]
    assert "plan.txt" not in done.text() and "intranet" not in url.text()


def do_not_track_disables_regardless_of_configuration() -> None:
    stored_anonymous()
    for value in ("1", "true", "yes", "anything"):
        done = pipelex("run", "hello", env={"DO_NOT_TRACK": value})
        assert (done.mode, done.source) == ("off", "DO_NOT_TRACK"), value


def do_not_track_false_or_0_does_not_disable() -> None:
    stored_anonymous()
    for value in ("false", "0", "FALSE"):
        assert pipelex("run", "hello", env={"DO_NOT_TRACK": value}).mode == "anonymous", value


def do_not_track_no_off_or_empty_does_not_disable() -> None:
    # Deliberate deviation (docs/porting.md#pipelex-examplesportspipelexpy,
    # docs/contract.md#consent): every false word and an empty value are "not set".
    stored_anonymous()
    for value in ("no", "off", "n", "f", ""):
        assert pipelex("run", "hello", env={"DO_NOT_TRACK": value}).mode == "anonymous", repr(value)


def editing_the_configuration_file_changes_the_setting() -> None:
    stored_anonymous()
    path = user_file(APP)
    path.write_text(path.read_text().replace('mode = "anonymous"', 'mode = "off"'))
    assert pipelex("run", "hello").mode == "off"


def deleting_the_configuration_file_brings_the_prompt_back() -> None:
    on_terminal(b"1\n")
    user_file(APP).unlink()
    done, screen = on_terminal(b"2\n")
    assert "[1] off" in screen and done.mode == "anonymous"


ROWS: list[tuple[str, Callable[[], None]]] = [
    (
        "first run of a command after init: the telemetry prompt with its choices",
        first_command_prompts_with_numbered_choices,
    ),
    ("pipelex init itself does not prompt", init_never_prompts),
    ("[1] off: no telemetry data collected", answer_1_is_off),
    ("[2] anonymous: anonymous usage data only", answer_2_is_anonymous),
    ("[3] identified: usage data with a user identifier", answer_3_is_identified_with_a_user_id),
    (
        "deviation: identified with no user_id given is anonymous",
        identified_without_a_user_id_is_anonymous,
    ),
    ("[q] exit without configuring: asked again next time", answer_q_asks_again_next_time),
    ("deviation: Enter is an answer, off", enter_means_off),
    (
        "anonymous: command usage (which commands are run)",
        anonymous_collects_which_commands_are_run,
    ),
    (
        "anonymous: pipeline success/failure rates and performance",
        anonymous_collects_pipeline_success_failure_and_performance,
    ),
    ("anonymous: feature usage patterns", anonymous_collects_feature_usage),
    (
        "anonymous: no identification, prompts, responses, file paths or URLs",
        anonymous_has_no_identification_prompts_responses_paths_or_urls,
    ),
    (
        "DO_NOT_TRACK set: disabled regardless of configuration",
        do_not_track_disables_regardless_of_configuration,
    ),
    ("DO_NOT_TRACK=false or 0: not disabled", do_not_track_false_or_0_does_not_disable),
    (
        "deviation: DO_NOT_TRACK=no, off or empty does not disable",
        do_not_track_no_off_or_empty_does_not_disable,
    ),
    (
        "change the settings by editing the configuration file",
        editing_the_configuration_file_changes_the_setting,
    ),
    (
        "delete the configuration file and the prompt appears next time",
        deleting_the_configuration_file_brings_the_prompt_back,
    ),
]


@pytest.mark.parametrize("check", [row[1] for row in ROWS], ids=[row[0] for row in ROWS])
def test_pipelex_behaviour(check: Callable[[], None]) -> None:
    check()
