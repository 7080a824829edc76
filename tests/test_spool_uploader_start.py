"""Starting the detached uploader: when, how (new session, stdio on /dev/null, env), and at most one."""

from __future__ import annotations

import os
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

import optel
from optel import _paths
from optel.spool import DELIVERY_INTERVAL_S, LOCK_NAME, Spool, start_uploader, uploader_lock, write
from optel.spool.lock import TOKEN_ENV, read_lock

APP = "launch-test"
posix_only = pytest.mark.skipif(os.name != "posix", reason="posix_spawn and /proc")


def flush() -> None:
    write(
        APP,
        {"app": APP},
        [{"t": "metric", "name": "m", "value": 1, "attributes": {}, "time_ns": 1}],
    )


def age_spool(seconds: float) -> None:
    """Make every flush of the spool `seconds` older (its name carries its creation time)."""
    directory = Spool(APP).path
    for name in os.listdir(directory):
        if name.endswith(".jsonl"):
            stamp, rest = name.split("-", 1)
            os.rename(
                os.path.join(directory, name),
                os.path.join(directory, f"{int(stamp) - int(seconds * 1e9)}-{rest}"),
            )


@pytest.fixture
def fake_python(tmp_path: Path) -> tuple[Path, Path]:
    """An interpreter stand-in that reports how it was started, then lingers a moment.

    The host scripts below point `sys.executable` at it (as a wrapper-installed Python would),
    so the spawn is real but what runs is observable.
    """
    report = tmp_path / "report"
    script = tmp_path / "fake-python"
    script.write_text(
        textwrap.dedent(
            f"""\
            #!/bin/sh
            in=$(readlink /proc/$$/fd/0); out=$(readlink /proc/$$/fd/1); err=$(readlink /proc/$$/fd/2)
            {{
              echo "argv $(printf '%s\\037' "$@" | tr '\\n' '~')"
              echo "pid $$"
              echo "sid $(ps -o sid= -p $$ | tr -d ' ')"
              echo "stdin $in"
              echo "stdout $out"
              echo "stderr $err"
              echo "token ${TOKEN_ENV}"
              echo "otel $OTEL_EXPORTER_OTLP_ENDPOINT"
              echo "pythonpath $PYTHONPATH"
              echo "lock $(cat "$LOCKFILE")"
            }} > {report}.tmp
            mv {report}.tmp {report}
            sleep 1
            """
        )
    )
    script.chmod(0o755)
    return script, report


def host(python: str, body: str, executable: Path, **env: str) -> subprocess.CompletedProcess[str]:
    code = f"import sys\nsys.executable = {str(executable)!r}\n" + textwrap.dedent(body)
    return subprocess.run(
        [python, "-c", code], capture_output=True, text=True, timeout=30, env={**os.environ, **env}
    )


def wait_for(path: Path) -> dict[str, str]:
    deadline = time.time() + 10
    while not path.exists():
        assert time.time() < deadline, "the uploader never started"
        time.sleep(0.02)
    return dict(
        line.split(" ", 1) if " " in line else (line, "") for line in path.read_text().splitlines()
    )


@posix_only
def test_uploader_runs_detached_with_stdio_on_devnull_and_the_host_environment(
    python: str, fake_python: tuple[Path, Path]
) -> None:
    script, report = fake_python
    flush()
    lock = os.path.join(_paths.spool_dir(APP), LOCK_NAME)
    done = host(
        python,
        f"from optel.spool import start_uploader\nprint(start_uploader({APP!r}))",
        script,
        OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9",
        LOCKFILE=lock,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "True\n", "")
    seen = wait_for(report)
    argv = seen["argv"].split("\x1f")[:-1]
    # Isolated mode, a bootstrap that adds only this optel's import root, run in the spool dir
    # (tests/test_spool_safety.py runs it for real from a hostile working directory).
    assert argv[:2] == ["-I", "-c"]
    assert argv[3:5] == [_paths.spool_dir(APP), os.path.dirname(os.path.dirname(optel.__file__))]
    assert argv[5:] == ["upload", "--app", APP, "--detached", "--project-dir", os.getcwd()]
    assert seen["sid"] == seen["pid"], "not in a session of its own"
    assert seen["stdin"] == seen["stdout"] == seen["stderr"] == "/dev/null"
    assert seen["otel"] == "http://127.0.0.1:9"
    # The host handed its lock to the uploader: the lock names the uploader and carries the token.
    _pid, _start, token = seen["lock"].split()
    assert token == seen["token"]
    info = read_lock(_paths.spool_dir(APP))
    assert info is not None and info.pid == int(seen["pid"]) and info.held()


@posix_only
def test_no_uploader_when_the_spool_is_empty(python: str, fake_python: tuple[Path, Path]) -> None:
    script, report = fake_python
    done = host(
        python, f"from optel.spool import start_uploader\nprint(start_uploader({APP!r}))", script
    )
    assert done.stdout == "False\n"
    os.makedirs(_paths.spool_dir(APP), exist_ok=True)
    done = host(
        python, f"from optel.spool import start_uploader\nprint(start_uploader({APP!r}))", script
    )
    assert done.stdout == "False\n"
    time.sleep(0.2)
    assert not report.exists()


def test_no_uploader_before_the_backoff_elapses(isolated_home: Path) -> None:
    flush()
    Spool(APP).record_failure()
    assert start_uploader(APP) is False
    assert read_lock(_paths.spool_dir(APP)) is None


def test_no_second_uploader_while_one_holds_the_lock(python: str) -> None:
    flush()
    holder = subprocess.Popen(
        [
            python,
            "-c",
            f"from optel.spool import uploader_lock\nimport sys,time\n"
            f"with uploader_lock({APP!r}) as held:\n print(held, flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "True\n"
        assert start_uploader(APP) is False
        with uploader_lock(APP) as held:
            assert held is False
    finally:
        holder.kill()
        holder.wait()
    # The holder died without cleaning up: its lock is stale and the next uploader takes it.
    with uploader_lock(APP) as held:
        assert held is True
        assert read_lock(_paths.spool_dir(APP)).pid == os.getpid()  # type: ignore[union-attr]
    assert read_lock(_paths.spool_dir(APP)) is None


def test_a_lock_not_refreshed_for_long_is_stale(isolated_home: Path) -> None:
    directory = _paths.spool_dir(APP)
    with uploader_lock(APP) as held:
        assert held
        info = read_lock(directory)
        assert info is not None and info.held()
        an_hour_ago = time.time() - 3600
        os.utime(os.path.join(directory, LOCK_NAME), (an_hour_ago, an_hour_ago))
        assert not read_lock(directory).held()  # type: ignore[union-attr]
        with uploader_lock(APP) as second:
            assert second


def test_a_garbled_lock_is_respected_briefly_then_broken(isolated_home: Path) -> None:
    directory = _paths.spool_dir(APP)
    os.makedirs(directory)
    lock = os.path.join(directory, LOCK_NAME)
    Path(lock).write_text("")
    with uploader_lock(APP) as held:
        assert held is False
    os.utime(lock, (time.time() - 60, time.time() - 60))
    with uploader_lock(APP) as held:
        assert held is True


def test_the_detached_uploader_inherits_the_lock_through_its_token(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from optel.spool.lock import acquire_lock

    directory = _paths.spool_dir(APP)
    os.makedirs(directory)
    assert acquire_lock(directory, os.getppid(), "tok123")
    monkeypatch.setenv(TOKEN_ENV, "tok123")
    with uploader_lock(APP) as held:
        assert held
        assert read_lock(directory).pid == os.getpid()  # type: ignore[union-attr]
        assert TOKEN_ENV not in os.environ
    assert read_lock(directory) is None


@posix_only
def test_drain_leftovers_starts_an_uploader_for_old_files(
    python: str, fake_python: tuple[Path, Path]
) -> None:
    script, report = fake_python
    flush()
    age_spool(DELIVERY_INTERVAL_S + 1)
    done = host(
        python,
        f"""\
        import _thread, time
        from optel.spool import drain_leftovers
        _thread.start_new_thread(drain_leftovers, ({APP!r},))
        time.sleep(0.5)
        """,
        script,
        LOCKFILE="/dev/null",
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert "\x1f--detached\x1f" in wait_for(report)["argv"]


@posix_only
def test_drain_leftovers_leaves_fresh_files_for_later(
    python: str, fake_python: tuple[Path, Path]
) -> None:
    script, report = fake_python
    flush()
    age_spool(DELIVERY_INTERVAL_S - 60)
    done = host(
        python,
        f"""\
        from optel.spool import drain_leftovers
        drain_leftovers({APP!r})
        """,
        script,
        LOCKFILE="/dev/null",
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    time.sleep(0.5)
    assert not report.exists() and read_lock(Spool(APP).path) is None


@posix_only
def test_a_frozen_host_never_spawns_itself(python: str, fake_python: tuple[Path, Path]) -> None:
    script, report = fake_python
    flush()
    done = host(
        python,
        f"sys.frozen = True\nfrom optel.spool import start_uploader\nprint(start_uploader({APP!r}))",
        script,
    )
    assert done.stdout == "False\n"
    time.sleep(0.2)
    assert not report.exists()
    assert read_lock(_paths.spool_dir(APP)) is None


def test_a_missing_interpreter_releases_the_lock(python: str, tmp_path: Path) -> None:
    flush()
    done = host(
        python,
        f"from optel.spool import start_uploader\nprint(start_uploader({APP!r}))",
        tmp_path / "nope",
    )
    assert (done.stdout, done.stderr) == ("False\n", "")
    assert read_lock(_paths.spool_dir(APP)) is None


@posix_only
def test_the_exit_path_stays_within_the_import_budget(python: str) -> None:
    # /bin/true stands in for the interpreter so that posix_spawn really runs.
    code = textwrap.dedent(
        f"""\
        import sys
        sys.executable = "/bin/true"
        before = set(sys.modules)
        from optel._flushes import deliver
        from optel.spool import drain_leftovers
        drain_leftovers({APP!r})
        records = [{{"t": "span", "name": "x", "attributes": {{"f": 1.5, "l": [1, "a"]}}}}]
        deliver({APP!r}, {{"app": {APP!r}}}, records, send=True, debug=False, log_file=None)
        deliver({APP!r}, {{"app": {APP!r}}}, records, send=True, debug=False, log_file=None)
        import os
        print(sorted(m for m in set(sys.modules) - before if not m.startswith("optel")))
        print(len([n for n in os.listdir({_paths.spool_dir(APP)!r}) if n.endswith(".jsonl")]))
        """
    )
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=30)
    assert done.stderr == ""
    loaded, files = done.stdout.splitlines()
    allowed = {
        "__future__",
        "_json",
        "_thread",
        "time",
        # optel._flushes holds `deliver`, and imports optel.record.spans, which every run loads.
        "contextvars",
        "_contextvars",
        "atexit",
        "posix",
        "errno",
        "stat",
        "_stat",
    }
    assert set(eval(loaded)) <= allowed
    assert files == "2"
