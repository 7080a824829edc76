"""The audit log (`log_file=` / `<APP>_TELEMETRY_LOG`) and `optel report FILE`, which summarises it."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from optel._flushes import deliver
from optel.cli.report import report
from optel.spool import describe

APP = "audit-test"
HEADER = {
    "schema": "optel.spool/1",
    "app": APP,
    "created_ns": 1_700_000_000_000_000_000,
    "export": {"endpoint": None, "headers": {"x-api-key": "k-123"}},
}
T0 = 1_700_000_000_000_000_000


def command_records(name: str = "chat", *, failed: bool = False) -> list[dict[str, object]]:
    status = "error" if failed else "ok"
    attrs: dict[str, object] = {"command.name": name}
    if failed:
        attrs["error.type"] = "ValueError"
    return [
        {
            "t": "span",
            "trace_id": "1" * 32,
            "span_id": "a" * 16,
            "parent_span_id": None,
            "name": f"cli {name}",
            "kind": "internal",
            "start_ns": T0,
            "end_ns": T0 + 250_000_000,
            "attributes": attrs,
            "status": status,
            "status_message": None,
            "events": [],
        },
        {
            "t": "span",
            "trace_id": "1" * 32,
            "span_id": "b" * 16,
            "parent_span_id": "a" * 16,
            "name": "chat gpt-4o",
            "kind": "client",
            "start_ns": T0 + 1,
            "end_ns": T0 + 100_000_001,
            "attributes": {},
            "status": "unset",
            "status_message": None,
            "events": [],
        },
        {
            "t": "metric",
            "name": "gen_ai.client.token.usage",
            "value": 120,
            "attributes": {},
            "time_ns": T0 + 2,
        },
        {
            "t": "metric",
            "name": "optel.cli.command.duration",
            "value": 0.25,
            "attributes": {},
            "time_ns": T0 + 3_000_000_000,
        },
    ]


def test_every_record_is_appended_as_a_json_line_also_when_sending_is_off(
    isolated_home: Path,
) -> None:
    log = isolated_home / "logs" / "deep" / "audit.jsonl"
    deliver(APP, HEADER, command_records(), send=False, debug=False, log_file=str(log))
    deliver(APP, HEADER, command_records("ask"), send=False, debug=False, log_file=str(log))
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [line.get("t") for line in lines] == [None, "span", "span", "metric", "metric"] * 2
    assert lines[1] == command_records()[0]
    assert describe(APP).files == 0, "nothing was spooled"


def test_the_audit_log_is_private_and_hides_collector_tokens(isolated_home: Path) -> None:
    log = isolated_home / "audit.jsonl"
    deliver(APP, HEADER, command_records(), send=False, debug=False, log_file=str(log))
    assert stat.S_IMODE(os.stat(log).st_mode) == 0o600
    assert "k-123" not in log.read_text()


def test_the_audit_log_and_the_spool_both_get_the_records_when_sending(isolated_home: Path) -> None:
    log = isolated_home / "audit.jsonl"
    # No interpreter to start: the uploader is not spawned, the spool keeps the file.
    code = (
        "import sys\nsys.executable = ''\nfrom optel._flushes import deliver\n"
        f"deliver({APP!r}, {HEADER!r}, {command_records()!r}, send=True, debug=False, log_file={str(log)!r})\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert len(log.read_text().splitlines()) == 5
    assert describe(APP).files == 1


def test_report_summarises_commands_spans_metrics_errors_and_time(isolated_home: Path) -> None:
    log = isolated_home / "audit.jsonl"
    deliver(APP, HEADER, command_records(), send=False, debug=False, log_file=str(log))
    deliver(APP, HEADER, command_records(failed=True), send=False, debug=False, log_file=str(log))
    deliver(APP, HEADER, command_records("ask"), send=False, debug=False, log_file=str(log))
    out, err = io.StringIO(), io.StringIO()
    assert report(str(log), out, err) == 0
    text = out.getvalue()
    assert err.getvalue() == ""
    assert f"12 records in 3 flushes from {APP}" in text
    assert "From 2023-11-14 22:13:20 UTC to 2023-11-14 22:13:23 UTC" in text
    lines = text.splitlines()
    assert any(line.split() == ["chat", "2", "1"] for line in lines), text
    assert any(line.split() == ["ask", "1", "0"] for line in lines), text
    assert any(line.split() == ["chat", "gpt-4o", "3", "0", "100.0"] for line in lines), text
    assert any(line.split() == ["gen_ai.client.token.usage", "3", "360"] for line in lines), text
    assert any(line.split() == ["optel.cli.command.duration", "3", "0.750"] for line in lines), text
    assert any(line.split() == ["ValueError", "1"] for line in lines), text


def test_report_through_the_cli_and_its_one_line_errors(python: str, isolated_home: Path) -> None:
    log = isolated_home / "audit.jsonl"
    deliver(APP, HEADER, command_records(), send=False, debug=False, log_file=str(log))
    done = subprocess.run(
        [python, "-m", "optel", "report", str(log)], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stderr) == (0, "") and "Spans" in done.stdout

    missing = subprocess.run(
        [python, "-m", "optel", "report", str(isolated_home / "nope.jsonl")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 1 and missing.stdout == ""
    assert missing.stderr.count("\n") == 1 and "cannot read" in missing.stderr

    garbled = isolated_home / "garbled.jsonl"
    garbled.write_bytes(b"\x00\xffnot json at all\n{{{\n")
    done = subprocess.run(
        [python, "-m", "optel", "report", str(garbled)], capture_output=True, text=True, timeout=60
    )
    assert (
        done.returncode == 1
        and done.stderr.count("\n") == 1
        and "not an optel audit log" in done.stderr
    )


def test_report_skips_damaged_lines_and_says_so(isolated_home: Path) -> None:
    log = isolated_home / "audit.jsonl"
    deliver(APP, HEADER, command_records(), send=False, debug=False, log_file=str(log))
    with open(log, "a") as f:
        f.write('{"t": "span", "name": "half\n[1, 2]\n\n')
    out = io.StringIO()
    assert report(str(log), out, io.StringIO()) == 0
    assert "Skipped 2 line(s)" in out.getvalue()


def test_report_of_an_empty_log(isolated_home: Path) -> None:
    log = isolated_home / "empty.jsonl"
    log.write_text("")
    out = io.StringIO()
    assert report(str(log), out, io.StringIO()) == 0
    assert "No spans or metrics recorded." in out.getvalue()


# a torn line: a crash or a full disk mid-write ----------------------------------------------------

DELIVER = (
    "import sys\nfrom optel._flushes import deliver\n"
    "records = {records!r}\n"
    "deliver({app!r}, {header!r}, records, send=False, debug=False, log_file=sys.argv[1])\n"
)


def deliver_in_a_process(log: Path, records: list[dict[str, object]]) -> None:
    code = DELIVER.format(records=records, app=APP, header=HEADER)
    done = subprocess.run(
        [sys.executable, "-c", code, str(log)], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", ""), "a failed write is silent"


def test_a_writer_after_a_torn_line_starts_on_a_new_line_and_the_reader_skips_only_that_line(
    isolated_home: Path,
) -> None:
    log = isolated_home / "audit.jsonl"
    deliver_in_a_process(log, command_records())
    with open(log, "ab") as f:
        f.write(b'{"t": "span", "name": "cli cha')  # a writer killed mid-line
    out = io.StringIO()
    assert report(str(log), out, io.StringIO()) == 0
    assert "8 records" not in out.getvalue() and "4 records in 1 flushes" in out.getvalue()
    assert "Skipped 1 line(s)" in out.getvalue(), "the torn last line is skipped"

    deliver_in_a_process(log, command_records("ask"))
    lines = log.read_bytes().split(b"\n")
    assert lines[5] == b'{"t": "span", "name": "cli cha' and lines[-1] == b""
    assert [json.loads(line)["name"] for line in lines[6:-1] if b'"t":"span"' in line] == [
        "cli ask",
        "chat gpt-4o",
    ]
    out = io.StringIO()
    assert report(str(log), out, io.StringIO()) == 0
    assert "8 records in 2 flushes" in out.getvalue() and "Skipped 1 line(s)" in out.getvalue()


KILLED_MID_WRITE = (
    "import resource, signal, sys\n"
    "from optel._flushes import deliver\n"
    "# The kernel kills the process (SIGXFSZ) when a write goes past the limit, after a short write.\n"
    "signal.signal(signal.SIGXFSZ, signal.SIG_DFL)\n"
    "resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[2]), int(sys.argv[2])))\n"
    "deliver({app!r}, {header!r}, {records!r}, send=False, debug=False, log_file=sys.argv[1])\n"
)


def test_a_writer_killed_mid_write_leaves_a_torn_line_that_the_next_writer_steps_over(
    isolated_home: Path,
) -> None:
    import signal

    log = isolated_home / "audit.jsonl"
    deliver_in_a_process(log, command_records())
    limit = log.stat().st_size + 300
    code = KILLED_MID_WRITE.format(app=APP, header=HEADER, records=command_records("torn"))
    killed = subprocess.run(
        [sys.executable, "-c", code, str(log), str(limit)], capture_output=True, timeout=60
    )
    assert killed.returncode == -signal.SIGXFSZ
    assert log.stat().st_size == limit and not log.read_bytes().endswith(b"\n"), "killed mid-line"

    deliver_in_a_process(log, command_records("ask"))
    lines = log.read_bytes().split(b"\n")
    assert lines[-1] == b"" and lines[-6].startswith(b'{"schema"'), (
        "the next flush starts on a line of its own"
    )
    torn = []
    for line in lines[:-1]:
        try:
            json.loads(line)
        except ValueError:
            torn.append(line)
    assert len(torn) == 1 and b'"cli torn"' in torn[0], "only the torn line is lost"
    out = io.StringIO()
    assert report(str(log), out, io.StringIO()) == 0  # the torn flush's header made it: 3 flushes
    assert "8 records in 3 flushes" in out.getvalue() and "Skipped 1 line(s)" in out.getvalue()


def test_a_full_disk_mid_write_leaves_no_torn_line(isolated_home: Path) -> None:
    disk = isolated_home / "small-disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)], capture_output=True
    )
    assert mounted.returncode == 0, mounted.stderr  # the suite runs as root
    try:
        log = disk / "audit.jsonl"
        deliver_in_a_process(log, command_records())
        kept = log.read_bytes()
        filler = disk / "filler"
        with open(filler, "wb", buffering=0) as f:
            try:
                while True:
                    f.write(b"\0" * 1024)
            except OSError:
                pass  # the disk is full
        os.truncate(
            filler, max(os.path.getsize(filler) - 6000, 0)
        )  # room for a part of the next flush
        big = [
            {**record, "attributes": {"command.name": "x" * 900}}
            for record in command_records() * 5
        ]
        deliver_in_a_process(log, big)
        assert log.read_bytes() == kept, "the flush that did not fit was taken back whole"
        os.unlink(filler)
        deliver_in_a_process(log, command_records("ask"))
        lines = log.read_text().splitlines()
        assert len(lines) == 10 and all(json.loads(line) for line in lines)
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)


def test_a_fifo_named_as_the_audit_log_never_hangs_the_host(isolated_home: Path) -> None:
    # A FIFO without a reader takes no more than its buffer (64 KiB): a larger flush would block the
    # host's exit for ever. It must exit at once, the audit log skipped.
    fifo = isolated_home / "audit.fifo"
    os.mkfifo(fifo)
    code = (
        "from optel._flushes import deliver\n"
        "records = [{'t': 'span', 'name': 'x' * 200}] * 1000\n"
        f"deliver({APP!r}, {HEADER!r}, records, send=False, debug=False, log_file={str(fifo)!r})\n"
        "print('done')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=20,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "done\n"
