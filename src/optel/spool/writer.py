"""The host's side of the spool: one flush written atomically, the tally it updates, the backoff it checks.

All a run with telemetry on needs at init (is what earlier runs left due? `policy`) and at exit
(write the flush, is an uploader due?): the uploader's state (`state`), bounds (`bounds`) and
claims are not loaded by it. The size and age bounds are applied as the flush is written, looking
at every file (`look`) only when the tally cannot vouch for them (`TALLY_TRUSTED_S`).
"""

from __future__ import annotations

import os
import time

from optel import _fs, _paths
from optel.spool.disk import ensure_dir, regular_or_missing, remove_odd, unlink, write_atomically
from optel.spool.encode import encode_fitting
from optel.spool.names import BACKOFF, DROPPED, SUFFIX, TALLY

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    # (checked ns, bytes, oldest ns or 0): the spool's size and oldest waiting flush as of a full
    # look at `checked`, plus the writes since.
    Tally = tuple[int, int, int]

MAX_BYTES = 20 * 1024 * 1024
MAX_AGE_S = 14 * 24 * 3600.0
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


class SpoolWriter:
    """One app's spool directory as a host writes to it: the flush, the tally, drop counts, backoff reads."""

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

    # -- the flush -----------------------------------------------------------------------------

    def write_tallied(
        self,
        header: Mapping[str, object],
        records: Iterable[Mapping[str, object]],
        *,
        max_bytes: int = MAX_BYTES,
        max_age: float = MAX_AGE_S,
    ) -> tuple[str | None, Tally | None]:
        """Write one flush atomically, dropping the oldest files first to stay within the bounds;
        returns its path (None when not one record fits) and the tally it left: what the delivery
        policy needs to know without looking at the directory again (`policy.due_after_write`).

        A flush larger than `max_bytes` alone keeps its newest records that fit (the others are
        counted as dropped). Raises OSError when the directory cannot be written or is not safe.
        """
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
            from optel.spool.look import look

            _, total, oldest = look(self, len(data), max_bytes, max_age, now)
            tally = (now, total, oldest)
        final = self._join(f"{now}-{os.getpid()}-{os.urandom(4).hex()}{SUFFIX}")
        write_atomically(final, data)
        tally = (tally[0], tally[1] + len(data), tally[2] or now)
        self._write_tally(*tally)
        return final, tally

    # -- the tally -----------------------------------------------------------------------------

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

    # -- backoff, as a writer reads it -----------------------------------------------------------
    # Per destination (`backoff.<destination>`): a dead or refusing collector holds back only its
    # own files. The spool-wide `backoff` is what the uploader leaves when every file it kept waits
    # for a destination's backoff: nothing is due before then (the launcher's gate for leftovers).
    # Written by the uploader (`state`).

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
