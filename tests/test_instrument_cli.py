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
        make_click_cli(),
        ["-v", "db", "migrate", "--to", SECRET, "--dry-run", SECRET],
        prog_name="tool",
    )
    assert result.exit_code == 0, result.output
    (span,) = spans_of()
    assert span["name"] == "tool db migrate"
    assert span["attributes"]["command.name"] == "tool db migrate"
    assert span["attributes"]["optel.cli.command.options"] == ["--verbose", "--to", "--dry-run"]
    assert span["attributes"]["process.exit.code"] == 0
    assert span["status"] != "error"
    assert SECRET not in json.dumps(span)


@pytest.mark.parametrize(("target", "code"), [("fail", 1), ("exit", 4)])
def test_a_failing_click_command_records_its_exit_code_and_error(spans_of, target, code):
    result = CliRunner().invoke(
        make_click_cli(), ["db", "migrate", "--to", target], prog_name="tool"
    )
    assert result.exit_code == code
    (span,) = spans_of()
    assert span["attributes"]["process.exit.code"] == code
    assert span["status"] == "error"


def test_a_group_that_runs_a_subcommand_gets_no_span_of_its_own(spans_of):
    CliRunner().invoke(make_click_cli(), ["db", "migrate"], prog_name="tool")
    assert [s["name"] for s in spans_of()] == ["tool db migrate"]


def make_click_flags_cli():
    @click.group()
    @click.option("--verbose/--quiet", default=None)
    def tool(verbose):
        pass

    @tool.command()
    @click.option("--model")
    @click.option("--cache/--no-cache", default=True)
    @click.option("--color/--no-color", "-c/-C", default=None)
    @click.argument("path")
    def run(model, cache, color, path):
        pass

    return tool


@pytest.mark.parametrize(
    ("argv", "options"),
    [
        (
            ["--quiet", "run", "--no-cache", "-C"],
            ["--quiet", "--model", "--no-cache", "--no-color"],
        ),
        (["--verbose", "run", "--cache", "-c"], ["--verbose", "--model", "--cache", "--color"]),
        # Given twice, the spelling whose value click kept.
        (["run", "--cache", "--no-cache"], ["--model", "--no-cache"]),
    ],
)
def test_an_on_off_click_flag_is_recorded_by_the_spelling_used(spans_of, argv, options):
    result = CliRunner().invoke(
        make_click_flags_cli(), [*argv, "--model", SECRET, SECRET], prog_name="tool"
    )
    assert result.exit_code == 0, result.output
    (span,) = spans_of()
    assert span["name"] == "tool run"
    assert span["attributes"]["optel.cli.command.options"] == options
    assert SECRET not in json.dumps(span)


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
    def migrate(
        to: str = typer.Option("head", "--to"), dry_run: bool = typer.Option(False, "--dry-run")
    ):
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
    assert span["attributes"]["optel.cli.command.options"] == ["--verbose", "--to"]
    assert span["attributes"]["process.exit.code"] == 0
    assert SECRET not in json.dumps(span)


def test_a_typer_off_flag_is_recorded_by_the_spelling_used(spans_of):
    app = typer.Typer()

    @app.command()
    def run(cache: bool = typer.Option(True, "--cache/--no-cache"), force: bool = False):
        pass

    result = TyperRunner().invoke(app, ["--no-cache", "--no-force"], prog_name="tool")
    assert result.exit_code == 0, result.output
    (span,) = spans_of()
    assert span["attributes"]["optel.cli.command.options"] == ["--no-cache", "--no-force"]


def test_a_typer_exit_code_is_recorded(spans_of):
    result = TyperRunner().invoke(
        make_typer_cli(), ["db", "migrate", "--to", "exit"], prog_name="tool"
    )
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


def run_argparse_tool(python, tmp_path, *argv, source=ARGPARSE_TOOL):
    script = tmp_path / "tool.py"
    script.write_text(textwrap.dedent(source))
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
    assert span["attributes"]["optel.cli.command.options"] == ["--verbose", "--to", "--dry-run"]
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
    # One rule for every framework: a non-zero exit is typed by its status; the exception that
    # caused it is the span's exception event.
    assert span["attributes"]["error.type"] == "1"
    (event,) = [e for e in span["events"] if e["name"] == "exception"]
    assert event["attributes"]["exception.type"] == "RuntimeError"


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


ARGPARSE_HOST = """
    import argparse, sys
    import optel
    optel.instrument("argparse")
    optel.init("tool")
    parser = argparse.ArgumentParser(prog="tool")
    parser.add_argument("--model")
    parser.add_argument("--fast", action="store_true")
    parser.add_subparsers(dest="command").add_parser("go")
"""


def run_argparse_host(python, tmp_path, body, *argv):
    return run_argparse_tool(
        python, tmp_path, *argv, source=textwrap.dedent(ARGPARSE_HOST) + textwrap.dedent(body)
    )


def test_a_library_parsing_its_own_options_inside_an_argparse_command_records_no_command(
    python, tmp_path
):
    code, spans = run_argparse_host(
        python,
        tmp_path,
        """
        parser.parse_args()
        lib = argparse.ArgumentParser(prog="somelib")
        lib.add_argument("--flag", action="store_true")
        lib.parse_known_args([])
        lib.parse_known_args()
        sys.exit(3)
        """,
        "--model",
        SECRET,
        "go",
    )
    assert code == 3
    (span,) = spans
    assert span["name"] == "tool go"
    assert span["attributes"]["optel.cli.command.options"] == ["--model"]
    assert span["attributes"]["process.exit.code"] == 3


def test_a_usage_error_of_a_library_parser_inside_a_command_ends_that_command_with_code_2(
    python, tmp_path
):
    code, spans = run_argparse_host(
        python,
        tmp_path,
        """
        parser.parse_args()
        argparse.ArgumentParser(prog="somelib").parse_args(["--bogus"])
        """,
        "go",
    )
    assert code == 2
    ((name, exit_code),) = [(s["name"], s["attributes"].get("process.exit.code")) for s in spans]
    assert (name, exit_code) == ("tool go", 2)


def test_the_same_parser_reading_the_same_command_line_again_is_still_one_command(python, tmp_path):
    code, spans = run_argparse_host(
        python,
        tmp_path,
        """
        parser.parse_known_args()
        parser.parse_args()
        sys.exit(0)
        """,
        "--fast",
        "go",
    )
    assert code == 0
    assert [(s["name"], s["attributes"]["process.exit.code"]) for s in spans] == [("tool go", 0)]


def test_the_same_parser_reading_another_command_line_starts_the_next_command(python, tmp_path):
    code, spans = run_argparse_host(
        python,
        tmp_path,
        """
        parser.parse_args(["--fast"])
        parser.parse_args(["--model", "m", "go"])
        sys.exit(1)
        """,
    )
    assert code == 1
    first, second = spans
    # It ended without failing when the next command line was read: exit code 0, as every
    # command span carries one (the CLI conventions require it).
    assert first["name"] == "tool" and first["attributes"]["process.exit.code"] == 0
    assert first["attributes"]["optel.cli.command.options"] == ["--fast"]
    assert second["name"] == "tool go" and second["attributes"]["process.exit.code"] == 1


def test_a_pre_parser_then_the_full_parser_on_the_rest_make_one_command_with_the_full_path(
    python, tmp_path
):
    code, spans = run_argparse_host(
        python,
        tmp_path,
        """
        pre = argparse.ArgumentParser(prog="tool", add_help=False)
        pre.add_argument("--config")
        known, rest = pre.parse_known_args()
        parser.parse_args(rest)
        sys.exit(0)
        """,
        "--config",
        SECRET,
        "--model",
        SECRET,
        "go",
    )
    assert code == 0
    (span,) = spans
    assert span["name"] == "tool go"
    assert span["attributes"]["command.name"] == "tool go"
    assert span["attributes"]["optel.cli.command.options"] == ["--config", "--model"]
    assert span["attributes"]["process.exit.code"] == 0
    assert SECRET not in json.dumps(span)


# --- one rule for every framework: the process's exit status, one command span, the app's name ---


@pytest.fixture
def app_tool():
    """optel.init("tool") (telemetry off) and a capture: commands are named by the app, "tool"."""
    from optel import _runtime

    _runtime.reset()
    optel.init("tool", session_flag=False)
    optel.instrument("click", "typer")
    with optel.testing.capture() as records:
        yield lambda: [r for r in records if r["t"] == "span" and "command.name" in r["attributes"]]
    optel.uninstrument("click", "typer")
    _runtime.reset()


@pytest.mark.parametrize("prog_name", ["cli", "python -m tool", "my-alias"])
def test_a_click_command_is_named_by_the_app_not_by_argv0(app_tool, prog_name):
    result = CliRunner().invoke(make_click_cli(), ["db", "migrate"], prog_name=prog_name)
    assert result.exit_code == 0, result.output
    assert [s["attributes"]["command.name"] for s in app_tool()] == ["tool db migrate"]


@pytest.mark.parametrize(
    ("runner", "cli"), [(CliRunner, make_click_cli), (TyperRunner, make_typer_cli)]
)
def test_a_click_or_typer_usage_error_is_a_command_span_with_exit_2(app_tool, runner, cli):
    result = runner().invoke(cli(), ["db", "migrate", "--bogus"], prog_name="x")
    assert result.exit_code == 2
    (span,) = app_tool()
    assert span["name"] == "tool db migrate"
    assert (span["attributes"]["process.exit.code"], span["attributes"]["error.type"]) == (2, "2")


@pytest.mark.parametrize(
    ("runner", "cli", "argv", "code"),
    [
        (CliRunner, make_click_cli, ["db", "migrate", "--to", "fail"], 1),
        (CliRunner, make_click_cli, ["db", "migrate", "--to", "exit"], 4),
        (TyperRunner, make_typer_cli, ["db", "migrate", "--to", "exit"], 3),
    ],
)
def test_error_type_is_the_exit_status_whatever_the_framework(app_tool, runner, cli, argv, code):
    result = runner().invoke(cli(), argv, prog_name="x")
    assert result.exit_code == code
    (span,) = app_tool()
    assert (span["attributes"]["process.exit.code"], span["attributes"]["error.type"]) == (
        code,
        str(code),
    )


def test_ctrl_c_in_a_click_command_is_recorded_with_the_status_click_exits_with(app_tool):
    @click.command()
    def interrupted():
        raise KeyboardInterrupt

    result = CliRunner().invoke(interrupted, [], prog_name="x")
    assert result.exit_code == 1  # click's "Aborted!"
    (span,) = app_tool()
    assert (span["attributes"]["process.exit.code"], span["attributes"]["error.type"]) == (1, "1")
    (event,) = span["events"]
    assert event["attributes"]["exception.type"] == "KeyboardInterrupt"


HTTPIE_LIKE = """
    import argparse, sys
    import optel
    optel.instrument("argparse")
    optel.init("tool")

    DECORATED

    def main():
        parser = argparse.ArgumentParser(prog="tool")
        parser.add_argument("url")
        parser.add_argument("--fail", action="store_true")
        try:
            args = parser.parse_args()
        except SystemExit as exc:
            return 1 if exc.code else 0  # httpie: a usage error is exit 1
        return 4 if args.fail else 0

    if DECORATE:
        main = optel.command("tool", exit_code=True)(main)

    sys.exit(main())
"""


@pytest.mark.parametrize("decorated", [False, True], ids=["instrumented", "and-decorated"])
@pytest.mark.parametrize(
    ("argv", "code"), [(["x.org"], 0), (["x.org", "--fail"], 4), (["--bogus"], 1)]
)
def test_an_argparse_main_returning_its_status_is_recorded_with_it_once(
    python, tmp_path, argv, code, decorated
):
    source = HTTPIE_LIKE.replace("DECORATED", "").replace("DECORATE", repr(decorated))
    exit_status, spans = run_argparse_tool(python, tmp_path, *argv, source=source)
    assert exit_status == code
    (span,) = spans  # one command span per run, decorated or not
    assert span["attributes"]["process.exit.code"] == code
    assert span["attributes"].get("error.type") == (str(code) if code else None)


# --- a command also decorated with @optel.command is the run's command span, not a second one ---


def make_decorated_click(order):
    """A click command whose callback is also an @optel.command, the decorator above or below."""

    def main(fail):
        if fail:
            raise click.ClickException("failed")

    option = click.option("--fail", is_flag=True)
    if order == "optel-above":
        return optel.command()(click.command()(option(main)))
    return click.command()(option(optel.command()(main)))


@pytest.mark.parametrize("order", ["optel-above", "optel-below"])
@pytest.mark.parametrize(("argv", "code"), [([], 0), (["--fail"], 1)])
def test_a_click_command_also_decorated_is_one_command_span(app_tool, order, argv, code):
    main = make_decorated_click(order)
    assert isinstance(main, click.Command)  # still click's: CliRunner, --help and groups work
    result = CliRunner().invoke(main, argv, prog_name="x")
    assert result.exit_code == code, result.output
    (span,) = app_tool()
    assert span["name"] == span["attributes"]["command.name"] == "tool"
    assert span["attributes"].get("error.type") == (str(code) if code else None)


def test_a_decorated_click_subcommand_and_typer_command_are_one_span_each(app_tool):
    group = make_click_cli()

    @group.command("deploy")
    @optel.command()
    def deploy():
        pass

    assert CliRunner().invoke(group, ["deploy"]).exit_code == 0
    app = typer.Typer()

    @app.command()
    @optel.command()
    def run(force: bool = False):
        pass

    @app.command()
    def other():
        pass

    assert TyperRunner().invoke(app, ["run", "--force"]).exit_code == 0
    names = [s["attributes"]["command.name"] for s in app_tool()]
    assert names == ["tool deploy", "tool run"]


def test_optel_command_over_a_click_group_leaves_the_group_as_it_is(app_tool):
    group = optel.command()(make_click_cli())
    assert isinstance(group, click.Group)
    assert CliRunner().invoke(group, ["db", "migrate"]).exit_code == 0
    assert [s["attributes"]["command.name"] for s in app_tool()] == ["tool db migrate"]


def test_without_the_click_instrumentor_a_decorated_click_command_records_its_callback():
    from optel import _runtime

    _runtime.reset()
    optel.init("tool", session_flag=False)
    try:
        with optel.testing.capture() as records:
            main = make_decorated_click("optel-above")
            assert CliRunner().invoke(main, []).exit_code == 0
        names = [r["attributes"]["command.name"] for r in records if r["t"] == "span"]
        assert names == ["main"]
    finally:
        _runtime.reset()
