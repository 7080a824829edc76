"""The full look at the spool: every file's size and age, the bounds applied, the oldest dropped first.

Taken when the tally cannot vouch for the files (a host's writer, rarely: `TALLY_TRUSTED_S`),
when an uploader starts, and when a run with consent off expires old data (`bounds`).
"""

from __future__ import annotations

import os

from optel._fs import unlink
from optel.spool import (
    CLAIMED,
    DROPPING,
    SUFFIX,
    TALLY,
    TMP,
    created_ns,
    lock_leftover_pid,
    name_pid,
    writer_pid,
)
from optel.spool.disk import pid_alive
from optel.spool.format import count_records

TYPE_CHECKING = False
if TYPE_CHECKING:
    from optel.spool.writer import SpoolWriter


def look(
    spool: SpoolWriter, incoming: int, max_bytes: int, max_age: float, now: int
) -> tuple[dict[str, int], int, int]:
    """Drop files older than `max_age`, then the oldest until `incoming` more bytes fit; returns
    (records dropped by reason, bytes kept, oldest kept or 0). The tally is the caller's to write.

    Claimed files count towards the size but only those of dead claimers are dropped; stale
    temporary files of dead writers are removed.
    """
    oldest_kept = now - int(max_age * 1e9)
    total = 0
    droppable: list[tuple[int, str, int]] = []
    for name in spool._names():
        mine = _mine(spool, name)
        if mine is None:
            continue
        try:
            size = os.lstat(spool._join(name)).st_size
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
        n = _take_and_delete(spool, name)
        if n is not None:
            dropped[reason] = dropped.get(reason, 0) + n
    if dropped:
        spool.add_drop_counts(dropped)
    # Claimed files of live uploaders are not in `droppable`: the oldest ignores them, which
    # is right, since they are being sent.
    oldest = droppable[kept_from][0] if kept_from < len(droppable) else 0
    return dropped, total, oldest


def _mine(spool: SpoolWriter, name: str) -> bool | None:
    """Whether `name` is a flush this process may drop (False: a live uploader's claim; None:
    not a flush at all). Leftovers of dead writers and launchers are removed on the way."""
    if name.startswith("uploader.lock."):
        pid = lock_leftover_pid(name)
        if pid and pid != os.getpid() and not pid_alive(pid):
            unlink(spool._join(name))
        return None
    if name.startswith(TALLY + ".") and name.endswith(".tmp"):
        pid = name_pid(name[: -len(".tmp")], TALLY + ".")
        if pid != os.getpid() and not pid_alive(pid):
            unlink(spool._join(name))
        return None
    if name.endswith(TMP) or DROPPING in name:
        pid = name_pid(name, DROPPING) if DROPPING in name else writer_pid(name)
        if pid != os.getpid() and not pid_alive(pid):
            unlink(spool._join(name))
        return None
    if name.endswith(SUFFIX):
        return True
    if CLAIMED in name:
        return not pid_alive(name_pid(name, CLAIMED))
    return None


def _take_and_delete(spool: SpoolWriter, name: str) -> int | None:
    # Renamed first, so that an uploader claiming it at the same moment gets it or we do.
    base = name.partition(CLAIMED)[0]
    aside = spool._join(f"{base}{DROPPING}{os.getpid()}")
    try:
        os.rename(spool._join(name), aside)
    except OSError:
        return None
    n = count_records(aside)
    unlink(aside)
    return n
