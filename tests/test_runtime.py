"""init() and shutdown(): argument checks, fail-closed recording, flush to spool/debug/audit, signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import optel
from optel import _paths, _runtime
from optel.record import project, resource, spans

USER_FILE = """mode = "anonymous"
install_id = "0b7f3c52-7d36-4c5e-9d2a-6f1f7f0f7a10"
decided_at = "2026-01-01T00:00:00Z"
consent_version = 1
salt = "00112233445566778899aabbccddeeff"
first_seen = "2026-01-01T00:00:00Z"
first_version = "0.9"
"""


@pytest.fixture(autouse=True)
def _forget_init():
    yield
    _runtime.reset()


def consent_anonymous(app: str) -> None:
    path = _paths.user_config_file(app)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(USER_FILE)


def hold_uploader_lock(app: str) -> str:
    """Keep shutdown from spawning the detached uploader (this test reads the spool itself)."""
    from optel.spool.lock import acquire_lock

    spool = _paths.spool_dir(app)
    os.makedirs(spool, mode=0o700, exist_ok=True)
    assert acquire_lock(spool, os.getpid(), "test")
    return spool


def spool_files(app: str) -> list[str]:
    try:
        names = os.listdir(_paths.spool_dir(app))
    except FileNotFoundError:
        return []
    return sorted(os.path.join(_paths.spool_dir(app), n) for n in names if n.endswith(".jsonl"))


def read_lines(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def run_python(
    code: str, env_extra: dict[str, str] | None = None, **kwargs
) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        **kwargs,
    )


# --- argument checks ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"policy": "opt-maybe"}, ValueError),
        ({"policy": None}, TypeError),
        ({"ask_percent": 101}, ValueError),
        ({"sample_percent": -1}, ValueError),
        ({"sample_percent": True}, TypeError),
        ({"ask_percent": "50"}, TypeError),
        ({"modes": ("off", "anonymous", "everything")}, ValueError),
        ({"modes": "anonymous"}, TypeError),
        ({"modes": ("off",)}, ValueError),
        ({"session_flag": "yes"}, TypeError),
        ({"headers": {"authorization": 1}}, TypeError),
        ({"flush_interval": 0}, ValueError),
        ({"consent_version": 0}, ValueError),
        ({"consent_version": 1.5}, TypeError),
        ({"endpoint": "telemetry.example.com"}, ValueError),
        ({"attributes": "plan"}, TypeError),
        ({"scrub": [42]}, TypeError),
    ],
)
def test_init_rejects_misuse_with_a_precise_exception(kwargs, error):
    with pytest.raises(error):
        optel.init("tool", **kwargs)
    assert _runtime.current() is None


@pytest.mark.parametrize("app", ["", "   ", "a/b", 42])
def test_init_rejects_an_unusable_app_name(app):
    with pytest.raises((TypeError, ValueError)):
        optel.init(app)


def test_a_second_init_returns_the_first_telemetry():
    first = optel.init("tool")
    assert optel.init("tool", policy="opt-out") is first
    assert first.settings.policy == "opt-in"


# --- fail closed ---------------------------------------------------------------------------------


def test_consent_off_records_nothing_and_writes_nothing(tmp_path):
    telemetry = optel.init("tool")
    assert telemetry.consent.mode == "off"
    assert telemetry.recording is False
    assert spans.recording() is False

    @optel.command
    def cmd():
        optel.count_input()

    cmd()
    assert spans.take() == []
    optel.shutdown()
    assert not os.path.exists(_paths.spool_dir("tool"))


def test_do_not_track_wins_over_a_stored_anonymous(monkeypatch):
    consent_anonymous("tool")
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    telemetry = optel.init("tool")
    assert telemetry.consent.mode == "off"
    assert telemetry.recording is False


# --- flushing ------------------------------------------------------------------------------------


def test_shutdown_writes_one_spool_file_with_header_records_and_trailer(tmp_path):
    consent_anonymous("tool")
    hold_uploader_lock("tool")
    telemetry = optel.init(
        "tool",
        version="1.2.3",
        endpoint="http://127.0.0.1:9",
        headers={"authorization": "Bearer t"},
        project_dir=str(tmp_path),
    )
    assert telemetry.consent.mode == "anonymous" and telemetry.sending

    @optel.command("build")
    def build():
        return 1

    build()
    optel.shutdown()
    optel.shutdown()
    (path,) = spool_files("tool")
    lines = read_lines(path)
    header, *records, trailer = lines
    assert header["schema"] == "optel.spool/1"
    assert header["app"] == "tool"
    assert header["consent"] == {
        "mode": "anonymous",
        "source": "user_file",
        "install_id": "0b7f3c52-7d36-4c5e-9d2a-6f1f7f0f7a10",
    }
    assert header["export"] == {
        "endpoint": "http://127.0.0.1:9",
        "headers": {"authorization": "Bearer t"},
    }
    assert header["settings"] == {
        "policy": "opt-in",
        "sample_percent": 100.0,
        "consent_version": 1,
        "version_module": None,
    }
    res = header["resource"]
    assert res["service.name"] == "tool" and res["service.version"] == "1.2.3"
    assert res["optel.install.id"] == "0b7f3c52-7d36-4c5e-9d2a-6f1f7f0f7a10"
    assert res["optel.consent.mode"] == "anonymous"
    assert res["optel.install.first_version"] == "0.9"
    assert res["optel.install.age_days"] >= 0
    assert res["optel.project.id"] == project.project_id(
        str(tmp_path), "00112233445566778899aabbccddeeff"
    )
    assert res["process.runtime.version"] == ".".join(map(str, sys.version_info[:3]))
    assert "user.id" not in res
    assert trailer == {"t": "end", "records": len(records)}
    names = [(r["t"], r["name"]) for r in records]
    assert ("span", "build") in names
    assert ("metric", "optel.cli.command.invocations") in names
    assert ("span", "optel.cli.session") in names
    assert ("metric", "optel.cli.session.duration") in names


def test_recording_stops_after_shutdown():
    consent_anonymous("tool")
    hold_uploader_lock("tool")
    optel.init("tool")
    optel.shutdown()
    assert spans.recording() is False
    assert spans.start("late") is None


def test_audit_log_gets_every_record_even_with_consent_off(tmp_path):
    log = tmp_path / "audit.jsonl"
    telemetry = optel.init("tool", log_file=log)
    assert telemetry.consent.mode == "off" and telemetry.recording and not telemetry.sending

    @optel.step("s")
    def s():
        pass

    s()
    optel.shutdown()
    lines = read_lines(str(log))
    assert lines[0]["schema"] == "optel.spool/1"
    assert any(r.get("name") == "s" for r in lines)
    assert spool_files("tool") == []


def test_flush_interval_flushes_while_the_process_runs(tmp_path):
    log = tmp_path / "audit.jsonl"
    optel.init("tool", log_file=str(log), flush_interval=0.05)

    @optel.step("tick")
    def tick():
        pass

    tick()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if log.exists() and any(r.get("name") == "tick" for r in read_lines(str(log))):
            break
        time.sleep(0.02)
    else:
        pytest.fail("the periodic flush did not write the step")
    optel.shutdown()
    names = [r.get("name") for r in read_lines(str(log))]
    assert names.count("tick") == 1
    assert names.count("optel.cli.session") == 1


@pytest.mark.slow
def test_debug_prints_records_to_stderr_and_sends_nothing():
    result = run_python(
        """
        import optel
        optel.init("tool", version="2.0")

        @optel.command("hello")
        def hello():
            print("host output")

        hello()
        """,
        {"TOOL_TELEMETRY_DEBUG": "1"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "host output\n"
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert lines[0]["schema"] == "optel.spool/1"
    assert any(r.get("t") == "span" and r["name"] == "hello" for r in lines)
    assert spool_files("tool") == []


HOST_WITH_A_FAILING_SCRUB_RULE = """
    import logging, sys
    import optel
    if sys.argv[1:] == ["--log"]:
        logging.basicConfig(stream=sys.stdout, format="host log: %(message)s")

    def broken_rule(text):
        raise RuntimeError("rule broke")

    optel.init(
        "tool",
        scrub=[broken_rule],
        attributes=["tool.input"],
        log_file=sys.argv[0] + ".audit.jsonl",
    )

    @optel.command("hello")
    def hello():
        # A string value: the scrubber (and so the host's rule) runs for it.
        optel.event("read", **{"tool.input": "notes.txt"})

    hello()
    """


def test_optel_warnings_never_reach_the_terminal_of_a_host_without_logging(tmp_path):
    script = tmp_path / "host.py"
    script.write_text(textwrap.dedent(HOST_WITH_A_FAILING_SCRUB_RULE))
    quiet = subprocess.run(
        [sys.executable, str(script)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert quiet.returncode == 0
    assert (quiet.stdout, quiet.stderr) == ("", "")
    # The warning exists: a host that set up logging receives it through its own handlers.
    logged = subprocess.run(
        [sys.executable, str(script), "--log"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert logged.returncode == 0
    assert "host log: optel: a scrub rule failed (rule broke)" in logged.stdout
    assert logged.stderr == ""


@pytest.mark.slow
def test_atexit_flushes_without_an_explicit_shutdown_and_version_module_is_the_caller(tmp_path):
    package = tmp_path / "mytool"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "cli.py").write_text(
        textwrap.dedent(
            """
            import optel
            optel.init("tool")

            @optel.command
            def main():
                raise SystemExit(3)
            """
        )
    )
    log = tmp_path / "audit.jsonl"
    result = run_python(
        "import mytool.cli; mytool.cli.main()",
        {"TOOL_TELEMETRY_LOG": str(log), "PYTHONPATH": str(tmp_path)},
    )
    assert result.returncode == 3, result.stderr
    assert result.stderr == ""
    header, *records = read_lines(str(log))
    assert header["settings"]["version_module"] == "mytool"
    (command,) = [r for r in records if r.get("name") == "main"]
    assert command["status"] == "error"
    assert command["attributes"] == {
        "command.name": "main",
        "process.exit.code": 3,
        "error.type": "3",
    }


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGTERM") or os.name != "posix", reason="POSIX signals")
def test_recording_leaves_sigterm_to_its_default_action():
    # A Python-level handler would keep a host in a long C call alive until the call returns
    # (tests/test_sigterm.py times it).
    result = run_python(
        """
        import signal, optel
        assert optel.init("tool").recording
        print(signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)
        """,
        {"TOOL_TELEMETRY_LOG": os.devnull},
    )
    assert result.stdout == "True\n", result.stderr


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_a_host_sigterm_handler_is_left_alone():
    result = run_python(
        """
        import signal, optel

        def mine(signum, frame):
            pass

        signal.signal(signal.SIGTERM, mine)
        optel.init("tool")
        assert signal.getsignal(signal.SIGTERM) is mine
        print("kept")
        """,
        {"TOOL_TELEMETRY_LOG": os.devnull},
    )
    assert result.stdout == "kept\n", result.stderr


# --- resource facts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "git@github.com:Acme/Widget.git",
        "https://github.com/Acme/Widget",
        "https://user:ghp_secret@GitHub.com/Acme/Widget.git/",
        "ssh://git@github.com/Acme/Widget.git",
    ],
)
def test_every_spelling_of_a_remote_gives_the_same_project_key(url):
    assert project.normalise_remote(url) == "github.com/Acme/Widget"


def test_project_id_hashes_the_origin_remote_of_the_nearest_git_dir(tmp_path):
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / ".git" / "config").write_text(
        '[core]\n\tbare = false\n[remote "upstream"]\n\turl = https://github.com/up/x\n'
        '[remote "origin"]\n\turl = git@github.com:me/x.git\n'
    )
    sub = repo / "src" / "pkg"
    sub.mkdir(parents=True)
    assert project.project_key(str(sub)) == "remote:github.com/me/x"
    pid = project.project_id(str(sub), "salt-a")
    assert len(pid) == 32 and int(pid, 16) >= 0
    assert pid == project.project_id(str(repo), "salt-a")
    assert pid != project.project_id(str(repo), "salt-b")
    assert "github" not in pid


def test_project_id_falls_back_to_the_path_without_a_remote(tmp_path):
    assert project.project_key(str(tmp_path)) == "path:" + str(tmp_path)


def test_machine_facts_never_name_the_host_or_the_user():
    facts = resource.machine_facts()
    text = json.dumps(facts)
    assert os.uname().nodename not in text
    assert os.path.expanduser("~") not in text
    assert facts["optel.host.cpu.count"] == os.cpu_count()
    assert facts["os.type"] == ("linux" if sys.platform.startswith("linux") else facts["os.type"])


def test_age_days_counts_whole_days():
    day = 86400
    assert resource.age_days("1970-01-01T23:00:00Z", 10 * day + 5) == 10
    assert (
        resource.age_days("2026-03-01T12:00:00Z", resource._days_from_civil(2026, 3, 31) * day)
        == 30
    )
    assert resource.age_days("not a date", 0) is None
