"""Deciding once per process whether telemetry is on, and why: SPEC §3's rows, top to bottom.

An off from any row is final. A raise (``<APP>_TELEMETRY=on`` or the host's ``--telemetry``)
holds for this process only and never over a stored or project off. Otherwise the first row
with an answer decides. The common paths (an env var decides; no file; a file optel wrote)
touch only ``os`` and the flat reader, because this runs inside the host's ``optel.init()``.
"""

from __future__ import annotations

import os
import sys

from optel import _paths
from optel._endpoints import sdk_disabled
from optel._env import app_env_prefix, do_not_track, parse_bool
from optel._terminal import PATH_LIMIT, shown
from optel.consent.asking import (
    ask_and_store,
    decided_reason,
    describe,
    notice_reason,
    show_notice,
    stored_when,
)
from optel.consent.declared import NONE, Declarations, switched_off
from optel.consent.detect import can_prompt, detect_agent, detect_ci, is_tty
from optel.consent.howto import session_flag as session_flag_name
from optel.consent.howto import telemetry_command
from optel.consent.ids import in_sample, new_install_id
from optel.consent.store import (
    Broken,
    UserStore,
    find_project_file,
    read_project_mode,
    recorded_app_settings,
)
from optel.consent.value import MODES, Consent
from optel.consent.warned import warn_once

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import TextIO

_RANK = {"off": 0, "anonymous": 1, "identified": 2}


class _Facts:
    """What every Consent of one decision shares, gathered before the rows are read."""

    __slots__ = (
        "agent_name",
        "answers",
        "app",
        "ci_name",
        "consent_version",
        "modes",
        "off_hint",
        "path_problem",
        "project_cap",
        "project_file",
        "project_problem",
        "sample_percent",
        "shown_project_file",
        "shown_user_file",
        "user_file",
    )

    def __init__(
        self,
        app: str,
        env: Mapping[str, str],
        project_dir: str | None,
        consent_version: int,
        sample_percent: float,
        modes: Sequence[str],
    ) -> None:
        self.app = app
        self.ci_name = detect_ci(env)
        self.agent_name = detect_agent(env)
        self.path_problem: str | None = None
        try:
            self.user_file = _paths.user_config_file(app)
        except OSError as exc:
            self.user_file = ""
            self.path_problem = shown(str(exc) or exc.__class__.__name__)
        self.project_file = find_project_file(app, project_dir)
        # The paths as reasons and warnings print them: a directory name is untrusted text.
        self.shown_user_file = shown(self.user_file, PATH_LIMIT)
        self.shown_project_file = shown(self.project_file, PATH_LIMIT)
        self.project_cap = "identified"
        self.project_problem: str | None = None
        self.consent_version = consent_version
        self.sample_percent = sample_percent
        self.modes = tuple(modes)
        self.answers: dict[str, str] | None = None
        # The tool's own off variable, named in its opt-out notice next to optel's.
        self.off_hint: str | None = None

    def off(self, source: str, reason: str, install_id: str | None = None) -> Consent:
        return Consent(
            "off",
            reason,
            source,
            install_id=install_id,
            ci_name=self.ci_name,
            agent_name=self.agent_name,
            user_file=self.user_file,
            project_file=self.project_file,
            consent_version=self.consent_version,
        )

    def on(
        self, source: str, mode: str, reason: str, install_id: str | None, user_id: str | None
    ) -> Consent:
        offered = [m for m in ("anonymous", "identified") if m in self.modes]
        if not offered:
            return self.off(
                source, f"{reason}, but {self.app} offers no telemetry mode but off", install_id
            )
        if mode == "identified" and "identified" not in offered:
            mode = "anonymous"
            reason += f", limited to anonymous because {self.app} does not offer identified"
        if _RANK[mode] > _RANK[self.project_cap]:
            mode = self.project_cap
            source = "project_file"
            reason += f", but the project file {self.shown_project_file} limits it to {mode}"
        sampled = (
            in_sample(install_id, self.sample_percent) if install_id else self.sample_percent >= 100
        )
        if not sampled:
            reason += f"; this install is outside the {self.sample_percent:g}% of installs whose data is sent"
        return Consent(
            mode,
            reason,
            source,
            install_id=install_id,
            user_id=user_id if mode == "identified" else None,
            sampled=sampled,
            ci_name=self.ci_name,
            agent_name=self.agent_name,
            user_file=self.user_file,
            project_file=self.project_file,
            consent_version=self.consent_version,
        )


def _shown(var: str, value: str) -> str:
    word = shown(value.strip())
    return f"{var}={word}" if word else f"{var} (set but empty)"


def _env_rows(app: str, env: Mapping[str, str]) -> tuple[str, str, str | None]:
    """Rows 1-3: ``(source, reason, None)`` for an off, ``(source, reason, mode)`` for a raise,
    or ``("", "", None)`` when the environment has no answer."""
    if do_not_track(env):
        return (
            "DO_NOT_TRACK",
            f"{_shown('DO_NOT_TRACK', env['DO_NOT_TRACK'])} is set in the environment",
            None,
        )
    if sdk_disabled(
        env
    ):  # OpenTelemetry's boolean rule, not SPEC §3's: only `true` (optel/_endpoints.py)
        return (
            "OTEL_SDK_DISABLED",
            f"{_shown('OTEL_SDK_DISABLED', env['OTEL_SDK_DISABLED'])} is set in the environment",
            None,
        )
    var = app_env_prefix(app) + "_TELEMETRY"
    value = env.get(var)
    if value is None:
        return "", "", None
    word = value.strip().lower()
    flag = parse_bool(value)
    if flag is False:
        return "app_env", f"{_shown(var, value)} is set in the environment", None
    if flag is True or word in ("anonymous", "identified"):
        requested = word if word in ("anonymous", "identified") else "on"
        return (
            "app_env",
            f"{_shown(var, value)} is set in the environment (for this run only)",
            requested,
        )
    # An answer we cannot read is still an answer someone gave on purpose: fail closed.
    return (
        "app_env",
        f"{_shown(var, value)} is not a value optel knows (off, on, anonymous, identified), "
        "so telemetry is off",
        None,
    )


def _log(message: str, *args: object) -> None:
    from optel._logger import logger

    logger().debug(message, *args)


def _decide(
    app: str,
    *,
    policy: str,
    ask_percent: float,
    sample_percent: float,
    modes: Sequence[str],
    session_flag: bool | None,
    consent_version: int,
    environ: Mapping[str, str] | None,
    project_dir: str | None,
    interactive: bool | None,
    prompt_timeout: float,
    stdin: TextIO | None,
    stdout: TextIO | None,
    stderr: TextIO | None,
    live: bool,
    declared: Declarations = NONE,
) -> Consent:
    env = os.environ if environ is None else environ
    facts = _Facts(app, env, project_dir, consent_version, sample_percent, modes)
    facts.answers = declared.answers
    facts.off_hint = next((f"{s.where}=1" for s in declared.off_switches if s.kind == "env"), None)

    # Rows 1-4: the environment and this run's flag.
    source, reason, raised = _env_rows(app, env)
    if source and raised is None:
        return facts.off(source, reason)
    # The tool's own off switches (docs/porting.md): declared, they only ever turn it off.
    switch = switched_off(declared.off_switches, env, project_dir)
    if switch:
        return facts.off("off_switch", f"{switch}, which {app} declares as an off switch")
    raise_source, raise_reason, raise_to = source, reason, raised
    if session_flag is not None:
        if not session_flag:
            return facts.off(
                "session_flag",
                f"telemetry was turned off for this run ({session_flag_name(app, False)})",
            )
        if not raise_source:
            raise_source, raise_to = "session_flag", "on"
            raise_reason = f"telemetry was turned on for this run ({session_flag_name(app, True)})"

    # Row 5: a project file can only restrict.
    if facts.project_file is not None:
        facts.project_cap, facts.project_problem = read_project_mode(facts.project_file)
        if facts.project_cap == "off":
            if facts.project_problem is None:
                return facts.off(
                    "project_file",
                    f"the project file {facts.shown_project_file} turns telemetry off",
                )
            message = (
                f"the project file {facts.shown_project_file} cannot be used ({facts.project_problem}); "
                "a project file can only restrict, so telemetry is off"
            )
            if live:
                warn_once(app, facts.project_file, f"{app}: warning: {message}", stderr)
            return facts.off("project_file", message)

    # Row 6: the user's stored choice; a stored off is permanent.
    stored: dict[str, object] = {}
    store = UserStore(facts.user_file) if facts.user_file else None
    if store is not None:
        table = store.read()
        if isinstance(table, Broken):
            message = (
                f"the telemetry config {facts.shown_user_file} cannot be used ({table.reason}), so telemetry "
                f"is off; `{telemetry_command(app, 'enable')}` or `{telemetry_command(app, 'disable')}` "
                "replaces it"
            )
            if live:
                warn_once(app, facts.user_file, f"{app}: warning: {message}", stderr)
            return facts.off("broken_user_file", message)
        stored = table
    install_id = stored.get("install_id") or None
    if not isinstance(install_id, str):
        install_id = None
    stored_mode = stored.get("mode")
    stored_user_id = stored.get("user_id") or None
    if not isinstance(stored_user_id, str):
        stored_user_id = None
    stored_version = stored.get("consent_version", 1)
    if not isinstance(stored_version, int):
        stored_version = 1
    opt_out = policy == "opt-out"
    if live and store is not None and stored:
        _record_app_settings(store, stored, "opt-out" if opt_out else "opt-in", consent_version)
    if stored_mode == "off":
        return facts.off("user_file", _stored_reason(facts, stored), install_id)

    # A choice made for an older consent_version does not cover what the app collects now.
    current = stored_mode in ("anonymous", "identified") and stored_version >= consent_version
    stale: str | None = None
    if stored_mode in ("anonymous", "identified") and not current:
        stale = f"your choice was made for consent version {stored_version}; {app} now asks for {consent_version}"

    if raise_source == "session_flag" and declared.confirm_flag and stored_mode is None and live:
        # The tool confirms the first --telemetry (aider): on a terminal the flag asks the
        # question and the answer is stored; without one it holds for this run, as always.
        confirmed = _confirm_flag(
            facts, store, install_id, stdin, stdout, interactive, prompt_timeout
        )
        if confirmed is not None:
            return confirmed
    if raise_source:
        if raise_to == "identified":
            mode = "identified" if stored_user_id else "anonymous"
        elif raise_to == "on" and current:
            mode = str(stored_mode)
        else:
            mode = "anonymous"
        if mode != raise_to and raise_to == "identified":
            raise_reason += ", anonymous because no user id is stored"
        # Nothing is decided for a raise, but the install keeps one id (stored on first need),
        # or every run of a CI job with the variable would count as a new install.
        install_id = install_id or _install_id(facts, store, live)
        return facts.on(raise_source, mode, raise_reason, install_id, stored_user_id)

    if current:
        install_id = install_id or _install_id(facts, store, live)
        return facts.on(
            "user_file", str(stored_mode), _stored_reason(facts, stored), install_id, stored_user_id
        )

    # Rows 7-9: nothing stored (or a choice made for an older consent_version).
    if store is None:
        return facts.off(
            "no_config_dir",
            f"there is no usable config directory ({facts.path_problem}), so no choice can be "
            "stored and telemetry is off",
        )
    if opt_out and stored.get("notice_shown") is True and stored_version >= consent_version:
        # Under the opt-out policy the recorded notice is the stored state: the person was told
        # once, on a terminal, and CI or agent runs on the same account are covered by it.
        return facts.on(
            "opt_out_notice",
            "anonymous",
            notice_reason(app, "has been shown"),
            install_id,
            None,
        )
    nobody = "no notice is shown" if opt_out else "nobody is asked"
    if facts.ci_name:
        return facts.off(
            "ci", _unasked(stale, f"a CI system was detected ({facts.ci_name})", nobody), install_id
        )
    if facts.agent_name:
        return facts.off(
            "agent",
            _unasked(stale, f"a coding agent was detected ({facts.agent_name})", nobody),
            install_id,
        )
    if not live:
        if stale:
            what = "shows its notice" if opt_out else "asks again"
            reason = f"{stale}, so telemetry is off until {app} {what} on its next interactive run"
        else:
            what = "shows its notice" if opt_out else "asks"
            reason = f"no choice is stored yet, so telemetry is off; {app} {what} on its next interactive run"
        return facts.off("not_asked", reason, install_id)
    if stdin is None:
        stdin = sys.stdin
    if stdout is None:
        stdout = sys.stdout
    tty = interactive if interactive is not None else can_prompt(stdin, stdout)
    if (
        opt_out
        and declared.headless_notice
        and (not tty or (interactive is None and not is_tty(stderr or sys.stderr)))
    ):
        # The maintainer declared that the tool's users never see a terminal (a server, a
        # container): the notice goes once to stderr or the tool's log, then telemetry is on.
        return show_notice(
            facts,
            store,
            _notice_stream(declared.notice, stderr),
            max(consent_version, stored_version),
        )
    if not tty:
        cause = "stdin or stdout is not a terminal this process may read (redirected, or a background job)"
        return facts.off("not_a_tty", _unasked(stale, cause, nobody), install_id)
    if opt_out:
        notice_stream = sys.stderr if stderr is None else stderr
        if interactive is None and not is_tty(notice_stream):
            # `tool 2>/dev/null` on a terminal: the notice would reach nobody, so it cannot be
            # what makes telemetry on.
            reason = "stderr is not a terminal (redirected), so the opt-out notice cannot be shown and telemetry is off"
            return facts.off("not_a_tty", _prefixed(stale, reason), install_id)
        return show_notice(facts, store, notice_stream, max(consent_version, stored_version))
    if ask_percent <= 0:
        return facts.off(
            "not_asked",
            _prefixed(stale, f"{app} asks nobody (ask_percent is 0), so telemetry is off"),
            install_id,
        )
    if install_id is None or not os.access(os.path.dirname(facts.user_file), os.W_OK):
        # The id must be stored before the sample is drawn, or a re-run would draw again; and an
        # answer that cannot be stored would be asked for again on every run.
        try:
            install_id = (
                store.install_id() if install_id is None else str(store.update()["install_id"])
            )
        except Exception as exc:
            return facts.off(
                "no_config_dir",
                f"{facts.shown_user_file} cannot be written ({describe(exc)}), so an answer could not be "
                "kept; telemetry is off and nobody is asked",
            )
    if not in_sample(install_id, ask_percent):
        return facts.off(
            "not_asked",
            _prefixed(
                stale,
                f"this install is not among the {ask_percent:g}% of installs that {app} asks, so "
                "telemetry is off",
            ),
            install_id,
        )
    return ask_and_store(facts, store, install_id, stdin, stdout, prompt_timeout)


def _notice_stream(notice: object, stderr: TextIO | None) -> TextIO:
    if callable(notice):
        from optel.consent.asking import LogStream

        return LogStream(notice)  # type: ignore[return-value]
    return sys.stderr if stderr is None else stderr


def _confirm_flag(
    facts: _Facts,
    store: UserStore | None,
    install_id: str | None,
    stdin: TextIO | None,
    stdout: TextIO | None,
    interactive: bool | None,
    timeout: float,
) -> Consent | None:
    if store is None or facts.ci_name or facts.agent_name:
        return None
    stdin = sys.stdin if stdin is None else stdin
    stdout = sys.stdout if stdout is None else stdout
    if not (interactive if interactive is not None else can_prompt(stdin, stdout)):
        return None
    try:
        install_id = install_id or store.install_id()
    except Exception:
        return None
    return ask_and_store(facts, store, install_id, stdin, stdout, timeout)


def _install_id(facts: _Facts, store: UserStore | None, live: bool) -> str | None:
    """The stored install id, stored now if there is none; None for a preview (which writes
    nothing); a new id for this run only when it cannot be stored."""
    if not live:
        return None
    if store is not None:
        try:
            return store.install_id()
        except Exception as exc:
            _log("could not store an install id in %s: %s", facts.user_file, exc)
    return new_install_id()


def _stored_reason(facts: _Facts, stored: Mapping[str, object]) -> str:
    mode = str(stored.get("mode"))
    how = decided_reason(facts.app, mode, stored.get("decided_by"), stored_when(stored))
    return f"{how} (stored in {facts.shown_user_file})"


def _unasked(stale: str | None, cause: str, nobody: str) -> str:
    """Why an install without a current choice stays off: ``cause`` (what rules out asking)."""
    if stale:
        return f"{stale}, and {cause}, so telemetry is off and {nobody}"
    return f"{cause} and no choice is stored, so telemetry is off and {nobody}"


def _prefixed(stale: str | None, reason: str) -> str:
    return f"{stale}, and {reason}" if stale else reason


def _record_app_settings(
    store: UserStore, stored: Mapping[str, object], policy: str, version: int
) -> None:
    """Keep in the user file the policy and consent_version this app decides with, for `optel status`
    and `optel enable`, which run without the app's settings.

    Written only when what is stored would mislead them (an outdated choice, or a notice shown
    under a policy the app no longer has), so the common start-up path writes nothing.
    """
    recorded_policy, recorded_version = recorded_app_settings(stored)
    changes: dict[str, object] = {}
    stored_version = stored.get("consent_version", 1)
    if isinstance(stored_version, int) and stored_version < version and recorded_version < version:
        changes["app_consent_version"] = version
    if stored.get("notice_shown") is True and recorded_policy != policy:
        changes["app_policy"] = policy
    if not changes:
        return
    try:
        store.update(**changes)
    except Exception as exc:
        _log("could not record the app's consent settings in %s: %s", store.path, exc)


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
    """Decide this process's consent (SPEC §3); may prompt on a terminal. Never raises.

    ``interactive`` overrides the terminal check (None: stdin and stdout must both be TTYs).
    ``policy`` other than ``opt-out`` is read as ``opt-in``, the stricter one. ``declared`` holds
    what the maintainer declared beyond the defaults (off switches, answers, where the notice goes).
    """
    try:
        return _decide(
            app,
            policy=policy,
            ask_percent=ask_percent,
            sample_percent=sample_percent,
            modes=modes,
            session_flag=session_flag,
            consent_version=consent_version,
            environ=environ,
            project_dir=project_dir,
            interactive=interactive,
            prompt_timeout=prompt_timeout,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            live=True,
            declared=NONE if declared is None else declared,
        )
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
        return _decide(
            app,
            policy=recorded[0] if policy is None else policy,
            ask_percent=100.0,
            sample_percent=sample_percent,
            modes=modes,
            session_flag=session_flag,
            consent_version=version,
            environ=environ,
            project_dir=project_dir,
            interactive=False,
            prompt_timeout=0.0,
            stdin=None,
            stdout=None,
            stderr=None,
            live=False,
            declared=NONE if declared is None else declared,
        )
    except Exception as exc:
        return _failed(app, exc, version)


def _recorded(app: str) -> tuple[str, int]:
    try:
        table = UserStore(_paths.user_config_file(app)).read()
    except Exception:
        table = {}
    if isinstance(table, Broken):
        table = {}
    policy, version = recorded_app_settings(table)
    return policy, max(version, 1)


def withdrawn(
    app: str, *, environ: Mapping[str, str] | None = None, project_dir: str | None = None
) -> Consent | None:
    """What an uploader asks before sending: an off Consent when any source now says off, else None.

    Off sources: DO_NOT_TRACK, OTEL_SDK_DISABLED, ``<APP>_TELEMETRY=off``, a project file that
    restricts to off, a user file that says off or is broken. Nothing stored is not a withdrawal:
    a run raised by a session flag on a fresh install must still be uploadable.
    """
    try:
        env = os.environ if environ is None else environ
        facts = _Facts(app, env, project_dir, 1, 100.0, MODES)
        source, reason, raised = _env_rows(app, env)
        if source and raised is None:
            return facts.off(source, reason)
        if facts.project_file is not None:
            cap, problem = read_project_mode(facts.project_file)
            if cap == "off":
                why = f" ({problem})" if problem else ""
                return facts.off(
                    "project_file",
                    f"the project file {facts.shown_project_file} restricts telemetry to off{why}",
                )
        if facts.user_file:
            table = UserStore(facts.user_file).read()
            if isinstance(table, Broken):
                return facts.off(
                    "broken_user_file",
                    f"the telemetry config {facts.shown_user_file} is broken ({table.reason})",
                )
            if table.get("mode") == "off":
                install_id = table.get("install_id")
                return facts.off(
                    "user_file",
                    _stored_reason(facts, table),
                    install_id if isinstance(install_id, str) else None,
                )
        return None
    except Exception as exc:
        return _failed(app, exc, 1)


def _failed(app: str, exc: BaseException, consent_version: int) -> Consent:
    # Fail closed: if optel cannot tell what the user wants, nothing is sent.
    try:
        _log("consent for %s could not be decided: %r", app, exc)
    except Exception:
        pass
    return Consent(
        "off",
        f"optel could not decide ({exc.__class__.__name__}: {exc}), so telemetry is off",
        "error",
        consent_version=consent_version,
    )
