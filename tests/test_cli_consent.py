"""`optel status|enable|disable|reset`: as a user runs them, and as a host CLI embeds them."""

from __future__ import annotations

import io
import os
import subprocess

import pytest

from optel import _paths
from optel.cli import consent_commands
from optel.cli.main import COMMANDS, main
from optel.consent import UserStore, resolve

APP = "cli-app"


def run_cli(
    python: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(
        [python, "-m", "optel", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def fields(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition(": ")
        if sep and key not in out:
            out[key] = value
    return out


def stored(app: str = APP) -> dict[str, object]:
    table = UserStore(_paths.user_config_file(app)).read()
    assert isinstance(table, dict)
    return table


def test_status_without_config_as_a_subprocess(python):
    proc = run_cli(python, "status", "--app", APP)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    status = fields(proc.stdout)
    assert status["mode"] == "off"
    assert status["source"] == "not_asked"
    assert status["install id"].startswith("none yet")
    assert status["user config"].startswith(_paths.user_config_file(APP))
    assert status["project config"] == "none found"
    assert status["endpoint"] == "set by the app"
    assert "would send" in status
    assert not os.path.exists(_paths.user_config_file(APP)), "status never writes"


def test_do_not_track_status_says_off_and_why(python):
    run_cli(python, "--app", APP, "enable")
    proc = run_cli(python, "--app", APP, "status", env={"DO_NOT_TRACK": "1"})
    assert proc.returncode == 0
    status = fields(proc.stdout)
    assert (status["mode"], status["source"]) == ("off", "DO_NOT_TRACK")
    assert status["why"] == "DO_NOT_TRACK=1 is set in the environment"
    assert status["would send"] == "nothing"


def test_app_option_works_before_and_after_the_command(capsys):
    assert main(["--app", APP, "enable"]) == 0
    assert main(["status", "--app", APP]) == 0
    assert fields(capsys.readouterr().out)["mode"] == "anonymous"
    assert main(["status"]) == 0
    assert fields(capsys.readouterr().out)["app"] == "optel"


def test_enable_disable_enable_round_trip(capsys):
    assert main(["--app", APP, "enable"]) == 0
    first = stored()
    assert (first["mode"], first["user_id"], first["consent_version"]) == ("anonymous", "", 1)
    assert str(first["decided_at"]).endswith("Z")
    assert main(["--app", APP, "disable"]) == 0
    assert stored()["mode"] == "off"
    assert resolve(APP, session_flag=True).mode == "off", "a stored off outranks --telemetry"
    assert main(["--app", APP, "enable", "--user-id", "alice"]) == 0
    last = stored()
    assert (last["mode"], last["user_id"], last["install_id"]) == (
        "identified",
        "alice",
        first["install_id"],
    )
    assert "identified as alice" in capsys.readouterr().out


def test_enable_identified_needs_a_user_id(capsys):
    assert main(["--app", APP, "enable", "--identified"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--user-id" in err
    assert main(["--app", APP, "enable", "--user-id", "bob"]) == 0
    assert main(["--app", APP, "enable", "--identified"]) == 0, "a stored user id is reused"
    assert stored()["user_id"] == "bob"


def test_enable_keeps_the_highest_consent_version_seen(capsys):
    UserStore(_paths.user_config_file(APP)).update(consent_version=3)
    assert main(["--app", APP, "enable"]) == 0
    assert stored()["consent_version"] == 3


def test_enable_notes_when_the_environment_still_says_off(capsys, monkeypatch):
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    assert main(["--app", APP, "enable"]) == 0
    out = capsys.readouterr().out
    assert "still off" in out and "DO_NOT_TRACK=1" in out


def test_reset_removes_the_install_id_keeps_the_choice_and_the_next_run_gets_a_new_id(capsys):
    from optel.consent import resolve

    main(["--app", APP, "enable"])
    before = stored()
    assert main(["--app", APP, "reset"]) == 0
    after = stored()
    assert not {"install_id", "salt", "first_seen"} & set(after)
    assert after["mode"] == "anonymous"
    assert "install id for cli-app is removed" in capsys.readouterr().out
    consent = resolve(APP, environ={}, interactive=False)
    assert consent.install_id and consent.install_id != before["install_id"]
    assert stored()["install_id"] == consent.install_id


@pytest.mark.parametrize("command", ["enable", "disable", "reset"])
def test_commands_move_a_broken_file_aside(capsys, command):
    path = _paths.user_config_file(APP)
    os.makedirs(os.path.dirname(path))
    with open(path, "wb") as f:
        f.write(b"\x00\x01 not toml")
    assert main(["--app", APP, command]) == 0
    aside = [name for name in os.listdir(os.path.dirname(path)) if ".corrupt-" in name]
    assert len(aside) == 1
    with open(os.path.join(os.path.dirname(path), aside[0]), "rb") as f:
        assert f.read() == b"\x00\x01 not toml"
    assert "moved aside" in capsys.readouterr().out
    # enable and disable store a choice (with an id); reset leaves no id and so no file.
    assert stored()["install_id"] if command != "reset" else not os.path.exists(path)


def test_status_reports_a_broken_file_and_leaves_it(python):
    path = _paths.user_config_file(APP)
    os.makedirs(os.path.dirname(path))
    with open(path, "w") as f:
        f.write("mode = 1\n")
    proc = run_cli(python, "--app", APP, "status")
    assert proc.returncode == 0
    status = fields(proc.stdout)
    assert (status["mode"], status["source"]) == ("off", "broken_user_file")
    assert "broken" in status["user config"]
    with open(path) as f:
        assert f.read() == "mode = 1\n"


@pytest.mark.parametrize("command", ["enable", "disable", "reset"])
def test_unwritable_config_dir_is_one_error_line_not_a_traceback(python, tmp_path, command):
    blocker = tmp_path / "config-is-a-file"
    blocker.write_text("")
    proc = run_cli(python, "--app", APP, command, env={"XDG_CONFIG_HOME": str(blocker)})
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("optel: error: ")
    status = run_cli(python, "--app", APP, "status", env={"XDG_CONFIG_HOME": str(blocker)})
    assert status.returncode == 0 and "Traceback" not in status.stderr


def test_unusable_home_status_works_and_enable_fails_cleanly(python):
    env = {"HOME": "relative", "XDG_CONFIG_HOME": "", "XDG_CACHE_HOME": ""}
    status = run_cli(python, "--app", APP, "status", env=env)
    assert status.returncode == 0, status.stderr
    assert fields(status.stdout)["source"] == "no_config_dir"
    enable = run_cli(python, "--app", APP, "enable", env=env)
    assert enable.returncode == 1
    assert "Traceback" not in enable.stderr and enable.stderr.count("\n") == 1


def test_status_shows_the_endpoint_from_the_environment(capsys, monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    main(["--app", APP, "status"])
    assert (
        fields(capsys.readouterr().out)["endpoint"]
        == "http://127.0.0.1:4318 (from OTEL_EXPORTER_OTLP_ENDPOINT)"
    )


def test_status_shows_the_project_file(capsys, tmp_path, monkeypatch):
    project = tmp_path / "repo"
    (project / f".{APP}").mkdir(parents=True)
    (project / f".{APP}" / "telemetry.toml").write_text('mode = "off"\n')
    monkeypatch.chdir(project)
    main(["--app", APP, "status"])
    status = fields(capsys.readouterr().out)
    assert status["project config"] == str(project / f".{APP}" / "telemetry.toml")
    assert status["source"] == "project_file"


def test_status_has_a_spool_line(capsys):
    main(["--app", APP, "status"])
    assert any(line.startswith("spool") for line in capsys.readouterr().out.splitlines())


def test_disable_deletes_unsent_spool_files(capsys):
    directory = _paths.spool_dir(APP)
    os.makedirs(directory)
    name = os.path.join(directory, "1700000000000000000-1-0123abcd.jsonl")
    with open(name, "w") as f:
        f.write('{"schema": "optel.spool/1"}\n{"t": "end", "records": 0}\n')
    assert main(["--app", APP, "disable"]) == 0
    assert not os.path.exists(name)


def test_usage_errors_exit_2_and_help_exits_0(capsys):
    assert main(["no-such-command"]) == 2
    assert main(["--help"]) == 0
    assert main([]) == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out


def test_commands_are_embeddable_with_their_own_streams():
    out, err = io.StringIO(), io.StringIO()
    assert consent_commands.enable("host-tool", stdout=out, stderr=err) == 0
    assert (
        consent_commands.status(
            "host-tool", policy="opt-out", consent_version=1, stdout=out, stderr=err
        )
        == 0
    )
    assert "mode: anonymous" in out.getvalue()
    assert consent_commands.disable("host-tool", stdout=out, stderr=err) == 0
    assert consent_commands.reset("host-tool", stdout=out, stderr=err) == 0
    assert err.getvalue() == ""


def test_every_registered_command_module_has_the_command_interface():
    import importlib

    for name in COMMANDS:
        module = importlib.import_module(f"optel.cli.{name}")
        assert isinstance(module.HELP, str) and module.HELP
        assert callable(module.add_arguments) and callable(module.run)


def test_enable_uses_the_consent_version_the_app_last_decided_with(python):
    assert run_cli(python, "--app", APP, "enable").returncode == 0
    host = resolve(APP, consent_version=2, environ={}, interactive=False)
    assert host.mode == "off"
    assert "no choice is stored" not in host.reason
    assert f"your choice was made for consent version 1; {APP} now asks for 2" in host.reason
    status = fields(run_cli(python, "--app", APP, "status").stdout)
    assert status["mode"] == "off" and "consent version 1" in status["why"], (
        "status uses the app's version"
    )
    assert run_cli(python, "--app", APP, "enable").returncode == 0
    assert stored()["consent_version"] == 2
    again = resolve(APP, consent_version=2, environ={}, interactive=False)
    assert (again.mode, again.source) == ("anonymous", "user_file")
    assert fields(run_cli(python, "--app", APP, "status").stdout)["mode"] == "anonymous"


@pytest.mark.parametrize("app", ["{tmp}/victim", "../escape", "", ".", "a/b"])
def test_app_names_that_are_not_a_directory_name_are_refused_before_any_change(
    python, tmp_path, app
):
    victim = tmp_path / "victim"
    (victim / "telemetry-spool").mkdir(parents=True)
    keep = victim / "telemetry-spool" / "1700000000000000000-1-0123abcd.jsonl"
    keep.write_text("{}\n")
    app = app.replace("{tmp}", str(tmp_path))
    for command in ("reset", "disable", "enable", "status"):
        proc = run_cli(
            python,
            "--app",
            app,
            command,
            env={"XDG_CONFIG_HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path)},
        )
        assert proc.returncode == 2, (command, proc.stdout, proc.stderr)
        assert proc.stdout == ""
        assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("optel: error: --app ")
        assert proc.stderr.rstrip().endswith(f"(see optel {command} --help)")
    assert keep.exists()
    assert not (victim / "telemetry.toml").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["victim"]


def test_status_shows_the_stored_install_id_when_the_environment_decides(python):
    assert run_cli(python, "--app", APP, "enable").returncode == 0
    install_id = stored()["install_id"]
    proc = run_cli(python, "--app", APP, "status", env={"DO_NOT_TRACK": "1"})
    status = fields(proc.stdout)
    assert status["source"] == "DO_NOT_TRACK"
    assert status["install id"] == install_id


def test_enable_identified_without_a_user_id_leaves_a_broken_file_where_it_is(capsys):
    path = _paths.user_config_file(APP)
    os.makedirs(os.path.dirname(path))
    with open(path, "wb") as f:
        f.write(b"\x00 broken")
    assert main(["--app", APP, "enable", "--identified"]) == 2
    assert os.listdir(os.path.dirname(path)) == ["telemetry.toml"], "a usage error changes nothing"
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1


@pytest.mark.parametrize(
    ("argv", "help_of"),
    [
        (["no-such-command"], "optel"),
        (["--no-such-option"], "optel"),
        (["enable", "--no-such-option"], "optel enable"),
        (["status", "--policy", "sometimes"], "optel status"),
        (["status", "--consent-version", "two"], "optel status"),
        (["report"], "optel report"),
        (["--app"], "optel"),
    ],
)
def test_usage_errors_are_one_line_naming_the_help_and_exit_2(python, argv, help_of):
    proc = run_cli(python, *argv)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith("optel: error: ")
    assert proc.stderr.rstrip().endswith(f"(see {help_of} --help)")
    assert "usage:" not in proc.stderr


def test_an_embedded_cli_names_its_own_commands_in_status_and_errors(monkeypatch, capsys):
    from optel.cli import consent_commands as cc
    from optel.consent import howto

    monkeypatch.setattr(howto, "_registered", {APP: "cli-app telemetry"})
    assert cc.enable(APP, user_id="  ") == 2
    assert capsys.readouterr().err.startswith("cli-app: error: --user-id needs a non-empty value")
    cc.enable(APP)
    cc.status(APP)
    out = capsys.readouterr().out
    assert "you chose anonymous with `cli-app telemetry enable` on 20" in out
    assert "`cli-app telemetry show` lists every field" in out
    assert "optel" not in out.replace("optel.", "")
