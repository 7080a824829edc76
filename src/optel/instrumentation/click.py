"""Command spans for ``click`` apps: one per run, named by the app name and the command path.

The run's span and its exit status follow the rule shared with typer and argparse
(``optel.instrumentation._run``). Three methods of ``click.core.Command`` are wrapped:

- ``invoke``: the command that runs its own callback opens the run's span (a group on its way
  to a subcommand does not: the subcommand's span carries the whole path, ``llm models list``),
  and an exception that leaves it is the cause of the failure, if the process then fails;
- ``parse_args``: a usage error (exit 2) still has a span, named by the command whose line was
  wrong, once consent is decided (an error in the root's own options comes before that, unless
  the host called ``optel.init`` itself first);
- ``main``: the outermost one ends the run with the status of the ``SystemExit`` it ends with
  (standalone mode always does), and a new outermost ``main`` in the same process ends the last.

The span lists the *names* of the options given on the command line, at every level of the path
(``optel.cli.command.options = ["--verbose", "--model"]``), never their values. An on/off flag is listed
by the spelling that was used (``--no-cache`` of ``--cache/--no-cache``), known from the value
click parsed for it: on/off flags parse to True and False. Nothing is read from ``sys.argv``.
The same code serves typer, whose commands are click commands (vendored or not). The methods are
replaced by plain functions, not wrapt proxies: this module loads at every start of a click tool.
"""

from __future__ import annotations

import sys

from optel.instrumentation import recording

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType
    from typing import Any

    from optel.instrumentation._patch import Patches

TARGET = "click"
# (distribution, first release patched, first release not): checked by optel status.
SUPPORTED = ("click", "8.0", "9")

_RUN = "optel.instrumentation._run"
_patches: Patches | None = None
# How many click (or typer) main() calls are on the stack: only the outermost is the run's end.
_depth = 0


def instrument(module: ModuleType) -> None:
    """Wrap ``Command.invoke``, ``Command.parse_args`` and ``Command.main`` of click."""
    global _patches
    if _patches is not None:
        return
    import importlib

    from optel.instrumentation._patch import Patches

    core = importlib.import_module(module.__name__ + ".core")
    _patches = Patches()
    patch_core(_patches, core)


def uninstrument(module: ModuleType) -> None:
    """Put the methods back."""
    global _patches
    if _patches is not None:
        _patches.restore()
        _patches = None


def patch_core(patches: Patches, core: Any) -> None:
    """Wrap the ``Command`` methods of a click-like ``core`` module (click's own, or typer's copy)."""
    patches.replace(core.Command, "invoke", invoke_wrapper(core))
    patches.replace(core.Command, "parse_args", parse_wrapper)
    patches.replace(core.Command, "main", main_wrapper)


def main_wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    """The outermost ``main``: its SystemExit is the process's exit, and the run's end."""
    global _depth
    if _depth:
        return wrapped(*args, **kwargs)
    # optel.instrumentation._run is loaded once something is recorded, not before.
    run = sys.modules.get(_RUN)
    if run is not None and run.is_open():
        run.finish()  # the previous command of a process that runs several
    _depth += 1
    try:
        return wrapped(*args, **kwargs)
    except SystemExit as exc:
        run = sys.modules.get(_RUN)
        if run is not None:
            from optel.record.exits import exit_status

            run.finish(exit_status(exc))
        raise
    except BaseException as exc:
        # Not standalone: the host gets the exception; the process's end decides the status.
        run = sys.modules.get(_RUN)
        if run is not None:
            run.note_exception(exc)
        raise
    finally:
        _depth -= 1


def parse_wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    """A command line that does not parse (a usage error, or ``--help``) is the run's command too."""
    if not recording():
        return wrapped(*args, **kwargs)
    try:
        return wrapped(*args, **kwargs)
    except BaseException as exc:
        from optel.instrumentation import _run

        ctx = args[0] if args else kwargs.get("ctx")
        if ctx is not None and not _is_optel_command(ctx) and _run.begin(command_path(ctx)):
            _run.note_exception(exc)
        raise


def invoke_wrapper(core: Any) -> Callable[..., Any]:
    """The wrapper for ``Command.invoke`` of ``core``."""
    source = getattr(core, "ParameterSource", None)
    from_command_line = getattr(source, "COMMANDLINE", None)

    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        if not recording():
            return wrapped(*args, **kwargs)
        ctx = args[0] if args else kwargs.get("ctx")
        # A group's own callback runs on the way to its subcommand; the subcommand's span counts.
        if ctx is None or getattr(ctx, "invoked_subcommand", None) is not None:
            return wrapped(*args, **kwargs)
        if _is_optel_command(ctx):
            return wrapped(*args, **kwargs)
        from optel.instrumentation import _run

        try:
            _run.begin(command_path(ctx), options_used(ctx, from_command_line))
        except Exception:
            _log_failure()
        try:
            return wrapped(*args, **kwargs)
        except BaseException as exc:
            _run.note_exception(exc)
            raise

    return wrapper


def _is_optel_command(ctx: Any) -> bool:
    """The embedded ``telemetry`` group and its commands: about consent, never recorded
    (docs/contract.md#consent).

    The root is the host's, even when ``optel.cli`` gave it its callback (typer's flags).
    """
    while ctx is not None:
        parent = getattr(ctx, "parent", None)
        if parent is None:
            return False
        command = getattr(ctx, "command", None)
        callback = getattr(command, "callback", None)
        if str(getattr(callback, "__module__", "")).startswith("optel.cli.embed"):
            return True
        if (
            getattr(parent, "parent", None) is None
            and getattr(command, "name", None) == "telemetry"
        ):
            return True
        ctx = parent
    return False


def _log_failure() -> None:
    from optel._logger import logger

    logger().debug("optel: recording a click command failed", exc_info=True)


def command_path(ctx: Any) -> str:
    """``tool sub cmd``: the app's name, then the name of each command on the way down."""
    chain = []
    while ctx is not None:
        chain.append(ctx)
        ctx = getattr(ctx, "parent", None)
    from optel.instrumentation import _run

    chain.reverse()
    names = []
    for i, c in enumerate(chain):
        command = getattr(c, "command", None)
        # The root is known by the app's name (not argv[0] as typed: `python -m llm`, an alias);
        # below it, a command by its own name (not by an alias or abbreviation the user typed).
        name = getattr(command, "name", None) or getattr(c, "info_name", None)
        if i == 0:
            name = _run.app_name(name)
        if name:
            names.append(str(name))
    return " ".join(names)


def options_used(ctx: Any, from_command_line: object) -> list[str]:
    """The options given on the command line, by name, root first; never their values."""
    chain = []
    while ctx is not None:
        chain.append(ctx)
        ctx = getattr(ctx, "parent", None)
    names: list[str] = []
    for c in reversed(chain):
        for param in getattr(getattr(c, "command", None), "params", None) or ():
            if getattr(param, "param_type_name", None) != "option" or not param.name:
                continue
            try:
                source = c.get_parameter_source(param.name)
            except Exception:
                continue
            if source is from_command_line and source is not None:
                name = option_name(_spellings_used(c, param))
                if name and name not in names:
                    names.append(name)
    return names


def _spellings_used(ctx: Any, param: Any) -> Any:
    """The spellings of ``param`` that the command line used: the off ones of an on/off flag
    (``--no-cache``) when it parsed to False, else its main ones."""
    secondary = getattr(param, "secondary_opts", None)
    if secondary and getattr(param, "is_bool_flag", False):
        # Only the boolean itself is looked at; a callback that turned it into anything else
        # (or expose_value=False) leaves us the main spelling.
        params = getattr(ctx, "params", None)
        if isinstance(params, dict) and params.get(param.name) is False:
            return secondary
    return param.opts


def option_name(opts: Any) -> str | None:
    """An option's canonical spelling: its first long form (``--verbose``), else its first."""
    spellings: list[str] = [o for o in opts or () if isinstance(o, str)]
    for opt in spellings:
        if opt.startswith("--"):
            return opt
    return spellings[0] if spellings else None
