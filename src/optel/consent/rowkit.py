"""What a consent row is made of: its declared condition, result, source and reason, and what rows
share: a few effects (a warning, the install id, the app's settings in the user file) and the
words of their reasons (how a stored choice was made, the unasked sentence).

Every effect goes through ``Facts.writer`` or ``Facts.live``: facts made for a read-only decision
have neither, so no row can print or write for ``preview``, ``withdrawn`` or the uploader.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from optel.consent.facts import Facts
    from optel.consent.value import Consent


class Row:
    """One rule of the chain: ``answer(facts)`` is a Consent, or None to let the next row decide.

    ``condition`` is the first paragraph of the function's docstring; ``result``, ``source`` and
    ``reason`` (a template the row formats) are declared with ``@row``: docs/consent.md's table is
    made from them. ``withdraws``: the row only says off and an uploader asks it before sending.
    ``unasked``: the reason is a cause, given in the ``UNASKED`` sentence.
    """

    __slots__ = (
        "answer",
        "condition",
        "name",
        "reason",
        "result",
        "source",
        "unasked",
        "withdraws",
    )

    def __init__(
        self,
        answer: Callable[[Facts], Consent | None],
        result: str,
        source: str,
        reason: str,
        withdraws: bool,
        unasked: bool,
    ) -> None:
        self.answer = answer
        self.name = answer.__name__
        doc = (answer.__doc__ or "").split("\n\n", 1)[0]
        self.condition = " ".join(doc.split())
        self.result = result
        self.source = source
        self.reason = reason
        self.withdraws = withdraws
        self.unasked = unasked

    def __call__(self, facts: Facts) -> Consent | None:
        return self.answer(facts)

    def says(self, **fields: object) -> str:
        """The row's reason with its fields filled in."""
        return self.reason.format(**fields)

    def __repr__(self) -> str:
        return f"Row({self.name})"


def row(
    result: str, source: str, reason: str, *, withdraws: bool = False, unasked: bool = False
) -> Callable[[Callable[[Facts], Consent | None]], Row]:
    """Declare a row function's result, source and reason template (see ``Row``)."""

    def make(answer: Callable[[Facts], Consent | None]) -> Row:
        return Row(answer, result, source, reason, withdraws, unasked)

    return make


def first_answer(rows: Iterable[Row], facts: Facts) -> Consent | None:
    """The answer of the first row that answers, or None when none does."""
    for each in rows:
        answer = each.answer(facts)
        if answer is not None:
            return answer
    return None


def warn(f: Facts, path: str, message: str) -> None:
    """Warn on stderr about a file that cannot be used, once per version of the file, when live."""
    if f.live:
        from optel.consent.warned import warn_once

        warn_once(f.app, path, f"{f.app}: warning: {message}", f.s.stderr)


def log(message: str, *args: object) -> None:
    from optel._logger import logger

    logger().debug(message, *args)


def install_id_now(f: Facts) -> str | None:
    """The stored install id, stored now if there is none (None when not live: nothing is
    written); a new id for this run only when it cannot be stored."""
    if f.install_id or not f.live:
        return f.install_id
    if f.writer is not None:
        try:
            return f.writer.install_id()
        except Exception as exc:
            log("could not store an install id in %s: %s", f.user_file, exc)
    from optel.consent.ids import new_install_id

    return new_install_id()


def note_app_settings(f: Facts) -> None:
    """Keep in the user file the policy and consent_version this app decides with, for `optel
    status` and `optel enable`, which run without the app's settings.

    Written only when what is stored would mislead them (an outdated choice, or a notice shown
    under a policy the app no longer has), so the common start-up path writes nothing.
    """
    stored = f.table
    if not stored or not f.live:
        return
    from optel.consent.files import recorded_app_settings

    recorded_policy, recorded_version = recorded_app_settings(stored)
    changes: dict[str, object] = {}
    version = f.consent_version
    stored_version = stored.get("consent_version", 1)
    if isinstance(stored_version, int) and stored_version < version and recorded_version < version:
        changes["app_consent_version"] = version
    if stored.get("notice_shown") is True and recorded_policy != f.s.policy:
        changes["app_policy"] = f.s.policy
    # The writer (and its module) only when there is something to write.
    if not changes or f.writer is None:
        return
    try:
        f.writer.update(**changes)
    except Exception as exc:
        log("could not record the app's consent settings in %s: %s", f.writer.path, exc)


# Why an install without a current choice stays off, around the ``cause`` that rules out asking;
# STALE_UNASKED when the stored choice was made for an older consent_version.
UNASKED = "{cause} and no choice is stored, so telemetry is off and {nobody}"
STALE_UNASKED = "{stale}, and {cause}, so telemetry is off and {nobody}"
STALE_NOT_LIVE = "{stale}, so telemetry is off until {app} {asks} on its next interactive run"
STALE = "your choice was made for consent version {stored}; {app} now asks for {current}"


def unasked(f: Facts, cause: str) -> str:
    """The reason of an ``unasked`` row, from its ``cause``."""
    template = STALE_UNASKED if f.stale else UNASKED
    return template.format(cause=cause, stale=f.stale, nobody=f.nobody)


def prefixed(f: Facts, reason: str) -> str:
    """``reason``, after the stale-choice clause when a choice for an older consent_version is stored."""
    return f"{f.stale}, and {reason}" if f.stale else reason


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
    command = ""
    if "{command}" in template:
        # Finding how the user reaches the commands searches PATH: only for the reasons that name one.
        from optel.consent.howto import telemetry_command

        command = telemetry_command(app, "disable" if how == "disable" else "enable")
    answer = "no" if mode == "off" else mode
    return template.format(app=app, answer=answer, when=when, timeout=timeout, command=command)


# The reason of an opt-out install told by the notice; ``shown`` is "was just shown" or "has been shown".
NOTICE_REASON = (
    "{app} sends anonymous telemetry unless it is turned off, and its notice {shown} "
    "(`{disable}` turns it off)"
)


def notice_reason(app: str, shown: str) -> str:
    from optel.consent.howto import telemetry_command

    return NOTICE_REASON.format(app=app, shown=shown, disable=telemetry_command(app, "disable"))


def stored_when(table: Mapping[str, object]) -> str:
    """`` on <decided_at>`` for a reason, or ``""``."""
    from optel._terminal import shown

    decided = table.get("decided_at")
    return f" on {shown(decided, 40)}" if isinstance(decided, str) and decided else ""
