"""One exit-status rule for the decorators and every CLI framework (optel.record.exits).

Each case runs a real tool process (click, typer, argparse, or a host's own ``@optel.command``)
that ends one way, and reads its command span from the debug output: the span says the status
the process really exited with, and the frameworks record the same attributes for the same end.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import textwrap

import pytest

TOOL = """
import sys
import optel

optel.instrument("click", "typer", "argparse")
framework, outcome = sys.argv[1], sys.argv[2]
optel.init("tool")


def act():
    if outcome == "exit3":
        sys.exit(3)
    if outcome == "exit_false":
        sys.exit(False)
    if outcome == "crash":
        raise RuntimeError("boom")
    if outcome == "ctrl_c":
        raise KeyboardInterrupt
    if outcome == "click_usage":
        import click

        raise click.UsageError("no such thing")


usage = ["--bogus"] if outcome == "usage" else []
if framework == "click":
    import click

    @click.command()
    def run():
        act()

    run(prog_name="tool", args=usage)
elif framework == "typer":
    import typer

    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)

    @app.command()
    def run():
        act()

    app(prog_name="tool", args=usage)
elif framework == "argparse":
    import argparse

    argparse.ArgumentParser(prog="tool").parse_args(usage)
    act()
elif framework == "decorated-click":
    import click

    @click.command()
    @optel.command("tool")
    def run():
        act()

    run(prog_name="tool", args=usage)
else:

    @optel.command("tool")
    def run():
        act()

    run()
"""


def run_tool(python, tmp_path, framework, outcome, spans=1):
    script = tmp_path / "tool.py"
    script.write_text(textwrap.dedent(TOOL))
    env = {**os.environ, "TOOL_TELEMETRY_DEBUG": "1"}
    done = subprocess.run(
        [python, str(script), framework, outcome],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    records = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    commands = [r for r in records if r.get("t") == "span" and "command.name" in r["attributes"]]
    assert len(commands) == spans, done.stderr
    # An uncaught Ctrl-C kills the process by SIGINT (-2 here, 130 in a shell): optel's exit flush
    # must not turn it into exit 1 (CPython does when anything runs exec() or eval() on a string
    # after it, as the scrubber's pre-filter once did at import).
    return done.returncode, commands[0] if spans == 1 else commands


def exit_attributes(span):
    attributes = span["attributes"]
    return {
        "process.exit.code": attributes.get("process.exit.code"),
        "error.type": attributes.get("error.type"),
        "status": span["status"],
        "exception events": sorted(
            e["attributes"]["exception.type"] for e in span["events"] if e["name"] == "exception"
        ),
    }


def shell_status(returncode):
    """The status a shell shows: a process that a signal killed is 128 + the signal."""
    return 128 + -returncode if returncode < 0 else returncode


OUTCOMES = ["ok", "exit3", "exit_false", "crash", "ctrl_c", "usage"]


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_click_typer_and_argparse_record_the_status_the_process_exits_with(
    python, tmp_path, outcome
):
    seen = {}
    for framework in ("click", "typer", "argparse"):
        code, span = run_tool(python, tmp_path, framework, outcome)
        status = shell_status(code)
        seen[framework] = exit_attributes(span)
        assert seen[framework]["process.exit.code"] == status, (framework, seen)
        assert seen[framework]["error.type"] == (str(status) if status else None), seen
        assert seen[framework]["status"] == ("error" if status else "unset"), seen
    # The same end, the same attributes (the exception class is the framework's own: typer's
    # copy of click's, or none for argparse, which exits without one).
    exits = {name: {**seen[name], "exception events": None} for name in seen}
    if outcome != "ctrl_c":  # click's standalone main turns a Ctrl-C into "Aborted!" and exit 1
        assert exits["click"] == exits["typer"] == exits["argparse"], seen


@pytest.mark.parametrize("outcome", OUTCOMES[:-1])
def test_a_decorated_command_records_the_status_the_process_exits_with(python, tmp_path, outcome):
    code, span = run_tool(python, tmp_path, "decorated", outcome)
    status = shell_status(code)
    attributes = exit_attributes(span)
    assert attributes["process.exit.code"] == status
    assert attributes["status"] == ("error" if status else "unset")
    if outcome == "exit3":
        # An exit is typed by its code, as every framework types it, and is no exception.
        assert attributes["error.type"] == "3"
        assert attributes["exception events"] == []


def test_a_click_usage_error_inside_a_decorated_command_records_exit_2(python, tmp_path):
    # click's standalone main turns the UsageError into exit 2, and the run's span says so (not 1,
    # as for any other exception). The host's decorated callback is that command: one span.
    code, command = run_tool(python, tmp_path, "decorated-click", "click_usage")
    assert code == 2
    attributes = exit_attributes(command)
    assert attributes["process.exit.code"] == 2
    assert attributes["error.type"] == "2"
    assert attributes["exception events"] == ["click.exceptions.UsageError"]


def test_an_uncaught_ctrl_c_still_ends_the_process_by_sigint_with_its_data_spooled(python):
    # Telemetry on, so the real exit runs after the KeyboardInterrupt: the flush's imports, the
    # scrubber, the spool write. The shell must still see 130 (death by SIGINT), not 1.
    from optel import _paths
    from optel.spool.files import Spool

    app = "ctrl-c-tool"
    user_file = _paths.user_config_file(app)
    os.makedirs(os.path.dirname(user_file), exist_ok=True)
    with open(user_file, "w") as f:
        f.write('mode = "anonymous"\ninstall_id = "3f1d0c9e-0000-4000-8000-00000000c7c7"\n')
    host = (
        "import optel\n"
        f"optel.init({app!r}, endpoint='http://127.0.0.1:9')\n"
        "@optel.command()\n"
        "def main():\n"
        "    raise KeyboardInterrupt\n"
        "main()\n"
    )
    done = subprocess.run([python, "-c", host], capture_output=True, text=True, timeout=60)
    assert done.returncode == -signal.SIGINT, done.stderr
    assert done.stderr.rstrip().endswith("KeyboardInterrupt")
    assert len(Spool(app).files()) == 1
