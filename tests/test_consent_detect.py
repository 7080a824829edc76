"""Where a process runs: CI systems and coding agents by name, and every boolean env spelling."""

from __future__ import annotations

import pytest

from optel.consent import detect_agent, detect_ci, resolve
from optel.consent.detect import AGENT_MARKERS, CI_MARKERS

APP = "detect-app"


@pytest.mark.parametrize(("var", "name"), [m for m in CI_MARKERS if m[1] != "generic"])
def test_each_ci_system_is_detected_by_name(var, name):
    assert detect_ci({var: "true", "CI": "true"}) == name


@pytest.mark.parametrize("var", ["CI", "CONTINUOUS_INTEGRATION", "BUILD_ID", "RUN_ID", "CI_NAME"])
def test_generic_ci_markers(var):
    assert detect_ci({var: "1"}) == "generic"


@pytest.mark.parametrize("value", ["false", "0", "", "no", " False "])
def test_ci_set_to_a_false_word_is_not_ci(value):
    assert detect_ci({"CI": value}) is None


def test_no_markers_no_ci_no_agent():
    assert detect_ci({"HOME": "/x", "PATH": "/bin"}) is None
    assert detect_agent({"HOME": "/x", "PATH": "/bin"}) is None


@pytest.mark.parametrize(
    ("var", "name"),
    [*list(AGENT_MARKERS), ("CODEX_SANDBOX", "codex"), ("CODEX_MANAGED_BY_NPM", "codex")],
)
def test_each_coding_agent_is_detected_by_name(var, name):
    assert detect_agent({var: "1"}) == name


@pytest.mark.parametrize(
    "env",
    [
        {"CI": "true"},
        {"JENKINS_URL": "http://ci"},
        {"CLAUDECODE": "1"},
        {"CODEX_SANDBOX": "seatbelt"},
        {"AIDER": "1"},
    ],
)
def test_ci_and_agents_are_never_asked_even_when_interactive(env):
    import io

    out = io.StringIO()
    consent = resolve(
        APP, environ=env, interactive=True, stdin=io.StringIO("anonymous\n"), stdout=out
    )
    assert consent.mode == "off"
    assert consent.source in ("ci", "agent")
    assert out.getvalue() == ""


TRUE_SPELLINGS = ["1", "true", "yes", "on", "y", "t", "TRUE", "True", " yes ", "On", "\tY\n", "T"]
FALSE_SPELLINGS = [
    "0",
    "false",
    "no",
    "off",
    "n",
    "f",
    "",
    "FALSE",
    " No ",
    "OFF",
    "\tn\n",
    "F",
    "   ",
]


@pytest.mark.parametrize("value", [*TRUE_SPELLINGS, "anything", "2", "please"])
def test_do_not_track_opts_out_for_anything_but_a_false_word(value):
    consent = resolve(APP, environ={"DO_NOT_TRACK": value}, session_flag=True)
    assert (consent.mode, consent.source) == ("off", "DO_NOT_TRACK")


@pytest.mark.parametrize("value", FALSE_SPELLINGS)
def test_do_not_track_false_words_leave_the_decision_to_later_rows(value):
    consent = resolve(APP, environ={"DO_NOT_TRACK": value}, session_flag=True)
    assert (consent.mode, consent.source) == ("anonymous", "session_flag")


@pytest.mark.parametrize("value", ["true", "TRUE", "True", " true ", "\ttRuE\n"])
def test_otel_sdk_disabled_true_spellings(value):
    # OpenTelemetry's boolean rule: only "true", in any case, is true.
    consent = resolve(APP, environ={"OTEL_SDK_DISABLED": value}, session_flag=True)
    assert (consent.mode, consent.source) == ("off", "OTEL_SDK_DISABLED")


@pytest.mark.parametrize(
    "value", [*FALSE_SPELLINGS, *(v for v in TRUE_SPELLINGS if v.lower() != "true"), "anything"]
)
def test_otel_sdk_disabled_other_values_do_not_disable(value, caplog):
    caplog.set_level("WARNING", logger="optel")
    consent = resolve(APP, environ={"OTEL_SDK_DISABLED": value}, session_flag=True)
    assert consent.source == "session_flag"
    # A value that is neither true nor false (nor empty) is read as false, with a warning.
    warned = [r for r in caplog.records if "OTEL_SDK_DISABLED" in r.getMessage()]
    assert bool(warned) == (value.strip().lower() not in ("false", ""))


@pytest.mark.parametrize("value", FALSE_SPELLINGS)
def test_app_telemetry_false_spellings_are_off(value):
    consent = resolve(APP, environ={"DETECT_APP_TELEMETRY": value}, session_flag=True)
    assert (consent.mode, consent.source) == ("off", "app_env")


@pytest.mark.parametrize("value", [*TRUE_SPELLINGS, "anonymous", "ANONYMOUS", " identified "])
def test_app_telemetry_on_spellings_raise_for_this_run(value):
    consent = resolve(APP, environ={"DETECT_APP_TELEMETRY": value}, interactive=False)
    assert (consent.mode, consent.source) == ("anonymous", "app_env")
