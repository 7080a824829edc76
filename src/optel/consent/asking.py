"""The consent rows that talk to the user (docs/consent.md#the-prompt-and-the-notice): the opt-in
question and the opt-out notice, loaded only when nobody decided yet.
"""

from __future__ import annotations

import sys

from optel.consent.howto import off_variable, recorded_usage, telemetry_command
from optel.consent.ids import utc_now
from optel.consent.rowkit import decided_reason, notice_reason

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

    from optel.consent.facts import Facts as _Facts
    from optel.consent.store import UserStore
    from optel.consent.value import Consent


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
