"""The spool's small state files: the tally of what waits, drop counts, and backoff per destination.

Each is a few bytes, written whole (a private temporary file and a rename, or one O_APPEND
write), so that concurrent hosts and uploaders never read a half-written state.
"""

from __future__ import annotations

import os
import time

from optel import _fs, _paths
from optel.spool.disk import (
    ensure_dir,
    pid_alive,
    regular_or_missing,
    remove_odd,
    sum_counts,
    unlink,
    write_atomically,
)
from optel.spool.format import BACKOFF, DROPPED, FIRST_VERSION, TALLY

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    # (checked ns, bytes, oldest ns or 0): the spool's size and oldest waiting flush as of a full
    # look at `checked`, plus the writes since (names.py).
    Tally = tuple[int, int, int]

# A failed attempt costs the user's next runs an uploader each (~0.1-0.3 s of CPU) until the
# backoff outgrows the gap between runs: from 30 s, a 12-hour outage cost 11 failing uploaders in
# benchmarks/bench_total.py (runs every 14 min); from 15 min, about 6.
BACKOFF_BASE_S = 15 * 60.0
# As long as the delivery interval (policy.DELIVERY_INTERVAL_S): a collector down all day costs the
# hosts' runs a failing uploader (~250 ms of CPU) every few hours, not every hour.
BACKOFF_CAP_S = 4 * 3600.0
RETRY_AFTER_CAP_S = 24 * 3600.0
# How long a writer trusts the tally instead of looking at every file (a stat each: ~70 ms for
# 20,000 files, on the host's exit path). Writes since are added to it, the age bound is checked
# against its oldest stamp and the size bound when a write comes near it, and every uploader that
# sent files removes it: so it is trusted across the gaps between a CLI's runs (a 10-minute trust
# made every run of a CLI used every quarter hour look at every file). A missed addition (two
# writers at once) is corrected at the next full look, at the latest this long after the last:
# longer than the backoff's cap, so an uploader's look usually comes first.
TALLY_TRUSTED_S = 6 * 3600.0
# The tally's fixed size: three numbers of up to 20 digits fit, padded with spaces.
_TALLY_WIDTH = 64


def _clean_reason(reason: str) -> str:
    kept = "".join(
        ch for ch in str(reason).lower() if ch.isascii() and (ch.isalnum() or ch in "._-")
    )
    return kept[:40] or "other"


class SpoolState:
    """One app's spool directory and its state files, as hosts and uploaders share them."""

    __slots__ = ("app", "path")

    def __init__(self, app: str, path: str | None = None) -> None:
        self.app = app
        self.path = path if path is not None else _paths.spool_dir(app)

    def __repr__(self) -> str:
        return f"Spool({self.path!r})"

    def _join(self, *names: str) -> str:
        return os.path.join(self.path, *names)

    def _names(self) -> list[str]:
        try:
            return sorted(os.listdir(self.path))
        except OSError:
            return []

    def _ensure_dir(self) -> None:
        ensure_dir(self.path)
        if self.app:
            # Created just now, perhaps: the app's dir above it must be checked again too, and
            # must not let other users rename the spool dir away (an umask of 000 made it so).
            _paths.check_spool_dir(self.path)
            _fs.tighten_dir(os.path.dirname(self.path), 0o022)

    def _read_state(self, name: str) -> list[bytes] | None:
        """The words of the small state file `name`, or None. Anything there but a regular file
        (a FIFO, a symlink, a directory) is not what optel wrote: it is removed, so the state
        starts afresh instead of hanging or misleading every run."""
        path = self._join(name)
        try:
            return _fs.read_small(path, 200).split()
        except FileNotFoundError:
            return None
        except OSError:
            if not regular_or_missing(path):
                remove_odd(path)
            return None

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

    def _read_tally(self) -> Tally | None:
        words = self._read_state(TALLY)
        try:
            checked, total, oldest = (int(part) for part in words or ())
        except ValueError:
            return None
        if min(checked, total, oldest) < 0:
            return None
        return checked, total, oldest

    def _write_tally(self, checked_ns: int, total: int, oldest_ns: int) -> None:
        """Overwrite the tally in place: one fixed-width write, no temporary file and no rename.

        A rename over the old tally (or a truncation) makes ext4 write the file out at once
        (`auto_da_alloc`): ~0.15 ms of CPU and 1 ms of the host's exit. Two writers at once each
        write the whole record (a write within one page is not interleaved); a reader that still
        catches a mixed or empty tally finds it invalid and looks at the files instead.
        """
        path = self._join(TALLY)
        line = f"{checked_ns} {total} {oldest_ns}".ljust(_TALLY_WIDTH - 1) + "\n"
        try:
            fd = os.open(path, _fs.WRITE_FLAGS, 0o600)
        except OSError:
            if not regular_or_missing(path):
                remove_odd(path)
            return
        try:
            st = os.fstat(fd)
            if not _fs.is_regular(st.st_mode):
                return
            os.write(fd, line.encode("ascii"))
            if st.st_size > _TALLY_WIDTH:
                os.ftruncate(fd, _TALLY_WIDTH)
        except OSError:
            pass
        finally:
            os.close(fd)

    def waiting_bytes(self) -> int:
        """The spool's size as the tally says (0 when it is older than `TALLY_TRUSTED_S`): the
        delivery policy's size rule, without a `stat` of every file."""
        tally = self._read_tally()
        if tally is None or not 0 <= time.time_ns() - tally[0] <= TALLY_TRUSTED_S * 1e9:
            return 0
        return tally[1]

    def forget_tally(self) -> None:
        """Remove the tally (an uploader sent and deleted files): the next writer takes a full look."""
        unlink(self._join(TALLY))

    # -- drop counts ---------------------------------------------------------------------------

    def add_drop_counts(self, counts: Mapping[str, int]) -> None:
        """Count dropped records by reason; also how an uploader puts back counts it failed to send."""
        text = "".join(
            f"{_clean_reason(reason)} {int(n)}\n" for reason, n in counts.items() if n > 0
        )
        if not text:
            return
        try:
            self._ensure_dir()
            # One O_APPEND write per call, so concurrent writers never interleave within a line.
            path = self._join(DROPPED)
            if not regular_or_missing(path):
                remove_odd(path)
            fd = os.open(path, _fs.WRITE_FLAGS | os.O_APPEND, 0o600)
            try:
                os.write(fd, text.encode("ascii"))
            finally:
                os.close(fd)
        except OSError:
            pass

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

    def _backoff_name(self, destination: str | None) -> str:
        return BACKOFF if destination is None else f"{BACKOFF}.{destination}"

    def _backoff_path(self, destination: str | None) -> str:
        return self._join(self._backoff_name(destination))

    def _read_backoff(self, destination: str | None = None) -> tuple[float, int] | None:
        """(until, failures), or None when there is no backoff or it cannot be right.

        A backoff is never longer than the longest delay optel sets (a day, a server's Retry-After),
        so `nan`, `inf`, or an `until` further ahead (the clock was set back since it was written)
        is state to repair, not to obey: it would stop uploads for ever, or for as long as the jump.
        """
        words = self._read_state(self._backoff_name(destination))
        try:
            until, failures = float(words[0]), int(words[1])  # type: ignore[index]
        except (TypeError, IndexError, ValueError):
            return None
        if not (
            until == until and until - time.time() <= RETRY_AFTER_CAP_S + 60.0 and failures >= 0
        ):
            unlink(self._backoff_path(destination))
            return None
        return until, min(failures, 64)

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
