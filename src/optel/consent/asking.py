"""The consent rows that talk to the user (docs/consent.md#the-prompt-and-the-notice): the opt-in
question, the opt-out notice, and the words that say later how a stored choice came about
(``decided_by`` in the user file).
"""

from __future__ import annotations

import sys

from optel.consent.howto import off_variable, recorded_usage, telemetry_command
from optel.consent.ids import utc_now

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import TextIO

    from optel.consent.facts import Facts as _Facts
    from optel.consent.store import UserStore
    from optel.consent.value import Consent

PROMPT_TIMEOUT = 30.0

# How a stored choice was made (the user file's `decided_by`), as `status` tells it. Ctrl-C is not
# here: it interrupts the host and stores nothing, so the next run asks again.
DECIDED_BY = {
    "answer": "you answered {answer} when {app} asked{when}",
    "answer_no_user_id": "you chose identified when {app} asked{when} but gave no user id, so it is anonymous",
    "enter": "you pressed Enter when {app} asked{when} (the default is off)",
    "eof": "the prompt got end of input{when} (the default is off)",
    "timeout": "nobody answered when {app} asked{when}: no answer in {timeout:g} s means off",
    "unknown": "the answer to {app}'s question{when} was not one of the choices, twice (the default is off)",
    "error": "{app}'s question could not be shown or read{when} (the default is off)",
    "enable": "you chose {answer} with `{command}`{when}",
    "disable": "you turned telemetry off with `{command}`{when}",
    "later": "you asked {app} to ask again next time (nothing is stored; off for this run)",
}


def decided_reason(
    app: str, mode: str, how: object, when: str, timeout: float = PROMPT_TIMEOUT
) -> str:
    """Why ``mode`` holds, from how it was decided (``decided_by``); ``when`` is `` on <date>`` or ``""``."""
    template = DECIDED_BY.get(how) if isinstance(how, str) else None
    if template is None:
        # Written before decided_by existed, or by a newer optel: say what is known.
        return f"you turned telemetry off{when}" if mode == "off" else f"you chose {mode}{when}"
    command = telemetry_command(app, "disable" if how == "disable" else "enable")
    answer = "no" if mode == "off" else mode
    return template.format(app=app, answer=answer, when=when, timeout=timeout, command=command)


def show_notice(facts: _Facts, store: UserStore, stream: TextIO, version: int) -> Consent:
    """The opt-out policy's one-time notice: recorded first, shown, then marked as shown."""
    app = facts.app
    try:
        # First make sure the notice can be recorded: one that cannot be would be shown again on
        # every run. This also creates the install id the notice's Consent carries.
        table = store.update(app_policy="opt-out", app_consent_version=facts.consent_version)
    except Exception as exc:
        return facts.off(
            "no_config_dir", _unwritable(facts, exc, "the opt-out notice could not be recorded")
        )
    install_id = str(table["install_id"])
    notice = (
        f"{app} sends anonymous usage telemetry ({recorded_usage()}; never files, prompts, paths or "
        f"personal data). Turn it off with `{telemetry_command(app, 'disable')}`, {off_variable(app)}"
        f"{', ' + facts.off_hint if facts.off_hint else ''} or DO_NOT_TRACK=1. This notice is shown once."
    )
    try:
        stream.write(notice + "\n")
        stream.flush()
    except Exception as exc:
        return facts.off(
            "not_a_tty",
            f"the opt-out notice could not be written to stderr ({describe(exc)}), so telemetry is off",
            install_id,
        )
    try:
        # Recorded only now: notice_shown means a person's terminal took the text.
        store.update(notice_shown=True, consent_version=version)
    except Exception as exc:
        return facts.off(
            "no_config_dir",
            _unwritable(facts, exc, "the opt-out notice could not be recorded"),
            install_id,
        )
    return facts.on(
        "opt_out_notice", "anonymous", notice_reason(app, "was just shown"), install_id, None
    )


class LogStream:
    """The tool's log as the opt-out notice's stream: ``notice=logger.warning`` in ``init()``."""

    def __init__(self, write_line: object) -> None:
        self._write_line = write_line
        self._text = ""

    def write(self, text: str) -> int:
        self._text += text
        return len(text)

    def flush(self) -> None:
        text, self._text = self._text.rstrip("\n"), ""
        if text:
            self._write_line(text)  # type: ignore[operator]


# The reason of an opt-out install told by the notice; ``shown`` is "was just shown" or "has been shown".
NOTICE_REASON = (
    "{app} sends anonymous telemetry unless it is turned off, and its notice {shown} "
    "(`{disable}` turns it off)"
)


def notice_reason(app: str, shown: str) -> str:
    return NOTICE_REASON.format(app=app, shown=shown, disable=telemetry_command(app, "disable"))


def ask_and_store(
    facts: _Facts,
    store: UserStore,
    install_id: str,
    stdin: TextIO | None,
    stdout: TextIO | None,
    timeout: float,
) -> Consent:
    """Put the question; store the answer with how it was given. Ctrl-C propagates, storing nothing."""
    from optel.consent.prompt import ask

    answer = ask(
        facts.app,
        facts.modes,
        timeout=timeout,
        stdin=sys.stdin if stdin is None else stdin,
        stdout=sys.stdout if stdout is None else stdout,
        answers=facts.answers,
    )
    reason = decided_reason(facts.app, answer.mode, answer.how, "", timeout)
    if answer.how == "later":
        return facts.off("prompt", reason, install_id)
    try:
        store.update(
            mode=answer.mode,
            decided_at=utc_now(),
            decided_by=answer.how,
            consent_version=facts.consent_version,
            user_id=answer.user_id or "",
            app_policy="opt-in",
            app_consent_version=facts.consent_version,
        )
    except Exception as exc:
        # The answer still holds for this run; it just will not be remembered.
        reason += f" (not stored: {describe(exc)})"
    if answer.mode == "off":
        return facts.off("prompt", reason, install_id)
    return facts.on("prompt", answer.mode, reason, install_id, answer.user_id)


def _unwritable(facts: _Facts, exc: BaseException, what: str) -> str:
    return (
        f"{facts.shown_user_file} cannot be written ({describe(exc)}), so {what}; telemetry is off"
    )


def describe(exc: BaseException) -> str:
    """An exception as a few words for a reason."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or exc.__class__.__name__


def stored_when(table: Mapping[str, object]) -> str:
    """`` on <decided_at>`` for a reason, or ``""``."""
    from optel._terminal import shown

    decided = table.get("decided_at")
    return f" on {shown(decided, 40)}" if isinstance(decided, str) and decided else ""
