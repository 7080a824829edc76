"""How the user of an app runs its telemetry commands: the one source for every text that names one.

The prompt, the thank-you line, the opt-out notice, the broken-config warning, ``status`` and the
commands' errors all tell the user what to type. ``optel`` itself is rarely on their PATH: a tool
that embeds the commands (``llm telemetry disable``) registers how they are reached with
``set_telemetry_command``, which the embedding helpers of ``optel.cli`` call; otherwise the texts
name ``python -m optel --app NAME`` with the interpreter that runs optel.
"""

from __future__ import annotations

import os
import sys

from optel._env import app_env_prefix

# app -> the words that run its `telemetry` group, e.g. "llm telemetry".
_registered: dict[str, str] = {}
_standalone: str | None = None


def set_telemetry_command(app: str, words: str) -> None:
    """Record that the user of ``app`` reaches its telemetry commands as ``words`` (for example
    ``"llm telemetry"``, then ``telemetry_command("llm", "disable")`` is ``llm telemetry disable``).

    Called by ``optel.cli``'s embedding helpers; a host with its own commands may call it before
    ``optel.init()``. An empty ``words`` forgets the registration.
    """
    words = " ".join(str(words).split())
    if words:
        _registered[app] = words
    else:
        _registered.pop(app, None)


# app -> the host's own names for the session flags (on, off), e.g. ("--analytics", "--no-analytics").
_flags: dict[str, tuple[str, str]] = {}


def set_session_flags(app: str, on: str, off: str) -> None:
    """Record the names ``app``'s users type for the session flag (``optel.cli`` flag_names)."""
    _flags[app] = (on, off)


def session_flag(app: str, on: bool) -> str:
    """What the user of ``app`` typed to turn telemetry on (or off) for one run: ``--telemetry``."""
    return _flags.get(app, ("--telemetry", "--no-telemetry"))[0 if on else 1]


def telemetry_command(app: str, command: str) -> str:
    """What the user of ``app`` types to run the telemetry command ``command`` (``"disable"``)."""
    words = _registered.get(app)
    if words is not None:
        return f"{words} {command}".strip()
    return f"{_optel_command()} --app {app} {command}".strip()


def embedded(app: str) -> bool:
    """Whether ``app`` registered its own telemetry commands (it embeds them in its CLI)."""
    return app in _registered


def off_variable(app: str) -> str:
    """The environment setting that turns ``app``'s telemetry off for a run: ``MY_TOOL_TELEMETRY=off``."""
    return f"{app_env_prefix(app)}_TELEMETRY=off"


def error_prefix(app: str) -> str:
    """The program name an error line starts with: the host's own command when embedded, else ``optel``."""
    words = _registered.get(app)
    return words.split()[0] if words else "optel"


FRAMEWORK_INSTRUMENTORS = ("click", "typer", "argparse")


def recorded_usage() -> str:
    """What this process records, in words, derived from what the host declared so far: the
    ``optel.instrument()`` targets and the ``@optel.llm_call`` decorators. LLM models and token
    counts are named only when the app makes LLM calls through optel; a third-party
    instrumentor is named by its name."""
    usage = "which commands run, how long they take, error types"
    names: list[str] = []
    llm_sdks: tuple[str, ...] = ()
    instrumentation = sys.modules.get("optel.instrumentation")
    if instrumentation is not None:
        names = list(instrumentation.instrumented())
        llm_sdks = instrumentation.LLM_SDKS
    api = sys.modules.get("optel.record.api")
    llm = "llm" in getattr(api, "declared", ()) or any(n in llm_sdks for n in names)
    others = [n for n in names if n not in llm_sdks + FRAMEWORK_INSTRUMENTORS]
    if llm:
        usage += ", and for LLM calls the model and token counts"
    if others:
        usage += f", and what its {', '.join(others)} integration records"
    return usage


def _optel_command() -> str:
    """``optel`` when the console script beside this interpreter is the one on PATH, else
    ``python -m optel`` with the name PATH gives this interpreter, else its full path."""
    global _standalone
    if _standalone is None:
        _standalone = _find_optel_command()
    return _standalone


def _find_optel_command() -> str:
    exe = sys.executable or ""
    if not exe:
        return "python -m optel"
    here = os.path.normcase(os.path.normpath(exe))
    bin_dir = os.path.dirname(here)
    script = _first_on_path("optel")
    if script is not None and os.path.dirname(script) == bin_dir:
        return "optel"
    # Compared as paths, never resolved: a venv's `python` links to the system one, which
    # could not import the venv's optel.
    for name in dict.fromkeys((os.path.basename(exe), "python3", "python")):
        if _first_on_path(name) == here:
            return f"{name} -m optel"
    shown = f'"{exe}"' if " " in exe else exe
    return f"{shown} -m optel"


def _first_on_path(name: str) -> str | None:
    suffixes = [""]
    if sys.platform == "win32":
        suffixes += [".exe", ".cmd", ".bat"]
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if not directory:
            continue
        for suffix in suffixes:
            candidate = os.path.join(directory, name + suffix)
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return os.path.normcase(os.path.normpath(candidate))
    return None
