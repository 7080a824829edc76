"""What one run leaves in the spool for the next ones: deleted after a stored "off", kept after a run-scoped opt-out, sent where that run meant it to go."""

from __future__ import annotations

import os
import subprocess

import pytest

from optel import _paths, spool

APP = "optout-tool"
HOST = "import sys, optel; optel.init({app!r}, session_flag={flag}); sys.exit(0)"


def _spool_two_runs() -> str:
    header = {
        "schema": "optel.spool/1",
        "app": APP,
        "created_ns": 1,
        "resource": {},
        "consent": {"mode": "anonymous"},
    }
    for _ in range(2):
        assert spool.write(
            APP,
            header,
            [
                {
                    "t": "metric",
                    "name": "optel.cli.user.inputs",
                    "value": 1,
                    "attributes": {},
                    "time_ns": 1,
                }
            ],
        )
    return _paths.spool_dir(APP)


def _jsonl(directory: str) -> list[str]:
    try:
        return [n for n in os.listdir(directory) if ".jsonl" in n]
    except FileNotFoundError:
        return []


def _host(python: str, flag: object = None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [python, "-c", HOST.format(app=APP, flag=flag)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "env",
    [{"DO_NOT_TRACK": "1"}, {"OTEL_SDK_DISABLED": "true"}, {"OPTOUT_TOOL_TELEMETRY": "off"}],
    ids=["DO_NOT_TRACK", "OTEL_SDK_DISABLED", "app env var"],
)
def test_a_run_under_an_opt_out_variable_leaves_earlier_runs_to_the_uploader(python, env):
    # A variable speaks for the process it is set in; the uploader deletes the spool when it
    # sees one at upload time (tests/test_upload.py).
    directory = _spool_two_runs()
    done = _host(python, **env)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert len(_jsonl(directory)) == 2


def test_a_run_after_a_stored_opt_out_deletes_the_spool(python):
    directory = _spool_two_runs()
    subprocess.run(
        [python, "-m", "optel", "--app", APP, "disable"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    # `disable` deletes it too; spool again as a run that raced with it would have.
    directory = _spool_two_runs()
    done = _host(python)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert _jsonl(directory) == []


def test_a_no_telemetry_run_keeps_what_earlier_consented_runs_spooled(python):
    directory = _spool_two_runs()
    done = _host(python, flag=False)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert len(_jsonl(directory)) == 2


def test_a_run_started_with_an_endpoint_variable_is_uploaded_there_from_a_shell_without_it(python):
    from otlp_receiver import OTLPReceiver

    user_file = _paths.user_config_file(APP)
    os.makedirs(os.path.dirname(user_file), exist_ok=True)
    with open(user_file, "w") as f:
        f.write(
            'mode = "anonymous"\ninstall_id = "3f1d0c9e-0000-4000-8000-0000000010b1"\nconsent_version = 1\n'
        )
    # The app's own endpoint is its production collector; the run points elsewhere, as a
    # maintainer trying a local collector does. Nothing listens there yet.
    script = (
        "import optel\n"
        f"optel.init({APP!r}, endpoint='http://127.0.0.1:9')\n"
        "@optel.command()\n"
        "def go(): pass\n"
        "go()\n"
    )
    with OTLPReceiver() as local:
        port = local.url.rsplit(":", 1)[1]
    done = subprocess.run(
        [python, "-c", script],
        env={**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}"},
        capture_output=True,
        timeout=60,
    )
    assert (done.returncode, done.stderr) == (0, b"")
    # The run's own uploader finds nobody listening and leaves the file, with a backoff.
    _wait_for_no_uploader()
    with OTLPReceiver(port=int(port)) as local:
        upload = subprocess.run(
            [python, "-m", "optel", "--app", APP, "upload"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert [s["name"] for s in local.spans()].count("go") == 1, upload.stdout + upload.stderr


def _wait_for_no_uploader(timeout: float = 30.0) -> None:
    import time

    from optel.spool.launch import uploader_running

    deadline = time.monotonic() + timeout
    while uploader_running(APP) and time.monotonic() < deadline:
        time.sleep(0.05)


def test_a_run_under_an_opt_out_variable_drops_what_is_past_the_age_bound(python):
    import time

    from optel.spool import Spool
    from optel.spool.writer import MAX_AGE_S

    directory = _spool_two_runs()
    old, fresh = sorted(_jsonl(directory))
    aged = f"{time.time_ns() - int((MAX_AGE_S + 86400) * 1e9)}-{old.split('-', 1)[1]}"
    os.rename(os.path.join(directory, old), os.path.join(directory, aged))
    # Days have passed since: the writers' tally is too old to vouch for the files.
    tally = os.path.join(directory, "tally")
    with open(tally) as f:
        checked, total, oldest = (int(p) for p in f.read().split())
    with open(tally, "w") as f:
        f.write(f"{checked - int(86400 * 1e9)} {total} {oldest}\n")
    done = _host(python, DO_NOT_TRACK="1")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert _jsonl(directory) == [fresh]
    assert Spool(APP).drop_counts() == {"age": 1}
