"""Starting the detached uploader, and the lock that keeps it to one per app.

The host's exit path only ever makes non-blocking attempts here: one listdir, one read of the
backoff, one exclusive create of the lock, one `posix_spawn` (`subprocess` would cost 13 ms to import).
"""

from __future__ import annotations

import _thread
import os
import sys
import time

from optel import _fs, _paths
from optel.spool.files import SUFFIX, Spool, created_ns, pid_alive

_CLAIMED_MARK = SUFFIX + ".claimed."

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import TracebackType

LOCK_NAME = "uploader.lock"
# An uploader is presumed gone after this long without refreshing the lock (`UploaderLock.refresh`).
LOCK_STALE_S = 15 * 60.0
# Hands the lock from the host that spawned the uploader to the uploader itself.
TOKEN_ENV = "OPTEL_UPLOADER_TOKEN"
DETACHED_FLAG = "--detached"


class LockInfo:
    """The parsed uploader lock: who holds it, since when."""

    __slots__ = ("mtime", "path", "pid", "start_ns", "token")

    def __init__(self, path: str, pid: int, start_ns: int, token: str, mtime: float) -> None:
        self.path = path
        self.pid = pid
        self.start_ns = start_ns
        self.token = token
        self.mtime = mtime

    def key(self) -> tuple[int, int, str]:
        return (self.pid, self.start_ns, self.token)

    def held(self) -> bool:
        """The holder is alive and refreshed the lock recently (the stale-lock rule).

        A lock refreshed "in the future" was written before the clock was set back: its age
        says nothing, and trusting it would stop every uploader for as long as the jump.
        """
        age = time.time() - self.mtime
        if age > LOCK_STALE_S or age < -60.0:
            return False
        if self.pid == 0:
            # Unparsable: a writer on a file system without hard links may be mid-write.
            return time.time() - self.mtime < 10.0
        return pid_alive(self.pid)


def read_lock(directory: str) -> LockInfo | None:
    """The uploader lock of the spool in `directory`, or None when there is none."""
    return _read_lock_path(os.path.join(directory, LOCK_NAME))


def _read_lock_path(path: str) -> LockInfo | None:
    try:
        fd = _fs.open_regular(path)
        try:
            mtime = os.fstat(fd).st_mtime
            parts = _fs.read_fd(fd, 200).split()
        finally:
            os.close(fd)
    except FileNotFoundError:
        return None
    except OSError:
        # A symlink (dangling or not), FIFO or directory named like the lock is no uploader's
        # lock: it is reported as a stale one, so that `acquire_lock` moves it aside.
        return LockInfo(path, 0, 0, "", 0.0) if os.path.lexists(path) else None
    try:
        return LockInfo(path, int(parts[0]), int(parts[1]), parts[2].decode("ascii"), mtime)
    except (IndexError, ValueError, UnicodeDecodeError):
        return LockInfo(path, 0, 0, "", mtime)


def _content(pid: int, token: str) -> bytes:
    return f"{pid} {time.time_ns()} {token}\n".encode("ascii")


def _create_lock(directory: str, pid: int, token: str) -> bool:
    """Create the lock with its content in one step (hard link of a private file); False if it exists."""
    path = os.path.join(directory, LOCK_NAME)
    tmp = os.path.join(directory, f"{LOCK_NAME}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, _content(pid, token))
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
            return True
        except FileExistsError:
            return False
        except OSError:
            pass
        # No hard links here: an exclusive create, then the content (readers allow for the gap).
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return False
        try:
            os.write(fd, _content(pid, token))
        finally:
            os.close(fd)
        return True
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def acquire_lock(directory: str, pid: int, token: str) -> bool:
    """Take the uploader lock for `pid`, breaking a stale one; never waits."""
    if _create_lock(directory, pid, token):
        return True
    info = read_lock(directory)
    if info is not None and info.held():
        return False
    if info is not None:
        # Move the stale lock aside and check it is the one we judged: another process may
        # have broken it and taken a fresh lock in between, which must survive.
        aside = f"{info.path}.stale.{os.getpid()}"
        try:
            os.rename(info.path, aside)
        except OSError:
            return False
        moved = _read_lock_path(aside)
        if moved is None or moved.key() != info.key():
            try:
                os.link(aside, info.path)
            except OSError:
                pass
            _unlink(aside)
            return False
        _remove(aside)
    return _create_lock(directory, pid, token)


def _rewrite_lock(directory: str, pid: int, token: str) -> None:
    path = os.path.join(directory, LOCK_NAME)
    tmp = f"{path}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, _content(pid, token))
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError:
        _unlink(tmp)


def _release_lock(directory: str, token: str) -> None:
    info = read_lock(directory)
    if info is not None and info.token == token:
        _unlink(info.path)


# Tokens of the uploader locks this process holds now (a long-running host's background thread).
# At shutdown the detached uploader takes over such a lock instead of waiting for the thread.
_held_here: set[str] = set()


class UploaderLock:
    """`with uploader_lock(app) as held:` — held is False when another uploader runs. Never waits.

    A detached uploader started by `start_uploader` inherits the lock its host took for it
    (through the `OPTEL_UPLOADER_TOKEN` variable), so no other uploader can slip in between.
    """

    __slots__ = ("app", "directory", "held", "since_ns", "token")

    def __init__(self, directory: str, app: str = "") -> None:
        self.app = app
        self.directory = directory
        self.token = ""
        self.held = False
        self.since_ns = 0

    def __enter__(self) -> bool:
        inherited = os.environ.pop(TOKEN_ENV, "")
        try:
            os.makedirs(self.directory, 0o700, exist_ok=True)
            if self.app:
                _paths.check_spool_dir(self.directory)
            info = read_lock(self.directory)
            if inherited and info is not None and info.token == inherited:
                self.token = inherited
                _rewrite_lock(self.directory, os.getpid(), inherited)
                self.held = True
                # Hosts that flushed from now on found the lock taken and started no uploader:
                # this one starts the next when it is done (`__exit__`).
                self.since_ns = time.time_ns()
            else:
                self.token = os.urandom(8).hex()
                self.held = acquire_lock(self.directory, os.getpid(), self.token)
        except OSError:
            self.held = False
        if self.held:
            _held_here.add(self.token)
        return self.held

    def refresh(self) -> None:
        """Tell other processes this uploader is still alive (call at least every few minutes)."""
        if self.held:
            try:
                os.utime(os.path.join(self.directory, LOCK_NAME))
            except OSError:
                pass

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.held:
            _held_here.discard(self.token)
            # The tally counts what this run sent and deleted: the next writer looks afresh, and
            # the delivery policy's size rule does not start another uploader for sent bytes.
            Spool.at(self.directory).forget_tally()
            _release_lock(self.directory, self.token)
            self.held = False
            if self.since_ns and self.app and _written_since(self.directory, self.since_ns):
                start_uploader(self.app, directory=self.directory, when_due=True)


def _written_since(directory: str, since_ns: int) -> bool:
    """Whether a flush was spooled after `since_ns` and is still unclaimed: one whose host found
    the lock held and left it to the lock's holder. Files this uploader gave back are older."""
    try:
        names = os.listdir(directory)
    except OSError:
        return False
    return any(name.endswith(SUFFIX) and (created_ns(name) or 0) >= since_ns for name in names)


def uploader_lock(app: str, *, directory: str | None = None) -> UploaderLock:
    """The lock the uploader process holds while it uploads `app`'s spool."""
    return UploaderLock(directory if directory is not None else _paths.spool_dir(app), app)


def uploader_running(app: str) -> bool:
    """Whether an uploader for `app` holds the lock now."""
    try:
        info = read_lock(_paths.spool_dir(app))
    except OSError:
        return False
    return info is not None and info.held()


# Run by `python -I -c`: isolated mode (no PYTHON* variable, no user site-packages, neither the
# working directory nor the script's on sys.path), then the one entry this optel needs, then the
# working directory optel owns. `-I` already keeps the cwd off sys.path on 3.9 and 3.10 too,
# which have no `-P`. argv: -c, working dir, optel's import root, then the `optel` arguments.
BOOTSTRAP = (
    "import os, sys\n"
    "here, root = sys.argv[1], sys.argv[2]\n"
    "os.chdir(here)\n"
    "if root not in sys.path: sys.path.insert(0, root)\n"
    "sys.argv[:3] = ['optel']\n"
    "from optel.cli.main import main\n"
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


# The delivery policy (docs/internals.md §6): an uploader imports the OpenTelemetry SDK and protobuf
# (~250-350 ms of CPU), far more than a run of a CLI costs, so a host starts one only when the
# spool's oldest waiting flush is this old, or when the spool holds this much; until then flushes
# wait on disk and later runs add theirs. `optel upload` always sends at once.
DELIVERY_INTERVAL_S = 4 * 3600.0
DUE_BYTES = 256 * 1024
# Seconds; 0 starts an uploader at every flush (the behaviour before the policy: tests, demos).
INTERVAL_ENV = "OPTEL_UPLOAD_INTERVAL"
# A flush stamped further ahead than this was written before the clock was set back: its age says
# nothing, and waiting for the clock to catch up could hold it for as long as the jump.
_FUTURE_NS = 24 * 3600 * 10**9


def delivery_interval() -> float:
    """The interval in force: `OPTEL_UPLOAD_INTERVAL` (seconds, >= 0) when it is a number, else the default."""
    text = os.environ.get(INTERVAL_ENV, "").strip()
    try:
        value = float(text) if text else DELIVERY_INTERVAL_S
    except ValueError:
        return DELIVERY_INTERVAL_S
    return value if 0.0 <= value < float("inf") else DELIVERY_INTERVAL_S


def _oldest_waiting_ns(names: list[str]) -> int | None:
    stamps = [created_ns(name) for name in names if name.endswith(SUFFIX) or _CLAIMED_MARK in name]
    known = [stamp for stamp in stamps if stamp is not None]
    if len(known) < len(stamps):
        return 0  # a flush with no readable time: as good as old
    return min(known) if known else None


def delivery_due(spool: Spool, names: list[str] | None = None) -> bool:
    """Whether the spool is due for delivery: its oldest waiting flush (claimed ones included) is
    `delivery_interval()` old, or stamped a day ahead (the clock went back), or it holds
    `DUE_BYTES`. One listdir (skipped when the caller has the names) and at most one small read."""
    if names is None:
        try:
            names = os.listdir(spool.path)
        except OSError:
            return False
    oldest = _oldest_waiting_ns(names)
    if oldest is None:
        return False
    age = time.time_ns() - oldest
    if age >= delivery_interval() * 1e9 or age < -_FUTURE_NS:
        return True
    return spool.waiting_bytes() >= DUE_BYTES


# One start at a time in this process (see start_uploader).
_starting = _thread.allocate_lock()
# A spawn takes milliseconds; a start stuck longer than this is not worth the host's exit.
START_WAIT_S = 0.5


def _after_fork_in_child() -> None:
    # A thread of the parent may have held it at the fork: in the child, that thread is gone.
    global _starting
    _starting = _thread.allocate_lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def start_uploader(
    app: str,
    *,
    directory: str | None = None,
    destination: str | None = None,
    when_due: bool = False,
) -> bool:
    """Start the detached uploader when the spool has files, none runs and the backoff has elapsed:
    that of `destination` (where the caller's flush goes), else the spool-wide one. With
    `when_due` (a host's flush, init, a successor), only when the spool is due (`delivery_due`).

    Returns whether one was started. Never raises, never waits, prints nothing.
    """
    try:
        spool = Spool(app, directory)
        try:
            names = os.listdir(spool.path)
        except OSError:
            return False  # no spool yet: the common first run, not worth a log line
        if not any(name.endswith(".jsonl") or ".jsonl.claimed." in name for name in names):
            return False
        if when_due and not delivery_due(spool, names):
            return False
        if spool.backoff_until(destination) is not None:
            return False
        if destination is not None:
            spool.set_backoff(None)  # a flush for a destination that is due: so is the spool
        if not sys.executable or getattr(sys, "frozen", False):
            # A frozen app's executable is the app itself: `-m optel` would run the host again.
            return False
        # One start at a time in this process: the init thread's start (lock taken, uploader not
        # yet spawned) must not make the exit's start see a lock of its own process it cannot take.
        if not _starting.acquire(True, START_WAIT_S):
            return False
        try:
            return _start_locked(app, spool.path)
        finally:
            _starting.release()
    except BaseException as exc:
        from optel.spool.output import log_failure

        log_failure("starting the uploader", exc)
        return False


def _start_locked(app: str, directory: str) -> bool:
    token = os.urandom(8).hex()
    if not acquire_lock(directory, os.getpid(), token) and not _take_over_own(directory, token):
        return False
    pid = _spawn(uploader_command(app, directory), token)
    if pid is None:
        _release_lock(directory, token)
        return False
    info = read_lock(directory)
    if info is not None and info.token == token:
        _rewrite_lock(directory, pid, token)
    return True


def _take_over_own(directory: str, token: str) -> bool:
    """Take the lock from an upload of this very process (a background thread still waiting on a
    collector at shutdown), so the last flush goes to a detached uploader instead of the next run.

    The thread's files stay claimed by this process, which is about to exit: the next uploader
    claims them again then. Its release no longer matches the token, so it leaves the new lock be.
    """
    info = read_lock(directory)
    if info is None or info.pid != os.getpid() or info.token not in _held_here:
        return False
    _held_here.discard(info.token)
    _rewrite_lock(directory, os.getpid(), token)
    again = read_lock(directory)
    return again is not None and again.token == token


def _environment(token: str) -> dict[str, str]:
    # The uploader reads OTEL_*, XDG_*, DO_NOT_TRACK and the app's variables from it; PYTHON*
    # ones are ignored (`-I`): the import root comes on the command line instead.
    env = dict(os.environ)
    env[TOKEN_ENV] = token
    return env


def _spawn(argv: list[str], token: str) -> int | None:
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
        _thread.start_new_thread(reap, ())
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
        _thread.start_new_thread(proc.wait, ())
    except RuntimeError:
        pass
    pid: int = proc.pid
    return pid


def drain_leftovers(app: str) -> None:
    """At init, on a background thread: start an uploader for files earlier runs left, when they
    are due (`delivery_due`). Never raises."""
    try:
        start_uploader(app, when_due=True)
    except BaseException:
        pass


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _remove(path: str) -> None:
    # What was moved aside from the lock's name: a file or symlink, or an (empty) directory.
    try:
        os.unlink(path)
    except OSError:
        try:
            os.rmdir(path)
        except OSError:
            pass
