"""Deciding a process's consent, and why: the chain of rows run on facts gathered once (docs/consent.md).

The common paths (an env var decides; no file; a file optel wrote) touch only ``os`` and the flat
reader, and load only the rows and facts they read, because this runs inside the host's
``optel.init()``. The decisions that never print, prompt or write (``optel status``, the
uploader) are in ``optel.consent.readonly``.
"""

from __future__ import annotations

from optel.consent.facts import Facts, Settings
from optel.consent.rowkit import first_answer, log
from optel.consent.rows import ROWS_HEAD
from optel.consent.value import MODES, Consent

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence
    from typing import TextIO

    from optel.consent.rowkit import Row
    from optel.consent.value import Declarations

# The rows that only say off and come before any that can say on: what an uploader asks. They
# are all rows about what was set or stored (tests/test_consent_table.py checks the order).
WITHDRAWING = tuple(each for each in ROWS_HEAD if each.withdraws)


def each_row() -> Iterator[Row]:
    """The whole chain, in order; its last row always answers.

    The rows for an install without a current choice (``optel.consent.unasked``, with the prompt
    and the notice behind them) load only when no row about what was set or stored answered: a
    stored choice is decided without them.
    """
    yield from ROWS_HEAD
    from optel.consent.unasked import ROWS_TAIL

    yield from ROWS_TAIL


def chain() -> tuple[Row, ...]:
    """Every row of the chain, in order (for docs/consent.md's table)."""
    return tuple(each_row())


def decide(
    app: str,
    settings: Settings,
    environ: Mapping[str, str] | None,
    project_dir: str | None,
    live: bool,
) -> Consent:
    facts = Facts(app, settings, environ, project_dir, live)
    answer = first_answer(each_row(), facts)
    assert answer is not None  # the last row, `prompt`, always answers
    return answer


def resolve(
    app: str,
    *,
    policy: str = "opt-in",
    ask_percent: float = 100.0,
    sample_percent: float = 100.0,
    modes: Sequence[str] = MODES,
    session_flag: bool | None = None,
    consent_version: int = 1,
    environ: Mapping[str, str] | None = None,
    project_dir: str | None = None,
    interactive: bool | None = None,
    prompt_timeout: float = 30.0,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    declared: Declarations | None = None,
) -> Consent:
    """Decide this process's consent (docs/consent.md); may prompt on a terminal. Never raises.

    ``interactive`` overrides the terminal check (None: stdin and stdout must both be TTYs).
    ``policy`` other than ``opt-out`` is read as ``opt-in``, the stricter one. ``declared`` holds
    what the maintainer declared beyond the defaults (off switches, answers, where the notice goes).
    """
    try:
        settings = Settings(
            policy=policy,
            ask_percent=ask_percent,
            sample_percent=sample_percent,
            modes=modes,
            session_flag=session_flag,
            consent_version=consent_version,
            interactive=interactive,
            prompt_timeout=prompt_timeout,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            declared=declared,
        )
        return decide(app, settings, environ, project_dir, live=True)
    except Exception as exc:
        return failed(app, exc, consent_version)


def failed(app: str, exc: BaseException, consent_version: int) -> Consent:
    # Fail closed: if optel cannot tell what the user wants, nothing is sent.
    try:
        log("consent for %s could not be decided: %r", app, exc)
    except Exception:
        pass
    return Consent(
        "off",
        f"optel could not decide ({exc.__class__.__name__}: {exc}), so telemetry is off",
        "error",
        consent_version=consent_version,
    )
