"""The data dictionary: complete, consistent with itself, and with docs/telemetry-data.md."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

from optel.record import dictionary as d

DOC = pathlib.Path(__file__).resolve().parents[1] / "docs" / "telemetry-data.md"


def test_docs_telemetry_data_md_is_generated_from_the_dictionary():
    # Regenerate with: python -m optel.record.dictionary docs/telemetry-data.md
    assert DOC.read_text(encoding="utf-8") == d.render(), (
        "docs/telemetry-data.md is stale: run `python -m optel.record.dictionary docs/telemetry-data.md`"
    )


def test_every_attribute_a_metric_or_span_names_is_declared_with_a_description():
    for metric in d.METRICS.values():
        assert metric.description and metric.unit
        for name in metric.attributes:
            assert d.METRIC in d.ATTRIBUTES[name].scopes, (metric.name, name)
    for family in d.SPANS:
        assert family.description and family.kind in d.SPAN_KINDS
        for name in family.attributes:
            assert d.SPAN in d.ATTRIBUTES[name].scopes, (family.family, name)
    for event in d.SPAN_EVENTS:
        for name in event.attributes:
            assert d.EVENT in d.ATTRIBUTES[name].scopes
    for attribute in d.ATTRIBUTES.values():
        assert attribute.description.strip()
        assert attribute.type in (d.STRING, d.INT, d.DOUBLE, d.BOOLEAN, d.STRING_ARRAY)


def test_spec_metrics_are_declared_with_their_instruments_and_units():
    expected = {
        "optel.cli.command.invocations": ("counter", "{invocation}"),
        "optel.cli.command.duration": ("histogram", "s"),
        "optel.cli.step.duration": ("histogram", "s"),
        "optel.cli.user.inputs": ("counter", "{input}"),
        "optel.cli.errors": ("counter", "{error}"),
        "optel.cli.session.duration": ("histogram", "s"),
        "optel.request.duration": ("histogram", "s"),
        "gen_ai.client.operation.duration": ("histogram", "s"),
        "gen_ai.client.token.usage": ("histogram", "{token}"),
        "gen_ai.client.operation.time_to_first_chunk": ("histogram", "s"),
        # Not in docs/contract.md#what-is-collected: how much the spool's bounds
        # (docs/spool-format.md#bounds) dropped, counted and reported.
        "optel.spool.dropped": ("counter", "{record}"),
        # Not in docs/contract.md#what-is-collected: a server's uptime while it runs (BlindAI's seed
        # page, issue 14).
        "process.uptime": ("gauge", "s"),
        # Issue 17: request latency of the instrumented HTTP clients (semantic conventions).
        "http.client.request.duration": ("histogram", "s"),
    }
    assert {n: (m.instrument, m.unit) for n, m in d.METRICS.items()} == expected


def test_http_client_duration_uses_the_semantic_conventions_buckets_and_attributes():
    metric = d.METRICS["http.client.request.duration"]
    assert metric.buckets == (
        0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
    )  # fmt: skip
    assert set(metric.attributes) == {
        "http.request.method", "http.response.status_code", "server.address", "server.port",
        "error.type",
    }  # fmt: skip


def test_genai_metrics_use_the_semantic_conventions_buckets():
    assert d.METRICS["gen_ai.client.operation.duration"].buckets == (
        0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
    )  # fmt: skip
    assert d.METRICS["gen_ai.client.token.usage"].buckets == (
        1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
    )  # fmt: skip


def test_spec_resource_attributes_are_declared_and_no_identifying_ones():
    resource = d.names_in(d.RESOURCE)
    for name in (
        "service.name", "service.version", "os.type", "os.version", "os.description", "host.arch",
        "process.runtime.name", "process.runtime.version", "optel.install.id", "optel.consent.mode",
        "user.id", "optel.project.id", "optel.host.cpu.count", "optel.host.memory.gib",
        "optel.install.age_days", "optel.install.first_version",
    ):  # fmt: skip
        assert name in resource
    for forbidden in ("host.name", "user.name", "client.address", "process.working_directory"):
        assert forbidden not in d.ATTRIBUTES


def test_python_m_writes_and_prints_the_same_text(tmp_path):
    out = tmp_path / "data.md"
    subprocess.run([sys.executable, "-m", "optel.record.dictionary", str(out)], check=True)
    printed = subprocess.run(
        [sys.executable, "-m", "optel.record.dictionary"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert out.read_text(encoding="utf-8") == printed == d.render()


def test_optel_show_prints_the_dictionary():
    shown = subprocess.run(
        [sys.executable, "-m", "optel", "show"], check=True, capture_output=True, text=True
    ).stdout
    assert shown == d.render()


def test_the_allow_list_the_flush_applies_is_generated_from_the_dictionary():
    # Regenerate with: python -m optel.record.allowlist src/optel/record/clean.py
    from optel.record import allowlist, clean

    path = pathlib.Path(clean.__file__)
    current = path.read_text(encoding="utf-8")
    assert allowlist.render(current) == current, (
        "src/optel/record/clean.py's allow-list is stale: "
        "run `python -m optel.record.allowlist src/optel/record/clean.py`"
    )
    assert {name: a.type for name, a in d.ATTRIBUTES.items()} == clean.TYPES
    assert d.names_in(d.SPAN) == clean.SPAN_NAMES
    assert d.names_in(d.EVENT) == clean.EVENT_NAMES
    assert {name: m.attributes for name, m in d.METRICS.items()} == clean.METRIC_ATTRIBUTES
    assert set(d.SPAN_KINDS) == clean.KINDS


def test_a_stale_allow_list_is_found_and_rewritten(tmp_path):
    from optel.record import allowlist, clean

    text = pathlib.Path(clean.__file__).read_text(encoding="utf-8")
    stale = tmp_path / "clean.py"
    stale.write_text(text.replace('    "outcome": "string",\n', ""), encoding="utf-8")
    run = [sys.executable, "-m", "optel.record.allowlist"]
    assert subprocess.run([*run, "--check", str(stale)], capture_output=True).returncode == 1
    subprocess.run([*run, str(stale)], check=True)
    assert stale.read_text(encoding="utf-8") == text
    assert allowlist.allow_list_block() in text


def test_python_m_takes_no_option_for_a_file_name_and_checks_with_check(tmp_path):
    """`--help` (or any option) was once written to as a file; `--check` says whether PATH is current."""
    run = [sys.executable, "-m", "optel.record.dictionary"]
    for option in (["--help"], ["-h"], ["--check"], ["a.md", "b.md"]):
        done = subprocess.run([*run, *option], cwd=tmp_path, capture_output=True, text=True)
        assert done.returncode == 2 and "usage:" in done.stderr, option
    assert sorted(os.listdir(tmp_path)) == []
    out = tmp_path / "data.md"
    assert subprocess.run([*run, "--check", str(out)], capture_output=True).returncode == 1
    subprocess.run([*run, str(out)], check=True)
    assert subprocess.run([*run, "--check", str(out)], capture_output=True).returncode == 0
    out.write_text(out.read_text(encoding="utf-8") + "edited\n", encoding="utf-8")
    assert subprocess.run([*run, "--check", str(out)], capture_output=True).returncode == 1
