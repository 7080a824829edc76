"""The uploader's claims: each waiting flush is taken by exactly one uploader, then acked,
released, dropped or quarantined."""

from __future__ import annotations

import os
import time

from optel import _fs
from optel._fs import ensure_dir, unlink
from optel.spool import CLAIMED, QUARANTINE_DIR, SUFFIX, created_ns
from optel.spool.bounds import SpoolBounds
from optel.spool.disk import pid_alive
from optel.spool.format import CorruptSpoolFile, count_records, parse_flush, parse_header
from optel.spool.writer import MAX_BYTES

# A claim older than this is taken back even when its pid looks alive: the pid may have been reused.
CLAIM_STALE_S = 15 * 60.0


class Claim:
    """One spool file that this process has claimed: read it, then ack, release, drop or quarantine it."""

    __slots__ = ("name", "path", "records")

    def __init__(self, name: str, path: str) -> None:
        self.name = name
        self.path = path
        self.records: int | None = None

    def __repr__(self) -> str:
        return f"Claim({self.name!r})"

    @property
    def created_ns(self) -> int | None:
        return created_ns(self.name)

    def peek_export(self) -> object:
        """The header's `export` section (where the file goes), its records left unread;
        CorruptSpoolFile or OSError as `read`."""
        return parse_header(_read_own(self.path, self.name), self.name).get("export")

    def read(self) -> tuple[dict[str, object], list[dict[str, object]]]:
        """(header, records); CorruptSpoolFile when truncated, invalid or not this user's, OSError when gone."""
        header, records = parse_flush(_read_own(self.path, self.name), self.name)
        self.records = len(records)
        return header, records


# A flush is at most MAX_BYTES unless a caller gave `write` a larger bound: room for that, not for anything.
MAX_READ_BYTES = 4 * MAX_BYTES


def _read_own(path: str, name: str) -> bytes:
    """A claimed file's bytes, when it is a regular file this user wrote (as the writer leaves it: 0600).

    The spool dir is the user's own (mode 0700), so anything else was planted there or copied in
    with other rights: it must never decide where data goes. A symlink, FIFO or device is refused
    without blocking; OSError only when the file is gone.
    """
    try:
        fd = _fs.open_regular(path)
    except (_fs.NotRegularFile, IsADirectoryError) as exc:
        raise CorruptSpoolFile(f"{name}: not a regular file") from exc
    except OSError as exc:
        if _fs.NOFOLLOW and os.path.islink(path):
            raise CorruptSpoolFile(f"{name}: a symbolic link") from exc
        raise
    try:
        if not _fs.written_by_me(os.fstat(fd)):
            raise CorruptSpoolFile(f"{name}: not written by this user (owner or mode)")
        data = _fs.read_fd(fd, MAX_READ_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_READ_BYTES:
        raise CorruptSpoolFile(f"{name}: larger than {MAX_READ_BYTES} bytes")
    return data


class SpoolClaims(SpoolBounds):
    """The spool as an uploader sees it: files to claim, and what becomes of each claim."""

    __slots__ = ()

    # -- the uploader: claiming ----------------------------------------------------------------

    def files(self) -> list[str]:
        """Names of the files ready to send (unclaimed), oldest first."""
        return [name for name in self._names() if name.endswith(SUFFIX)]

    def claim(self, limit: int | None = None) -> list[Claim]:
        """Claim up to `limit` files, oldest first; each file is claimed by exactly one process.

        Files claimed by a process that died (or more than 15 minutes ago) are claimed again.
        """
        me = os.getpid()
        claims: list[Claim] = []
        now = time.time()
        for name in self._names():
            if limit is not None and len(claims) >= limit:
                break
            if name.endswith(SUFFIX):
                base = name
            elif CLAIMED in name:
                base, _, owner = name.rpartition(".claimed.")
                if not owner.isdigit() or int(owner) == me:
                    continue
                if pid_alive(int(owner)):
                    try:
                        if now - os.lstat(self._join(name)).st_mtime < CLAIM_STALE_S:
                            continue
                    except OSError:
                        continue
            else:
                continue
            target = self._join(f"{base}.claimed.{me}")
            try:
                os.rename(self._join(name), target)
            except OSError:
                continue
            try:
                # The claim's age starts now (used by the staleness rule above); a symlink planted
                # under a spool name is touched itself, never what it points to.
                os.utime(target, follow_symlinks=os.utime not in os.supports_follow_symlinks)
            except OSError:
                pass
            claims.append(Claim(base, target))
        return claims

    def ack(self, claim: Claim) -> None:
        """The collector acknowledged the file: delete it."""
        unlink(claim.path)

    def release(self, claim: Claim) -> None:
        """Sending failed in a way worth retrying: give the file back for a later run."""
        try:
            os.rename(claim.path, self._join(claim.name))
        except OSError:
            pass

    def drop(self, claim: Claim, reason: str) -> None:
        """The collector rejected the file for good (a 4xx): delete it and count its records."""
        n = claim.records if claim.records is not None else count_records(claim.path)
        unlink(claim.path)
        self.add_drop_counts({reason: n})

    def quarantine(self, claim: Claim, reason: str) -> None:
        """The file is corrupt: move it to `quarantine/` (see `prune_quarantine`) and count it."""
        n = claim.records if claim.records is not None else count_records(claim.path)
        qdir = self._join(QUARANTINE_DIR)
        try:
            ensure_dir(qdir)
            os.replace(claim.path, os.path.join(qdir, claim.name))
        except OSError:
            unlink(claim.path)
        self.prune_quarantine()
        self.add_drop_counts({reason: n})
