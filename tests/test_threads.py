"""optel's host threads are running when the call that starts them returns (optel._threads).

A thread still starting when the interpreter finalizes aborts CPython 3.9 (seen in CI: a host that
started an uploader at its exit died with "Fatal Python error: _PyGILState_NoteThreadState",
exit status -6). So every thread optel starts in a host goes through `_threads.start`, which
returns only once the thread runs, as `threading.Thread.start` does.
"""

from __future__ import annotations

import _thread
import os
import subprocess
import sys
from pathlib import Path

from optel import _threads

SRC = Path(__file__).resolve().parents[1] / "src" / "optel"


def test_the_thread_runs_before_start_returns() -> None:
    for _ in range(50):
        release = _thread.allocate_lock()
        release.acquire()
        before = set(sys._current_frames())  # the threads that run Python code
        _threads.start(release.acquire)
        try:
            assert set(sys._current_frames()) - before, "the new thread is not running yet"
        finally:
            release.release()


def test_no_host_module_starts_a_thread_any_other_way() -> None:
    offenders = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if "start_new_thread(" in path.read_text(encoding="utf-8") and path.name != "_threads.py"
    ]
    assert offenders == []


HOST = r"""
import sys
sys.executable = "/bin/true"  # the uploader's spawn really happens; /bin/true stands in for it
import optel
optel.init("threads-app", endpoint="http://127.0.0.1:9")

@optel.command("run")
def run():
    return 1

run()
"""


def test_hosts_that_start_an_uploader_at_their_exit_end_cleanly(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "OPTEL_UPLOAD_INTERVAL": "0",  # an uploader at every exit, and a reaper thread with it
    }
    env.pop("CI", None)
    script = "import sys\nfrom optel import _paths\nprint(_paths.user_config_file('threads-app'))"
    path = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    user_file = Path(path)
    user_file.parent.mkdir(parents=True, exist_ok=True)
    user_file.write_text(
        'mode = "anonymous"\ninstall_id = "3f1d0c9e-0000-4000-8000-0000000020c3"\nconsent_version = 1\n'
    )
    for _ in range(20):
        done = subprocess.run(
            [sys.executable, "-c", HOST], env=env, capture_output=True, timeout=60,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert (done.returncode, done.stderr) == (0, b"")
