"""The consent rows that read what was set or stored: the environment, flags, files (docs/consent.md).

The rows for an install with no current choice (CI, terminals, the notice, the question) are in
``optel.consent.unasked``; ``optel.consent.decision`` puts both in order, loading those only when
no row here answers. Each row is a small function ``(facts) -> Consent | None`` with what
docs/consent.md's table says about it (condition, result, source, reason) declared beside it; the
table is generated from the chain (``python -m optel.consent.table docs/consent.md``). The rows marked ``withdraws`` come
first and only ever say off: they are what ``withdrawn()`` asks, so an off from any of them is
final, whatever later rows would say.
"""

from __future__ import annotations

from optel._env import do_not_track as do_not_track_set
from optel._terminal import shown
from optel.consent.files import Broken
from optel.consent.rowkit import (
    NOTICE_REASON,
    Row,
    decided_reason,
    install_id_now,
    note_app_settings,
    notice_reason,
    row,
    stored_when,
    warn,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from optel.consent.facts import Facts
    from optel.consent.value import Consent


def _setting(var: str, value: str) -> str:
    word = shown(value.strip())
    return f"{var}={word}" if word else f"{var} (set but empty)"


@row("off", "DO_NOT_TRACK", "{setting} is set in the environment", withdraws=True)
def do_not_track(f: Facts) -> Consent | None:
    """`DO_NOT_TRACK` is set to anything but empty or a false word."""
    if not do_not_track_set(f.env):
        return None
    return f.off(
        "DO_NOT_TRACK", do_not_track.says(setting=_setting("DO_NOT_TRACK", f.env["DO_NOT_TRACK"]))
    )


@row("off", "OTEL_SDK_DISABLED", "{setting} is set in the environment", withdraws=True)
def otel_sdk_disabled(f: Facts) -> Consent | None:
    """`OTEL_SDK_DISABLED` is `true` (OpenTelemetry's own boolean rule: only `true`)."""
    value = f.env.get("OTEL_SDK_DISABLED")
    if value is None:
        return None
    # optel._endpoints reads the variable (and warns about a value it does not understand): loaded
    # only when the variable is set.
    from optel._endpoints import sdk_disabled

    if not sdk_disabled(f.env):
        return None
    return f.off(
        "OTEL_SDK_DISABLED", otel_sdk_disabled.says(setting=_setting("OTEL_SDK_DISABLED", value))
    )


@row("off", "app_env", "{setting} is set in the environment", withdraws=True)
def app_env_off(f: Facts) -> Consent | None:
    """`<APP>_TELEMETRY` is a false word (`off`, `0`, `false`, `no`...)."""
    if f.env_value is None or f.env_flag is not False:
        return None
    return f.off("app_env", app_env_off.says(setting=_setting(f.env_var, f.env_value)))


@row(
    "off",
    "app_env",
    "{setting} is not a value optel knows (off, on, anonymous, identified), so telemetry is off",
    withdraws=True,
)
def app_env_unknown(f: Facts) -> Consent | None:
    """`<APP>_TELEMETRY` is set to a word optel does not know: someone answered, so fail closed."""
    if f.env_value is None or f.env_flag is not None or f.raise_word is not None:
        return None
    return f.off("app_env", app_env_unknown.says(setting=_setting(f.env_var, f.env_value)))


@row("off", "off_switch", "{switch}, which {app} declares as an off switch", withdraws=True)
def off_switch(f: Facts) -> Consent | None:
    """One of the tool's declared off switches (docs/porting.md) says off."""
    switches = f.s.declared.off_switches
    if not switches:
        return None
    from optel.consent.switches import switched_off

    switch = switched_off(switches, f.env, f.project_dir)
    if not switch:
        return None
    return f.off("off_switch", off_switch.says(switch=switch, app=f.app))


@row("off", "session_flag", "telemetry was turned off for this run ({flag})", withdraws=True)
def session_flag_off(f: Facts) -> Consent | None:
    """The host's `--no-telemetry` flag was given for this run."""
    if f.s.session_flag is not False:
        return None
    from optel.consent.howto import session_flag as session_flag_name

    return f.off("session_flag", session_flag_off.says(flag=session_flag_name(f.app, False)))


@row("off", "project_file", "the project file {path} turns telemetry off", withdraws=True)
def project_off(f: Facts) -> Consent | None:
    """The nearest `.<app>/telemetry.toml` says `mode = "off"` (a project file can only restrict)."""
    if f.project_file is None or f.project != ("off", None):
        return None
    return f.off("project_file", project_off.says(path=f.shown_project_file))


@row(
    "off",
    "project_file",
    "the project file {path} cannot be used ({problem}); a project file can only restrict, "
    "so telemetry is off",
    withdraws=True,
)
def project_unusable(f: Facts) -> Consent | None:
    """The project file cannot be read or names no known mode (warned once on stderr)."""
    cap, problem = f.project
    if f.project_file is None or cap != "off" or problem is None:
        return None
    message = project_unusable.says(path=f.shown_project_file, problem=problem)
    warn(f, f.project_file, message)
    return f.off("project_file", message)


@row(
    "off",
    "broken_user_file",
    "the telemetry config {path} cannot be used ({problem}), so telemetry is off; "
    "`{enable}` or `{disable}` replaces it",
    withdraws=True,
)
def broken_user_file(f: Facts) -> Consent | None:
    """The user file exists but cannot be used (unreadable, not TOML, a wrong-typed key...)."""
    stored = f.stored
    if not isinstance(stored, Broken):
        return None
    from optel.consent.howto import telemetry_command

    message = broken_user_file.says(
        path=f.shown_user_file,
        problem=stored.reason,
        enable=telemetry_command(f.app, "enable"),
        disable=telemetry_command(f.app, "disable"),
    )
    warn(f, f.user_file, message)
    return f.off("broken_user_file", message)


@row("off", "user_file", "{how the choice was made} (stored in {path})", withdraws=True)
def stored_off(f: Facts) -> Consent | None:
    """The user file says `mode = "off"`: a stored off is permanent until the user changes it."""
    note_app_settings(f)
    if f.stored_mode != "off":
        return None
    return f.off("user_file", stored_reason(f), f.install_id)


def stored_reason(f: Facts) -> str:
    how = decided_reason(f.app, str(f.stored_mode), f.table.get("decided_by"), stored_when(f.table))
    return stored_off.says(**{"how the choice was made": how, "path": f.shown_user_file})


def _raised_mode(f: Facts, to: str) -> str:
    if to == "identified":
        return "identified" if f.stored_user_id else "anonymous"
    if to == "on" and f.current:
        return str(f.stored_mode)
    return "anonymous"


def _raised(f: Facts, source: str, to: str, reason: str) -> Consent:
    mode = _raised_mode(f, to)
    if mode != to and to == "identified":
        reason += ", anonymous because no user id is stored"
    # Nothing is decided for a raise, but the install keeps one id (stored on first need), or
    # every run of a CI job with the variable would count as a new install.
    install_id = install_id_now(f)
    return f.on(source, mode, reason, install_id, f.stored_user_id)


@row("on, this run", "app_env", "{setting} is set in the environment (for this run only)")
def env_raise(f: Facts) -> Consent | None:
    """`<APP>_TELEMETRY` is `on` (or `anonymous`, `identified`): the stored mode if one is current,
    else anonymous; identified only with a stored user id. Nothing is stored."""
    if f.raise_word is None or f.env_value is None:
        return None
    return _raised(
        f, "app_env", f.raise_word, env_raise.says(setting=_setting(f.env_var, f.env_value))
    )


@row("asks", "prompt", "how the person answered (see the prompt row)")
def confirm_flag(f: Facts) -> Consent | None:
    """The tool confirms a first `--telemetry` (declared `confirm_flag`), nothing is stored, and
    this run may prompt outside CI and agents: the flag asks the question, the answer is stored."""
    if not (f.s.session_flag and f.s.declared.confirm_flag and f.live and f.writer):
        return None
    if f.stored_mode is not None or f.ci_name or f.agent_name or not f.tty():
        return None
    try:
        install_id = f.install_id or f.writer.install_id()
    except Exception:
        return None
    from optel.consent.asking import ask_and_store

    return ask_and_store(f, f.writer, install_id, f.stdin, f.stdout, f.s.prompt_timeout)


@row("on, this run", "session_flag", "telemetry was turned on for this run ({flag})")
def flag_raise(f: Facts) -> Consent | None:
    """The host's `--telemetry` flag was given: as `<APP>_TELEMETRY=on`, for this run only."""
    if not f.s.session_flag:
        return None
    from optel.consent.howto import session_flag as session_flag_name

    reason = flag_raise.says(flag=session_flag_name(f.app, True))
    return _raised(f, "session_flag", "on", reason)


@row("the stored mode", "user_file", "{how the choice was made} (stored in {path})")
def stored_on(f: Facts) -> Consent | None:
    """The user file holds anonymous or identified, chosen for this consent_version or a later one."""
    if not f.current:
        return None
    install_id = install_id_now(f)
    return f.on("user_file", str(f.stored_mode), stored_reason(f), install_id, f.stored_user_id)


@row(
    "off",
    "no_config_dir",
    "there is no usable config directory ({problem}), so no choice can be stored and telemetry is off",
)
def no_config_dir(f: Facts) -> Consent | None:
    """There is no usable user config directory (no home, or one that is not safe to write in)."""
    if f.user_file:
        return None
    return f.off("no_config_dir", no_config_dir.says(problem=f.path_problem))


@row("anonymous", "opt_out_notice", NOTICE_REASON)
def notice_recorded(f: Facts) -> Consent | None:
    """The app is opt-out and its notice was shown (recorded for this consent_version or later):
    the person was told once, on a terminal; CI or agent runs on the same account are covered."""
    if not (f.opt_out and f.table.get("notice_shown") is True):
        return None
    if f.stored_version < f.consent_version:
        return None
    reason = notice_reason(f.app, "has been shown")
    return f.on("opt_out_notice", "anonymous", reason, f.install_id, None)


ROWS_HEAD: tuple[Row, ...] = (
    do_not_track,
    otel_sdk_disabled,
    app_env_off,
    app_env_unknown,
    off_switch,
    session_flag_off,
    project_off,
    project_unusable,
    broken_user_file,
    stored_off,
    env_raise,
    confirm_flag,
    flag_raise,
    stored_on,
    no_config_dir,
    notice_recorded,
)
