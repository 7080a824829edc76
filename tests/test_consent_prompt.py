"""The prompt, driven through a real pseudo-terminal: each way of answering, and the timeout."""

from __future__ import annotations

import io
import os
import select
import subprocess
import sys
import time

import pytest

from optel import _paths
from optel.consent import UserStore, resolve
from optel.consent.prompt import interpret, prompt_text

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")

APP = "pty-app"
QUESTION = b"Send usage telemetry?"
CHILD = (
    "import sys, optel.consent as c\n"
    "r = c.resolve({app!r}, prompt_timeout={timeout!r}, modes={modes!r})\n"
    "print('RESULT', r.mode, r.source, r.user_id, flush=True)\n"
)


def read_until(fd: int, needle: bytes, deadline: float, buf: bytearray) -> bool:
    while needle not in buf:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            return False
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            return needle in buf
        if not chunk:
            return needle in buf
        buf += chunk
    return True


def run_on_terminal(
    answers: list[bytes], *, timeout: float = 30.0, modes: tuple[str, ...] = ("off", "anonymous", "identified")
) -> tuple[str, str]:
    """Run resolve() in a child whose stdin/stdout are a pty; type each answer after each question."""
    import pty

    code = CHILD.format(app=APP, timeout=timeout, modes=modes)
    env = dict(os.environ)
    pid, fd = pty.fork()
    if pid == 0:  # the child: exec at once, never return into pytest
        try:
            os.execve(sys.executable, [sys.executable, "-c", code], env)
        finally:
            os._exit(127)
    buf = bytearray()
    deadline = time.monotonic() + 20
    try:
        for n, answer in enumerate(answers):
            needle = QUESTION if n == 0 else b"User id"
            assert read_until(fd, needle, deadline, buf), bytes(buf).decode(errors="replace")
            os.write(fd, answer)
        read_until(fd, b"\nRESULT", deadline, buf)
        read_until(fd, b"\x00never", deadline, buf)  # drain to EOF
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    text = bytes(buf).decode(errors="replace").replace("\r\n", "\n")
    assert os.waitstatus_to_exitcode(status) == 0, text
    result = [line for line in text.splitlines() if line.startswith("RESULT ")]
    assert result, text
    return result[-1], text


def stored() -> dict[str, object]:
    table = UserStore(_paths.user_config_file(APP)).read()
    assert isinstance(table, dict)
    return table


@pytest.mark.parametrize(
    ("typed", "mode"),
    [(b"anonymous\n", "anonymous"), (b"a\n", "anonymous"), (b"yes\n", "anonymous"), (b"OFF\n", "off")],
)
def test_prompt_answer_on_a_terminal_is_used_and_stored(typed, mode):
    result, _ = run_on_terminal([typed])
    assert result == f"RESULT {mode} prompt None"
    assert stored()["mode"] == mode
    assert str(stored()["decided_at"]).endswith("Z")
    assert stored()["consent_version"] == 1


def test_prompt_names_the_app_what_is_collected_and_how_to_change_it():
    _, screen = run_on_terminal([b"\n"])
    assert "pty-app would like to send anonymous usage telemetry" in screen
    assert "commands" in screen and "token counts" in screen
    assert "optel enable/disable --app pty-app" in screen
    assert "PTY_APP_TELEMETRY=off" in screen


def test_prompt_identified_asks_for_the_user_id():
    result, _ = run_on_terminal([b"identified\n", b"bob@example\n"])
    assert result == "RESULT identified prompt bob@example"
    assert (stored()["mode"], stored()["user_id"]) == ("identified", "bob@example")


def test_prompt_offers_only_the_apps_modes():
    result, screen = run_on_terminal([b"identified\n"], modes=("off", "anonymous"))
    assert "[anonymous/OFF, 30 s]" in screen
    assert "plus a user id" not in screen
    assert result == "RESULT off prompt None"


@pytest.mark.parametrize(
    ("typed", "how"),
    [(b"\n", "enter"), (b"\x04", "eof"), (b"maybe\n", "unknown"), (b"\x03", "ctrl_c")],
    ids=["enter", "eof", "unknown", "ctrl-c"],
)
def test_prompt_without_a_clear_yes_is_off_and_stored(typed, how):
    result, _ = run_on_terminal([typed])
    assert result == "RESULT off prompt None"
    assert stored()["mode"] == "off"


def test_prompt_times_out_to_off():
    start = time.monotonic()
    result, screen = run_on_terminal([], timeout=0.5)
    assert result == "RESULT off prompt None"
    assert "Telemetry for pty-app is off" in screen
    assert stored()["mode"] == "off"
    assert time.monotonic() - start < 15


@pytest.mark.parametrize("marker", ["CI", "GITHUB_ACTIONS", "CLAUDECODE", "CURSOR_AGENT", "GEMINI_CLI", "CODEX_SANDBOX"])
def test_ci_and_agents_are_never_asked_even_on_a_terminal(monkeypatch, marker):
    monkeypatch.setenv(marker, "1")
    result, screen = run_on_terminal([])
    assert "Send usage telemetry?" not in screen
    assert result.split()[1] == "off"
    assert result.split()[2] in ("ci", "agent")
    assert not os.path.exists(_paths.user_config_file(APP))


@pytest.mark.parametrize("redirected", ["stdin", "stdout"])
def test_a_redirected_stdin_or_stdout_is_never_asked(python, redirected):
    import pty

    master, slave = pty.openpty()
    code = CHILD.format(app=APP, timeout=30.0, modes=("off", "anonymous", "identified"))
    try:
        if redirected == "stdin":
            proc = subprocess.run([python, "-c", code], stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, timeout=20)
            ready, _, _ = select.select([master], [], [], 5)
            screen = os.read(master, 65536).decode() if ready else ""
        else:
            proc = subprocess.run([python, "-c", code], stdin=slave, capture_output=True, timeout=20)
            screen = proc.stdout.decode() + proc.stderr.decode()
    finally:
        os.close(master)
        os.close(slave)
    assert proc.returncode == 0
    assert "Send usage telemetry?" not in screen
    assert "RESULT off not_a_tty None" in screen


def test_a_background_job_on_the_terminal_is_never_asked(python):
    # The child owns the pty; it starts the real probe in a new process group, as `tool &` does.
    # Reading the terminal from there would stop the probe with SIGTTIN, and this test would hang.
    import pty

    probe = CHILD.format(app=APP, timeout=30.0, modes=("off", "anonymous", "identified"))
    launcher = (
        "import os, subprocess, sys\n"
        f"p = subprocess.run([sys.executable, '-c', {probe!r}], preexec_fn=os.setpgrp, timeout=20)\n"
        "sys.exit(p.returncode)\n"
    )
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execve(python, [python, "-c", launcher], dict(os.environ))
        finally:
            os._exit(127)
    buf = bytearray()
    try:
        read_until(fd, b"\x00never", time.monotonic() + 25, buf)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    screen = bytes(buf).decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0, screen
    assert "Send usage telemetry?" not in screen
    assert "RESULT off not_a_tty None" in screen


def test_stringio_answer_works_without_a_file_descriptor():
    consent = resolve(APP, environ={}, interactive=True, stdin=io.StringIO("anonymous\n"), stdout=io.StringIO())
    assert consent.mode == "anonymous"


@pytest.mark.parametrize(
    ("text", "mode"),
    [
        ("anonymous", "anonymous"), ("AN", "anonymous"), ("identified", "identified"), ("i", "identified"),
        ("y", "anonymous"), ("yes", "anonymous"), ("n", "off"), ("no", "off"), ("off", "off"), ("o", "off"),
        ("", None), ("maybe", None), ("anonymousx", None),
    ],
)
def test_answers_are_read_as_modes(text, mode):
    assert interpret(text, ("off", "anonymous", "identified")) == mode


def test_prompt_text_shows_off_as_the_default():
    assert "[anonymous/identified/OFF, 30 s]" in prompt_text("x", ("off", "anonymous", "identified"), 30.0)
