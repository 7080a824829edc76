"""Writing the user's stored choice: locked read-modify-write, atomic replace, the install id.

Writing (a prompt answer, the opt-out notice, ``optel enable``) is rare and may import what it
needs: tomli-w, the file lock, logging. Reading is ``optel.consent.files``; a resolution that must
not write (``optel status``, the uploader) never gets a ``UserStore`` (docs/consent.md).
"""

from __future__ import annotations

import os
import time

from optel.consent.files import (
    IDENTITY_KEYS,
    USER_KEYS,
    Broken,
    check_user_table,
    read_user_file,
)
from optel.consent.ids import new_install_id, new_salt, utc_now
from optel.consent.lock import file_lock

TYPE_CHECKING = False
if TYPE_CHECKING:
    from contextlib import AbstractContextManager


class BrokenFileError(Exception):
    """Raised by ``UserStore.update`` when the file is broken: only an explicit command replaces it."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path} is broken: {reason}")
        self.path = path
        self.reason = reason


class UserStore:
    """The user's stored choice for one app: ``<user config dir>/telemetry.toml``
    (docs/contract.md#consent).

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
        return read_user_file(self.path)

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
        return file_lock(self.path + ".lock")


def _ordered(table: dict[str, object]) -> dict[str, object]:
    # optel's keys first, in the order of docs/consent.md#the-files, so a person reading the file
    # sees the choice first.
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
