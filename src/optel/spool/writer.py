"""The host's side of the spool: one flush written atomically within the bounds, and the tally it updates.

All a run with telemetry on and nothing due loads at exit, with `output` and `policy`: the
uploader's state (`state`), bounds (`bounds`) and claims are not loaded by it. The size and age
bounds are applied as the flush is written, looking at every file (`look`) only when the tally
cannot vouch for them (`policy.TALLY_TRUSTED_S`).
"""

from __future__ import annotations

import os
import time

from optel import _fs, _paths
from optel.spool.disk import ensure_dir, regular_or_missing, remove_odd, write_atomically
from optel.spool.encode import encode_fitting
from optel.spool.names import DROPPED, SUFFIX, TALLY
from optel.spool.policy import read_tally, read_words, trusted, write_tally

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from optel.spool.policy import Tally

MAX_BYTES = 20 * 1024 * 1024
MAX_AGE_S = 14 * 24 * 3600.0


def _clean_reason(reason: str) -> str:
    kept = "".join(
        ch for ch in str(reason).lower() if ch.isascii() and (ch.isalnum() or ch in "._-")
    )
    return kept[:40] or "other"


class SpoolWriter:
    """One app's spool directory as a host writes to it: the flush, the tally, drop counts."""

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
        """The words of the small state file `name`, or None (`tally.read_words`)."""
        return read_words(self._join(name))

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
            or not trusted(tally, now)
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
        return read_tally(self._join(TALLY))

    def _write_tally(self, checked_ns: int, total: int, oldest_ns: int) -> None:
        write_tally(self._join(TALLY), checked_ns, total, oldest_ns)

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
