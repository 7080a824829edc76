"""The opt-out policy's notice: shown only where a person sees it, recorded only once shown, and
told truthfully by `optel status`, which runs without the app's settings."""

from __future__ import annotations

import io
import os
import select
import subprocess
import sys
import time

import pytest

from optel import _paths
from optel.consent import UserStore, preview, resolve

APP = "notice-app"
NOTICE = b"This notice is shown once."
CHILD = (
    "import optel.consent as c\n"
    f"r = c.resolve({APP!r}, policy='opt-out')\n"
    "print('RESULT', r.mode, r.source, flush=True)\n"
)


def stored() -> dict[str, object]:
    table = UserStore(_paths.user_config_file(APP)).read()
    assert isinstance(table, dict)
    return table


def run_on_terminal(python: str, *, stderr_to_devnull: bool) -> str:
    """resolve() in a child whose stdin and stdout are a pty, and stderr too unless redirected."""
    import pty

    pid, fd = pty.fork()
    if pid == 0:  # the child: exec at once, never return into pytest
        try:
            if stderr_to_devnull:
                os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
            os.execve(python, [python, "-c", CHILD], dict(os.environ))
        finally:
            os._exit(127)
    buf = bytearray()
    deadline = time.monotonic() + 20
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], deadline - time.monotonic())
            if not ready:
                break
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            buf += chunk
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    screen = bytes(buf).decode(errors="replace").replace("\r\n", "\n")
    assert os.waitstatus_to_exitcode(status) == 0, screen
    return screen


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_notice_on_a_terminal_is_shown_recorded_and_turns_telemetry_on(python):
    screen = run_on_terminal(python, stderr_to_devnull=False)
    assert NOTICE.decode() in screen
    assert "RESULT anonymous opt_out_notice" in screen
    assert stored()["notice_shown"] is True


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_redirected_stderr_means_no_notice_and_telemetry_stays_off(python):
    # `tool 2>/dev/null` typed at a terminal: stdin and stdout are the pty, but nobody can read
    # the notice, so it must neither count as shown nor switch telemetry on.
    screen = run_on_terminal(python, stderr_to_devnull=True)
    assert "RESULT off not_a_tty" in screen
    assert NOTICE.decode() not in screen
    assert stored().get("notice_shown") is not True


class FailingStream(io.StringIO):
    def write(self, text: str) -> int:
        raise OSError(5, "Input/output error")


def test_notice_that_cannot_be_written_is_not_recorded_as_shown():
    consent = resolve(APP, policy="opt-out", environ={}, interactive=True, stderr=FailingStream())
    assert consent.mode == "off"
    assert stored().get("notice_shown") is not True
    again = resolve(APP, policy="opt-out", environ={}, interactive=True, stderr=io.StringIO())
    assert again.source == "opt_out_notice", "the notice is still owed, so it is shown next time"


def run_status(python: str, *args: str) -> dict[str, str]:
    proc = subprocess.run(
        [python, "-m", "optel", "--app", APP, "status", *args],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return dict(line.partition(": ")[::2] for line in proc.stdout.splitlines())


def test_status_without_policy_tells_what_an_opt_out_app_does_after_its_notice(python):
    host = resolve(APP, policy="opt-out", environ={}, interactive=True, stderr=io.StringIO())
    assert host.sending
    status = run_status(python)
    assert (status["mode"], status["source"]) == ("anonymous", "opt_out_notice")
    assert status["would send"].startswith("anonymous")
    assert status["install id"] == host.install_id


def test_status_follows_an_app_that_moved_from_opt_out_to_opt_in():
    resolve(APP, policy="opt-out", environ={}, interactive=True, stderr=io.StringIO())
    # The same app, now opt-in: the notice is no consent, and it records that it has changed.
    assert resolve(APP, policy="opt-in", environ={}, interactive=False).mode == "off"
    assert preview(APP, environ={}).mode == "off"
    assert preview(APP, policy="opt-out", environ={}).mode == "anonymous", (
        "an explicit policy still wins"
    )


def test_notice_shown_by_an_older_optel_reads_as_opt_out_in_status():
    # Files written before the app's policy was recorded: only an opt-out app shows the notice.
    path = _paths.user_config_file(APP)
    os.makedirs(os.path.dirname(path))
    with open(path, "w") as f:
        f.write(
            'install_id = "55555555-5555-4555-8555-555555555555"\nconsent_version = 1\nnotice_shown = true\n'
        )
    assert (preview(APP, environ={}).mode, preview(APP, environ={}).source) == (
        "anonymous",
        "opt_out_notice",
    )
    resolve(APP, policy="opt-out", environ={}, interactive=False)
    with open(path) as f:
        assert "app_policy" not in f.read(), (
            "an app whose state is already told truly writes nothing"
        )
