"""The spool directory as one object, `Spool`, and the host's never-raising entry points to it.

`Spool` puts together the state files (`state`), the writer and its bounds (`bounds`) and the
uploader's claims (`claims`); this module adds what looks at all of them: `describe` for
`optel status` (formatted by `optel.cli.spool_status`) and `delete_all` for a withdrawal.
"""

from __future__ import annotations

import os
import time

from optel import _fs
from optel._fs import unlink
from optel.spool import CLAIMED, QUARANTINE_DIR, SUFFIX, created_ns
from optel.spool.claims import SpoolClaims
from optel.spool.disk import listdir, log_failure
from optel.spool.format import spool_name
from optel.spool.lock import read_lock
from optel.spool.writer import MAX_AGE_S, MAX_BYTES

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping


class SpoolInfo:
    """What `optel status` says about the spool (the text: `optel.cli.spool_status`)."""

    __slots__ = (
        "bytes",
        "dropped",
        "failures",
        "files",
        "next_retry_ns",
        "oldest_ns",
        "path",
        "problem",
        "quarantined",
        "uploader_pid",
        "uploader_running",
    )

    def __init__(
        self,
        path: str,
        files: int = 0,
        bytes: int = 0,
        oldest_ns: int | None = None,
        next_retry_ns: int | None = None,
        failures: int = 0,
        dropped: dict[str, int] | None = None,
        quarantined: int = 0,
        uploader_running: bool = False,
        uploader_pid: int | None = None,
        problem: str | None = None,
    ) -> None:
        self.path = path
        self.problem = problem
        self.files = files
        self.bytes = bytes
        self.oldest_ns = oldest_ns
        self.next_retry_ns = next_retry_ns
        self.failures = failures
        self.dropped = dropped if dropped is not None else {}
        self.quarantined = quarantined
        self.uploader_running = uploader_running
        self.uploader_pid = uploader_pid

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"SpoolInfo({fields})"


class Spool(SpoolClaims):
    """One app's spool directory, as the writer (the host) and the uploader (another process) see it."""

    __slots__ = ()

    @classmethod
    def at(cls, path: str) -> Spool:
        """The spool in directory `path` (tests, tools)."""
        return cls("", path)

    def describe(self) -> SpoolInfo:
        """Files waiting, their size and age, the backoff, drop counts and the uploader, for `optel status`."""
        info = SpoolInfo(self.path)
        for name in self._names():
            if not (name.endswith(SUFFIX) or CLAIMED in name):
                continue
            try:
                info.bytes += os.lstat(self._join(name)).st_size
            except OSError:
                continue
            info.files += 1
            created = created_ns(name)
            if created is not None and (info.oldest_ns is None or created < info.oldest_ns):
                info.oldest_ns = created
        state = self._read_backoff()
        if state is not None:
            info.failures = state[1]
            if state[0] > time.time():
                info.next_retry_ns = int(state[0] * 1e9)
        info.dropped = self.drop_counts()
        try:
            info.quarantined = len(os.listdir(self._join(QUARANTINE_DIR)))
        except OSError:
            pass
        lock = read_lock(self.path)
        if lock is not None and lock.held():
            info.uploader_running = True
            info.uploader_pid = lock.pid
        return info

    def delete_all(self) -> int:
        """Delete every spooled record and the spool's state (consent withdrawn); returns files removed.

        The lock of a running uploader is left to it: it re-checks consent before it sends.
        """
        removed = 0
        qdir = self._join(QUARANTINE_DIR)
        for directory, names in ((qdir, listdir(qdir)), (self.path, self._names())):
            for name in names:
                if not spool_name(name, quarantined=directory == qdir):
                    # Only names the spool format produces: not the uploader's lock (its holder
                    # re-checks consent), nor anything else that happens to be there.
                    continue
                path = os.path.join(directory, name)
                if unlink(path) and (directory == qdir or SUFFIX in name):
                    removed += 1
        for directory in (qdir, self.path):
            try:
                os.rmdir(directory)
            except OSError:
                pass
        return removed


def write(
    app: str,
    header: Mapping[str, object],
    records: Iterable[Mapping[str, object]],
    *,
    max_bytes: int = MAX_BYTES,
    max_age: float = MAX_AGE_S,
) -> str | None:
    """Spool one flush of `app` (see `Spool.write`); None when it could not be written. Never raises."""
    try:
        return Spool(app).write(header, records, max_bytes=max_bytes, max_age=max_age)
    except Exception as exc:
        log_failure("writing the spool", exc)
        return None


def describe(app: str) -> SpoolInfo:
    """`Spool(app).describe()`; an empty SpoolInfo when there is no usable cache dir."""
    try:
        return Spool(app).describe()
    except _fs.UnsafeDirectory as exc:
        return SpoolInfo("", problem=str(exc))
    except OSError:
        return SpoolInfo("(no cache directory)")


def delete_all(app: str) -> int:
    """Delete `app`'s spooled records (opt-out, reset, withdrawal); returns the files removed."""
    try:
        return Spool(app).delete_all()
    except OSError:
        return 0
