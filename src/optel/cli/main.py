"""The `optel` command: a global `--app NAME` and one sub-command per module in COMMANDS."""

from __future__ import annotations

import argparse
import importlib
import sys

from optel._settings import app_name_problem
from optel._terminal import LINE_LIMIT, shown

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import NoReturn

# Each name is a module `optel.cli.<name>` with HELP, add_arguments(parser) and run(args) -> int.
# One entry per line, so that adding a command is a one-line change.
COMMANDS = [
    "status",
    "enable",
    "disable",
    "reset",
    "upload",
    "report",
    "demo",
    "docs",
    "show",
    "gateway",
]

DEFAULT_APP = "optel"
EXIT_USAGE = 2


class UsageError(Exception):
    """A mistake on the command line: shown as one line naming the help to read."""

    def __init__(self, message: str, prog: str) -> None:
        super().__init__(message)
        self.message = message
        self.prog = prog


class _Parser(argparse.ArgumentParser):
    # argparse prints its whole usage block and exits; the CLI promises one clear line instead.
    # Sub-command parsers are made with the parent's class, so this covers them too.
    def error(self, message: str) -> NoReturn:
        raise UsageError(message, self.prog)


def _error(message: str) -> None:
    # Messages quote what was typed or read (an argument, a file name): escaped and bounded.
    sys.stderr.write(f"optel: error: {shown(message, LINE_LIMIT)}\n")


def _usage(message: str, prog: str) -> int:
    _error(f"{message} (see {prog} --help)")
    return EXIT_USAGE


def _unavailable(name: str, exc: BaseException) -> object:
    def run(args: argparse.Namespace) -> int:
        _error(f"the {name} command cannot load: {exc}")
        return 1

    return run


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every registered command."""
    parser = _Parser(
        prog="optel",
        description="Consent-first usage telemetry: see and change what an app may send.",
    )
    app_help = f"the app to act for (default: {DEFAULT_APP})"
    parser.add_argument("--app", default=DEFAULT_APP, metavar="NAME", help=app_help)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"optel.cli.{name}")
            help_text = str(module.HELP)
        except Exception as exc:
            # One broken command must not take the others (and `optel disable`) down with it.
            sub = commands.add_parser(name, help="(cannot load)")
            sub.set_defaults(_run=_unavailable(name, exc))
            continue
        sub = commands.add_parser(name, help=help_text, description=help_text)
        # Accepted after the command too (`optel status --app x`); SUPPRESS keeps the global value.
        sub.add_argument("--app", default=argparse.SUPPRESS, metavar="NAME", help=app_help)
        module.add_arguments(sub)
        sub.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run `optel ...`; returns the exit code. Never lets a traceback reach the user."""
    try:
        parser = build_parser()
        args, extra = parser.parse_known_args(argv)
        command = getattr(args, "command", None)
        prog = f"optel {command}" if command else "optel"
        if extra:
            return _usage(f"unrecognized arguments: {' '.join(extra)}", prog)
        run = getattr(args, "_run", None)
        if run is None:
            parser.print_help()
            return 0
        problem = app_name_problem(args.app)
        if problem is not None:
            # The name becomes a directory that `reset` and `disable` delete files in.
            return _usage(f"--app {problem}", prog)
        return int(run(args))
    except UsageError as exc:
        return _usage(exc.message, exc.prog)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except KeyboardInterrupt:
        sys.stderr.write("optel: interrupted\n")
        return 130
    except BrokenPipeError:
        return 1
    except Exception as exc:
        _error(f"{exc.__class__.__name__}: {exc}")
        return 1
