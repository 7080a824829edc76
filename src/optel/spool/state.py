"""The spool's state files as the uploader keeps them: drop counts taken, backoff per destination, the first version noted.

What a host reads and writes at each flush (the tally, a drop count) is `spool.writer`'s; the
uploader, `optel status`, and a host once delivery is due use what is here. Each file is a few bytes,
written whole (a private temporary file and a rename, or one O_APPEND write), so that concurrent
hosts and uploaders never read a half-written state.
"""

from __future__ import annotations

import os
import time

from optel import _fs
from optel._fs import unlink, write_atomically
from optel.spool import (
    BACKOFF,
    DROPPED,
    FIRST_VERSION,
    RETRY_AFTER_CAP_S,
    TALLY,
    backoff_name,
    backoff_of,
    sane_backoff,
)
from optel.spool.disk import pid_alive
from optel.spool.writer import SpoolWriter

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

# A failed attempt costs the user's next runs an uploader each (~0.1-0.3 s of CPU) until the
# backoff outgrows the gap between runs: from 30 s, a 12-hour outage cost 11 failing uploaders in
# benchmarks/bench_total.py (runs every 14 min); from 15 min, about 6.
BACKOFF_BASE_S = 15 * 60.0
# As long as the delivery interval (policy.DELIVERY_INTERVAL_S): a collector down all day costs the
# hosts' runs a failing uploader (~250 ms of CPU) every few hours, not every hour.
BACKOFF_CAP_S = 4 * 3600.0


class SpoolState(SpoolWriter):
    """One app's spool directory and its state files, as uploaders (and `optel status`) keep them."""

    __slots__ = ()

    def first_version(self, install_id: str) -> str | None:
        """The first version noted for `install_id`, or None (none noted, or another install's)."""
        words = self._read_state(FIRST_VERSION)
        if not words or len(words) != 2 or words[0] != install_id.encode("ascii", "replace"):
            return None
        return words[1].decode("ascii", "replace")

    def note_first_version(self, install_id: str, version: str) -> None:
        """Note `version` as the first of `install_id` (replacing another install's). The state
        lives with the spool, not in the user's consent file, which only the user's choices
        change; deleting the spool (a reset, a withdrawal) forgets it with the install."""
        self._ensure_dir()
        write_atomically(
            self._join(FIRST_VERSION), f"{install_id} {version}\n".encode("ascii"), sync=False
        )

    def forget_tally(self) -> None:
        """Remove the tally (an uploader sent and deleted files): the next writer takes a full look."""
        unlink(self._join(TALLY))

    # -- drop counts ---------------------------------------------------------------------------

    def drop_counts(self) -> dict[str, int]:
        """Records dropped since the counts were last taken, by reason (read only)."""
        names = [
            n
            for n in self._names()
            if n == DROPPED or (n.startswith(DROPPED + ".") and n.endswith(".taking"))
        ]
        return sum_counts(self._join(n) for n in names)

    def take_drop_counts(self) -> dict[str, int]:
        """Read and reset the drop counts, for the dropped-records metric of the next upload."""
        me = os.getpid()
        mine: list[str] = []
        for name in self._names():
            if name == DROPPED:
                pass
            elif name.startswith(DROPPED + ".") and name.endswith(".taking"):
                owner = name[len(DROPPED) + 1 : -len(".taking")]
                if not owner.isdigit() or (pid_alive(int(owner)) and int(owner) != me):
                    continue
            else:
                continue
            target = self._join(f"{DROPPED}.{me}.{len(mine)}.taking")
            try:
                os.rename(self._join(name), target)
            except OSError:
                continue
            mine.append(target)
        counts = sum_counts(mine)
        for path in mine:
            unlink(path)
        return counts

    # -- backoff -------------------------------------------------------------------------------
    # Per destination (`backoff.<destination>`): a dead or refusing collector holds back only its
    # own files. The spool-wide `backoff` is what the uploader leaves when every file it kept waits
    # for a destination's backoff: nothing is due before then (the launcher's gate for leftovers).
    # A host reads it only once delivery is due (`optel._leftovers`, `optel._flushes.deliver`).

    def _backoff_name(self, destination: str | None) -> str:
        return backoff_name(destination)

    def _backoff_path(self, destination: str | None) -> str:
        return self._join(self._backoff_name(destination))

    def _read_backoff(self, destination: str | None = None) -> tuple[float, int] | None:
        """(until, failures), or None when there is no backoff; one that cannot be right
        (`policy.sane_backoff`) is removed, so that the next failure starts afresh."""
        backoff = backoff_of(self._read_state(self._backoff_name(destination)))
        if backoff is None:
            return None
        if not sane_backoff(backoff):
            unlink(self._backoff_path(destination))
            return None
        return backoff[0], min(backoff[1], 64)

    def backoff_until(self, destination: str | None = None) -> float | None:
        """When (epoch seconds) `destination` may be tried again (None: when anything in the
        spool is due), or None when it may be now."""
        state = self._read_backoff(destination)
        if state is None or state[0] <= time.time():
            return None
        return state[0]

    def failures(self, destination: str | None = None) -> int:
        """Upload attempts to `destination` (None: the spool-wide count) that failed in a row."""
        state = self._read_backoff(destination)
        return 0 if state is None else state[1]

    def record_failure(
        self, retry_after: float | None = None, destination: str | None = None
    ) -> float:
        """An upload failed (retryable): back off exponentially with jitter; returns the new `until`.

        The delay is 15 min doubled per failure in a row, capped at 4 hours, times a random factor
        in [0.5, 1); a server's `Retry-After` (capped at a day) is never undercut.
        """
        failures = self.failures(destination) + 1
        delay = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2.0 ** min(failures - 1, 20))
        jitter = int.from_bytes(os.urandom(2), "big") / 65536.0
        delay *= 0.5 + jitter / 2
        if retry_after is not None and retry_after > 0:
            delay = max(delay, min(float(retry_after), RETRY_AFTER_CAP_S))
        until = time.time() + delay
        self.set_backoff(until, failures, destination)
        return until

    def set_backoff(
        self, until: float | None, failures: int = 0, destination: str | None = None
    ) -> None:
        """Write (or with `until` None, remove) the backoff of `destination`, or the spool-wide one."""
        path = self._backoff_path(destination)
        if until is None:
            unlink(path)
            return
        try:
            self._ensure_dir()
            write_atomically(path, f"{until!r} {failures}\n".encode("ascii"), sync=False)
        except OSError:
            pass

    def record_success(self, destination: str | None = None) -> None:
        """An upload to `destination` went through: it may be tried at once. None: every backoff ends."""
        if destination is not None:
            unlink(self._backoff_path(destination))
            return
        for name in self._names():
            if name == BACKOFF or name.startswith(BACKOFF + "."):
                unlink(self._join(name))


def sum_counts(paths: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for path in paths:
        try:
            text = _fs.read_small(path, 1 << 20).decode("ascii", "replace")
        except OSError:
            continue
        for line in text.splitlines():
            reason, _, n = line.partition(" ")
            if reason and n.strip().isdigit():
                counts[reason] = counts.get(reason, 0) + int(n)
    return counts
