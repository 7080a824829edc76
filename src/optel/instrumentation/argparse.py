"""Command spans for ``argparse`` CLIs: the command path and option names a parse resolved.

``ArgumentParser.parse_known_args`` is wrapped (``parse_args`` and sub-parsers go through it),
by a plain function (this module loads at every start of an argparse tool). argparse only
parses; the command runs after ``parse_args`` returns, in the host's own code. So the run's span
(``optel.instrumentation._run``: one per run, ended with the process's exit status, the rule
shared with click and typer) opens when the outermost parse returns, named by the app name and
the path of sub-commands chosen (``tool db migrate``), with the names of the options given
(``optel.cli.command.options``), never their values. A tool whose ``main()`` returns its status for
``sys.exit(main())`` gets that status; one that catches argparse's own exit (httpie turns a usage
error into exit 1) gets the status it really exits with.

An outermost parse while a command is open belongs to that command, and so never ends it early:

- by the same parser, of the same strings (``parse_known_args()`` then ``parse_args()``): the
  same command line read twice; the span is left as it is;
- by the same parser, of other strings: the next command (a tool that reads one line after
  another); the open one ends with the status asked for so far;
- by another parser, of exactly the strings the open command's parse did not know (or of
  ``sys.argv``), when there were some: the rest of the command line after a pre-parser
  (``parse_known_args`` for ``--config``, then the full parser on what is left); the span takes
  the full parser's command path and adds its options;
- by any other parser: a library parsing its own options inside the command; it is ignored.

A parse that ends the process itself (``--help``, ``--version``, a usage error) opens the run
too, with the status argparse asks for (0 or 2), unless the host catches it and exits otherwise.
"""

from __future__ import annotations

import sys

from optel.instrumentation import recording

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any

    from optel.instrumentation._patch import Patches

TARGET = "argparse"
SUPPORTED = None  # the standard library's: every Python that optel runs on

_patches: Patches | None = None
_state: Any = None


class _Frame:
    """One parse_known_args call: the parser, the strings it was given, the sub-parse it led to."""

    __slots__ = ("argv", "child", "parser")

    def __init__(self, parser: Any, argv: list[str] | None) -> None:
        self.parser = parser
        self.argv = argv
        self.child: _Frame | None = None


class _Open:
    """What the parse that opened the run read: its parser, its strings, those it did not know."""

    __slots__ = ("argv", "leftover", "parser")

    def __init__(self, frame: _Frame, leftover: list[str]) -> None:
        self.parser = frame.parser
        self.argv = _given(frame)
        self.leftover = leftover


_open: _Open | None = None


def instrument(module: ModuleType) -> None:
    """Wrap ``ArgumentParser.parse_known_args``."""
    global _patches, _state
    if _patches is not None:
        return
    from _thread import _local

    from optel.instrumentation._patch import Patches

    _state = _local()
    _patches = Patches()
    _patches.replace(module.ArgumentParser, "parse_known_args", _parse_wrapper)


def uninstrument(module: ModuleType) -> None:
    """End a command span still open, and put ``parse_known_args`` back."""
    global _patches
    finish(None)
    if _patches is not None:
        _patches.restore()
        _patches = None


def finish(code: int | None = None) -> None:
    """End the open run, with ``code`` (default: the status the process asked for so far)."""
    global _open
    _open = None
    run = sys.modules.get("optel.instrumentation._run")  # loaded once something was recorded
    if run is not None:
        run.finish(code)


def _parse_wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    stack: list[_Frame] | None = getattr(_state, "stack", None)
    if stack is None:
        # Followed even while not recording: the flags optel.cli.add_argparse adds call
        # optel.init() in the middle of the parse. Following costs a few small objects.
        stack = _state.stack = []
    argv = args[0] if args else kwargs.get("args")
    frame = _Frame(instance, list(argv) if isinstance(argv, (list, tuple)) else None)
    outer = not stack
    joined = None
    if outer:
        joined = _joined(frame)
    else:
        stack[-1].child = frame
    stack.append(frame)
    try:
        result = wrapped(*args, **kwargs)
    except SystemExit as exc:
        # --help, --version or a usage error: argparse asks to end the process right here (with
        # a command open, the sys.exit wrapper has already noted the status).
        if outer and joined is None and recording() and not _internal(frame):
            _record_parse_exit(frame, exc)
        raise
    finally:
        stack.pop()
    # Recording may have started during the parse: the embedded --telemetry flags call init.
    if outer and recording() and not _internal(frame):
        if joined is None:
            _open_command(frame, result)
        elif joined is _REST:
            _take_over(frame, result)
    return result


# What _joined says of a parse that is the rest of the open command's line.
_REST = "rest"


def _joined(frame: _Frame) -> str | None:
    """How an outermost parse relates to the open command: None when it starts a command."""
    global _open
    current = _open
    if current is not None and not _run_is_open():
        _open = current = None  # the run ended meanwhile (an uncaught exception, a decorator)
    if current is None:
        return None
    given = _given(frame)
    if frame.parser is current.parser:
        if given == current.argv:
            return "again"
        finish(None)
        return None
    if current.leftover and (frame.argv is None or given == current.leftover):
        return _REST
    return "other"


def _run_is_open() -> bool:
    from optel.instrumentation import _run

    return _run.is_open()


def _given(frame: _Frame) -> list[str]:
    return frame.argv if frame.argv is not None else sys.argv[1:]


def _leftover(result: object) -> list[str]:
    """The strings a ``parse_known_args`` did not know."""
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], list):
        return [arg for arg in result[1] if isinstance(arg, str)]
    return []


def _take_over(frame: _Frame, result: object) -> None:
    """The full parser after a pre-parser: the open command gets its path and its options too."""
    from optel.instrumentation import _run

    current = _open
    if current is None:
        return
    try:
        path, options = _describe(frame)
        _run.begin(path, options)
        current.parser, current.argv, current.leftover = (
            frame.parser,
            _given(frame),
            _leftover(result),
        )
    except Exception:
        _log_failure()


def _internal(frame: _Frame | None) -> bool:
    """Whether the parse went through optel's embedded ``telemetry`` command (never recorded)."""
    while frame is not None:
        if getattr(frame.parser, "_optel_internal", False):
            return True
        frame = frame.child
    return False


def _record_parse_exit(frame: _Frame, exc: SystemExit) -> None:
    from optel.instrumentation import _run
    from optel.record.exits import exit_status

    try:
        path, options = _describe(frame)
        if _run.begin(path, options):
            _run.note_exit(exit_status(exc))
    except Exception:
        _log_failure()


def _open_command(frame: _Frame, result: object) -> None:
    from optel.instrumentation import _run

    global _open
    try:
        path, options = _describe(frame)
        if _run.begin(path, options):
            _open = _Open(frame, _leftover(result))
    except Exception:
        _log_failure()


def _describe(frame: _Frame) -> tuple[str, list[str]]:
    """The command path and the option names given, from the outermost parse down."""
    from optel.instrumentation import _run
    from optel.instrumentation.click import option_name

    names: list[str] = []
    options: list[str] = []
    prog = getattr(frame.parser, "prog", None)
    # Known by the app's name, not by the prog argv[0] makes (`__main__.py`, an alias).
    root = _run.app_name(str(prog) if prog else None)
    if root:
        names.append(root)
    current: _Frame | None = frame
    while current is not None:
        child = current.child
        if child is not None:
            name = _subcommand_name(current.parser, child.parser)
            if name:
                names.append(name)
        argv = current.argv
        if argv is None:
            argv = sys.argv[1:] if current is frame else []
        if child is not None and child.argv is not None:
            # The sub-parser got everything after its name; the rest is this parser's.
            tail = len(child.argv) + 1
            if len(argv) >= tail and argv[len(argv) - len(child.argv) :] == child.argv:
                argv = argv[: len(argv) - tail]
        for opt in _options_in(current.parser, argv):
            name = option_name([opt])
            if name and name not in options:
                options.append(name)
        current = child
    return " ".join(names), options


def _subcommand_name(parser: Any, sub: Any) -> str | None:
    """The name ``sub`` was added under (not an alias the user may have typed)."""
    for action in getattr(parser, "_actions", ()):
        choices = getattr(action, "_name_parser_map", None)
        if isinstance(choices, dict):
            for name, candidate in choices.items():
                if candidate is sub:
                    return str(name)
    return None


def _options_in(parser: Any, argv: list[str]) -> list[str]:
    """The canonical spelling of each of ``parser``'s options that appears in ``argv``."""
    from optel.instrumentation.click import option_name

    actions: dict[str, Any] = getattr(parser, "_option_string_actions", {})
    prefixes = getattr(parser, "prefix_chars", "-")
    found: list[str] = []
    for arg in argv:
        if not isinstance(arg, str):
            continue
        if arg == "--":
            break
        if len(arg) < 2 or arg[0] not in prefixes:
            continue
        opt = arg.split("=", 1)[0]
        action = actions.get(opt)
        if action is None and len(opt) > 2 and opt[1] not in prefixes:
            action = actions.get(opt[:2])  # -vq, -ofile
        if action is None and getattr(parser, "allow_abbrev", False) and opt[1] in prefixes:
            matches = {id(a): a for key, a in actions.items() if key.startswith(opt)}
            if len(matches) == 1:
                action = next(iter(matches.values()))
        if action is None:
            continue
        name = option_name(getattr(action, "option_strings", ()))
        if name and name not in found:
            found.append(name)
    return found


def _log_failure() -> None:
    from optel._logger import logger

    logger().debug("optel: recording an argparse command failed", exc_info=True)
