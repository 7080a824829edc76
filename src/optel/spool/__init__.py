"""Leaving the host: spool files, the audit log, debug output, and starting the detached uploader.

Host-side (docs/internals.md#the-import-budget-of-the-host-side): this package imports only the
standard library's cheapest modules, and each name is imported on first use (PEP 562), so that a
host's run loads only the modules its path needs: writing a flush (``optel._flushes.deliver``) does
not load the uploader's claims or the spawn. Defined here, as both sides use them and every import
of a spool module loads this package anyway (each module costs a run ~0.1 ms): the spool's names
(its format's schema, what each file is called, the time and pid a name carries) and the delivery
policy (when a host's run starts an uploader, by the age and size of what waits, as the tally
keeps them; the backoff an uploader left). The uploader process uses `Spool`, its claims and
`uploader_lock`.
"""

from __future__ import annotations

import os
import time

from optel import _fs, _loader, _paths

TYPE_CHECKING = False
if TYPE_CHECKING:
    from optel.spool.claims import Claim
    from optel.spool.files import Spool, SpoolInfo, delete_all, describe, write
    from optel.spool.format import CorruptSpoolFile
    from optel.spool.launch import (
        UploaderLock,
        drain_leftovers,
        start_uploader,
        uploader_lock,
        uploader_running,
    )
    from optel.spool.process import DETACHED_FLAG
    from optel.spool.writer import MAX_AGE_S, MAX_BYTES, SpoolWriter, dumps

    # (checked ns, bytes, oldest ns or 0): the spool's size and oldest waiting flush as of a full
    # look at `checked`, plus the writes since.
    Tally = tuple[int, int, int]

# -- the spool's names (docs/spool-format.md#file-names) ---------------------------------------------
#
# `<created ns>-<pid>-<8 hex>.jsonl` a flush waiting, `.tmp` one being written, `.claimed.<pid>` one an
# uploader took, `.dropping.<pid>` one the bounds drop, `quarantine/` corrupt ones, and the state
# files named below. Both sides use them: the host's writer and init's look (below), and the
# uploader's claims and `optel status`.

# The version of a flush file's format, in its header (docs/spool-format.md#versioning).
SCHEMA = "optel.spool/1"
SUFFIX = ".jsonl"
QUARANTINE_DIR = "quarantine"
CLAIMED = SUFFIX + ".claimed."
DROPPING = SUFFIX + ".dropping."
TMP = SUFFIX + ".tmp"
DROPPED = "dropped"
BACKOFF = "backoff"
TALLY = "tally"
# `<install id> <version>`: the first version of the install that uploaded from this spool.
FIRST_VERSION = "first_version"
LOCK_NAME = "uploader.lock"
# `<16 hex> <32 hex>` lines: project ids by fingerprint, remembered by hosts (optel.record.project).
PROJECTS = "projects"


def waiting(name: str) -> bool:
    """Whether `name` is a flush waiting to be sent, claimed or not."""
    return name.endswith(SUFFIX) or CLAIMED in name


def created_ns(name: str) -> int | None:
    """The creation time a spool file's name carries, or None for a foreign name."""
    head = name.split("-", 1)[0]
    return int(head) if head.isdigit() else None


def name_pid(name: str, marker: str) -> int:
    tail = name.rpartition(marker)[2]
    return int(tail) if tail.isdigit() else 0


def lock_leftover_pid(name: str) -> int:
    # The launcher's private files: `uploader.lock.<pid>.<hex>.tmp` and `uploader.lock.stale.<pid>`.
    parts = name.split(".")
    for part in parts[2:4]:
        if part.isdigit():
            return int(part)
    return 0


def writer_pid(name: str) -> int:
    parts = name.split("-")
    return int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else 0


# -- the delivery policy: when a host's run starts an uploader ---------------------------------------
#
# By the age and size of what waits, as the tally keeps them; documented in
# docs/guide.md#where-the-data-goes ("How late the data is"), with its worst-case delay. The tally
# (docs/spool-format.md#state-files) is one small file: the spool's size and oldest flush as of the
# last full look, plus the writes since, kept by the writers (`writer`). init asks about what
# earlier runs left with no spool module loaded but this package: with nothing due, the common
# case, that is a listdir (the caller's) and one small read.

# The delivery policy (docs/guide.md#where-the-data-goes, "How late the data is"): an uploader
# imports the OpenTelemetry SDK and protobuf (~250-350 ms of CPU), far more than a run of a CLI
# costs, so a host starts one only when the spool's oldest waiting flush is this old, or when the
# spool holds this much; until then flushes wait on disk and later runs add theirs. `optel upload`
# always sends at once.
DELIVERY_INTERVAL_S = 4 * 3600.0
DUE_BYTES = 256 * 1024
# The worst-case age of data when it reaches a collector that is up, for a tool run at least every
# DELIVERY_INTERVAL_S: a flush waits until the oldest one waiting is DELIVERY_INTERVAL_S old, then
# for the next run. docs/guide.md#where-the-data-goes ("How late the data is") states it; a test
# holds the two together.
WORST_CASE_DELAY_S = 2 * DELIVERY_INTERVAL_S
# Seconds; 0 starts an uploader at every flush (the behaviour before the policy: tests, demos).
INTERVAL_ENV = "OPTEL_UPLOAD_INTERVAL"
# A flush stamped further ahead than this was written before the clock was set back: its age says
# nothing, and waiting for the clock to catch up could hold it for as long as the jump.
_FUTURE_NS = 24 * 3600 * 10**9


def delivery_interval() -> float:
    """The interval in force: `OPTEL_UPLOAD_INTERVAL` (seconds, >= 0) when it is a number, else the default."""
    text = os.environ.get(INTERVAL_ENV, "").strip()
    try:
        value = float(text) if text else DELIVERY_INTERVAL_S
    except ValueError:
        return DELIVERY_INTERVAL_S
    return value if 0.0 <= value < float("inf") else DELIVERY_INTERVAL_S


def due(oldest_ns: int | None, waiting_bytes: int, now_ns: int) -> bool:
    """The policy's one rule: the oldest waiting flush (None: none waits) is `delivery_interval()`
    old or stamped a day ahead (the clock went back), or what waits holds `DUE_BYTES`."""
    if oldest_ns is None:
        return False
    age = now_ns - oldest_ns
    if age >= delivery_interval() * 1e9 or age < -_FUTURE_NS:
        return True
    return waiting_bytes >= DUE_BYTES


def due_after_write(tally: Tally) -> bool:
    """Whether a host that just wrote a flush, leaving `tally`, should start an uploader: no
    look at the directory, so that a run with nothing due costs no more than its write."""
    return due(tally[2] or None, tally[1], time.time_ns())


def _oldest_waiting_ns(names: list[str]) -> int | None:
    stamps = [created_ns(name) for name in names if waiting(name)]
    known = [stamp for stamp in stamps if stamp is not None]
    if len(known) < len(stamps):
        return 0  # a flush with no readable time: as good as old
    return min(known) if known else None


def delivery_due(spool: SpoolWriter | str, names: list[str] | None = None) -> bool:
    """Whether the spool (or the spool of app `spool`) is due for delivery (`due`), its oldest
    waiting flush counting claimed ones. One listdir (skipped when the caller has the names) and
    at most one small read."""
    return _due_in(_paths.spool_dir(spool) if isinstance(spool, str) else spool.path, names)


def _due_in(path: str, names: list[str] | None) -> bool:
    if names is None:
        try:
            names = os.listdir(path)
        except OSError:
            return False
    oldest = _oldest_waiting_ns(names)
    if oldest is None:
        return False
    now = time.time_ns()
    return due(oldest, waiting_bytes(os.path.join(path, TALLY), now), now)


def leftovers_due(spool_dir: str, names: list[str]) -> bool:
    """init's look at what earlier runs left in `spool_dir` (`names`: its listing): whether it is
    due (`delivery_due`) and the spool-wide backoff has elapsed, the gates `start_uploader`
    applies. During an outage every run is due for hours: the backoff's one small read then
    spares it `optel._leftovers`, the spool's state and the launcher."""
    return _due_in(spool_dir, names) and not in_backoff(spool_dir)


# -- the backoff (written by the uploader: spool/state.py) -----------------------------------------

# The longest backoff optel sets: a server's Retry-After is obeyed up to a day.
RETRY_AFTER_CAP_S = 24 * 3600.0


def backoff_name(destination: str | None) -> str:
    """The backoff file of `destination` (`writer.destination`; None: the spool-wide one)."""
    return BACKOFF if destination is None else f"{BACKOFF}.{destination}"


def in_backoff(spool_dir: str, destination: str | None = None) -> bool:
    """Whether `destination`'s backoff (None: the spool-wide one) says to wait: one small read,
    nothing repaired (an uploader's `SpoolState` removes a backoff that cannot be right)."""
    backoff = backoff_of(read_words(os.path.join(spool_dir, backoff_name(destination))))
    return backoff is not None and sane_backoff(backoff) and backoff[0] > time.time()


def backoff_of(words: list[bytes] | None) -> tuple[float, int] | None:
    """(until, failures) from a backoff file's words, or None when there are none or they are not
    two numbers."""
    try:
        return float(words[0]), int(words[1])  # type: ignore[index]
    except (TypeError, IndexError, ValueError):
        return None


def sane_backoff(backoff: tuple[float, int]) -> bool:
    """Whether a backoff can be right. Never longer than the longest delay optel sets, so `nan`,
    `inf`, or an `until` further ahead (the clock was set back since it was written) is state to
    repair, not to obey: it would stop uploads for ever, or for as long as the jump."""
    until, failures = backoff
    return until == until and until - time.time() <= RETRY_AFTER_CAP_S + 60.0 and failures >= 0


# -- the tally ------------------------------------------------------------------------------------

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


def read_words(path: str) -> list[bytes] | None:
    """The words of the small state file `path`, or None. Anything there but a regular file (a
    FIFO, a symlink, a directory) is not what optel wrote: it is removed, so the state starts
    afresh instead of hanging or misleading every run."""
    try:
        return _fs.read_small(path, 200).split()
    except FileNotFoundError:
        return None
    except OSError:
        _remove_odd(path)
        return None


def _remove_odd(path: str) -> None:
    if not _fs.regular_or_missing(path):
        _fs.remove_odd(path)


def read_tally(path: str) -> Tally | None:
    """The tally in `path`, or None when there is none or it is not one (torn, negative)."""
    try:
        checked, total, oldest = (int(part) for part in read_words(path) or ())
    except ValueError:
        return None
    if min(checked, total, oldest) < 0:
        return None
    return checked, total, oldest


def trusted(tally: Tally | None, now_ns: int) -> bool:
    """Whether `tally` was checked within the last `TALLY_TRUSTED_S`."""
    return tally is not None and 0 <= now_ns - tally[0] <= TALLY_TRUSTED_S * 1e9


def waiting_bytes(path: str, now_ns: int) -> int:
    """The spool's size as its tally `path` says (0 when it is older than `TALLY_TRUSTED_S`): the
    delivery policy's size rule, without a `stat` of every file."""
    tally = read_tally(path)
    return tally[1] if tally is not None and trusted(tally, now_ns) else 0


def write_tally(path: str, checked_ns: int, total: int, oldest_ns: int) -> None:
    """Overwrite the tally in place: one fixed-width write, no temporary file and no rename.

    A rename over the old tally (or a truncation) makes ext4 write the file out at once
    (`auto_da_alloc`): ~0.15 ms of CPU and 1 ms of the host's exit. Two writers at once each
    write the whole record (a write within one page is not interleaved); a reader that still
    catches a mixed or empty tally finds it invalid and looks at the files instead.
    """
    line = f"{checked_ns} {total} {oldest_ns}".ljust(_TALLY_WIDTH - 1) + "\n"
    try:
        fd = os.open(path, _fs.WRITE_FLAGS, 0o600)
    except OSError:
        _remove_odd(path)
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


# Where each public name lives.
_WHERE = {
    "dumps": "writer",
    "MAX_AGE_S": "writer",
    "MAX_BYTES": "writer",
    "Claim": "claims",
    "Spool": "files",
    "SpoolInfo": "files",
    "delete_all": "files",
    "describe": "files",
    "write": "files",
    "CorruptSpoolFile": "format",
    "UploaderLock": "launch",
    "drain_leftovers": "launch",
    "start_uploader": "launch",
    "uploader_lock": "launch",
    "uploader_running": "launch",
    "DETACHED_FLAG": "process",
}

__all__ = [
    "Claim",
    "CorruptSpoolFile",
    "DETACHED_FLAG",
    "MAX_AGE_S",
    "MAX_BYTES",
    "SCHEMA",
    "Spool",
    "SpoolInfo",
    "UploaderLock",
    "delete_all",
    "delivery_due",
    "describe",
    "drain_leftovers",
    "dumps",
    "start_uploader",
    "uploader_lock",
    "uploader_running",
    "write",
]


def __getattr__(name: str) -> object:
    return _loader.lazy_attribute(__name__, globals(), _WHERE, name)
