"""`optel report`: an audit log, a spool or a collector's OTLP JSON file as an HTML page of plots or a text summary."""

from __future__ import annotations

import os
import sys
from datetime import datetime, timezone

from optel._terminal import PATH_LIMIT, shown
from optel.record import names as n

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterable, Mapping
    from typing import TextIO

    from optel.report.tally import Tally

CELL_LIMIT = 80
MAX_ROWS = 100
MAX_APPS = 10

HELP = "show what optel recorded (audit log, spool, collector's OTLP JSON file) as an HTML page or a text summary"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "files", metavar="FILE", nargs="+",
        help="an audit log, a spool file or directory, or a collector file exporter's OTLP JSON lines",
    )  # fmt: skip
    parser.add_argument(
        "--format", choices=("text", "html"), default=None,
        help="text (the default without -o) or html (the default with -o): one self-contained page of plots",
    )  # fmt: skip
    parser.add_argument(
        "-o", "--output", metavar="PAGE", help="write the report to PAGE instead of stdout"
    )


def run(args: argparse.Namespace) -> int:
    fmt = args.format or ("html" if args.output else "text")
    return report_files(args.files, fmt, args.output, sys.stdout, sys.stderr)


class Summary:
    """What an audit log holds, counted."""

    __slots__ = (
        "apps",
        "bad_lines",
        "commands",
        "errors",
        "first_ns",
        "flushes",
        "last_ns",
        "metrics",
        "records",
        "spans",
    )

    def __init__(self) -> None:
        self.records = 0
        self.flushes = 0
        self.bad_lines = 0
        self.apps: set[str] = set()
        self.first_ns: int | None = None
        self.last_ns: int | None = None
        # name -> [count, errors, total duration ns]
        self.spans: dict[str, list[int]] = {}
        # name -> [measurements, total]
        self.metrics: dict[str, list[float]] = {}
        # command -> [runs, failures]
        self.commands: dict[str, list[int]] = {}
        self.errors: dict[str, int] = {}

    def _seen(self, *times: object) -> None:
        for value in times:
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                if self.first_ns is None or value < self.first_ns:
                    self.first_ns = value
                if self.last_ns is None or value > self.last_ns:
                    self.last_ns = value

    def add(self, value: object) -> None:
        if not isinstance(value, dict):
            self.bad_lines += 1
            return
        kind = value.get("t")
        attributes = value.get("attributes")
        attrs: dict[str, object] = attributes if isinstance(attributes, dict) else {}
        if "schema" in value and kind is None:
            self.flushes += 1
            if isinstance(value.get("app"), str):
                self.apps.add(value["app"])
        elif kind == "span":
            self.records += 1
            name = str(value.get("name", "?"))
            start, end = value.get("start_ns"), value.get("end_ns")
            self._seen(start, end)
            row = self.spans.setdefault(name, [0, 0, 0])
            row[0] += 1
            if isinstance(start, int) and isinstance(end, int) and end >= start:
                row[2] += end - start
            if value.get("status") == "error":
                row[1] += 1
                self._error(attrs.get(n.ERROR_TYPE))
            command = attrs.get(n.COMMAND_NAME)
            if isinstance(command, str) and not isinstance(value.get("parent_span_id"), str):
                runs = self.commands.setdefault(command, [0, 0])
                runs[0] += 1
                runs[1] += value.get("status") == "error"
        elif kind == "metric":
            self.records += 1
            self._seen(value.get("time_ns"))
            number = value.get("value")
            row_m = self.metrics.setdefault(str(value.get("name", "?")), [0, 0.0])
            row_m[0] += 1
            if isinstance(number, (int, float)) and not isinstance(number, bool):
                row_m[1] += number
        elif kind == "end":
            pass
        else:  # not a record (BAD from the reader, or an unknown kind)
            self.bad_lines += 1

    def _error(self, error_type: object) -> None:
        key = str(error_type) if error_type else "(unknown)"
        self.errors[key] = self.errors.get(key, 0) + 1


def summarise(records: Iterable[Mapping[str, object]]) -> Summary:
    """Count records; values that are not records are counted as bad lines, not fatal."""
    summary = Summary()
    for record in records:
        summary.add(record)
    return summary


def report(path: str, out: TextIO, err: TextIO) -> int:
    """Print the text summary of the file at `path`; a one-line error (exit 1) when it is unusable."""
    return report_files([path], "text", None, out, err)


def report_files(paths: list[str], fmt: str, output: str | None, out: TextIO, err: TextIO) -> int:
    """Read every input once, streaming, and write the text summary or the HTML page."""
    from optel.report.progress import Progress
    from optel.report.read import input_files, read_lines, records

    progress = None
    try:
        files = [f for p in paths for f in input_files(p)]
        progress = Progress(err, sum(os.path.getsize(f) for f in files))
        stream = records(read_lines(files, progress.advanced))
        if fmt == "html":
            from optel.report.tally import Tally

            tally = Tally()
            summary = summarise(_both(stream, tally))
        else:
            summary = summarise(stream)
    except OSError as exc:
        where = exc.filename if isinstance(exc.filename, str) else paths[0]
        err.write(
            f"optel: error: cannot read {shown(where, PATH_LIMIT)}: {shown(exc.strerror or exc)}\n"
        )
        return 1
    finally:
        if progress is not None:
            progress.done()  # the bar's line is cleared before any message or output
    label = ", ".join(paths)
    if summary.bad_lines and not (summary.records or summary.flushes):
        err.write(
            f"optel: error: {shown(label, PATH_LIMIT)} is not an optel audit log, spool or OTLP JSON file (no line is a telemetry record)\n"
        )
        return 1
    if fmt == "html":
        from optel.report.page import render as render_page

        text = render_page(tally, [shown(p, PATH_LIMIT) for p in paths])
    else:
        text = render(label, summary)
    return _write(text, output, out, err)


def _both(stream: Iterable[Mapping[str, object]], tally: Tally) -> Iterable[Mapping[str, object]]:
    # One pass feeds the text counts (used for the unusable-input check) and the plots.
    for record in stream:
        tally.add(record)
        yield record


def _write(text: str, output: str | None, out: TextIO, err: TextIO) -> int:
    if output is None:
        out.write(text)
        return 0
    try:
        with open(output, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as exc:
        err.write(
            f"optel: error: cannot write {shown(output, PATH_LIMIT)}: {shown(exc.strerror or exc)}\n"
        )
        return 1
    return 0


def _time(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _number(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.3f}"


def _table(title: str, headings: list[str], rows: list[list[str]]) -> list[str]:
    # Names and error types come from the log, which anything may have written: escaped and
    # bounded before their width is measured.
    hidden = len(rows) - MAX_ROWS
    rows = [[shown(cell, CELL_LIMIT) for cell in row] for row in rows[:MAX_ROWS]]
    if hidden > 0:
        rows.append([f"... and {hidden} more", *([""] * (len(headings) - 1))])
    widths = [max(len(row[i]) for row in [headings, *rows]) for i in range(len(headings))]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [cell.rjust(width) for cell, width in zip(cells[1:], widths[1:])]
        return "  " + "  ".join([first, *rest]).rstrip()

    return [
        "",
        title,
        line(headings),
        line(["-" * w for w in widths]),
        *(line(row) for row in rows),
    ]


def render(path: str, summary: Summary) -> str:
    """The human-readable report."""
    lines = [f"{shown(path, PATH_LIMIT)}: {summary.records} records in {summary.flushes} flushes"]
    if summary.apps:
        apps = sorted(summary.apps)
        more = f" and {len(apps) - MAX_APPS} more" if len(apps) > MAX_APPS else ""
        lines[0] += f" from {', '.join(shown(app) for app in apps[:MAX_APPS])}{more}"
    if summary.first_ns is not None and summary.last_ns is not None:
        lines.append(f"From {_time(summary.first_ns)} to {_time(summary.last_ns)}")
    if summary.bad_lines:
        lines.append(f"Skipped {summary.bad_lines} line(s) that are not telemetry records")
    if not summary.records:
        lines.append("No spans or metrics recorded.")
    if summary.commands:
        rows = [
            [name, str(runs), str(failed)]
            for name, (runs, failed) in sorted(summary.commands.items())
        ]
        lines += _table("Commands", ["command", "runs", "failed"], rows)
    if summary.spans:
        rows = [
            [name, str(n), str(errors), f"{total / n / 1e6:.1f}"]
            for name, (n, errors, total) in sorted(
                summary.spans.items(), key=lambda kv: (-kv[1][0], kv[0])
            )
        ]
        lines += _table("Spans", ["name", "count", "errors", "mean ms"], rows)
    if summary.metrics:
        rows = [
            [name, _number(n), _number(total)]
            for name, (n, total) in sorted(summary.metrics.items())
        ]
        lines += _table("Metrics", ["name", "measurements", "total"], rows)
    if summary.errors:
        rows = [
            [kind, str(n)]
            for kind, n in sorted(summary.errors.items(), key=lambda kv: (-kv[1], kv[0]))
        ]
        lines += _table("Errors", [n.ERROR_TYPE, "count"], rows)
    return "\n".join(lines) + "\n"
