"""`<APP>_TELEMETRY_DEBUG=1`: each record as one JSON line on stderr, and nothing spooled or sent."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from optel import _paths

APP = "debug-test"

# `sys.executable = ""`: no uploader is started; these tests are about what the host prints.
HOST = f"""\
import sys
sys.executable = ""
from optel._flushes import deliver
header = {{"schema": "optel.spool/1", "app": {APP!r}, "export": {{"endpoint": "http://127.0.0.1:9",
          "headers": {{"authorization": "Bearer sk-secret"}}}}}}
records = [{{"t": "span", "name": "run", "attributes": {{"n": 1.5}}}},
           {{"t": "metric", "name": "optel.cli.user.inputs", "value": 1, "attributes": {{}}, "time_ns": 5}}]
deliver({APP!r}, header, records, send=SEND, debug=DEBUG, log_file=None)
print("host output")
"""


def run(python: str, *, send: bool, debug: bool) -> subprocess.CompletedProcess[str]:
    code = HOST.replace("SEND", str(send)).replace("DEBUG", str(debug))
    return subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=30)


def test_debug_prints_the_header_and_each_record_as_json_lines_and_spools_nothing(
    python: str,
) -> None:
    done = run(python, send=True, debug=True)
    assert done.returncode == 0 and done.stdout == "host output\n"
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert lines[0]["app"] == APP
    assert lines[1:] == [
        {"t": "span", "name": "run", "attributes": {"n": 1.5}},
        {
            "t": "metric",
            "name": "optel.cli.user.inputs",
            "value": 1,
            "attributes": {},
            "time_ns": 5,
        },
    ]
    assert not os.path.exists(_paths.spool_dir(APP))


def test_debug_output_never_shows_the_collector_token(python: str) -> None:
    done = run(python, send=False, debug=True)
    assert "sk-secret" not in done.stderr
    assert json.loads(done.stderr.splitlines()[0])["export"]["headers"] == {
        "authorization": "<secret>"
    }


def test_without_debug_nothing_is_printed(python: str, isolated_home: Path) -> None:
    done = run(python, send=False, debug=False)
    assert (done.returncode, done.stdout, done.stderr) == (0, "host output\n", "")
    assert not os.path.exists(_paths.spool_dir(APP))


def test_sending_without_debug_spools_silently(python: str) -> None:
    done = run(python, send=True, debug=False)
    assert (done.stdout, done.stderr) == ("host output\n", "")
    (name,) = [n for n in os.listdir(_paths.spool_dir(APP)) if n.endswith(".jsonl")]
    assert name.endswith(".jsonl")


def test_a_closed_stderr_does_not_break_the_host(python: str) -> None:
    code = "import sys, os\nsys.stderr.close()\n" + HOST.replace("SEND", "False").replace(
        "DEBUG", "True"
    )
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stdout) == (0, "host output\n")
