"""Deciding a process's consent, and why: the chain of rows run on facts gathered once (docs/consent.md).

The common paths (an env var decides; no file; a file optel wrote) touch only ``os`` and the flat
reader, and load only the rows and facts they read, because this runs inside the host's
``optel.init()``. ``preview``, ``withdrawn`` and
``in_force`` decide without a writer: they never print, prompt or write.
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

    from optel.consent.declared import Declarations
    from optel.consent.rowkit import Row

# The rows that only say off and come before any that can say on: what an uploader asks. They
# are all rows about what was set or stored (tests/test_consent_table.py checks the order).
WITHDRAWING = tuple(each for each in ROWS_HEAD if each.withdraws)


def _rows() -> Iterator[Row]:
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
    return tuple(_rows())


def _decide(
    app: str,
    settings: Settings,
    environ: Mapping[str, str] | None,
    project_dir: str | None,
    live: bool,
) -> Consent:
    facts = Facts(app, settings, environ, project_dir, live)
    answer = first_answer(_rows(), facts)
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
        return _decide(app, settings, environ, project_dir, live=True)
    except Exception as exc:
        return _failed(app, exc, consent_version)


def preview(
    app: str,
    *,
    policy: str | None = None,
    sample_percent: float = 100.0,
    modes: Sequence[str] = MODES,
    session_flag: bool | None = None,
    consent_version: int | None = None,
    environ: Mapping[str, str] | None = None,
    project_dir: str | None = None,
    declared: Declarations | None = None,
) -> Consent:
    """The decision as it stands, without prompting, printing or writing anything (``optel status``).

    Where ``resolve`` would ask or show the opt-out notice, this says ``off`` with source
    ``not_asked``; the terminal check is skipped because it concerns the host's run, not this one.
    ``policy`` and ``consent_version`` left as None are the ones the app last decided with, as
    recorded in the user file (else ``opt-in`` and 1): the standalone ``optel status`` does not
    know the app's settings, and guessing them would misreport an opt-out app or a newer version.
    """
    recorded = _recorded(app) if policy is None or consent_version is None else ("opt-in", 1)
    version = recorded[1] if consent_version is None else consent_version
    try:
        settings = Settings(
            policy=recorded[0] if policy is None else policy,
            sample_percent=sample_percent,
            modes=modes,
            session_flag=session_flag,
            consent_version=version,
            interactive=False,
            prompt_timeout=0.0,
            declared=declared,
        )
        return _decide(app, settings, environ, project_dir, live=False)
    except Exception as exc:
        return _failed(app, exc, version)


def _recorded(app: str) -> tuple[str, int]:
    from optel import _paths
    from optel.consent.files import Broken, read_user_file, recorded_app_settings

    try:
        table = read_user_file(_paths.user_config_file(app))
    except Exception:
        table = {}
    if isinstance(table, Broken):
        table = {}
    policy, version = recorded_app_settings(table)
    return policy, max(version, 1)


def withdrawn(
    app: str, *, environ: Mapping[str, str] | None = None, project_dir: str | None = None
) -> Consent | None:
    """What an uploader asks before sending: an off Consent when a withdrawing row answers, else None.

    Those are the chain's first rows (``Row.withdraws``): the environment, the project file, a
    user file that says off or is broken. Nothing stored is not a withdrawal: a run raised by a
    session flag on a fresh install must still be uploadable. Reads only.
    """
    try:
        return first_answer(WITHDRAWING, Facts(app, Settings(), environ, project_dir, live=False))
    except Exception as exc:
        return _failed(app, exc, 1)


def in_force(
    app: str, *, environ: Mapping[str, str] | None = None, project_dir: str | None = None
) -> tuple[Consent, bool]:
    """The decision for data already recorded, and whether it withdraws consent: read-only.

    The uploader's question (docs/consent.md): the whole chain on facts without a writer, under
    the opt-in policy and consent_version 1, since the uploader knows neither (a choice stored
    for an older version still counts). Never prints, prompts or writes; never raises.
    """
    try:
        facts = Facts(app, Settings(), environ, project_dir, live=False)
        for each in _rows():
            answer = each.answer(facts)
            if answer is not None:
                return answer, each.withdraws
        raise AssertionError("no consent row answered")
    except Exception as exc:
        return _failed(app, exc, 1), True


def _failed(app: str, exc: BaseException, consent_version: int) -> Consent:
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
