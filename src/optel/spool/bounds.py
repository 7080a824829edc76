"""Writing a flush into the spool within its bounds: size and age, the oldest dropped first.

A host writes one file per flush (docs/spool-format.md#lines-of-a-spool-file); the bounds are
applied as it writes, looking at every file only when the tally cannot vouch for them
(`TALLY_TRUSTED_S`).
"""

from __future__ import annotations

import os
import time

from optel.spool.disk import listdir, pid_alive, unlink, write_atomically
from optel.spool.format import (
    CLAIMED,
    DROPPING,
    QUARANTINE_DIR,
    SUFFIX,
    TALLY,
    TMP,
    count_records,
    created_ns,
    encode_fitting,
    lock_leftover_pid,
    name_pid,
    writer_pid,
)
from optel.spool.state import TALLY_TRUSTED_S, SpoolState

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from optel.spool.state import Tally

MAX_BYTES = 20 * 1024 * 1024
MAX_AGE_S = 14 * 24 * 3600.0


class SpoolBounds(SpoolState):
    """The spool as its writers see it: one file per flush, and the bounds kept as they write."""

    __slots__ = ()

    def write(
        self,
        header: Mapping[str, object],
        records: Iterable[Mapping[str, object]],
        *,
        max_bytes: int = MAX_BYTES,
        max_age: float = MAX_AGE_S,
    ) -> str | None:
        """Write one flush atomically, dropping the oldest files first to stay within the bounds.

        A flush larger than `max_bytes` alone keeps its newest records that fit (the others are
        counted as dropped); returns the new file's path, or None when not one record fits.
        Raises OSError when the directory cannot be written or is not safe to write in.
        """
        return self.write_tallied(header, records, max_bytes=max_bytes, max_age=max_age)[0]

    def write_tallied(
        self,
        header: Mapping[str, object],
        records: Iterable[Mapping[str, object]],
        *,
        max_bytes: int = MAX_BYTES,
        max_age: float = MAX_AGE_S,
    ) -> tuple[str | None, Tally | None]:
        """`write`, and the tally it left: what the delivery policy needs to know, without
        looking at the directory again (`policy.due`)."""
        data, left_out = encode_fitting(header, records, max_bytes)
        self._ensure_dir()
        now = time.time_ns()
        if left_out:
            # One flush over the bound alone: it keeps its newest records that fit, and counts the rest.
            self.add_drop_counts({"size": left_out})
        if data is None:
            return None, None
        tally = self._read_tally()
        if (
            tally is None
            or not 0 <= now - tally[0] <= TALLY_TRUSTED_S * 1e9
            or tally[1] + len(data) > max_bytes
            or (tally[2] and tally[2] < now - int(max_age * 1e9))
        ):
            _, total, oldest = self._look(len(data), max_bytes, max_age, now)
            tally = (now, total, oldest)
        final = self._join(f"{now}-{os.getpid()}-{os.urandom(4).hex()}{SUFFIX}")
        write_atomically(final, data)
        tally = (tally[0], tally[1] + len(data), tally[2] or now)
        self._write_tally(*tally)
        return final, tally

    def drop_expired(self, max_age: float = MAX_AGE_S) -> dict[str, int]:
        """Apply the age bound alone, looking at the files only when the tally cannot vouch that
        none is too old. For runs that write nothing (consent off): data waits 14 days at most."""
        now = time.time_ns()
        tally = self._read_tally()
        if (
            tally is not None
            and 0 <= now - tally[0] <= TALLY_TRUSTED_S * 1e9
            and not (tally[2] and tally[2] < now - int(max_age * 1e9))
        ):
            return {}
        return self.enforce_bounds(max_bytes=1 << 62, max_age=max_age, now_ns=now)

    def enforce_bounds(
        self,
        *,
        incoming: int = 0,
        max_bytes: int = MAX_BYTES,
        max_age: float = MAX_AGE_S,
        now_ns: int | None = None,
    ) -> dict[str, int]:
        """Drop files older than `max_age`, then the oldest until `incoming` more bytes fit.

        Claimed files count towards the size but only those of dead claimers are dropped; stale
        temporary files of dead writers are removed. Returns the records dropped by reason, and
        leaves the tally that lets the next writers skip this look.
        """
        now = time.time_ns() if now_ns is None else now_ns
        dropped, total, oldest = self._look(incoming, max_bytes, max_age, now)
        self._write_tally(now, total, oldest)
        return dropped

    def _look(
        self, incoming: int, max_bytes: int, max_age: float, now: int
    ) -> tuple[dict[str, int], int, int]:
        """enforce_bounds() without the tally: (records dropped by reason, bytes kept, oldest kept or 0)."""
        oldest_kept = now - int(max_age * 1e9)
        total = 0
        droppable: list[tuple[int, str, int]] = []
        for name in self._names():
            path = self._join(name)
            if name.startswith("uploader.lock."):
                pid = lock_leftover_pid(name)
                if pid and pid != os.getpid() and not pid_alive(pid):
                    unlink(path)
                continue
            if name.startswith(TALLY + ".") and name.endswith(".tmp"):
                pid = name_pid(name[: -len(".tmp")], TALLY + ".")
                if pid != os.getpid() and not pid_alive(pid):
                    unlink(path)
                continue
            if name.endswith(TMP) or DROPPING in name:
                pid = name_pid(name, DROPPING) if DROPPING in name else writer_pid(name)
                if pid != os.getpid() and not pid_alive(pid):
                    unlink(path)
                continue
            if name.endswith(SUFFIX):
                mine = True
            elif CLAIMED in name:
                mine = not pid_alive(name_pid(name, CLAIMED))
            else:
                continue
            try:
                size = os.lstat(path).st_size
            except OSError:
                continue
            total += size
            if mine:
                droppable.append((created_ns(name) or 0, name, size))
        droppable.sort()
        dropped: dict[str, int] = {}
        kept_from = len(droppable)
        for i, (created, name, size) in enumerate(droppable):
            if created < oldest_kept:
                reason = "age"
            elif total + incoming > max_bytes:
                reason = "size"
            else:
                kept_from = i
                break
            total -= size
            n = self._take_and_delete(name)
            if n is not None:
                dropped[reason] = dropped.get(reason, 0) + n
        if dropped:
            self.add_drop_counts(dropped)
        # Claimed files of live uploaders are not in `droppable`: the oldest ignores them, which
        # is right, since they are being sent.
        oldest = droppable[kept_from][0] if kept_from < len(droppable) else 0
        return dropped, total, oldest

    def _take_and_delete(self, name: str) -> int | None:
        # Renamed first, so that an uploader claiming it at the same moment gets it or we do.
        base = name.partition(CLAIMED)[0]
        aside = self._join(f"{base}{DROPPING}{os.getpid()}")
        try:
            os.rename(self._join(name), aside)
        except OSError:
            return None
        n = count_records(aside)
        unlink(aside)
        return n

    def prune_quarantine(self, *, max_bytes: int = MAX_BYTES, max_age: float = MAX_AGE_S) -> int:
        """Keep `quarantine/` within the spool's bounds; returns the files removed.

        A file recorded more than `max_age` ago goes (its records were counted as dropped when it
        was quarantined), then the oldest until the quarantine and the spool (as the tally last
        saw it) hold `max_bytes` together: what can still be sent comes first.
        """
        qdir = self._join(QUARANTINE_DIR)
        names = listdir(qdir)
        if not names:
            return 0
        now = time.time_ns()
        files: list[tuple[int, str, int]] = []
        for name in names:
            try:
                st = os.lstat(os.path.join(qdir, name))
            except OSError:
                continue
            files.append((created_ns(name) or st.st_mtime_ns, name, st.st_size))
        files.sort()
        tally = self._read_tally()
        total = sum(size for _, _, size in files) + (tally[1] if tally is not None else 0)
        removed = 0
        for created, name, size in files:
            if created >= now - int(max_age * 1e9) and total <= max_bytes:
                break
            total -= size
            removed += unlink(os.path.join(qdir, name))
        return removed
