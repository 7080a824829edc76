"""The consent decisions that never print, prompt or write: what ``optel status`` shows
(``preview``) and what an uploader asks (``withdrawn``, ``in_force``), on facts without a writer
(docs/consent.md#who-may-write). Never on a host's start-up path.
"""

from __future__ import annotations

from optel.consent.decision import WITHDRAWING, decide, each_row, failed
from optel.consent.facts import Facts, Settings
from optel.consent.rowkit import first_answer
from optel.consent.value import MODES, Consent

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from optel.consent.value import Declarations


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
        return decide(app, settings, environ, project_dir, live=False)
    except Exception as exc:
        return failed(app, exc, version)


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
        return failed(app, exc, 1)


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
        for each in each_row():
            answer = each.answer(facts)
            if answer is not None:
                return answer, each.withdraws
        raise AssertionError("no consent row answered")
    except Exception as exc:
        return failed(app, exc, 1), True
