"""`optel docs --app NAME`: the generated TELEMETRY.md names every signal and every way out."""

from __future__ import annotations

import subprocess
import sys

import pytest

from optel.cli.docs import render_telemetry_page
from optel.record import dictionary


@pytest.fixture(scope="module")
def page() -> str:
    return render_telemetry_page("acme-cli", tool="acme", endpoint="https://telemetry.acme.test")


def test_page_names_every_metric_span_and_attribute(page: str) -> None:
    for metric in dictionary.METRICS:
        assert f"`{metric}`" in page
    for span in dictionary.SPANS:
        assert f"`{span.name}`" in page
    for attribute in dictionary.ATTRIBUTES:
        assert f"`{attribute}`" in page


@pytest.mark.parametrize(
    "way_out",
    [
        "DO_NOT_TRACK=1",
        "ACME_CLI_TELEMETRY=off",
        "acme telemetry disable",
        "optel --app acme-cli disable",
        "--no-telemetry",
        "OTEL_SDK_DISABLED=true",
        ".acme-cli/telemetry.toml",
        "~/.config/acme-cli/telemetry.toml",
        "~/Library/Application Support/acme-cli/telemetry.toml",
        "%LOCALAPPDATA%\\acme-cli\\telemetry.toml",
    ],
)
def test_page_names_every_way_to_opt_out(page: str, way_out: str) -> None:
    assert way_out in page


def test_page_says_how_to_audit_and_where_data_goes(page: str) -> None:
    assert "ACME_CLI_TELEMETRY_LOG=" in page
    assert "ACME_CLI_TELEMETRY_DEBUG=1" in page
    assert "optel report" in page
    assert "https://telemetry.acme.test" in page
    assert "OTLP" in page


def test_opt_out_policy_page_describes_the_notice() -> None:
    page = render_telemetry_page("acme-cli", policy="opt-out")
    assert "prints a" in page and "notice" in page
    assert "Nothing is sent unless you agree" not in page


@pytest.mark.parametrize(
    ("notice", "where"), [("stderr", "on its standard error"), ("log", "in its log")]
)
def test_headless_notice_page_says_it_is_on_without_a_terminal(notice: str, where: str) -> None:
    page = render_telemetry_page(
        "acme-cli", policy="opt-out", notice=notice, off_env=["ACME_DISABLE_TELEMETRY"]
    )
    assert f"writes a notice {where}" in page and "with or without a terminal" in page
    assert "without a terminal, it sends nothing" not in page
    assert "`ACME_DISABLE_TELEMETRY=1`" in page


def test_optel_docs_command_writes_the_page(tmp_path) -> None:
    target = tmp_path / "TELEMETRY.md"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "optel",
            "--app",
            "acme-cli",
            "docs",
            "--tool",
            "acme",
            "-o",
            str(target),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert target.read_text(encoding="utf-8").startswith("# Telemetry in acme")


def test_optel_docs_into_an_unwritable_place_is_one_clear_line(tmp_path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "optel",
            "--app",
            "x",
            "docs",
            "-o",
            str(tmp_path / "missing" / "T.md"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "cannot write" in done.stderr
    assert "Traceback" not in done.stderr


def test_page_names_every_span_event(page: str) -> None:
    for event in dictionary.SPAN_EVENTS:
        assert f"`{event.name}`" in page
        for attribute in event.attributes:
            assert f"`{attribute}`" in page


def test_page_lists_every_false_word_that_leaves_do_not_track_without_effect(page: str) -> None:
    from optel._env import FALSE_WORDS

    for word in (w for w in FALSE_WORDS if w):
        assert f"`{word}`" in page


def test_page_does_not_promise_that_ci_never_sends_when_a_stored_choice_says_otherwise() -> None:
    for policy in ("opt-in", "opt-out"):
        page = render_telemetry_page("acme-cli", policy=policy)
        assert "In CI it sends nothing." not in page
        assert "never asks and sends nothing." not in page


def test_page_says_how_to_have_sent_data_deleted() -> None:
    page = render_telemetry_page(
        "acme-cli",
        tool="acme",
        operator="Acme Inc",
        contact="privacy@acme.test",
        retention="90 days",
    )
    assert "kept for 90 days" in page
    assert (
        "privacy@acme.test" in page
        and "acme telemetry status" in page
        and "acme telemetry reset" in page
    )
    default = render_telemetry_page("acme-cli", tool="acme")
    assert "The maintainers of acme decide how long it is kept." in default
