"""The consent chain (docs/consent.md#one-decision-per-process-from-an-ordered-chain-of-rows) read
top to bottom: every row, the finality of off, and what each decision writes."""

from __future__ import annotations

import io
import os

import pytest

from optel import _paths
from optel.consent import Consent, UserStore, howto, in_sample, preview, resolve, withdrawn

APP = "my-tool"
VAR = "MY_TOOL_TELEMETRY"


def write_user_file(text: str) -> str:
    path = _paths.user_config_file(APP)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def write_project_file(project: str, text: str) -> str:
    directory = os.path.join(project, ".my-tool")
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "telemetry.toml")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


USER = {
    "off": 'mode = "off"\ninstall_id = "11111111-1111-4111-8111-111111111111"\nconsent_version = 1\n',
    "anonymous": 'mode = "anonymous"\ninstall_id = "22222222-2222-4222-8222-222222222222"\nconsent_version = 1\n',
    "identified": (
        'mode = "identified"\ninstall_id = "33333333-3333-4333-8333-333333333333"\n'
        'user_id = "bob"\nconsent_version = 1\n'
    ),
    "anonymous_v1_no_version": 'mode = "anonymous"\ninstall_id = "44444444-4444-4444-8444-444444444444"\n',
    "notice_shown": 'notice_shown = true\ninstall_id = "55555555-5555-4555-8555-555555555555"\nconsent_version = 1\n',
    "identified_stale": 'mode = "identified"\nuser_id = "bob"\nconsent_version = 0\n',
    "broken": "mode = \n",
}
PROJECT = {
    "off": 'mode = "off"\n',
    "anonymous": 'mode = "anonymous"\n',
    "identified": 'mode = "identified"\n',
    "broken": "mode = [\n",
    "empty": "",
    "unknown-mode": 'mode = "sometimes"\n',
}

# (id, env, session_flag, project, user, policy, tty answer or None for no TTY, expected mode, source)
MATRIX = [
    (
        "dnt-beats-stored-identified",
        {"DO_NOT_TRACK": "1"},
        None,
        None,
        "identified",
        "opt-in",
        None,
        "off",
        "DO_NOT_TRACK",
    ),
    (
        "dnt-beats-session-flag",
        {"DO_NOT_TRACK": "1"},
        True,
        None,
        None,
        "opt-in",
        None,
        "off",
        "DO_NOT_TRACK",
    ),
    (
        "dnt-beats-app-env-on",
        {"DO_NOT_TRACK": "1", VAR: "on"},
        None,
        None,
        None,
        "opt-in",
        None,
        "off",
        "DO_NOT_TRACK",
    ),
    (
        "dnt-beats-opt-out-policy",
        {"DO_NOT_TRACK": "1"},
        None,
        None,
        None,
        "opt-out",
        "",
        "off",
        "DO_NOT_TRACK",
    ),
    (
        "dnt-false-word-is-no-answer",
        {"DO_NOT_TRACK": "0"},
        None,
        None,
        "anonymous",
        "opt-in",
        None,
        "anonymous",
        "user_file",
    ),
    (
        "dnt-empty-is-no-answer",
        {"DO_NOT_TRACK": ""},
        None,
        None,
        "anonymous",
        "opt-in",
        None,
        "anonymous",
        "user_file",
    ),
    (
        "dnt-reported-before-otel",
        {"DO_NOT_TRACK": "1", "OTEL_SDK_DISABLED": "true"},
        None,
        None,
        None,
        "opt-in",
        None,
        "off",
        "DO_NOT_TRACK",
    ),
    (
        "otel-sdk-disabled-beats-stored",
        {"OTEL_SDK_DISABLED": "true"},
        None,
        None,
        "anonymous",
        "opt-in",
        None,
        "off",
        "OTEL_SDK_DISABLED",
    ),
    (
        "otel-sdk-disabled-beats-flag",
        {"OTEL_SDK_DISABLED": "true"},
        True,
        None,
        None,
        "opt-in",
        None,
        "off",
        "OTEL_SDK_DISABLED",
    ),
    (
        "otel-sdk-disabled-false-is-no-answer",
        {"OTEL_SDK_DISABLED": "false"},
        None,
        None,
        "anonymous",
        "opt-in",
        None,
        "anonymous",
        "user_file",
    ),
    (
        "app-env-off-beats-session-flag-on",
        {VAR: "off"},
        True,
        None,
        None,
        "opt-in",
        None,
        "off",
        "app_env",
    ),
    (
        "app-env-off-beats-stored",
        {VAR: "0"},
        None,
        None,
        "identified",
        "opt-in",
        None,
        "off",
        "app_env",
    ),
    (
        "app-env-unknown-value-fails-closed",
        {VAR: "maybe"},
        None,
        None,
        "anonymous",
        "opt-in",
        None,
        "off",
        "app_env",
    ),
    (
        "session-flag-off-beats-app-env-on",
        {VAR: "on"},
        False,
        None,
        None,
        "opt-in",
        None,
        "off",
        "session_flag",
    ),
    (
        "session-flag-off-beats-stored",
        {},
        False,
        None,
        "anonymous",
        "opt-in",
        None,
        "off",
        "session_flag",
    ),
    (
        "session-flag-off-beats-prompt",
        {},
        False,
        None,
        None,
        "opt-in",
        "anonymous",
        "off",
        "session_flag",
    ),
    (
        "app-env-on-raises-nothing-stored",
        {VAR: "on"},
        None,
        None,
        None,
        "opt-in",
        None,
        "anonymous",
        "app_env",
    ),
    (
        "app-env-identified-without-user-id",
        {VAR: "identified"},
        None,
        None,
        None,
        "opt-in",
        None,
        "anonymous",
        "app_env",
    ),
    (
        "app-env-identified-with-stored-user-id",
        {VAR: "identified"},
        None,
        None,
        "identified",
        "opt-in",
        None,
        "identified",
        "app_env",
    ),
    (
        "app-env-anonymous-lowers-identified",
        {VAR: "anonymous"},
        None,
        None,
        "identified",
        "opt-in",
        None,
        "anonymous",
        "app_env",
    ),
    (
        "app-env-on-keeps-stored-mode",
        {VAR: "yes"},
        None,
        None,
        "identified",
        "opt-in",
        None,
        "identified",
        "app_env",
    ),
    (
        "app-env-beats-session-flag-on",
        {VAR: "anonymous"},
        True,
        None,
        None,
        "opt-in",
        None,
        "anonymous",
        "app_env",
    ),
    (
        "session-flag-raises-nothing-stored",
        {},
        True,
        None,
        None,
        "opt-in",
        None,
        "anonymous",
        "session_flag",
    ),
    (
        "session-flag-raises-in-ci",
        {"CI": "true"},
        True,
        None,
        None,
        "opt-in",
        None,
        "anonymous",
        "session_flag",
    ),
    (
        "session-flag-raises-without-prompt",
        {},
        True,
        None,
        None,
        "opt-in",
        "off",
        "anonymous",
        "session_flag",
    ),
    (
        "session-flag-never-over-stored-off",
        {},
        True,
        None,
        "off",
        "opt-in",
        None,
        "off",
        "user_file",
    ),
    (
        "app-env-never-over-stored-off",
        {VAR: "on"},
        None,
        None,
        "off",
        "opt-in",
        None,
        "off",
        "user_file",
    ),
    (
        "session-flag-never-over-project-off",
        {},
        True,
        "off",
        None,
        "opt-in",
        None,
        "off",
        "project_file",
    ),
    (
        "session-flag-never-over-broken-file",
        {},
        True,
        None,
        "broken",
        "opt-in",
        None,
        "off",
        "broken_user_file",
    ),
    (
        "project-off-beats-stored-on",
        {},
        None,
        "off",
        "identified",
        "opt-in",
        None,
        "off",
        "project_file",
    ),
    (
        "project-anonymous-limits-identified",
        {},
        None,
        "anonymous",
        "identified",
        "opt-in",
        None,
        "anonymous",
        "project_file",
    ),
    (
        "project-anonymous-limits-a-raise",
        {VAR: "identified"},
        None,
        "anonymous",
        "identified",
        "opt-in",
        None,
        "anonymous",
        "project_file",
    ),
    ("project-cannot-switch-on", {}, None, "identified", None, "opt-in", None, "off", "not_a_tty"),
    (
        "project-identified-keeps-anonymous",
        {},
        None,
        "identified",
        "anonymous",
        "opt-in",
        None,
        "anonymous",
        "user_file",
    ),
    (
        "empty-project-file-restricts-nothing",
        {},
        None,
        "empty",
        "anonymous",
        "opt-in",
        None,
        "anonymous",
        "user_file",
    ),
    (
        "unknown-project-mode-restricts",
        {},
        None,
        "unknown-mode",
        "anonymous",
        "opt-in",
        None,
        "off",
        "project_file",
    ),
    (
        "broken-project-file-restricts",
        {},
        None,
        "broken",
        "anonymous",
        "opt-in",
        None,
        "off",
        "project_file",
    ),
    ("stored-off-is-final", {}, None, None, "off", "opt-in", "anonymous", "off", "user_file"),
    ("stored-anonymous", {}, None, None, "anonymous", "opt-in", None, "anonymous", "user_file"),
    ("stored-identified", {}, None, None, "identified", "opt-in", None, "identified", "user_file"),
    (
        "stored-without-version-is-version-1",
        {},
        None,
        None,
        "anonymous_v1_no_version",
        "opt-in",
        None,
        "anonymous",
        "user_file",
    ),
    (
        "stored-choice-beats-ci",
        {"GITHUB_ACTIONS": "true"},
        None,
        None,
        "anonymous",
        "opt-in",
        None,
        "anonymous",
        "user_file",
    ),
    (
        "stored-choice-beats-agent",
        {"CLAUDECODE": "1"},
        None,
        None,
        "anonymous",
        "opt-in",
        None,
        "anonymous",
        "user_file",
    ),
    (
        "broken-user-file-is-off",
        {},
        None,
        None,
        "broken",
        "opt-in",
        "anonymous",
        "off",
        "broken_user_file",
    ),
    ("ci-nothing-stored", {"CI": "true"}, None, None, None, "opt-in", "anonymous", "off", "ci"),
    (
        "ci-beats-opt-out-policy",
        {"GITLAB_CI": "true"},
        None,
        None,
        None,
        "opt-out",
        "",
        "off",
        "ci",
    ),
    (
        "agent-nothing-stored",
        {"CLAUDECODE": "1"},
        None,
        None,
        None,
        "opt-in",
        "anonymous",
        "off",
        "agent",
    ),
    (
        "agent-beats-opt-out-policy",
        {"CURSOR_AGENT": "1"},
        None,
        None,
        None,
        "opt-out",
        "",
        "off",
        "agent",
    ),
    ("no-tty-opt-in", {}, None, None, None, "opt-in", None, "off", "not_a_tty"),
    ("no-tty-opt-out", {}, None, None, None, "opt-out", None, "off", "not_a_tty"),
    ("tty-opt-in-asks", {}, None, None, None, "opt-in", "anonymous", "anonymous", "prompt"),
    ("tty-opt-in-enter-is-off", {}, None, None, None, "opt-in", "", "off", "prompt"),
    ("tty-opt-out-notice", {}, None, None, None, "opt-out", "", "anonymous", "opt_out_notice"),
    (
        "opt-out-notice-already-shown",
        {},
        None,
        None,
        "notice_shown",
        "opt-out",
        None,
        "anonymous",
        "opt_out_notice",
    ),
    (
        "opt-out-notice-shown-covers-ci",
        {"CI": "true"},
        None,
        None,
        "notice_shown",
        "opt-out",
        None,
        "anonymous",
        "opt_out_notice",
    ),
    (
        "dnt-beats-notice-shown",
        {"DO_NOT_TRACK": "1"},
        None,
        None,
        "notice_shown",
        "opt-out",
        None,
        "off",
        "DO_NOT_TRACK",
    ),
    (
        "stale-consent-raise-is-anonymous",
        {VAR: "on"},
        None,
        None,
        "identified_stale",
        "opt-in",
        None,
        "anonymous",
        "app_env",
    ),
    (
        "notice-does-not-count-as-opt-in-consent",
        {},
        None,
        None,
        "notice_shown",
        "opt-in",
        None,
        "off",
        "not_a_tty",
    ),
    (
        "project-off-beats-notice",
        {},
        None,
        "off",
        "notice_shown",
        "opt-out",
        None,
        "off",
        "project_file",
    ),
]


@pytest.mark.parametrize(
    ("env", "flag", "project", "user", "policy", "answer", "mode", "source"),
    [case[1:] for case in MATRIX],
    ids=[case[0] for case in MATRIX],
)
def test_precedence_matrix(tmp_path, env, flag, project, user, policy, answer, mode, source):
    project_dir = tmp_path / "repo" / "sub"
    project_dir.mkdir(parents=True)
    if project is not None:
        write_project_file(str(tmp_path / "repo"), PROJECT[project])
    if user is not None:
        write_user_file(USER[user])
    out, err = io.StringIO(), io.StringIO()
    consent = resolve(
        APP,
        policy=policy,
        session_flag=flag,
        environ=env,
        project_dir=str(project_dir),
        interactive=answer is not None,
        stdin=io.StringIO((answer or "") + "\n"),
        stdout=out,
        stderr=err,
    )
    assert (consent.mode, consent.source) == (mode, source), consent.reason
    assert len(consent.reason) > 20
    if source not in ("prompt",):
        assert "Send usage telemetry?" not in out.getvalue(), "only the prompt row may ask"


def test_raise_with_a_stored_install_id_reuses_it():
    write_user_file('install_id = "66666666-6666-4666-8666-666666666666"\n')
    consent = resolve(APP, session_flag=True, environ={}, interactive=False)
    assert consent.install_id == "66666666-6666-4666-8666-666666666666"


@pytest.mark.parametrize(
    "env",
    [{"DO_NOT_TRACK": "1"}, {"CI": "1"}, {"CLAUDECODE": "1"}, {}, {"OTEL_SDK_DISABLED": "true"}],
    ids=["dnt", "ci", "agent", "no-tty", "otel-disabled"],
)
def test_decisions_without_an_answer_write_nothing(env):
    consent = resolve(APP, environ=env, interactive=False)
    assert consent.mode == "off"
    assert not os.path.exists(os.path.dirname(_paths.user_config_file(APP)))


def test_stored_off_wins_over_raised_consent_version():
    write_user_file('mode = "off"\nconsent_version = 1\n')
    consent = resolve(
        APP,
        consent_version=2,
        environ={},
        interactive=True,
        stdin=io.StringIO("anonymous\n"),
        stdout=io.StringIO(),
    )
    assert (consent.mode, consent.source) == ("off", "user_file")


def test_raised_consent_version_asks_again_and_stores_the_new_version():
    path = write_user_file(
        'mode = "anonymous"\ninstall_id = "77777777-7777-4777-8777-777777777777"\nconsent_version = 1\n'
    )
    out = io.StringIO()
    consent = resolve(
        APP,
        consent_version=2,
        environ={},
        interactive=True,
        stdin=io.StringIO("identified\nbob\n"),
        stdout=out,
    )
    assert (consent.mode, consent.source, consent.user_id) == ("identified", "prompt", "bob")
    assert "Send usage telemetry?" in out.getvalue()
    table = UserStore(path).read()
    assert isinstance(table, dict)
    assert table["consent_version"] == 2
    assert table["mode"] == "identified"
    assert table["install_id"] == "77777777-7777-4777-8777-777777777777"


def test_raised_consent_version_without_a_terminal_is_off_until_asked():
    write_user_file('mode = "anonymous"\nconsent_version = 1\n')
    consent = resolve(APP, consent_version=2, environ={}, interactive=False)
    assert (consent.mode, consent.source) == ("off", "not_a_tty")


def test_prompt_answer_is_stored_with_time_and_version():
    out = io.StringIO()
    consent = resolve(
        APP, consent_version=3, environ={}, interactive=True, stdin=io.StringIO("a\n"), stdout=out
    )
    assert consent.mode == "anonymous"
    table = UserStore(_paths.user_config_file(APP)).read()
    assert isinstance(table, dict)
    assert table["mode"] == "anonymous"
    assert table["consent_version"] == 3
    assert isinstance(table["decided_at"], str) and table["decided_at"].endswith("Z")
    assert table["install_id"] == consent.install_id
    assert len(str(table["salt"])) == 32
    again = resolve(
        APP,
        consent_version=3,
        environ={},
        interactive=True,
        stdin=io.StringIO("off\n"),
        stdout=io.StringIO(),
    )
    assert (again.mode, again.source, again.install_id) == (
        "anonymous",
        "user_file",
        consent.install_id,
    )


def test_prompt_off_answer_is_stored_so_nobody_is_asked_twice():
    resolve(APP, environ={}, interactive=True, stdin=io.StringIO("\n"), stdout=io.StringIO())
    again = resolve(
        APP, environ={}, interactive=True, stdin=io.StringIO("anonymous\n"), stdout=io.StringIO()
    )
    assert (again.mode, again.source) == ("off", "user_file")


def test_opt_out_notice_is_shown_once_and_recorded():
    err1, err2 = io.StringIO(), io.StringIO()
    first = resolve(APP, policy="opt-out", environ={}, interactive=True, stderr=err1)
    second = resolve(APP, policy="opt-out", environ={}, interactive=True, stderr=err2)
    assert first.mode == second.mode == "anonymous"
    assert f"{howto._find_optel_command()} --app my-tool disable" in err1.getvalue()
    assert "MY_TOOL_TELEMETRY=off" in err1.getvalue()
    assert err1.getvalue().count("\n") == 1
    assert err2.getvalue() == ""
    table = UserStore(_paths.user_config_file(APP)).read()
    assert isinstance(table, dict)
    assert table["notice_shown"] is True
    assert "mode" not in table, "a notice is not an answer: switching to opt-in must still ask"


def test_opt_out_notice_is_not_shown_when_it_cannot_be_recorded(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(blocker))
    err = io.StringIO()
    consent = resolve(APP, policy="opt-out", environ={}, interactive=True, stderr=err)
    assert (consent.mode, consent.source) == ("off", "no_config_dir")
    assert err.getvalue() == ""


def test_ask_percent_sample_is_drawn_from_the_stored_install_id():
    install_id = "88888888-8888-4888-8888-888888888888"
    write_user_file(f'install_id = "{install_id}"\n')
    import hashlib

    bucket = int(hashlib.sha256(install_id.encode()).hexdigest()[:8], 16) / 2**32 * 100
    outside = resolve(
        APP,
        ask_percent=bucket,
        environ={},
        interactive=True,
        stdin=io.StringIO("anonymous\n"),
        stdout=io.StringIO(),
    )
    assert (outside.mode, outside.source) == ("off", "not_asked")
    inside = resolve(
        APP,
        ask_percent=bucket + 1e-6,
        environ={},
        interactive=True,
        stdin=io.StringIO("anonymous\n"),
        stdout=io.StringIO(),
    )
    assert (inside.mode, inside.source) == ("anonymous", "prompt")


def test_ask_percent_creates_and_stores_the_install_id_so_the_sample_is_stable():
    results = {
        resolve(
            APP,
            ask_percent=50.0,
            environ={},
            interactive=True,
            stdin=io.StringIO("\n"),
            stdout=io.StringIO(),
        ).install_id
    }
    table = UserStore(_paths.user_config_file(APP)).read()
    assert isinstance(table, dict)
    assert results == {table["install_id"]}


def test_ask_percent_zero_asks_nobody():
    out = io.StringIO()
    consent = resolve(
        APP,
        ask_percent=0.0,
        environ={},
        interactive=True,
        stdin=io.StringIO("anonymous\n"),
        stdout=out,
    )
    assert (consent.mode, consent.source) == ("off", "not_asked")
    assert out.getvalue() == ""


def test_sample_percent_keeps_the_mode_but_not_sending():
    write_user_file('mode = "anonymous"\ninstall_id = "99999999-9999-4999-8999-999999999999"\n')
    consent = resolve(APP, sample_percent=0.0, environ={}, interactive=False)
    assert consent.mode == "anonymous"
    assert not consent.sampled and not consent.sending
    full = resolve(APP, sample_percent=100.0, environ={}, interactive=False)
    assert full.sampled and full.sending


@pytest.mark.parametrize("percent", [0.5, 10.0, 50.0, 99.0])
def test_sampled_follows_the_spec_formula(percent):
    import hashlib

    for n in range(200):
        install_id = f"{n:08x}-0000-4000-8000-000000000000"
        expected = (
            int(hashlib.sha256(install_id.encode()).hexdigest()[:8], 16) / 2**32 * 100 < percent
        )
        assert in_sample(install_id, percent) is expected


def test_modes_offered_by_the_app_limit_a_stored_mode():
    write_user_file(
        'mode = "identified"\nuser_id = "bob"\ninstall_id = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"\n'
    )
    consent = resolve(APP, modes=("off", "anonymous"), environ={}, interactive=False)
    assert (consent.mode, consent.user_id) == ("anonymous", None)
    only_off = resolve(APP, modes=("off",), environ={}, interactive=False)
    assert only_off.mode == "off"


def test_identified_consent_carries_the_stored_user_id():
    write_user_file(USER["identified"])
    consent = resolve(APP, environ={}, interactive=False)
    assert (consent.mode, consent.user_id) == ("identified", "bob")


def test_ci_and_agent_names_are_reported():
    write_user_file(USER["anonymous"])
    consent = resolve(
        APP, environ={"GITHUB_ACTIONS": "true", "CI": "true", "CLAUDECODE": "1"}, interactive=False
    )
    assert (consent.ci_name, consent.agent_name) == ("github-actions", "claude-code")


def test_project_file_is_found_upward_and_reported(tmp_path):
    path = write_project_file(str(tmp_path), PROJECT["off"])
    deep = tmp_path / "a" / "b" / "c"
    deep.mkdir(parents=True)
    consent = resolve(APP, environ={}, project_dir=str(deep), interactive=False)
    assert (consent.mode, consent.source, consent.project_file) == ("off", "project_file", path)
    assert path in consent.reason


def test_project_file_defaults_to_the_working_directory(tmp_path, monkeypatch):
    write_project_file(str(tmp_path), PROJECT["off"])
    monkeypatch.chdir(tmp_path)
    write_user_file(USER["anonymous"])
    assert resolve(APP, environ={}, interactive=False).source == "project_file"


def test_app_name_derives_the_env_var():
    consent = resolve("my-tool.v2", environ={"MY_TOOL_V2_TELEMETRY": "off"}, interactive=False)
    assert (consent.mode, consent.source) == ("off", "app_env")
    assert "MY_TOOL_V2_TELEMETRY=off" in consent.reason


def test_reasons_are_sentences_a_user_understands():
    assert (
        resolve(APP, environ={"DO_NOT_TRACK": "1"}).reason
        == "DO_NOT_TRACK=1 is set in the environment"
    )
    assert (
        resolve(APP, environ={"OTEL_SDK_DISABLED": "TRUE"}).reason
        == "OTEL_SDK_DISABLED=TRUE is set in the environment"
    )


def test_unusable_home_decides_off_without_a_traceback(monkeypatch, capsys):
    # A relative HOME is as unusable as none: _paths raises OSError for it.
    monkeypatch.setenv("HOME", "not/absolute")
    monkeypatch.delenv("XDG_CONFIG_HOME")
    consent = resolve(
        APP, environ={}, interactive=True, stdin=io.StringIO("anonymous\n"), stdout=io.StringIO()
    )
    assert (consent.mode, consent.source, consent.user_file) == ("off", "no_config_dir", "")
    raised = resolve(APP, session_flag=True, environ={})
    assert (raised.mode, raised.source) == ("anonymous", "session_flag")
    assert capsys.readouterr().err == ""


def test_unwritable_config_dir_is_off_and_not_asked(tmp_path, monkeypatch):
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(blocker))
    out = io.StringIO()
    consent = resolve(
        APP, environ={}, interactive=True, stdin=io.StringIO("anonymous\n"), stdout=out
    )
    assert (consent.mode, consent.source) == ("off", "no_config_dir")
    assert out.getvalue() == ""


READ_ONLY_PROBE = """
import io, os, optel.consent as c
from optel import _paths
path = _paths.user_config_file("my-tool")
directory = os.path.dirname(path)
os.makedirs(directory)
with open(path, "w") as f:
    f.write('mode = "anonymous"\\ninstall_id = "4f3c0000-0000-4000-8000-000000000000"\\n')
os.chmod(directory, 0o500)
print(c.resolve("my-tool", environ={}, interactive=False).mode)
os.chmod(directory, 0o700)
os.remove(path)
os.chmod(directory, 0o500)
out = io.StringIO()
consent = c.resolve("my-tool", environ={}, interactive=True, stdin=io.StringIO("anonymous\\n"), stdout=out)
print(consent.mode, consent.source, repr(out.getvalue()))
"""


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_read_only_config_dir_still_reads_the_stored_choice_and_never_prompts(as_nobody):
    # Root ignores permissions: the probe runs as an unprivileged user (setpriv), in its own home.
    lines = as_nobody(READ_ONLY_PROBE).splitlines()
    assert lines == ["anonymous", "off no_config_dir ''"]


def test_resolve_never_raises_into_the_host():
    class Exploding(dict):  # an environ mapping that fails, as a broken host might pass
        def get(self, *args, **kwargs):
            raise RuntimeError("boom")

    consent = resolve(APP, environ=Exploding())
    assert (consent.mode, consent.source) == ("off", "error")
    assert "RuntimeError" in consent.reason


def test_preview_never_asks_prints_or_writes():
    out = io.StringIO()
    consent = preview(APP, policy="opt-out", environ={})
    assert (consent.mode, consent.source) == ("off", "not_asked")
    assert out.getvalue() == ""
    assert not os.path.exists(os.path.dirname(_paths.user_config_file(APP)))


@pytest.mark.parametrize(
    ("env", "user", "project", "source"),
    [
        ({"DO_NOT_TRACK": "true"}, None, None, "DO_NOT_TRACK"),
        ({"OTEL_SDK_DISABLED": "true"}, None, None, "OTEL_SDK_DISABLED"),
        ({VAR: "off"}, "anonymous", None, "app_env"),
        ({}, "anonymous", "off", "project_file"),
        ({}, "anonymous", "broken", "project_file"),
        ({}, "off", None, "user_file"),
        ({}, "broken", None, "broken_user_file"),
    ],
)
def test_withdrawn_names_the_source_that_now_says_off(tmp_path, env, user, project, source):
    if user is not None:
        write_user_file(USER[user])
    if project is not None:
        write_project_file(str(tmp_path), PROJECT[project])
    consent = withdrawn(APP, environ=env, project_dir=str(tmp_path))
    assert isinstance(consent, Consent)
    assert (consent.mode, consent.source) == ("off", source)


@pytest.mark.parametrize("user", [None, "anonymous", "identified", "notice_shown"])
def test_withdrawn_is_none_while_consent_stands(tmp_path, user):
    if user is not None:
        write_user_file(USER[user])
    assert withdrawn(APP, environ={VAR: "on", "CI": "true"}, project_dir=str(tmp_path)) is None


def test_broken_project_file_warns_once_and_is_left_untouched(tmp_path):
    path = write_project_file(str(tmp_path), PROJECT["broken"])
    err = io.StringIO()
    for _ in range(2):
        assert (
            resolve(APP, environ={}, project_dir=str(tmp_path), stderr=err).source == "project_file"
        )
    assert err.getvalue().count("\n") == 1 and path in err.getvalue()
    with open(path) as f:
        assert f.read() == PROJECT["broken"]
