"""`optel report`: one streaming reader for audit logs, spools and OTLP JSON files, and an HTML page
of plots that a real browser draws, offline."""

from __future__ import annotations

import os
import pty
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from browser import colours, dump_dom, screenshot
from optel.report import names
from optel.report.page import render
from optel.report.read import input_files, read_lines, records
from optel.report.svg import FAILED, PALETTE
from optel.report.tally import LogHistogram, Tally
from report_inputs import INSTALLS, Inputs, build

PLOTS = (
    "installs-day", "installs-week", "versions", "commands", "errors", "durations", "llm-calls",
    "llm-tokens", "llm-latency", "consent", "os", "python",
)  # fmt: skip

# Written into a copy of the page only: the report itself carries no script.
MEASURE = """<script>
for (const svg of document.querySelectorAll('section.plot svg')) {
  const box = svg.getBoundingClientRect();
  svg.setAttribute('data-drawn', `${Math.round(box.width)}x${Math.round(box.height)}`);
  for (const rect of svg.querySelectorAll('rect')) {
    const r = rect.getBoundingClientRect();
    if (r.width > 0 && r.height > 0) rect.setAttribute('data-drawn', '1');
  }
}
</script>"""


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Inputs:
    return build(tmp_path_factory.mktemp("report-inputs"))


def tally_of(path: Path) -> Tally:
    return Tally().add_all(records(read_lines(input_files(str(path)))))


def facts(tally: Tally) -> dict[str, object]:
    return {
        "commands": {k: (u.runs, u.failures) for k, u in tally.commands.items()},
        "llm": {
            k: (u.runs, u.failures, u.input_tokens, u.output_tokens) for k, u in tally.llm.items()
        },
        "errors": tally.errors,
        "installs": {day: sorted(i) for day, i in tally.installs_by_day.items()},
        "facts": {k: {v: sorted(i) for v, i in by.items()} for k, by in tally.facts.items()},
    }


def test_the_audit_log_the_spool_and_the_collector_file_of_one_run_give_the_same_plots(
    inputs: Inputs,
) -> None:
    from_audit, from_spool, from_otlp = (
        tally_of(p) for p in (inputs.audit, inputs.spool, inputs.otlp)
    )
    assert facts(from_audit) == facts(from_spool) == facts(from_otlp)
    assert sum(u.runs for u in from_otlp.commands.values()) == inputs.runs
    assert {v: len(i) for v, i in from_otlp.facts["version"].items()} == {"1.0.0": 2, "1.1.0": 1}
    assert {v: len(i) for v, i in from_otlp.facts["consent"].items()} == {
        "anonymous": 2,
        "identified": 1,
    }
    assert sum(len(i) for i in from_otlp.installs_by_day.values()) >= len(INSTALLS)
    providers = {provider for provider, _ in from_otlp.llm}
    assert providers == {"openai", "anthropic"}
    assert all(u.input_tokens > 0 and u.output_tokens > 0 for u in from_otlp.llm.values())
    assert from_otlp.commands["check"].failures == from_otlp.commands["check"].runs > 0


def run_report(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "optel", "report", *args],
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,
    )  # type: ignore[call-overload]


def test_the_page_is_drawn_by_headless_chromium_with_every_plot(
    inputs: Inputs, tmp_path: Path
) -> None:
    page = tmp_path / "report.html"
    done = run_report(str(inputs.otlp), "-o", str(page))
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    html = page.read_text()

    measured = tmp_path / "measured.html"
    # The page's own policy forbids scripts: the measuring copy lifts it.
    measured.write_text(
        re.sub(r"<meta http-equiv=\"Content-Security-Policy\"[^>]*>", "", html).replace(
            "</body>", MEASURE + "</body>"
        )
    )
    dom = dump_dom(measured)
    for plot in PLOTS:
        section = re.search(rf'<section class="plot" data-plot="{plot}">(.*?)</section>', dom, re.S)
        assert section, f"no section {plot}"
        drawn = re.search(r'<svg[^>]*data-drawn="(\d+)x(\d+)"', section.group(1))
        assert drawn, f"plot {plot} has no drawn svg"
        assert int(drawn.group(1)) > 100 and int(drawn.group(2)) > 10, (plot, drawn.groups())
        assert 'data-drawn="1"' in section.group(1).split("</svg>", 1)[0].split("<svg", 1)[1], (
            f"plot {plot} has no visible bar"
        )

    seen = colours(screenshot(page, tmp_path / "report.png"))
    assert len(seen) > 20, f"the screenshot looks blank: {len(seen)} colours"
    drawn_colours = {PALETTE[0], PALETTE[1], FAILED}  # bars, output tokens, failures
    assert all(seen.get(c, 0) > 200 for c in drawn_colours), {
        c: seen.get(c, 0) for c in drawn_colours
    }


def test_the_page_is_self_contained_and_escapes_what_the_data_says(tmp_path: Path) -> None:
    hostile = '<img src="https://example.invalid/x.png"><script>alert(1)</script>'
    tally = Tally().add_all(synthetic(days=2, installs=3, command=hostile))
    html = render(tally, ["x.jsonl"])
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;" in html
    assert "default-src 'none'" in html
    # Nothing that a browser would fetch: no tag with a source or link, no CSS url() or @import.
    assert not re.search(r"<[^>]*\s(src|href)\s*=|url\(|@import", html)


def test_installs_are_counted_once_per_day_and_week_and_by_version(tmp_path: Path) -> None:
    tally = Tally().add_all(synthetic(days=10, installs=4))
    assert {len(i) for i in tally.installs_by_day.values()} == {4}
    assert len(tally.installs_by_day) == 10
    html = render(tally, ["x"])
    # 10 days from a Monday: two weeks, each with the 4 installs.
    week = re.search(r'data-plot="installs-week">.*?</section>', html, re.S)
    assert week and week.group(0).count("<rect") == 2
    versions = re.search(r'data-plot="versions">.*?</section>', html, re.S)
    assert versions and "2.0.0" in versions.group(0) and "2.1.0" in versions.group(0)


def test_percentiles_from_the_log_histogram_are_within_five_percent() -> None:
    rng = random.Random(7)
    values = sorted(rng.lognormvariate(0, 1.5) for _ in range(20_000))
    histogram = LogHistogram()
    for v in values:
        histogram.add(v)
    for q in (0.5, 0.9, 0.99):
        exact = values[int(q * len(values)) - 1]
        assert abs(histogram.percentile(q) / exact - 1) < 0.05, q


def test_a_progress_bar_is_drawn_only_when_stderr_is_a_terminal(
    inputs: Inputs, tmp_path: Path
) -> None:
    big = tmp_path / "big.jsonl"
    with open(big, "wb") as f:
        for _ in range(300):
            f.write(inputs.audit.read_bytes())
    piped = run_report(str(big), "-o", str(tmp_path / "a.html"))
    assert (piped.returncode, piped.stderr) == (0, "")

    primary, secondary = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "optel", "report", str(big), "-o", str(tmp_path / "b.html")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=secondary, timeout=120,
        )  # fmt: skip
        os.close(secondary)
        shown = b""
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(primary)
    assert done.returncode == 0
    assert b"reading [" in shown and b"%" in shown, shown[:200]


def test_text_and_html_of_a_file_that_is_not_telemetry_are_one_line_errors(tmp_path: Path) -> None:
    garbled = tmp_path / "garbled.jsonl"
    garbled.write_bytes(b"\x00\xffnot json\n[1]\n")
    for extra in ((), ("-o", str(tmp_path / "x.html"))):
        done = run_report(str(garbled), *extra)
        assert (
            done.returncode == 1 and done.stderr.count("\n") == 1 and "not an optel" in done.stderr
        )
    assert not (tmp_path / "x.html").exists()


def test_the_text_summary_reads_the_collector_file_too(inputs: Inputs) -> None:
    done = run_report(str(inputs.otlp), "--format", "text")
    assert done.returncode == 0, done.stderr
    assert any(
        line.split()[:3] == ["check", str(inputs.runs // 3), str(inputs.runs // 3)]
        for line in done.stdout.splitlines()
    ), done.stdout


def synthetic(days: int, installs: int, command: str = "build") -> list[dict[str, object]]:
    """Spool-schema records: every install runs `command` once a day from Monday 2026-11-30."""
    start_day = 20787  # 2026-11-30, a Monday
    out: list[dict[str, object]] = []
    for i in range(installs):
        resource = {
            names.INSTALL_ID: f"install-{i}",
            names.VERSION: f"2.{i % 2}.0",
            names.CONSENT_MODE: "anonymous",
        }
        out.append({"schema": "optel.spool/1", "app": "x", "resource": resource})
        for day in range(days):
            t = (start_day + day) * 86_400 * 10**9 + 3600 * 10**9
            out.append({
                "t": "span", "name": command, "parent_span_id": None, "start_ns": t, "end_ns": t + 10**8,
                "attributes": {names.COMMAND: command}, "status": "ok",
            })  # fmt: skip
    return out
