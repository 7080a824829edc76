"""What the exit flush of a run with telemetry on reads: not the user file init already read.

The resource's salt (for ``optel.project.id``) and first-seen date (``optel.install.age_days``)
come from the table the consent decision read at init (docs/internals.md#records); the file is
read again only when the run made the install id itself. Real host processes, audited with
``sys.addaudithook``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from optel import _paths
from optel.record import project, resource
from optel.spool.lock import acquire_lock

APP = "reads-app"
SALT = "0123456789abcdef0123456789abcdef"
FIRST_SEEN = "2026-01-02T03:04:05Z"
HOST = r"""
import atexit, json, os, sys
opened = []
# Registered before init: runs after optel's exit flush.
atexit.register(lambda: open(os.environ["READS_REPORT"], "w").write(json.dumps(opened)))
import optel
telemetry = optel.init("reads-app", version="1.0")
user_file = telemetry.consent.user_file

def audit(event, args):
    if event == "open" and args and args[0] == user_file:
        opened.append(str(args[0]))

sys.addaudithook(audit)

@optel.command("run")
def run():
    return 1

run()
"""


def _hold_uploader() -> str:
    # A held lock keeps the detached uploader from starting: the spool file stays to be read.
    spool = _paths.spool_dir(APP)
    os.makedirs(spool, mode=0o700)
    assert acquire_lock(spool, os.getpid(), "test")
    return spool


def _run(tmp_path, env: dict[str, str]) -> tuple[list[str], dict[str, object]]:
    report = tmp_path / "opened.json"
    subprocess.run(
        [sys.executable, "-c", HOST], env={**env, "READS_REPORT": str(report)}, cwd=tmp_path,
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    (name,) = [n for n in os.listdir(_paths.spool_dir(APP)) if n.endswith(".jsonl")]
    with open(os.path.join(_paths.spool_dir(APP), name), encoding="utf-8") as f:
        header = json.loads(f.readline())
    return json.loads(report.read_text()), header["resource"]


def test_the_exit_takes_the_salt_and_first_seen_from_what_init_read(tmp_path):
    path = _paths.user_config_file(APP)
    os.makedirs(os.path.dirname(path))
    with open(path, "w", encoding="utf-8") as f:
        f.write(
            'mode = "anonymous"\ninstall_id = "0b7f3c52-7d36-4c5e-9d2a-6f1f7f0f7a10"\n'
            f'consent_version = 1\nsalt = "{SALT}"\nfirst_seen = "{FIRST_SEEN}"\n'
        )
    _hold_uploader()
    before = resource.age_days(FIRST_SEEN, time.time())
    opened, facts = _run(tmp_path, dict(os.environ))
    after = resource.age_days(FIRST_SEEN, time.time())
    assert opened == []  # init read the file; the exit did not read it again
    assert facts["optel.project.id"] == project.project_id(str(tmp_path), SALT)
    assert facts["optel.install.age_days"] in (before, after)
    assert facts["app.installation.id"] == "0b7f3c52-7d36-4c5e-9d2a-6f1f7f0f7a10"


def test_an_install_id_made_during_the_run_is_read_back_from_the_file(tmp_path):
    _hold_uploader()
    env = {**os.environ, "READS_APP_TELEMETRY": "anonymous"}
    opened, facts = _run(tmp_path, env)
    with open(_paths.user_config_file(APP), encoding="utf-8") as f:
        stored = dict(line.split(" = ", 1) for line in f.read().splitlines())
    salt = stored["salt"].strip('"')
    assert facts["app.installation.id"] == stored["install_id"].strip('"')
    assert facts["optel.project.id"] == project.project_id(str(tmp_path), salt)
    assert facts["optel.install.age_days"] == 0
    assert len(opened) == 1  # the file init created, read once for its salt
