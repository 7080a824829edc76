"""optel.testing for host test suites: capture() and the pytest plugin (run in a child pytest)."""

from __future__ import annotations

import pytest

import optel
from optel import _runtime
from optel.testing import capture

pytest_plugins = ["pytester"]


def test_capture_works_without_init_and_restores_recording_after():
    @optel.step("s")
    def s():
        return 1

    assert optel.record.spans.recording() is False
    with capture() as records:
        s()
        assert [r["name"] for r in records] == ["s", "optel.cli.step.duration"]
    s()
    assert len(records) == 2
    assert optel.record.spans.recording() is False
    assert optel.record.spans.take() == []


def test_capture_inside_a_recording_process_keeps_the_records_from_the_flush(tmp_path):
    log = tmp_path / "audit.jsonl"
    optel.init("tool", log_file=str(log))
    try:

        @optel.step("inside")
        def inside():
            pass

        with capture() as records:
            inside()
        assert [r["name"] for r in records if r["t"] == "span"] == ["inside"]
        optel.shutdown()
        assert "inside" not in log.read_text()
    finally:
        _runtime.reset()


HOST_TESTS = """
import os, subprocess, sys
import pytest
import optel

pytestmark = pytest.mark.usefixtures("optel_off")

@optel.command("greet")
def greet():
    optel.count_input()
    return "hi"

def test_telemetry_is_off_and_dirs_are_temporary():
    telemetry = optel.init("host-app")
    assert telemetry.consent.mode == "off"
    assert telemetry.consent.source == "session_flag"
    assert telemetry.recording is False
    assert greet() == "hi"
    assert os.environ["XDG_CONFIG_HOME"].startswith(os.environ["PYTEST_TMP_ROOT"])
    assert os.environ["XDG_CACHE_HOME"].startswith(os.environ["PYTEST_TMP_ROOT"])

def test_init_is_forgotten_between_tests():
    from optel import _runtime
    assert _runtime.current() is None

def test_a_subprocess_of_the_test_is_off_too():
    code = "import optel; print(optel.init('host-app').consent.mode)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "off"

def test_records_when_asked(optel_records):
    greet()
    names = [(r["t"], r["name"]) for r in optel_records]
    assert ("span", "greet") in names
    assert ("metric", "optel.cli.user.inputs") in names
"""


UNRELATED_TESTS = """
import os

def test_an_unrelated_suite_keeps_its_environment():
    # optel installed (as a dependency of a dependency, say) changes nothing for a suite that
    # never asked for its fixtures.
    assert "OPTEL_TESTING" not in os.environ
    assert os.environ.get("XDG_CONFIG_HOME") == os.environ["EXPECTED_XDG_CONFIG"]
    assert os.environ.get("XDG_CACHE_HOME") == os.environ["EXPECTED_XDG_CACHE"]
"""


@pytest.mark.slow
def test_plugin_changes_nothing_for_a_suite_that_does_not_ask(pytester, tmp_path, monkeypatch):
    monkeypatch.setenv("EXPECTED_XDG_CONFIG", str(tmp_path / "mine-config"))
    monkeypatch.setenv("EXPECTED_XDG_CACHE", str(tmp_path / "mine-cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "mine-config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "mine-cache"))
    pytester.makepyfile(test_unrelated=UNRELATED_TESTS)
    pytester.makeini("[pytest]\n")
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--basetemp", str(tmp_path / "base")
    )
    result.assert_outcomes(passed=1)


@pytest.mark.slow
def test_plugin_keeps_host_tests_off_and_gives_records_on_request(pytester, tmp_path):
    pytester.makepyfile(test_host=HOST_TESTS)
    pytester.makeini("[pytest]\n")
    # The plugin loads through its pytest11 entry point, as in a host's installed environment.
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--basetemp", str(tmp_path / "base")
    )
    result.assert_outcomes(passed=4)


@pytest.fixture(autouse=True)
def _tmp_root_for_child(monkeypatch, tmp_path):
    monkeypatch.setenv("PYTEST_TMP_ROOT", str(tmp_path))
