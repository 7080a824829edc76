"""Asking a person at a terminal, once: the only question optel ever puts to a user
(docs/contract.md#consent).

Loaded only when the question is asked (the import budget of ``init()``).
"""

from __future__ import annotations

import os
import sys
import time

from optel.consent.howto import off_variable, recorded_usage, telemetry_command

# Imported with this module, before the question is shown: a Ctrl-C that lands while a module is
# being imported can be swallowed (CPython reports it as "Exception ignored" in the import lock's
# callback), and the person who pressed it would wait out the timeout.
if sys.platform != "win32":
    import select
    import termios

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import TextIO

MAX_ANSWER = 1024

_DESCRIPTIONS = {
    "anonymous": "a random install id and the usage data above, nothing personal",
    "identified": "the same, plus a user id that you type next",
    "off": "send nothing (the default)",
}


class Answer:
    """What the prompt got: the chosen mode, a user id for identified, and how it ended."""

    __slots__ = ("how", "mode", "user_id")

    def __init__(self, mode: str, how: str, user_id: str | None = None) -> None:
        self.mode = mode
        self.how = how
        self.user_id = user_id

    def __repr__(self) -> str:
        return f"Answer({self.mode!r}, {self.how!r}, user_id={self.user_id!r})"


def prompt_text(
    app: str, modes: Sequence[str], timeout: float, answers: Mapping[str, str] | None = None
) -> str:
    """The question, naming the app, what it records, and how to change the answer later."""
    offered = [m for m in ("anonymous", "identified") if m in modes] + ["off"]
    if answers:
        return _declared_text(app, modes, timeout, answers)
    lines = [
        f"{app} would like to send anonymous usage telemetry to its developers:",
        f"{recorded_usage()};",
        "never file contents, prompts, paths or other personal data.",
    ]
    lines += [f"  {m:<11} {_DESCRIPTIONS[m]}" for m in offered]
    lines += [
        f"Every field: `{telemetry_command(app, 'show')}`.",
        f"Change your answer later: `{telemetry_command(app, 'disable')}` (or `enable`); "
        f"{off_variable(app)} turns it off wherever it is set.",
    ]
    lines.append(f"Send usage telemetry? {_choices(offered, timeout)}: ")
    return "\n".join(lines)


_LATER = "ask me again next time (nothing is stored)"


def _declared_text(
    app: str, modes: Sequence[str], timeout: float, answers: Mapping[str, str]
) -> str:
    """The question with the tool's own numbered or lettered answers (Pipelex's ``[1] off``)."""
    lines = [
        f"{app} would like to send anonymous usage telemetry to its developers:",
        f"{recorded_usage()};",
        "never file contents, prompts, paths or other personal data.",
    ]
    for word, mode in answers.items():
        if mode == "later" or mode == "off" or mode in modes:
            lines.append(
                f"  [{word}] {mode:<11} {_LATER if mode == 'later' else _DESCRIPTIONS[mode]}"
            )
    lines += [
        f"Every field: `{telemetry_command(app, 'show')}`. "
        f"{off_variable(app)} turns it off wherever it is set.",
        f"Enter your choice (Enter for off{f', {int(timeout)} s' if timeout >= 1 else ''}): ",
    ]
    return "\n".join(lines)


def _choices(offered: Sequence[str], timeout: float) -> str:
    choices = "/".join(m.upper() if m == "off" else m for m in offered)
    wait = f", {int(timeout)} s" if timeout >= 1 else ""
    return f"[{choices}{wait}]"


def interpret(
    text: str, modes: Sequence[str], answers: Mapping[str, str] | None = None
) -> str | None:
    """The mode an answer names (a declared answer, a mode, a prefix of one, yes/no), ``later``
    for a declared ask-me-later answer, or None when it names none."""
    word = text.strip().lower()
    if answers and word in answers:
        return answers[word]
    offered = [m for m in ("anonymous", "identified") if m in modes]
    if word in ("y", "yes", "on", "1", "true") and offered:
        return offered[0]
    if word in ("n", "no", "off", "0", "false"):
        return "off"
    matches = [m for m in [*offered, "off"] if word and m.startswith(word)]
    return matches[0] if len(matches) == 1 else None


def ask(
    app: str,
    modes: Sequence[str],
    *,
    timeout: float,
    stdin: TextIO,
    stdout: TextIO,
    answers: Mapping[str, str] | None = None,
) -> Answer:
    """Ask; Enter, EOF, the timeout or a second unknown answer mean off. ``answers`` maps the
    words the tool declared to a mode or ``later`` (off for this run, nothing stored).

    Ctrl-C raises KeyboardInterrupt into the host, as it would without optel: nothing is decided.
    What was typed before the question appeared is discarded, so it never counts as an answer.
    """
    try:
        status, text = _put(stdin, stdout, prompt_text(app, modes, timeout, answers), timeout)
        if status == "line" and text.strip() and interpret(text, modes, answers) is None:
            # A typo is not a no: ask once more, then take an unknown answer as off.
            offered = [m for m in ("anonymous", "identified") if m in modes] + ["off"]
            again = f"Please answer {', '.join(offered)} (or Enter for off) {_choices(offered, timeout)}: "
            if answers:
                again = f"Please answer {', '.join(answers)} (or Enter for off): "
            status, text = _put(stdin, stdout, again, timeout)
        return _finish(stdout, app, _answer(stdin, stdout, status, text, modes, timeout, answers))
    except KeyboardInterrupt:
        try:
            stdout.write("\n")
            stdout.flush()
        except (OSError, ValueError):
            pass
        raise
    except (OSError, ValueError):
        return Answer("off", "error")


def _answer(
    stdin: TextIO,
    stdout: TextIO,
    status: str,
    text: str,
    modes: Sequence[str],
    timeout: float,
    answers: Mapping[str, str] | None = None,
) -> Answer:
    if status != "line":
        stdout.write("\n")
        return Answer("off", status)
    if not text.strip():
        return Answer("off", "enter")
    mode = interpret(text, modes, answers)
    if mode is None:
        return Answer("off", "unknown")
    if mode == "later":
        return Answer("off", "later")
    if mode != "identified":
        return Answer(mode, "answer")
    stdout.write("User id to send with your telemetry (Enter for none): ")
    stdout.flush()
    status, user_id = read_line(stdin, time.monotonic() + timeout)
    user_id = user_id.strip() if status == "line" else ""
    if status != "line":
        stdout.write("\n")
    if not user_id:
        # Identified without an id would send nothing more than anonymous: store what it is.
        return Answer("anonymous", "answer_no_user_id")
    return Answer("identified", "answer", user_id)


def _put(stdin: TextIO, stdout: TextIO, question: str, timeout: float) -> tuple[str, str]:
    """Show ``question`` and read the answer typed after it appeared."""
    # Discarded before the question is shown: what is typed once it is visible is an answer.
    discard_typeahead(stdin)
    stdout.write(question)
    stdout.flush()
    return read_line(stdin, time.monotonic() + timeout)


def discard_typeahead(stdin: TextIO) -> None:
    """Drop what was typed on the terminal before the question appeared (a keystroke meant for the
    host, pasted text): only what is typed after it can be an answer."""
    try:
        fd = stdin.fileno()
    except (OSError, ValueError, AttributeError):
        return
    if sys.platform == "win32":
        _discard_console_input()
        return
    if not os.isatty(fd):
        return
    try:
        termios.tcflush(fd, termios.TCIFLUSH)
    except (OSError, termios.error):
        pass


def _discard_console_input() -> None:
    if sys.platform != "win32":
        return
    import msvcrt

    while msvcrt.kbhit():
        msvcrt.getwch()


def _finish(stdout: TextIO, app: str, answer: Answer) -> Answer:
    if answer.how == "later":
        stdout.write(
            f"Telemetry for {app} is off for this run; you will be asked again next time.\n"
        )
    elif answer.mode == "off":
        stdout.write(
            f"Telemetry for {app} is off. `{telemetry_command(app, 'enable')}` turns it on.\n"
        )
    else:
        stdout.write(
            f"Telemetry for {app} is {answer.mode}. Thank you! "
            f"`{telemetry_command(app, 'disable')}` turns it off.\n"
        )
    stdout.flush()
    return answer


def read_line(stdin: TextIO, deadline: float) -> tuple[str, str]:
    """One line from ``stdin`` before ``deadline``: ``("line", text)``, ``("eof", "")`` or ``("timeout", "")``."""
    try:
        fd = stdin.fileno()
    except (OSError, ValueError, AttributeError):
        # Not a real file (a test's StringIO): it cannot block, so no timeout is needed.
        line = stdin.readline(MAX_ANSWER)
        return ("line", line.rstrip("\r\n")) if line else ("eof", "")
    if sys.platform == "win32":
        return _read_line_windows(deadline)
    buf = bytearray()
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return "timeout", ""
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            return "timeout", ""
        # One byte at a time, so nothing after the answer's newline is taken from the host.
        chunk = os.read(fd, 1)
        if not chunk:
            return "eof", ""
        if chunk == b"\n":
            return "line", buf.decode("utf-8", "replace").rstrip("\r")
        if len(buf) < MAX_ANSWER:
            buf += chunk


def _read_line_windows(deadline: float) -> tuple[str, str]:
    if sys.platform != "win32":
        raise OSError("console input without select() exists only on Windows")
    import msvcrt

    chars: list[str] = []
    while True:
        if time.monotonic() >= deadline:
            return "timeout", ""
        if not msvcrt.kbhit():
            time.sleep(0.05)
            continue
        ch = msvcrt.getwche()
        if ch in ("\r", "\n"):
            return "line", "".join(chars)
        if ch == "\x03":
            raise KeyboardInterrupt
        if ch == "\x1a":
            return "eof", ""
        if ch == "\b":
            if chars:
                chars.pop()
            continue
        chars.append(ch)
