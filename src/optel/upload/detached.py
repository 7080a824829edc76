"""The detached uploader's entry point: the few arguments the host passes, parsed without argparse.

A host starts `optel upload --app NAME --detached [--project-dir DIR]` (spool/process.py) only
when delivery is due, and each such run's fixed CPU is paid by every user: its path imports only
what it needs (no argparse, no logging unless something is logged; docs/internals.md). Anything
it does not recognise goes to the full `optel` CLI (cli/main.py), which parses and reports it.
"""

from __future__ import annotations

import os
import sys

from optel.spool.process import DETACHED_FLAG

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

# The detached uploader gives up after this long; what it did not send waits for the next run.
DETACHED_MAX_SECONDS = 120.0
# A run stops sending this long before its lifetime ends, to hand back its files and exit in time.
SETTLE_SECONDS = 0.3

_VALUED = {"--app": "app", "--project-dir": "project_dir", "--max-seconds": "max_seconds"}


def main(argv: Sequence[str] | None = None) -> int:
    """Run `optel upload ... --detached`; any other command line is the full CLI's to handle."""
    args = list(sys.argv[1:] if argv is None else argv)
    options = parse(args)
    if options is None:
        from optel.cli.main import main as cli_main

        return cli_main(args)
    from optel.upload.uploader import upload

    detach()
    seconds = options.get("max_seconds")
    lifetime = DETACHED_MAX_SECONDS if seconds is None else float(seconds)
    upload(
        str(options["app"]),
        max_seconds=sending_time(lifetime),
        respect_backoff=True,
        project_dir=options.get("project_dir"),
    )
    return 0


def parse(args: list[str]) -> dict[str, str] | None:
    """The options of exactly `upload --app NAME --detached [--project-dir D] [--max-seconds S]`
    (in any order, `--opt=value` too), or None when the command line is anything else."""
    if args[:1] != ["upload"] or DETACHED_FLAG not in args:
        return None
    options: dict[str, str] = {}
    rest = args[1:]
    while rest:
        word = rest.pop(0)
        name, eq, value = word.partition("=")
        if word == DETACHED_FLAG:
            continue
        if name not in _VALUED or _VALUED[name] in options:
            return None
        if not eq:
            if not rest or rest[0].startswith("-"):
                return None
            value = rest.pop(0)
        options[_VALUED[name]] = value
    return options if _valid(options) else None


def _valid(options: dict[str, str]) -> bool:
    from optel._settings import app_name_problem

    if "app" not in options or app_name_problem(options["app"]) is not None:
        return False
    try:
        float(options.get("max_seconds", "0"))
    except ValueError:
        return False
    return True


def sending_time(lifetime: float) -> float:
    """How long the run may send so that the process ends within `lifetime` of its start: less
    the time it took to start (an interpreter under load) and the time to settle and exit."""
    return max(lifetime - _process_age() - SETTLE_SECONDS, 0.0)


def _process_age() -> float:
    """Seconds since this process started (Linux: from /proc; elsewhere 0)."""
    try:
        with open("/proc/self/stat", "rb") as f:
            # Field 22, counted after the command name (which may hold spaces, in parentheses).
            start_ticks = int(f.read().rpartition(b")")[2].split()[19])
        with open("/proc/uptime", "rb") as f:
            uptime = float(f.read().split()[0])
        return max(uptime - start_ticks / os.sysconf("SC_CLK_TCK"), 0.0)
    except (OSError, ValueError, IndexError):
        return 0.0


def detach() -> None:
    """Make this process a quiet background one: no terminal, no inherited descriptors, no SDK logs."""
    try:
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        # Whatever else the host left inheritable (a pipe its own parent waits on) must not be kept
        # open by us, or the host's caller would wait for the uploader.
        os.closerange(3, _max_fd())
    except OSError:
        pass
    if hasattr(os, "setsid"):
        try:
            os.setsid()
        except OSError:
            pass  # already a session leader: the spawner did it
    from optel.upload.export import silence_sdk_loggers

    silence_sdk_loggers()


def _max_fd() -> int:
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        if 0 < soft < 65536:
            return int(soft)
    except (ImportError, OSError, ValueError):
        pass
    return 4096
