"""The files that hold consent: the user's stored choice and a project's restriction.

Reading is on every host's start-up path, so it uses the flat reader and imports nothing heavy;
writing (a prompt answer, the opt-out notice, ``optel enable``) is rare and may import what it
needs: tomli-w, the file lock, logging.
"""

from __future__ import annotations

import os
import sys
import time

from optel._fs import NotRegularFile, read_small
from optel._terminal import shown
from optel.consent.ids import new_install_id, new_salt, utc_now
from optel.consent.tomlflat import loads_flat
from optel.consent.value import MODES

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from contextlib import AbstractContextManager

PROJECT_DIR_PREFIX = "."
PROJECT_FILE_NAME = "telemetry.toml"
MAX_FILE_BYTES = 1 << 20
_A_DIRECTORY = "a directory stands where the file should be"

# The keys optel owns in the user file and the type each must have; other keys are kept as found.
USER_KEYS: dict[str, type] = {
    "mode": str,
    "install_id": str,
    "decided_at": str,
    # How the choice was made: a prompt answer (answer, enter, eof, timeout, unknown, error) or
    # the enable/disable command, so that `status` can say "you answered no" or "no answer in 30 s".
    "decided_by": str,
    "consent_version": int,
    "user_id": str,
    "notice_shown": bool,
    "salt": str,
    "first_seen": str,
    "first_version": str,
    # The policy and consent_version the app last decided with, for the CLI, which runs without
    # the app's settings (see ``recorded_app_settings``).
    "app_policy": str,
    "app_consent_version": int,
}


# What ties data to this install; `reset` removes all of it.
IDENTITY_KEYS = ("install_id", "salt", "first_seen", "first_version")


class Broken:
    """A config file that exists but cannot be used; ``reason`` says why, for a person."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        # Reasons quote the file's values, which are printed in warnings and `status`.
        self.reason = shown(reason)

    def __repr__(self) -> str:
        return f"Broken({self.reason!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Broken) and other.reason == self.reason

    def __hash__(self) -> int:
        return hash(("Broken", self.reason))


class BrokenFileError(Exception):
    """Raised by ``UserStore.update`` when the file is broken: only an explicit command replaces it."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path} is broken: {reason}")
        self.path = path
        self.reason = reason


def _toml_parser() -> object:
    try:
        return __import__("tomllib")
    except ImportError:
        return __import__("tomli")


def parse_toml(text: str) -> dict[str, object] | Broken:
    """Parse TOML text: the flat fast path, else tomllib/tomli; Broken when it is not TOML."""
    table = loads_flat(text)
    if table is not None:
        return table
    parser = _toml_parser()
    try:
        full: dict[str, object] = parser.loads(text)  # type: ignore[attr-defined]
    except ValueError as exc:
        return Broken(f"not valid TOML: {exc}")
    except Exception as exc:
        # Deep nesting (`a = [[[...]]]`) exhausts the recursive parser: RecursionError or
        # MemoryError. The file is as unusable as invalid TOML, and must be replaceable like it.
        return Broken(f"too deeply nested or too large to parse ({exc.__class__.__name__})")
    return full


def read_toml_file(path: str, *, empty_is_broken: bool = True) -> dict[str, object] | Broken | None:
    """The table in ``path``; None when there is no such file; Broken when it cannot be used.

    An empty user file is broken (SPEC §3: something truncated it); an empty project file is
    just an empty table, which restricts nothing.
    """
    try:
        # Never waits on a FIFO or device (inside the host's init()): optel's one small-file reader.
        data = read_small(path, MAX_FILE_BYTES + 1, follow=True)
    except (FileNotFoundError, NotADirectoryError):
        # A file where the config directory should be means no choice can be stored there:
        # that is "nothing stored", and writing will fail with a clear error.
        return None
    except IsADirectoryError:
        return Broken(_A_DIRECTORY)
    except NotRegularFile:
        return Broken("not a regular file")
    except PermissionError:
        return Broken("not readable: permission denied")
    except OSError as exc:
        return Broken(f"not readable: {exc.strerror or exc}")
    if len(data) > MAX_FILE_BYTES:
        return Broken("larger than 1 MiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return Broken("not UTF-8 text")
    if not text.strip():
        return Broken("empty") if empty_is_broken else {}
    return parse_toml(text)


def check_user_table(table: dict[str, object]) -> Broken | None:
    """Broken when a key optel owns has the wrong type or value, else None."""
    for key, kind in USER_KEYS.items():
        if key not in table:
            continue
        value = table[key]
        # bool is an int subclass: a `consent_version = true` is wrong-typed, not version 1.
        if type(value) is not kind:
            return Broken(f"{key!r} should be a {kind.__name__}, not {type(value).__name__}")
    mode = table.get("mode")
    if mode is not None and mode not in MODES:
        return Broken(f"mode = {mode!r} is not one of off, anonymous, identified")
    version = table.get("consent_version")
    if isinstance(version, int) and version < 0:
        return Broken("consent_version is negative")
    return None


def recorded_app_settings(table: Mapping[str, object]) -> tuple[str, int]:
    """``(policy, consent_version)`` the app last decided with, as its user file records them.

    The version is 0 when none is recorded. A file without ``app_policy`` but with
    ``notice_shown = true`` was written by an opt-out app (only that policy shows the notice).
    """
    policy = table.get("app_policy")
    if policy not in ("opt-in", "opt-out"):
        policy = "opt-out" if table.get("notice_shown") is True else "opt-in"
    version = table.get("app_consent_version")
    if not isinstance(version, int) or isinstance(version, bool):
        version = 0
    return str(policy), version


class UserStore:
    """The user's stored choice for one app: ``<user config dir>/telemetry.toml`` (SPEC §3).

    ``read()`` is cheap and never raises. ``update()`` is a locked read-modify-write with an
    atomic replace, so concurrent writers neither tear the file nor lose each other's keys;
    keys it does not know are kept.
    """

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path

    def __repr__(self) -> str:
        return f"UserStore({self.path!r})"

    def read(self) -> dict[str, object] | Broken:
        """The stored table (``{}`` when there is no file yet), or Broken with the reason."""
        table = read_toml_file(self.path)
        if table is None:
            return {}
        if isinstance(table, Broken):
            return table
        problem = check_user_table(table)
        return problem if problem is not None else table

    def update(self, **changes: object) -> dict[str, object]:
        """Set keys (a value of None removes the key) and return the new table.

        When the result has no install id, one is created with a fresh ``salt`` and
        ``first_seen``. Raises BrokenFileError when the file is broken (see ``set_aside``) and
        OSError when it cannot be written.
        """
        with self._locked():
            current = self.read()
            if isinstance(current, Broken):
                raise BrokenFileError(self.path, current.reason)
            table = dict(current)
            for key, value in changes.items():
                if value is None:
                    table.pop(key, None)
                else:
                    table[key] = value
            if not table.get("install_id"):
                table["install_id"] = new_install_id()
                table["salt"] = new_salt()
                table["first_seen"] = utc_now()
            problem = check_user_table(table)
            if problem is not None:
                raise ValueError(f"refusing to write {self.path}: {problem.reason}")
            self._write(table)
            return table

    def forget_identity(self) -> bool:
        """Remove the install id and what dates it (salt, first seen, first version); the choice is
        kept. The next run that needs an id makes a new one. Returns whether there was an id."""
        with self._locked():
            current = self.read()
            if isinstance(current, Broken):
                raise BrokenFileError(self.path, current.reason)
            table = {k: v for k, v in current.items() if k not in IDENTITY_KEYS}
            if table == current:
                return False
            if table:
                self._write(table)
            else:
                # Only the identity was stored: with it gone, nothing is.
                os.unlink(self.path)
            return "install_id" in current

    def install_id(self) -> str:
        """This install's id, created and stored on first need, apart from any choice.

        A file that already holds one is only read. With no file yet, the id is written without
        the lock or tomli-w (three plain strings), created only if absent, so concurrent first
        runs agree on one id. Raises OSError or BrokenFileError when it cannot be stored.
        """
        table = self.read()
        if isinstance(table, Broken):
            raise BrokenFileError(self.path, table.reason)
        kept = table.get("install_id")
        if isinstance(kept, str) and kept:
            return kept
        if not table and not os.path.lexists(self.path):
            created = self._create_with_id()
            if created is not None:
                return created
        # A file without an id, or one another run created a moment ago: the locked update keeps
        # an id that is there and adds one that is not.
        return str(self.update()["install_id"])

    def _create_with_id(self) -> str | None:
        """Create the file holding only a new id; None when it exists by now (or links are not
        supported here)."""
        install_id = new_install_id()
        text = f'install_id = "{install_id}"\nsalt = "{new_salt()}"\nfirst_seen = "{utc_now()}"\n'
        directory = os.path.dirname(self.path) or "."
        os.makedirs(directory, mode=0o700, exist_ok=True)
        tmp = os.path.join(
            directory, f".{os.path.basename(self.path)}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
        )
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            try:
                os.write(fd, text.encode("ascii"))
                os.fsync(fd)
            finally:
                os.close(fd)
            # link() fails when the name exists: the file appears whole, and only if absent.
            os.link(tmp, self.path)
        except OSError:
            return None
        finally:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        _fsync_dir(directory)
        return install_id

    def set_aside(self) -> str | None:
        """Rename a broken file to ``telemetry.toml.corrupt-<timestamp>``; returns the new path.

        Returns None (and changes nothing) when the file is fine or missing. Only the explicit
        ``optel enable/disable/reset`` call this: a broken file is otherwise left untouched.
        """
        with self._locked():
            if not isinstance(self.read(), Broken):
                return None
            stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
            target = f"{self.path}.corrupt-{stamp}"
            n = 1
            while os.path.lexists(target):
                n += 1
                target = f"{self.path}.corrupt-{stamp}-{n}"
            os.rename(self.path, target)
            return target

    def _write(self, table: dict[str, object]) -> None:
        import tomli_w

        text = tomli_w.dumps(_ordered(table))
        directory = os.path.dirname(self.path) or "."
        tmp = os.path.join(
            directory, f".{os.path.basename(self.path)}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
        )
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        _fsync_dir(directory)

    def _locked(self) -> AbstractContextManager[None]:
        return _file_lock(self.path + ".lock")


def _ordered(table: dict[str, object]) -> dict[str, object]:
    # optel's keys first, in the SPEC's order, so a person reading the file sees the choice first.
    out = {key: table[key] for key in USER_KEYS if key in table}
    out.update((key, value) for key, value in table.items() if key not in out)
    return out


def _fsync_dir(directory: str) -> None:
    # Makes the rename itself durable; not possible (nor needed) on Windows.
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _file_lock(lock_path: str) -> AbstractContextManager[None]:
    import contextlib

    @contextlib.contextmanager
    def locked() -> Iterator[None]:
        os.makedirs(os.path.dirname(lock_path) or ".", mode=0o700, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if sys.platform == "win32":
                import msvcrt

                while True:
                    try:
                        msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
                        break
                    except OSError:
                        # LK_LOCK gives up after ~10 s of contention; keep waiting.
                        continue
                try:
                    yield
                finally:
                    os.lseek(fd, 0, os.SEEK_SET)
                    msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
            else:
                fd = _flock_current(lock_path, fd)
                try:
                    yield
                finally:
                    # Removed while still held: a run leaves nothing in the config dir but the
                    # user's file. A waiter that opened it meanwhile sees it gone and tries again.
                    _unlink_quietly(lock_path)
                    import fcntl

                    fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    return locked()


def _flock_current(lock_path: str, fd: int) -> int:
    """Lock `fd` exclusively, and return a locked fd of the file that is at `lock_path` now.

    The holder unlinks the lock file before it unlocks: a process that opened the old file and
    got its lock afterwards holds a lock nobody else will ever ask for, so it opens the path again.
    """
    import fcntl

    while True:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(lock_path))
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def find_project_file(app: str, project_dir: str | None = None) -> str | None:
    """The nearest ``.<app>/telemetry.toml`` in ``project_dir`` (default: cwd) or a parent."""
    try:
        here = os.path.abspath(project_dir if project_dir is not None else os.getcwd())
    except OSError:
        return None
    name = os.path.join(PROJECT_DIR_PREFIX + app, PROJECT_FILE_NAME)
    while True:
        candidate = os.path.join(here, name)
        if os.path.lexists(candidate):
            return candidate
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def read_project_mode(path: str) -> tuple[str, str | None]:
    """The most a project file allows: ``("off"|"anonymous"|"identified", problem or None)``.

    A project file can only restrict. One that cannot be read, or names no known mode, restricts
    to off: it exists because someone wanted less telemetry, and we fail closed.
    """
    table = read_toml_file(path, empty_is_broken=False)
    if table is None:
        return "identified", None
    if isinstance(table, Broken):
        return "off", table.reason
    mode = table.get("mode")
    if mode is None:
        return "identified", None
    if mode not in MODES:
        return "off", f"mode = {mode!r} is not one of off, anonymous, identified"
    return str(mode), None
