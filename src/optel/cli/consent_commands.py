"""`status`, `enable`, `disable` and `reset` as plain functions, for `optel ...` and a host's `telemetry ...`.

Each takes the app name, the host's settings that matter, and the streams to write to, and
returns an exit code. Errors are one line on stderr and a non-zero code, never a traceback.
"""

from __future__ import annotations

import os
import sys

from optel import _paths
from optel._terminal import shown, shown_lines
from optel.cli.spool_status import spool_status
from optel.consent import (
    Broken,
    BrokenFileError,
    UserStore,
    preview,
    recorded_app_settings,
    utc_now,
)
from optel.consent.howto import embedded, error_prefix, recorded_usage, telemetry_command
from optel.consent.value import Declarations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import TextIO

    from optel.consent import Consent

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2


def _out(stream: TextIO | None) -> TextIO:
    return sys.stdout if stream is None else stream


def _err(stream: TextIO | None) -> TextIO:
    return sys.stderr if stream is None else stream


def _say(stream: TextIO, text: str) -> None:
    """Write output lines: paths, values and reasons come from files and the environment, so
    every line is escaped and bounded (``optel._terminal``)."""
    stream.write(shown_lines(text))


def _fail(
    stderr: TextIO | None, message: str, code: int = EXIT_ERROR, app: str | None = None
) -> int:
    prefix = error_prefix(app) if app is not None else "optel"
    _say(_err(stderr), f"{prefix}: error: {message}\n")
    return code


def _why(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{(exc.strerror or str(exc)).lower()}"
    return str(exc) or exc.__class__.__name__


def _delete_spool(app: str, stdout: TextIO, *, tell_failure: bool) -> None:
    """Delete what is spooled but not yet sent, and say how many files went."""
    try:
        from optel import spool

        removed = spool.delete_all(app)
    except Exception as exc:
        if tell_failure:
            _say(stdout, f"The spool was not deleted: {_why(exc)}.\n")
        return
    if removed:
        _say(stdout, f"Deleted {removed} unsent spool file(s).\n")


def _endpoint(environ: Mapping[str, str], configured: str | None) -> str:
    from optel._endpoints import describe

    return describe(environ, configured)


def status(
    app: str,
    *,
    policy: str | None = None,
    consent_version: int | None = None,
    sample_percent: float = 100.0,
    endpoint: str | None = None,
    environ: Mapping[str, str] | None = None,
    project_dir: str | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    off_switches: Sequence[object] = (),
) -> int:
    """Print the decision, where it came from, the files, the endpoint, the spool. Never prompts.

    ``endpoint`` is the app's ``init(endpoint=)``, known when a host embeds the command, as are
    its declared ``off_switches``.
    ``policy`` and ``consent_version`` left as None are the ones the app last decided with
    (recorded in the user file), so that the standalone ``optel status`` tells what the app does.
    """
    out = _out(stdout)
    env = os.environ if environ is None else environ
    consent = preview(
        app,
        policy=policy,
        consent_version=consent_version,
        sample_percent=sample_percent,
        environ=env,
        project_dir=project_dir,
        declared=Declarations(off_switches=off_switches) if off_switches else None,  # type: ignore[arg-type]
    )
    lines = [f"app: {app}", *_decision_lines(consent)]
    lines += _config_lines(app, consent)
    lines.append(f"endpoint: {_endpoint(env, endpoint)}")
    lines.append(spool_status(app))
    if consent.sending:
        lines.append(f"would send: {consent.mode} usage data ({_usage(app)})")
    else:
        lines.append("would send: nothing")
    lines += _sdk_lines()
    _say(out, "\n".join(lines) + "\n")
    out.flush()
    return EXIT_OK


def _sdk_lines() -> list[str]:
    """One line per installed SDK outside the versions its instrumentor declares it patches."""
    from optel.instrumentation.versions import mismatches  # imports the instrumentors: only here

    return [f"sdk: {m}" for m in mismatches()]


def _decision_lines(consent: Consent) -> list[str]:
    """Mode, source, reason and the ids: what was decided, and for whom."""
    install_id = consent.install_id
    if install_id is None and consent.user_file:
        # An env var or the project file decides before the user file is read; the id stored
        # there is still this install's.
        state = UserStore(consent.user_file).read()
        kept = state.get("install_id") if isinstance(state, dict) else None
        install_id = kept if isinstance(kept, str) and kept else None
    lines = [
        f"mode: {consent.mode}",
        f"source: {consent.source}",
        f"why: {consent.reason}",
        f"install id: {shown(install_id) if install_id else 'none yet (created when first needed)'}",
    ]
    if consent.user_id:
        lines.append(f"user id: {shown(consent.user_id)}")
    if consent.ci_name:
        lines.append(f"ci: {consent.ci_name}")
    if consent.agent_name:
        lines.append(f"coding agent: {consent.agent_name}")
    return lines


def _config_lines(app: str, consent: Consent) -> list[str]:
    """Where the user's and the project's files are, and the state of the user's."""
    if consent.user_file:
        state = UserStore(consent.user_file).read()
        if isinstance(state, Broken):
            note = f"broken: {state.reason}"
        elif not os.path.lexists(consent.user_file):
            note = "not created yet"
        else:
            note = "exists"
        user = f"user config: {consent.user_file} ({note})"
    else:
        try:
            _paths.user_config_file(app)
            user = "user config: unavailable"
        except OSError as exc:
            user = f"user config: unavailable ({_why(exc)})"
    return [user, f"project config: {consent.project_file or 'none found'}"]


def _usage(app: str) -> str:
    """What the app records: known in the app's own process (its embedded `telemetry status`),
    described generally by the standalone `optel status`."""
    show = telemetry_command(app, "show")
    if embedded(app):
        return f"{recorded_usage()}; `{show}` lists every field"
    return f"commands, durations, error types, and for LLM calls the model and token counts; `{show}` lists every field"


def _store(app: str) -> UserStore:
    return UserStore(_paths.user_config_file(app))


def _replace_broken(store: UserStore, stdout: TextIO) -> None:
    moved = store.set_aside()
    if moved is not None:
        _say(stdout, f"The broken {store.path} was moved aside to {moved}.\n")


def _stored_version(store: UserStore) -> int:
    """The newest consent_version the file knows: of the stored choice, or the app's own."""
    table = store.read()
    if isinstance(table, Broken):
        return 0
    version = table.get("consent_version", 0)
    return max(version if isinstance(version, int) else 0, recorded_app_settings(table)[1])


def _overridden(app: str, mode: str, stdout: TextIO, environ: Mapping[str, str] | None) -> None:
    effective = preview(app, environ=environ)
    if effective.mode != mode:
        _say(stdout, f"Note: telemetry is still {effective.mode} for now: {effective.reason}.\n")


def enable(
    app: str,
    *,
    identified: bool = False,
    user_id: str | None = None,
    consent_version: int = 1,
    environ: Mapping[str, str] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Store ``anonymous`` (or ``identified`` with a user id); a user id implies identified."""
    out = _out(stdout)
    if user_id is not None:
        user_id = user_id.strip()
        if not user_id:
            return _fail(stderr, "--user-id needs a non-empty value", EXIT_USAGE, app)
        identified = True
    try:
        store = _store(app)
        if identified and user_id is None:
            # Checked before the broken file is moved aside: a usage error changes nothing.
            table = store.read()
            kept = table.get("user_id") if not isinstance(table, Broken) else None
            if not isinstance(kept, str) or not kept:
                return _fail(
                    stderr,
                    "identified telemetry needs a user id: pass --user-id ID",
                    EXIT_USAGE,
                    app,
                )
            user_id = kept
        _replace_broken(store, out)
        mode = "identified" if identified else "anonymous"
        store.update(
            mode=mode,
            decided_at=utc_now(),
            decided_by="enable",
            consent_version=max(consent_version, _stored_version(store)),
            user_id=user_id if identified else "",
        )
    except (OSError, BrokenFileError, ValueError) as exc:
        return _fail(stderr, f"cannot store the choice for {app}: {_why(exc)}", app=app)
    who = f" as {user_id}" if identified else ""
    _say(out, f"Telemetry for {app} is now {mode}{who} (stored in {store.path}).\n")
    _overridden(app, mode, out, environ)
    return EXIT_OK


def disable(
    app: str,
    *,
    environ: Mapping[str, str] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Store ``off`` (permanent until enabled again) and delete what is spooled but not yet sent."""
    out = _out(stdout)
    try:
        store = _store(app)
        _replace_broken(store, out)
        store.update(
            mode="off",
            decided_at=utc_now(),
            decided_by="disable",
            consent_version=max(1, _stored_version(store)),
            user_id="",
        )
    except (OSError, BrokenFileError, ValueError) as exc:
        return _fail(stderr, f"cannot store the choice for {app}: {_why(exc)}", app=app)
    _say(out, f"Telemetry for {app} is now off (stored in {store.path}).\n")
    _delete_spool(app, out, tell_failure=False)
    return EXIT_OK


def reset(
    app: str,
    *,
    environ: Mapping[str, str] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """The install id (and salt and first-seen date) removed, a new one made on next need, and the
    unsent spool deleted; the choice is kept."""
    out = _out(stdout)
    try:
        store = _store(app)
        _replace_broken(store, out)
        had_id = store.forget_identity()
    except (OSError, BrokenFileError, ValueError) as exc:
        return _fail(stderr, f"cannot reset {app}'s telemetry identity: {_why(exc)}", app=app)
    what = "removed" if had_id else "not created yet"
    _say(out, f"The install id for {app} is {what}; a new one is made when it is next needed.\n")
    _delete_spool(app, out, tell_failure=True)
    return EXIT_OK
