"""`optel upload`: drain an app's spool to its collector now (foreground), or as the detached uploader."""

from __future__ import annotations

import argparse
import os
import sys

HELP = "send the spooled telemetry of an app now, and say what was sent, kept and dropped"

# The detached uploader gives up after this long; what it did not send waits for the next run.
DETACHED_MAX_SECONDS = 120.0
# A run stops sending this long before its lifetime ends, to hand back its files and exit in time.
SETTLE_SECONDS = 0.3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--detached",
        action="store_true",
        help="run as the background uploader a host starts: print nothing, respect the retry backoff",
    )
    # Where the host ran (its project consent file), since the detached uploader runs in the spool dir.
    parser.add_argument("--project-dir", default=None, help=argparse.SUPPRESS)
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=None,
        metavar="S",
        help="stop after S seconds, keeping what was not sent for the next run",
    )


def run(args: argparse.Namespace) -> int:
    from optel.upload import upload

    if args.detached:
        detach()
        max_seconds = args.max_seconds if args.max_seconds is not None else DETACHED_MAX_SECONDS
        upload(
            args.app,
            max_seconds=_sending_time(max_seconds),
            respect_backoff=True,
            project_dir=args.project_dir,
        )
        return 0
    # Asked for by a person: try now, even while the backoff of earlier failures runs.
    max_seconds = None if args.max_seconds is None else _sending_time(args.max_seconds)
    summary = upload(args.app, max_seconds=max_seconds, respect_backoff=False)
    sys.stdout.write(summary.line() + "\n")
    return 0


def _sending_time(lifetime: float) -> float:
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
