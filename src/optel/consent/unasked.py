"""The consent rows for an install with no current choice: CI, agents, terminals, the opt-out
notice and the opt-in question (docs/consent.md). They follow ``optel.consent.rows`` in the chain.
"""

from __future__ import annotations

import os

from optel.consent.detect import is_tty
from optel.consent.rowkit import NOTICE_REASON, STALE_NOT_LIVE, Row, prefixed, row, unasked

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

    from optel.consent.facts import Facts
    from optel.consent.value import Consent


@row("off", "ci", "a CI system was detected ({ci})", unasked=True)
def ci(f: Facts) -> Consent | None:
    """A CI system is detected (`CI`, `GITHUB_ACTIONS`, ... in the environment)."""
    if not f.ci_name:
        return None
    return f.off("ci", unasked(f, ci.says(ci=f.ci_name)), f.install_id)


@row("off", "agent", "a coding agent was detected ({agent})", unasked=True)
def agent(f: Facts) -> Consent | None:
    """A coding agent runs the tool (`CLAUDECODE`, `CURSOR_AGENT`, ... in the environment)."""
    if not f.agent_name:
        return None
    return f.off("agent", unasked(f, agent.says(agent=f.agent_name)), f.install_id)


@row(
    "off",
    "not_asked",
    "no choice is stored yet, so telemetry is off; {app} {asks} on its next interactive run",
)
def not_live(f: Facts) -> Consent | None:
    """This is a preview (`optel status`, the uploader): where the host would ask or show its
    notice, nothing is asked, shown or written."""
    if f.live:
        return None
    if f.stale:
        what = "shows its notice" if f.opt_out else "asks again"
        reason = STALE_NOT_LIVE.format(stale=f.stale, app=f.app, asks=what)
    else:
        what = "shows its notice" if f.opt_out else "asks"
        reason = not_live.says(app=f.app, asks=what)
    return f.off("not_asked", reason, f.install_id)


def _notice_stream(f: Facts) -> TextIO:
    notice = f.s.declared.notice
    if callable(notice):
        from optel.consent.asking import LogStream

        return LogStream(notice)  # type: ignore[return-value]
    return f.stderr


def _notice(f: Facts, stream: TextIO) -> Consent:
    assert f.writer is not None  # live, with a config dir (rows `not_live`, `no_config_dir`)
    from optel.consent.asking import show_notice

    return show_notice(f, f.writer, stream, max(f.consent_version, f.stored_version))


@row("anonymous, or off when it cannot be recorded", "opt_out_notice", NOTICE_REASON)
def headless_notice(f: Facts) -> Consent | None:
    """The app is opt-out, declares that its users never see a terminal (`headless_notice`), and
    this run has none: the notice goes once to stderr or the tool's log, then telemetry is on."""
    if not (f.opt_out and f.s.declared.headless_notice):
        return None
    if f.tty() and not (f.s.interactive is None and not is_tty(f.stderr)):
        return None
    return _notice(f, _notice_stream(f))


@row(
    "off",
    "not_a_tty",
    "stdin or stdout is not a terminal this process may read (redirected, or a background job)",
    unasked=True,
)
def not_a_tty(f: Facts) -> Consent | None:
    """stdin or stdout is not a terminal: nobody can be asked or shown the notice."""
    if f.tty():
        return None
    return f.off("not_a_tty", unasked(f, not_a_tty.says()), f.install_id)


@row(
    "off",
    "not_a_tty",
    "stderr is not a terminal (redirected), so the opt-out notice cannot be shown and telemetry is off",
)
def stderr_redirected(f: Facts) -> Consent | None:
    """The app is opt-out and stderr is redirected (`tool 2>/dev/null`): the notice would reach
    nobody, so it cannot be what makes telemetry on."""
    if not f.opt_out or f.s.interactive is not None or is_tty(f.stderr):
        return None
    return f.off("not_a_tty", prefixed(f, stderr_redirected.says()), f.install_id)


@row("anonymous, or off when it cannot be recorded", "opt_out_notice", NOTICE_REASON)
def opt_out_notice(f: Facts) -> Consent | None:
    """The app is opt-out: its one-time notice is shown on stderr and recorded, then telemetry is on."""
    if not f.opt_out:
        return None
    return _notice(f, f.stderr)


@row("off", "not_asked", "{app} asks nobody (ask_percent is 0), so telemetry is off")
def ask_nobody(f: Facts) -> Consent | None:
    """The app's `ask_percent` is 0."""
    if f.s.ask_percent > 0:
        return None
    return f.off("not_asked", prefixed(f, ask_nobody.says(app=f.app)), f.install_id)


@row(
    "off",
    "no_config_dir",
    "{path} cannot be written ({error}), so an answer could not be kept; telemetry is off and "
    "nobody is asked",
)
def unwritable(f: Facts) -> Consent | None:
    """The install id cannot be stored first: a re-run would draw the sample again, and an answer
    that cannot be stored would be asked for on every run."""
    assert f.writer is not None  # live, with a config dir (rows `not_live`, `no_config_dir`)
    if f.install_id is not None and os.access(os.path.dirname(f.user_file), os.W_OK):
        return None
    try:
        if f.install_id is None:
            f.install_id = f.writer.install_id()
        else:
            f.install_id = str(f.writer.update()["install_id"])
    except Exception as exc:
        from optel.consent.asking import describe

        reason = unwritable.says(path=f.shown_user_file, error=describe(exc))
        return f.off("no_config_dir", reason)
    return None


@row(
    "off",
    "not_asked",
    "this install is not among the {percent}% of installs that {app} asks, so telemetry is off",
)
def outside_ask_sample(f: Facts) -> Consent | None:
    """The install id falls outside the app's `ask_percent` (a deterministic draw by install id)."""
    assert f.install_id is not None  # stored by row `unwritable`
    from optel.consent.ids import in_sample

    if in_sample(f.install_id, f.s.ask_percent):
        return None
    reason = outside_ask_sample.says(percent=f"{f.s.ask_percent:g}", app=f.app)
    return f.off("not_asked", prefixed(f, reason), f.install_id)


@row("the answer", "prompt", "how the person answered: see the wording below")
def prompt(f: Facts) -> Consent | None:
    """Otherwise the question is put on the terminal and the answer is stored (Ctrl-C stores
    nothing: the next run asks again)."""
    assert f.writer is not None and f.install_id is not None
    from optel.consent.asking import ask_and_store

    return ask_and_store(f, f.writer, f.install_id, f.stdin, f.stdout, f.s.prompt_timeout)


ROWS_TAIL: tuple[Row, ...] = (
    ci,
    agent,
    not_live,
    headless_notice,
    not_a_tty,
    stderr_redirected,
    opt_out_notice,
    ask_nobody,
    unwritable,
    outside_ask_sample,
    prompt,
)
