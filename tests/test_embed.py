"""`tool telemetry ...` and `--telemetry/--no-telemetry` embedded in click, typer and argparse CLIs."""

from __future__ import annotations

import argparse

import click
import pytest
import typer
from click.testing import CliRunner
from typer.testing import CliRunner as TyperRunner

import optel
import optel.cli
import optel.testing
from optel import _runtime
from optel.cli.main import main as optel_main

APP = "tool"


@pytest.fixture(autouse=True)
def forget_init():
    _runtime.reset()
    yield
    _runtime.reset()


def optel_says(capsys, *argv):
    capsys.readouterr()
    code = optel_main(["--app", APP, *argv])
    return code, capsys.readouterr().out


def click_cli():
    @click.group()
    def cli():
        pass

    @cli.command()
    def run():
        click.echo("ran")

    optel.cli.click_group(APP, cli=cli)
    return cli


def typer_cli():
    app = typer.Typer()

    @app.command()
    def run():
        typer.echo("ran")

    @app.command()
    def other():
        pass

    optel.cli.typer_app(APP, cli=app)
    return app


def argparse_cli():
    parser = argparse.ArgumentParser(prog=APP)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run")
    optel.cli.add_argparse(parser, APP)
    return parser


def run_click(*argv):
    return CliRunner().invoke(click_cli(), list(argv), prog_name=APP)


def run_typer(*argv):
    return TyperRunner().invoke(typer_cli(), list(argv), prog_name=APP)


def run_argparse(capsys, *argv):
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        argparse_cli().parse_args(list(argv))
    return exited.value.code, capsys.readouterr().out


@pytest.mark.parametrize("command", ["status", "show", "disable"])
def test_click_telemetry_commands_print_what_optel_prints(capsys, command):
    expected_code, expected = optel_says(capsys, command)
    result = run_click("telemetry", command)
    assert (result.exit_code, result.output) == (expected_code, expected)


@pytest.mark.parametrize("command", ["status", "show", "disable"])
def test_typer_telemetry_commands_print_what_optel_prints(capsys, command):
    expected_code, expected = optel_says(capsys, command)
    result = run_typer("telemetry", command)
    assert (result.exit_code, result.output) == (expected_code, expected)


@pytest.mark.parametrize("command", ["status", "show", "disable"])
def test_argparse_telemetry_command_runs_and_exits_while_parsing(capsys, command):
    expected = optel_says(capsys, command)
    assert run_argparse(capsys, "telemetry", command) == expected


def test_the_embedded_status_names_the_endpoint_the_app_configured(capsys):
    parser = argparse.ArgumentParser(prog=APP)
    parser.add_subparsers(dest="command")
    optel.cli.add_argparse(parser, APP, endpoint="https://telemetry.example.com")
    with pytest.raises(SystemExit) as exited:
        parser.parse_args(["telemetry", "status"])
    assert exited.value.code == 0
    lines = capsys.readouterr().out.splitlines()
    assert "endpoint: https://telemetry.example.com (set by the app)" in lines


def test_reset_from_the_host_cli_removes_the_install_id(capsys):
    assert run_click("telemetry", "enable").exit_code == 0
    first = _runtime_install_id()
    result = run_click("telemetry", "reset")
    assert result.exit_code == 0
    assert result.output.startswith(f"The install id for {APP} is removed")
    assert "install_id" not in _stored_table()
    _runtime.reset()
    assert optel.init(APP).consent.install_id not in (None, first)


def _stored_table():
    from optel import _paths
    from optel.consent import UserStore

    return UserStore(_paths.user_config_file(APP)).read()


def _runtime_install_id():
    from optel import _paths
    from optel.consent import UserStore

    return UserStore(_paths.user_config_file(APP)).read()["install_id"]


def test_enable_then_disable_from_the_host_cli_are_stored_like_optels(capsys):
    assert run_click("telemetry", "enable").exit_code == 0
    assert optel.init(APP).consent.mode == "anonymous"
    _runtime.reset()
    assert run_typer("telemetry", "disable").exit_code == 0
    assert optel.init(APP).consent.mode == "off"


@pytest.mark.parametrize(
    ("runner", "flag", "mode"),
    [
        (run_click, "--telemetry", "anonymous"),
        (run_click, "--no-telemetry", "off"),
        (run_typer, "--telemetry", "anonymous"),
        (run_typer, "--no-telemetry", "off"),
    ],
)
@pytest.mark.parametrize("after", [False, True], ids=["before-the-command", "after-it"])
def test_the_global_flag_is_the_session_flag(runner, flag, mode, after):
    # A global flag: wherever the user types one, not only right after the program name.
    result = runner(*(["run", flag] if after else [flag, "run"]))
    assert result.exit_code == 0, result.output
    assert "ran" in result.output
    telemetry = _runtime.current()
    assert telemetry is not None
    assert (telemetry.consent.mode, telemetry.consent.source) == (mode, "session_flag")


@pytest.mark.parametrize(("argv", "flag", "mode"), [
    (["--telemetry", "run"], True, "anonymous"),
    (["--no-telemetry", "run"], False, "off"),
    (["run"], None, "off"),
])  # fmt: skip
def test_argparse_flags_decide_consent_while_parsing(argv, flag, mode):
    args = argparse_cli().parse_args(argv)
    assert args.telemetry is flag
    telemetry = _runtime.current()
    assert telemetry is not None and telemetry.consent.mode == mode


def test_telemetry_commands_never_decide_consent_nor_get_recorded():
    optel.instrument("click", "typer")
    try:
        with optel.testing.capture() as records:
            assert run_click("telemetry", "status").exit_code == 0
            assert run_typer("telemetry", "disable").exit_code == 0
            assert run_click("run").exit_code == 0
    finally:
        optel.uninstrument("click", "typer")
    names = [r["name"] for r in records if r["t"] == "span"]
    assert names == [f"{APP} run"]


def typer_cli_with_its_own_callback(seen: dict):
    app = typer.Typer()

    @app.callback()
    def main(ctx: typer.Context, verbose: bool = typer.Option(False, "--verbose")):
        seen["verbose"] = verbose
        seen["subcommand"] = ctx.invoked_subcommand

    @app.command()
    def run():
        seen["consent"] = _runtime.current().consent.mode if _runtime.current() else None
        typer.echo("ran")

    optel.cli.typer_app(APP, cli=app)
    return app


@pytest.mark.parametrize(
    ("flag", "mode"), [("--telemetry", "anonymous"), ("--no-telemetry", "off")]
)
def test_a_typer_app_with_its_own_callback_gets_the_flags_and_its_callback_still_runs(flag, mode):
    seen: dict = {}
    result = TyperRunner().invoke(
        typer_cli_with_its_own_callback(seen), [flag, "--verbose", "run"], prog_name=APP
    )
    assert result.exit_code == 0, result.output
    assert "ran" in result.output
    assert seen == {"verbose": True, "subcommand": "run", "consent": mode}


def test_a_typer_callback_without_a_context_parameter_is_wrapped_too():
    seen: dict = {}
    app = typer.Typer()

    @app.callback()
    def main(verbose: bool = False):
        seen["verbose"] = verbose

    @app.command()
    def run():
        seen["consent"] = _runtime.current().consent.mode

    optel.cli.typer_app(APP, cli=app)
    result = TyperRunner().invoke(app, ["--telemetry", "--verbose", "run"], prog_name=APP)
    assert result.exit_code == 0, result.output
    assert seen == {"verbose": True, "consent": "anonymous"}
    assert TyperRunner().invoke(app, ["telemetry", "status"], prog_name=APP).exit_code == 0


# --- a parser without sub-commands (httpie's shape) ----------------------------------------------


def flat_parser():
    parser = argparse.ArgumentParser(prog="http")
    parser.add_argument("url")
    parser.add_argument("--check-status", action="store_true")
    optel.cli.add_argparse(parser, APP, command_name="http")
    return parser


def test_a_parser_without_sub_commands_keeps_every_command_line_it_took():
    args = flat_parser().parse_args(["example.org", "--check-status"])
    assert (args.url, args.check_status, args.telemetry) == ("example.org", True, None)
    assert not any(isinstance(a, argparse._SubParsersAction) for a in flat_parser()._actions)


@pytest.mark.parametrize("command", ["status", "show", "disable"])
def test_a_parser_without_sub_commands_offers_the_commands_as_an_option(capsys, command):
    expected = optel_says(capsys, command)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        flat_parser().parse_args(["--telemetry-command", command])
    assert (exited.value.code, capsys.readouterr().out) == expected


def test_the_help_of_a_parser_shows_both_flags_and_the_commands():
    text = flat_parser().format_help()
    assert "--telemetry, --no-telemetry" in text
    assert "--telemetry-command {status,enable,disable,reset,show}" in text


# --- the flags wherever a global flag goes ------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "mode"), [("--telemetry", "anonymous"), ("--no-telemetry", "off")]
)
def test_the_argparse_flag_works_after_the_sub_command_too(flag, mode):
    args = argparse_cli().parse_args(["run", flag])
    assert (args.command, args.telemetry) == ("run", flag == "--telemetry")
    assert _runtime.current().consent.mode == mode


def test_a_flag_after_double_dash_is_an_argument_not_the_flag():
    seen = {}

    @click.group()
    def cli():
        pass

    @cli.command()
    @click.argument("words", nargs=-1)
    def echo(words):
        seen["words"] = words

    optel.cli.click_group(APP, cli=cli)
    result = CliRunner().invoke(cli, ["echo", "--", "--no-telemetry"], prog_name=APP)
    assert result.exit_code == 0, result.output
    assert seen["words"] == ("--no-telemetry",)
    assert _runtime.current().consent.source != "session_flag"


@pytest.mark.parametrize("runner", [run_click, run_typer])
def test_the_root_help_shows_both_flags(runner):
    text = runner("--help").output
    assert "--telemetry" in text and "--no-telemetry" in text


# --- the host's identity: its version and its frames --------------------------------------------


@pytest.mark.parametrize("runner", [run_click, run_typer])
def test_the_embedded_init_takes_the_host_module_for_version_and_frames(runner):
    from optel.record import spans

    assert runner("--telemetry", "run").exit_code == 0
    telemetry = _runtime.current()
    # This test module defined the CLI: its package (here the module itself) is the host.
    assert telemetry.settings.version_module == __name__.partition(".")[0]
    assert spans.host_package == __name__.partition(".")[0]


def test_the_embedded_init_of_argparse_takes_the_caller_for_a_plain_parser():
    argparse_cli().parse_args(["run"])
    assert _runtime.current().settings.version_module == __name__.partition(".")[0]


def test_commands_of_a_typer_app_whose_callback_optel_added_are_recorded_but_not_telemetry():
    optel.instrument("typer")
    try:
        with optel.testing.capture() as records:
            assert run_typer("run").exit_code == 0
            assert run_typer("telemetry", "status").exit_code == 0
            assert run_typer("telemetry", "bogus").exit_code == 2
    finally:
        optel.uninstrument("typer")
    assert [r["name"] for r in records if r["t"] == "span"] == [f"{APP} run"]
