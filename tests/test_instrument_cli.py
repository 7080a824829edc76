"""The click, typer and argparse instrumentors: command paths, option names (never values), exit codes."""

from __future__ import annotations

import json
import subprocess
import textwrap

import click
import pytest
import typer
from click.testing import CliRunner
from typer.testing import CliRunner as TyperRunner

import optel
import optel.testing

SECRET = "value-that-must-never-be-recorded"


@pytest.fixture
def spans_of():
    """Instrument click, typer and argparse; the value runs a block and returns its command spans."""
    optel.instrument("click", "typer")
    with optel.testing.capture() as records:
        yield lambda: [r for r in records if r["t"] == "span"]
    optel.uninstrument("click", "typer")


def make_click_cli():
    @click.group()
    @click.option("-v", "--verbose", is_flag=True)
    def tool(verbose):
        pass

    @tool.group()
    def db():
        pass

    @db.command()
    @click.option("--to", "target")
    @click.option("--dry-run", is_flag=True)
    @click.option("--retries", default=3)
    @click.argument("name", required=False)
    def migrate(target, dry_run, retries, name):
        if target == "fail":
            raise click.ClickException("failed")
        if target == "exit":
            raise SystemExit(4)

    return tool


def test_a_click_command_span_is_named_by_its_path_with_option_names_and_no_values(spans_of):
    result = CliRunner().invoke(
        make_click_cli(), ["-v", "db", "migrate", "--to", SECRET, "--dry-run", SECRET], prog_name="tool"
    )
    assert result.exit_code == 0, result.output
    (span,) = spans_of()
    assert span["name"] == "tool db migrate"
    assert span["attributes"]["command.name"] == "tool db migrate"
    assert span["attributes"]["cli.command.options"] == ["--verbose", "--to", "--dry-run"]
    assert span["attributes"]["process.exit.code"] == 0
    assert span["status"] != "error"
    assert SECRET not in json.dumps(span)


@pytest.mark.parametrize(("target", "code"), [("fail", 1), ("exit", 4)])
def test_a_failing_click_command_records_its_exit_code_and_error(spans_of, target, code):
    result = CliRunner().invoke(make_click_cli(), ["db", "migrate", "--to", target], prog_name="tool")
    assert result.exit_code == code
    (span,) = spans_of()
    assert span["attributes"]["process.exit.code"] == code
    assert span["status"] == "error"


def test_a_group_that_runs_a_subcommand_gets_no_span_of_its_own(spans_of):
    CliRunner().invoke(make_click_cli(), ["db", "migrate"], prog_name="tool")
    assert [s["name"] for s in spans_of()] == ["tool db migrate"]


def test_with_telemetry_off_click_commands_run_unchanged_and_record_nothing():
    from optel.record import spans

    optel.instrument("click")
    try:
        result = CliRunner().invoke(make_click_cli(), ["db", "migrate", "--to", "exit"])
    finally:
        optel.uninstrument("click")
    assert result.exit_code == 4
    assert spans.take() == []


def make_typer_cli():
    app = typer.Typer()
    db = typer.Typer()
    app.add_typer(db, name="db")

    @app.callback()
    def main(verbose: bool = typer.Option(False, "--verbose", "-v")):
        pass

    @db.command()
    def migrate(to: str = typer.Option("head", "--to"), dry_run: bool = typer.Option(False, "--dry-run")):
        if to == "exit":
            raise typer.Exit(3)

    return app


def test_a_typer_command_span_has_the_path_option_names_and_exit_code(spans_of):
    result = TyperRunner().invoke(
        make_typer_cli(), ["-v", "db", "migrate", "--to", SECRET], prog_name="tool"
    )
    assert result.exit_code == 0, result.output
    (span,) = spans_of()
    assert span["name"] == "tool db migrate"
    assert span["attributes"]["cli.command.options"] == ["--verbose", "--to"]
    assert span["attributes"]["process.exit.code"] == 0
    assert SECRET not in json.dumps(span)


def test_a_typer_exit_code_is_recorded(spans_of):
    result = TyperRunner().invoke(make_typer_cli(), ["db", "migrate", "--to", "exit"], prog_name="tool")
    assert result.exit_code == 3
    (span,) = spans_of()
    assert span["attributes"]["process.exit.code"] == 3


ARGPARSE_TOOL = """
    import argparse, sys
    import optel
    optel.instrument("argparse")
    optel.init("tool")
    parser = argparse.ArgumentParser(prog="tool")
    parser.add_argument("-v", "--verbose", action="store_true")
    commands = parser.add_subparsers(dest="command")
    db = commands.add_parser("db").add_subparsers(dest="db_command")
    migrate = db.add_parser("migrate", aliases=["mig"])
    migrate.add_argument("--to")
    migrate.add_argument("--dry-run", action="store_true")
    args = parser.parse_args()
    if args.to == "crash":
        raise RuntimeError("boom")
    sys.exit(5 if args.to == "five" else 0)
"""


def run_argparse_tool(python, tmp_path, *argv):
    script = tmp_path / "tool.py"
    script.write_text(textwrap.dedent(ARGPARSE_TOOL))
    import os

    env = {**os.environ, "TOOL_TELEMETRY_DEBUG": "1"}
    done = subprocess.run(
        [python, str(script), *argv], capture_output=True, text=True, timeout=60, env=env
    )
    records = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    commands = [r for r in records if r.get("t") == "span" and "command.name" in r["attributes"]]
    return done.returncode, commands


def test_an_argparse_command_span_has_the_subparser_path_and_option_names(python, tmp_path):
    code, (span,) = run_argparse_tool(
        python, tmp_path, "-v", "db", "mig", f"--to={SECRET}", "--dry-run"
    )
    assert code == 0
    assert span["name"] == "tool db migrate"
    assert span["attributes"]["cli.command.options"] == ["--verbose", "--to", "--dry-run"]
    assert span["attributes"]["process.exit.code"] == 0
    assert SECRET not in json.dumps(span)


def test_an_argparse_command_span_ends_at_sys_exit_with_its_code(python, tmp_path):
    code, (span,) = run_argparse_tool(python, tmp_path, "db", "migrate", "--to", "five")
    assert code == 5
    assert span["attributes"]["process.exit.code"] == 5
    assert span["status"] == "error"


def test_an_uncaught_exception_ends_the_argparse_command_span_as_failed(python, tmp_path):
    code, (span,) = run_argparse_tool(python, tmp_path, "db", "migrate", "--to", "crash")
    assert code == 1
    assert span["attributes"]["process.exit.code"] == 1
    assert span["attributes"]["error.type"] == "RuntimeError"


def test_an_argparse_usage_error_is_a_span_with_exit_code_2(python, tmp_path):
    code, (span,) = run_argparse_tool(python, tmp_path, "db", "migrate", "--bogus")
    assert code == 2
    assert span["name"] == "tool db migrate"
    assert span["attributes"]["process.exit.code"] == 2


def test_argparse_parsing_is_unchanged_when_instrumented():
    import argparse

    def parse():
        parser = argparse.ArgumentParser(prog="tool")
        parser.add_argument("--x", type=int)
        sub = parser.add_subparsers(dest="c")
        sub.add_parser("go").add_argument("--y")
        return parser.parse_known_args(["--x", "3", "go", "--y", "z", "extra"])

    plain = parse()
    optel.instrument("argparse")
    try:
        patched = parse()
    finally:
        optel.uninstrument("argparse")
    assert patched == plain
