"""Command spans for ``click`` apps: one per invoked command, named by its command path.

``Command.invoke`` is wrapped. A group that goes on to a subcommand gets no span of its own (its
subcommand's span carries the whole path, ``tool db migrate``); a command that runs its own
callback does. The span lists the *names* of the options given on the command line, at every
level of the path (``optel.cli.command.options = ["--verbose", "--model"]``), never their values, and
the exit code the command ends with (``process.exit.code``). An on/off flag is listed by the
spelling that was used (``--no-cache`` of ``--cache/--no-cache``), known from the value click
parsed for it: on/off flags parse to True and False. Nothing is read from ``sys.argv``.
The same code serves typer, whose commands are click commands (vendored or not).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType
    from typing import Any

    from optel.instrumentation._patch import Patches

TARGET = "click"

_patches: Patches | None = None


def instrument(module: ModuleType) -> None:
    """Wrap ``click.core.Command.invoke``."""
    global _patches
    if _patches is not None:
        return
    import importlib

    from optel.instrumentation._patch import Patches

    core = importlib.import_module(module.__name__ + ".core")
    _patches = Patches()
    patch_core(_patches, core)


def uninstrument(module: ModuleType) -> None:
    """Put ``Command.invoke`` back."""
    global _patches
    if _patches is not None:
        _patches.restore()
        _patches = None


def patch_core(patches: Patches, core: Any) -> None:
    """Wrap ``Command.invoke`` of a click-like ``core`` module (click's own, or typer's copy)."""
    patches.wrap(core.Command, "invoke", invoke_wrapper(core))


def invoke_wrapper(core: Any) -> Callable[..., Any]:
    """The wrapt wrapper for ``Command.invoke`` of ``core``."""
    source = getattr(core, "ParameterSource", None)
    from_command_line = getattr(source, "COMMANDLINE", None)

    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        from optel.record import spans

        if not spans.recording():
            return wrapped(*args, **kwargs)
        ctx = args[0] if args else kwargs.get("ctx")
        # A group's own callback runs on the way to its subcommand; the subcommand's span counts.
        if ctx is None or getattr(ctx, "invoked_subcommand", None) is not None:
            return wrapped(*args, **kwargs)
        if _is_optel_command(ctx):
            return wrapped(*args, **kwargs)
        command = _CommandRun.start(ctx, from_command_line)
        if command is None:
            return wrapped(*args, **kwargs)
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as exc:
            command.end(exc)
            raise
        command.end(None)
        return result

    return wrapper


def _is_optel_command(ctx: Any) -> bool:
    """The embedded ``telemetry`` commands: about consent, never recorded (SPEC §3)."""
    callback = getattr(getattr(ctx, "command", None), "callback", None)
    return getattr(callback, "__module__", None) == "optel.cli.embed"


class _CommandRun:
    """The span and measurements of one command, from invoke to its exit code."""

    __slots__ = ("handle",)

    def __init__(self, handle: Any) -> None:
        self.handle = handle

    @classmethod
    def start(cls, ctx: Any, from_command_line: object) -> _CommandRun | None:
        try:
            from optel.record import spans

            path = command_path(ctx)
            attributes: dict[str, object] = {"command.name": path}
            options = options_used(ctx, from_command_line)
            if options:
                attributes["optel.cli.command.options"] = options
            handle = spans.start(path, attributes=attributes)
        except Exception:
            _log_failure()
            return None
        return None if handle is None else cls(handle)

    def end(self, exc: BaseException | None) -> None:
        code = 0 if exc is None else exit_code(exc)
        end_command(self.handle, code, exc if code else None)


def end_command(handle: Any, code: int | None, exc: BaseException | None) -> None:
    """End a command span with its exit code (shared with argparse).

    ``optel.cli.command.invocations`` and ``optel.cli.command.duration`` are derived from command spans at
    flush, as for ``@optel.command()``, so nothing is measured here.
    """
    try:
        if code is not None:
            handle.set("process.exit.code", code)
        if code and exc is None:
            # The CLI semantic conventions: a non-zero exit is an error, typed by its code.
            handle.fail(str(code))
        handle.end(exc=exc)
    except Exception:
        _log_failure()


def _log_failure() -> None:
    from optel._logger import logger

    logger().debug("optel: recording a click command failed", exc_info=True)


def command_path(ctx: Any) -> str:
    """``tool sub cmd``: the program name, then the name of each command on the way down."""
    chain = []
    while ctx is not None:
        chain.append(ctx)
        ctx = getattr(ctx, "parent", None)
    chain.reverse()
    names = []
    for i, c in enumerate(chain):
        command = getattr(c, "command", None)
        # The root is known by the name it was invoked as; below it, a command by its own name
        # (not by an alias or abbreviation the user may have typed).
        name = getattr(c, "info_name", None) if i == 0 else getattr(command, "name", None)
        name = name or getattr(command, "name", None) or getattr(c, "info_name", None)
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


def exit_code(exc: BaseException) -> int:
    """The exit code the process gets when ``exc`` ends a click or typer command."""
    code = getattr(exc, "exit_code", None)  # click's Exit and ClickException, typer's copies
    if isinstance(code, int) and not isinstance(code, bool):
        return code
    if isinstance(exc, SystemExit):
        if exc.code is None:
            return 0
        return exc.code if isinstance(exc.code, int) else 1
    if isinstance(exc, KeyboardInterrupt):
        return 130
    return 1
