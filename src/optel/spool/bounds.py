"""The spool's bounds as the uploader and a run with consent off apply them: size and age, the quarantine's too.

A host's writer keeps the bounds as it writes (`SpoolWriter.write_tallied`); this adds the full
look an uploader takes when it starts, the age bound alone for runs that write nothing, and the
quarantine's pruning.
"""

from __future__ import annotations

import os
import time

from optel._fs import unlink
from optel.spool import QUARANTINE_DIR, created_ns, trusted
from optel.spool.disk import listdir
from optel.spool.look import look
from optel.spool.state import SpoolState
from optel.spool.writer import MAX_AGE_S, MAX_BYTES

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping


class SpoolBounds(SpoolState):
    """The spool as its writers and uploaders keep it within its bounds."""

    __slots__ = ()

    def write(
        self,
        header: Mapping[str, object],
        records: Iterable[Mapping[str, object]],
        *,
        max_bytes: int = MAX_BYTES,
        max_age: float = MAX_AGE_S,
    ) -> str | None:
        """Write one flush (`write_tallied`); returns the new file's path, or None when not one
        record fits. Raises OSError when the directory cannot be written or is not safe to write in.
        """
        return self.write_tallied(header, records, max_bytes=max_bytes, max_age=max_age)[0]

    def drop_expired(self, max_age: float = MAX_AGE_S) -> dict[str, int]:
        """Apply the age bound alone, looking at the files only when the tally cannot vouch that
        none is too old. For runs that write nothing (consent off): data waits 14 days at most."""
        now = time.time_ns()
        tally = self._read_tally()
        if (
            tally is not None
            and trusted(tally, now)
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
        """Drop files older than `max_age`, then the oldest until `incoming` more bytes fit (`look`).

        Returns the records dropped by reason, and leaves the tally that lets the next writers
        skip this look.
        """
        now = time.time_ns() if now_ns is None else now_ns
        dropped, total, oldest = look(self, incoming, max_bytes, max_age, now)
        self._write_tally(now, total, oldest)
        return dropped

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
