"""Starting optel's own detached processes: a command line safe to run anywhere, and the spawn.

`posix_spawn` where it exists (`subprocess` would cost 13 ms to import on the host's exit
path); the child gets a new session and /dev/null for stdio, and is reaped by a thread.
"""

from __future__ import annotations

import os
import sys

from optel import _paths, _threads
from optel.spool.lock import TOKEN_ENV

DETACHED_FLAG = "--detached"


# Run by `python -I -c`: isolated mode (no PYTHON* variable, no user site-packages, neither the
# working directory nor the script's on sys.path), then the one entry this optel needs, then the
# working directory optel owns. `-I` already keeps the cwd off sys.path on 3.9 and 3.10 too,
# which have no `-P`. argv: -c, working dir, optel's import root, then the `optel` arguments.
# The detached uploader's entry (upload/detached.py) parses without argparse, and hands any other
# command line to the full CLI.
BOOTSTRAP = (
    "import os, sys\n"
    "here, root = sys.argv[1], sys.argv[2]\n"
    "os.chdir(here)\n"
    "if root not in sys.path: sys.path.insert(0, root)\n"
    "sys.argv[:3] = ['optel']\n"
    "if '--detached' in sys.argv: from optel.upload.detached import main\n"
    "else: from optel.cli.main import main\n"
    "sys.exit(main())\n"
)


def import_root() -> str:
    """The sys.path entry this optel was imported from (a site-packages, a checkout's `src`)."""
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def optel_command(args: list[str], *, cwd: str) -> list[str]:
    """The argv of `python -m optel ARGS`, safe to run anywhere: nothing from the working
    directory or the environment's PYTHON* variables is imported; it runs in `cwd`.

    `python -m optel` in a cloned repository would run its `optel/__main__.py` (or its
    `argparse.py`, `json.py`, `sitecustomize.py`, ...) as the user: the working directory is
    the first entry of sys.path, and PYTHONPATH/PYTHONSTARTUP may point anywhere.
    """
    return [sys.executable, "-I", "-c", BOOTSTRAP, cwd, import_root(), *args]


def uploader_command(app: str, directory: str | None = None) -> list[str]:
    """The argv of the detached uploader, working in the spool dir (`directory`)."""
    args = ["upload", "--app", app, DETACHED_FLAG]
    try:
        # The project consent file is looked up from where the host ran, as the host did.
        args += ["--project-dir", os.getcwd()]
    except OSError:
        pass
    return optel_command(args, cwd=directory or _paths.spool_dir(app))


def _environment(token: str) -> dict[str, str]:
    # The uploader reads OTEL_*, XDG_*, DO_NOT_TRACK and the app's variables from it; PYTHON*
    # ones are ignored (`-I`): the import root comes on the command line instead.
    env = dict(os.environ)
    env[TOKEN_ENV] = token
    return env


def spawn(argv: list[str], token: str) -> int | None:
    env = _environment(token)
    if os.name == "posix" and hasattr(os, "posix_spawn"):
        try:
            devnull = os.devnull
            actions = [
                (os.POSIX_SPAWN_OPEN, 0, devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, devnull, os.O_WRONLY, 0),
                (os.POSIX_SPAWN_OPEN, 2, devnull, os.O_WRONLY, 0),
            ]
            pid = os.posix_spawn(argv[0], argv, env, file_actions=actions, setsid=True)
        except (OSError, NotImplementedError, TypeError, ValueError):
            pass
        else:
            _reap_later(pid)
            return pid
    return _spawn_with_subprocess(argv, env)


def _reap_later(pid: int) -> None:
    # A long-running host would otherwise keep a zombie; at exit the thread dies with the host.
    def reap() -> None:
        try:
            os.waitpid(pid, 0)
        except OSError:
            pass

    try:
        _threads.start(reap)
    except RuntimeError:
        pass


def _spawn_with_subprocess(argv: list[str], env: dict[str, str]) -> int | None:
    import subprocess

    options: dict[str, object] = {}
    if os.name == "nt":
        options["creationflags"] = (
            getattr(subprocess, "DETACHED_PROCESS", 0)
            | getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
            | getattr(subprocess, "CREATE_NO_WINDOW", 0)
        )
    else:
        options["start_new_session"] = True
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            close_fds=True,
            **options,  # type: ignore[call-overload]
        )
    except (OSError, ValueError):
        return None
    try:
        _threads.start(proc.wait)
    except RuntimeError:
        pass
    pid: int = proc.pid
    return pid
