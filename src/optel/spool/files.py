"""The spool directory: flush files written atomically, its bounds, and the claim API of the uploader.

Layout of `_paths.spool_dir(app)` (docs/internals.md §5), every name owned by this module:

- `<time_ns>-<pid>-<8 hex>.jsonl`            a flush, ready to send
- `<name>.tmp`                               a flush being written (never read)
- `<name>.claimed.<pid>`                     a flush claimed by the uploader process `pid`
- `<name>.dropping.<pid>`                    a flush being dropped by the bounds (never read)
- `quarantine/<name>`                        a corrupt flush, kept for a human to look at (within the bounds)
- `dropped`, `dropped.<pid>.taking`          counts of records dropped, one `reason count` per line
- `backoff.<destination>`                    `<until epoch s> <failures>`: when a destination may be tried
- `backoff`                                  the same, spool-wide: nothing waiting is due before then
- `tally`                                    `<checked ns> <bytes> <oldest ns>`: the spool's size and
                                             oldest flush as of the last full look, plus writes since
- `uploader.lock`                            `<pid> <start ns> <token>` of the running uploader
"""

from __future__ import annotations

import os
import time

from optel import _fs, _paths
from optel.spool._encode import dumps

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any

SCHEMA = "optel.spool/1"
SUFFIX = ".jsonl"
MAX_BYTES = 20 * 1024 * 1024
MAX_AGE_S = 14 * 24 * 3600.0
QUARANTINE_DIR = "quarantine"
# A claim older than this is taken back even when its pid looks alive: the pid may have been reused.
CLAIM_STALE_S = 15 * 60.0
BACKOFF_BASE_S = 30.0
# As long as the delivery interval (launch.DELIVERY_INTERVAL_S): a collector down all day costs the
# hosts' runs a failing uploader (~250 ms of CPU) every few hours, not every hour.
BACKOFF_CAP_S = 4 * 3600.0
RETRY_AFTER_CAP_S = 24 * 3600.0

_CLAIMED = SUFFIX + ".claimed."
_DROPPING = SUFFIX + ".dropping."
_TMP = SUFFIX + ".tmp"
_DROPPED = "dropped"
_BACKOFF = "backoff"
_TALLY = "tally"
# How long a writer trusts the tally instead of looking at every file (a stat each: ~70 ms for
# 20,000 files, on the host's exit path). Writes since are added to it; a missed addition (two
# writers at once) is corrected at the next full look.
TALLY_TRUSTED_S = 600.0


class CorruptSpoolFile(ValueError):
    """A spool file that is truncated, not JSON lines, or not schema `optel.spool/1`."""


def pid_alive(pid: int) -> bool:
    """Whether process `pid` exists (on Windows: assumed, so that only the age rules apply)."""
    if pid <= 0:
        return False
    if os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    # A detached uploader's parent is init; in a container whose init never reaps (any program
    # run as PID 1), an uploader that was killed stays a zombie, which holds no lock or claim.
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read(512)
    except OSError:
        return False
    state = stat.rpartition(b")")[2][1:2]
    return state in (b"Z", b"X")


def ensure_dir(path: str) -> None:
    """Create the spool dir (and its parents) with mode 0700, tightening an existing one.

    Raises UnsafeDirectory (an OSError) when `path` is a symlink or another user's directory.
    """
    os.makedirs(path, 0o700, exist_ok=True)
    problem = _fs.dir_problem(path)
    if problem is not None:
        raise _fs.UnsafeDirectory(f"refusing {path}: it {problem}")
    _fs.tighten_dir(path, 0o077)


def encode_file(header: Mapping[str, object], records: Iterable[Mapping[str, object]]) -> bytes:
    """The bytes of one spool file: header line, one line per record, then the trailer."""
    return _join_lines(_header_line(header), [dumps(record) for record in records])


def _header_line(header: Mapping[str, object]) -> str:
    head = dict(header)
    head["schema"] = SCHEMA
    return dumps(head)


def _join_lines(head: str, lines: list[str]) -> bytes:
    return "\n".join([head, *lines, f'{{"t":"end","records":{len(lines)}}}', ""]).encode("ascii")


def encode_fitting(
    header: Mapping[str, object], records: Iterable[Mapping[str, object]], max_bytes: int
) -> tuple[bytes | None, int]:
    """The bytes of a spool file holding the newest of `records` that fit in `max_bytes` (None when
    not one does), and how many were left out. The newest come last (a run's command span ends after its children), and
    are the ones worth keeping: what happened at the end is what explains a run."""
    head = _header_line(header)
    lines = [dumps(record) for record in records]
    data = _join_lines(head, lines)
    if len(data) <= max_bytes:
        return data, 0
    # Header and a trailer counting 0 records; a larger count takes as many more bytes as digits.
    base = len(_join_lines(head, [])) - 1
    used = 0
    start = len(lines)
    while start > 0:
        more = used + len(lines[start - 1]) + 1
        if base + len(str(len(lines) - start + 1)) + more > max_bytes:
            break
        start -= 1
        used = more
    if start == len(lines):
        return None, start
    return _join_lines(head, lines[start:]), start


def destination(export: object) -> str:
    """A file name part that stands for where a flush goes: its header's `export` section, hashed
    (the section may hold a token). Files with the same one share ordering and backoff."""
    # 64-bit FNV-1a: no module to import on the host's exit path (~20 µs for a usual section); a
    # name, not a secret's protection (the spool files beside it hold the section itself).
    value = 0xCBF29CE484222325
    for byte in dumps(export if isinstance(export, dict) else None).encode("ascii"):
        value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{value:016x}"


def created_ns(name: str) -> int | None:
    """The creation time a spool file's name carries, or None for a foreign name."""
    head = name.split("-", 1)[0]
    return int(head) if head.isdigit() else None


def _name_pid(name: str, marker: str) -> int:
    tail = name.rpartition(marker)[2]
    return int(tail) if tail.isdigit() else 0


def count_records(path: str) -> int:
    """How many records a spool file holds: from its trailer, else by counting lines."""
    try:
        with os.fdopen(_fs.open_regular(path), "rb") as f:
            size = f.seek(0, 2)
            f.seek(max(0, size - 64))
            tail = f.read()
            at = tail.rfind(b'"records":')
            if at >= 0 and tail.endswith(b"}\n"):
                digits = tail[at + 10 : -2]
                if digits.isdigit():
                    return int(digits)
            f.seek(0)
            return max(0, f.read().count(b"\n") - 1)
    except OSError:
        return 0


def _clean_reason(reason: str) -> str:
    kept = "".join(
        ch for ch in str(reason).lower() if ch.isascii() and (ch.isalnum() or ch in "._-")
    )
    return kept[:40] or "other"


class SpoolInfo:
    """What `optel status` says about the spool."""

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

    def __str__(self) -> str:
        if self.problem is not None:
            return f"spool: refused, nothing is written or sent ({self.problem})"
        now = time.time_ns()
        if self.files:
            line = f"spool: {self.files} file{'s' if self.files != 1 else ''}, {_size(self.bytes)}"
            if self.oldest_ns is not None:
                line += f", oldest {_ago(now - self.oldest_ns)} ago"
        else:
            line = "spool: empty"
        lines = [line + f" ({self.path})"]
        if self.next_retry_ns is not None and self.next_retry_ns > now:
            lines.append(
                f"next upload attempt: in {_ago(self.next_retry_ns - now)}"
                f" (after {self.failures} failed attempt{'s' if self.failures != 1 else ''})"
            )
        if self.uploader_running:
            lines.append(f"uploader: running (pid {self.uploader_pid})")
        dropped = sum(self.dropped.values())
        if dropped:
            detail = ", ".join(f"{reason} {n}" for reason, n in sorted(self.dropped.items()))
            lines.append(f"dropped since the last upload: {dropped} records ({detail})")
        if self.quarantined:
            lines.append(f"quarantined (corrupt) files: {self.quarantined}")
        return "\n".join(lines)


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n / (1024 * 1024):.1f} MiB"


def _ago(ns: int) -> str:
    s = max(0, ns) / 1e9
    if s < 90:
        return f"{s:.0f} s"
    if s < 90 * 60:
        return f"{s / 60:.0f} min"
    if s < 36 * 3600:
        return f"{s / 3600:.0f} h"
    return f"{s / 86400:.0f} days"


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

    def read(self) -> tuple[dict[str, object], list[dict[str, object]]]:
        """(header, records); CorruptSpoolFile when truncated, invalid or not this user's, OSError when gone."""
        data = _read_own(self.path, self.name)
        if not data.endswith(b"\n"):
            raise CorruptSpoolFile(f"{self.name}: truncated (no final newline)")
        values = _parse_lines(data)
        if values is None:
            values = self._parse_lines_one_by_one(data)
        header, body = values[0], values[1:-1]
        if not isinstance(header, dict) or header.get("schema") != SCHEMA:
            raise CorruptSpoolFile(f"{self.name}: not a {SCHEMA} file")
        _check_export(self.name, header.get("export"))
        trailer = values[-1] if len(values) > 1 else None
        if not (isinstance(trailer, dict) and trailer.get("t") == "end"):
            raise CorruptSpoolFile(f"{self.name}: truncated (no trailer)")
        if trailer.get("records") != len(body):
            raise CorruptSpoolFile(
                f"{self.name}: trailer says {trailer.get('records')} records, found {len(body)}"
            )
        records: list[dict[str, object]] = []
        for record in body:
            if not (isinstance(record, dict) and record.get("t") in ("span", "metric")):
                raise CorruptSpoolFile(f"{self.name}: a line is neither a span nor a metric")
            records.append(record)
        self.records = len(records)
        return header, records

    def _parse_lines_one_by_one(self, data: bytes) -> list[object]:
        import json

        values: list[object] = []
        for number, line in enumerate(data[:-1].split(b"\n"), 1):
            try:
                values.append(json.loads(line))
            except ValueError as exc:
                raise CorruptSpoolFile(f"{self.name}: line {number} is not JSON ({exc})") from None
        return values


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


def _check_export(name: str, export: object) -> None:
    """The header's endpoint must be one `optel.init()` would accept (the one rule, in _settings)."""
    if export is None:
        return
    if not isinstance(export, dict):
        raise CorruptSpoolFile(f"{name}: the export section is not an object")
    endpoint = export.get("endpoint")
    if endpoint is None:
        return
    from optel._settings import endpoint_problem

    problem = endpoint_problem(endpoint, scheme_required=False)
    if problem is not None:
        raise CorruptSpoolFile(f"{name}: the endpoint {problem}")


def _parse_lines(data: bytes) -> list[object] | None:
    """Every line of `data` parsed as one JSON value, or None when any line is not exactly one.

    One scanner call per line instead of `json.loads` per line (a third of the uploader's reading
    time): no per-line decoding, encoding detection or whitespace skipping. It accepts a line only
    when the value starts at its first character and ends at its newline, so whatever it accepts
    `json.loads` reads the same way; anything else (whitespace around a value, a value spanning
    lines, a BOM, bad JSON) returns None and the caller parses line by line, for the exact error.
    """
    import json

    # The decoder's scanner (the C one): what json.loads calls after decoding and skipping whitespace.
    decoder: Any = json.JSONDecoder()
    try:
        text = data.decode("utf-8", "surrogatepass")
        scan = decoder.scan_once
        find = text.find
        values: list[object] = []
        append = values.append
        pos = 0
        size = len(text)
        while pos < size:
            newline = find("\n", pos)
            value, end = scan(text, pos)
            if end != newline:
                return None
            append(value)
            pos = newline + 1
    except (
        Exception
    ):  # StopIteration, JSONDecodeError, UnicodeDecodeError, RecursionError: the slow path says
        return None
    return values


class Spool:
    """One app's spool directory, as the writer (the host) and the uploader (another process) see it."""

    __slots__ = ("app", "path")

    def __init__(self, app: str, path: str | None = None) -> None:
        self.app = app
        self.path = path if path is not None else _paths.spool_dir(app)

    @classmethod
    def at(cls, path: str) -> Spool:
        """The spool in directory `path` (tests, tools)."""
        return cls("", path)

    def __repr__(self) -> str:
        return f"Spool({self.path!r})"

    def _join(self, *names: str) -> str:
        return os.path.join(self.path, *names)

    def _names(self) -> list[str]:
        try:
            return sorted(os.listdir(self.path))
        except OSError:
            return []

    # -- the host: writing -------------------------------------------------------------------

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
        data, left_out = encode_fitting(header, records, max_bytes)
        self._ensure_dir()
        now = time.time_ns()
        if left_out:
            # One flush over the bound alone: it keeps its newest records that fit, and counts the rest.
            self.add_drop_counts({"size": left_out})
        if data is None:
            return None
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
        self._write_tally(tally[0], tally[1] + len(data), tally[2] or now)
        return final

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
            if not _regular_or_missing(path):
                _remove_odd(path)
            return None

    def _read_tally(self) -> tuple[int, int, int] | None:
        words = self._read_state(_TALLY)
        try:
            checked, total, oldest = (int(part) for part in words or ())
        except ValueError:
            return None
        if min(checked, total, oldest) < 0:
            return None
        return checked, total, oldest

    def _write_tally(self, checked_ns: int, total: int, oldest_ns: int) -> None:
        # A temporary file of this process's own, so two writers at once never mix their lines.
        tmp = self._join(f"{_TALLY}.{os.getpid()}.tmp")
        try:
            fd = os.open(tmp, _fs.WRITE_FLAGS | os.O_TRUNC, 0o600)
            try:
                os.write(fd, f"{checked_ns} {total} {oldest_ns}\n".encode("ascii"))
            finally:
                os.close(fd)
            os.replace(tmp, self._join(_TALLY))
        except OSError:
            _unlink(tmp)
        except BaseException:
            # A KeyboardInterrupt mid-write: no temporary file outlives the attempt.
            _unlink(tmp)
            raise

    def waiting_bytes(self) -> int:
        """The spool's size as the tally says (0 when it is older than `TALLY_TRUSTED_S`): the
        delivery policy's size rule, without a `stat` of every file."""
        tally = self._read_tally()
        if tally is None or not 0 <= time.time_ns() - tally[0] <= TALLY_TRUSTED_S * 1e9:
            return 0
        return tally[1]

    def forget_tally(self) -> None:
        """Remove the tally (an uploader sent and deleted files): the next writer takes a full look."""
        _unlink(self._join(_TALLY))

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
                pid = _lock_leftover_pid(name)
                if pid and pid != os.getpid() and not pid_alive(pid):
                    _unlink(path)
                continue
            if name.startswith(_TALLY + ".") and name.endswith(".tmp"):
                pid = _name_pid(name[: -len(".tmp")], _TALLY + ".")
                if pid != os.getpid() and not pid_alive(pid):
                    _unlink(path)
                continue
            if name.endswith(_TMP) or _DROPPING in name:
                pid = _name_pid(name, _DROPPING) if _DROPPING in name else _writer_pid(name)
                if pid != os.getpid() and not pid_alive(pid):
                    _unlink(path)
                continue
            if name.endswith(SUFFIX):
                mine = True
            elif _CLAIMED in name:
                mine = not pid_alive(_name_pid(name, _CLAIMED))
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
        base = name.partition(_CLAIMED)[0]
        aside = self._join(f"{base}{_DROPPING}{os.getpid()}")
        try:
            os.rename(self._join(name), aside)
        except OSError:
            return None
        n = count_records(aside)
        _unlink(aside)
        return n

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
            elif _CLAIMED in name:
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
        _unlink(claim.path)

    def release(self, claim: Claim) -> None:
        """Sending failed in a way worth retrying: give the file back for a later run."""
        try:
            os.rename(claim.path, self._join(claim.name))
        except OSError:
            pass

    def drop(self, claim: Claim, reason: str) -> None:
        """The collector rejected the file for good (a 4xx): delete it and count its records."""
        n = claim.records if claim.records is not None else count_records(claim.path)
        _unlink(claim.path)
        self.add_drop_counts({reason: n})

    def quarantine(self, claim: Claim, reason: str) -> None:
        """The file is corrupt: move it to `quarantine/` (see `prune_quarantine`) and count it."""
        n = claim.records if claim.records is not None else count_records(claim.path)
        qdir = self._join(QUARANTINE_DIR)
        try:
            ensure_dir(qdir)
            os.replace(claim.path, os.path.join(qdir, claim.name))
        except OSError:
            _unlink(claim.path)
        self.prune_quarantine()
        self.add_drop_counts({reason: n})

    def prune_quarantine(self, *, max_bytes: int = MAX_BYTES, max_age: float = MAX_AGE_S) -> int:
        """Keep `quarantine/` within the spool's bounds; returns the files removed.

        A file recorded more than `max_age` ago goes (its records were counted as dropped when it
        was quarantined), then the oldest until the quarantine and the spool (as the tally last
        saw it) hold `max_bytes` together: what can still be sent comes first.
        """
        qdir = self._join(QUARANTINE_DIR)
        names = _listdir(qdir)
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
            removed += _unlink(os.path.join(qdir, name))
        return removed

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
            path = self._join(_DROPPED)
            if not _regular_or_missing(path):
                _remove_odd(path)
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
            if n == _DROPPED or (n.startswith(_DROPPED + ".") and n.endswith(".taking"))
        ]
        return _sum_counts(self._join(n) for n in names)

    def take_drop_counts(self) -> dict[str, int]:
        """Read and reset the drop counts, for the dropped-records metric of the next upload."""
        me = os.getpid()
        mine: list[str] = []
        for name in self._names():
            if name == _DROPPED:
                pass
            elif name.startswith(_DROPPED + ".") and name.endswith(".taking"):
                owner = name[len(_DROPPED) + 1 : -len(".taking")]
                if not owner.isdigit() or (pid_alive(int(owner)) and int(owner) != me):
                    continue
            else:
                continue
            target = self._join(f"{_DROPPED}.{me}.{len(mine)}.taking")
            try:
                os.rename(self._join(name), target)
            except OSError:
                continue
            mine.append(target)
        counts = _sum_counts(mine)
        for path in mine:
            _unlink(path)
        return counts

    # -- backoff -------------------------------------------------------------------------------
    # Per destination (`backoff.<destination>`): a dead or refusing collector holds back only its
    # own files. The spool-wide `backoff` is what the uploader leaves when every file it kept waits
    # for a destination's backoff: nothing is due before then (the launcher's gate for leftovers).

    def _backoff_name(self, destination: str | None) -> str:
        return _BACKOFF if destination is None else f"{_BACKOFF}.{destination}"

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
            _unlink(self._backoff_path(destination))
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

        The delay is 30 s doubled per failure in a row, capped at 4 hours, times a random factor
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
            _unlink(path)
            return
        try:
            self._ensure_dir()
            write_atomically(path, f"{until!r} {failures}\n".encode("ascii"), sync=False)
        except OSError:
            pass

    def record_success(self, destination: str | None = None) -> None:
        """An upload to `destination` went through: it may be tried at once. None: every backoff ends."""
        if destination is not None:
            _unlink(self._backoff_path(destination))
            return
        for name in self._names():
            if name == _BACKOFF or name.startswith(_BACKOFF + "."):
                _unlink(self._join(name))

    # -- status and removal --------------------------------------------------------------------

    def describe(self) -> SpoolInfo:
        """Files waiting, their size and age, the backoff, drop counts and the uploader, for `optel status`."""
        from optel.spool.launch import read_lock

        info = SpoolInfo(self.path)
        for name in self._names():
            if not (name.endswith(SUFFIX) or _CLAIMED in name):
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
        for directory, names in ((qdir, _listdir(qdir)), (self.path, self._names())):
            for name in names:
                if not spool_name(name, quarantined=directory == qdir):
                    # Only names the spool format produces: not the uploader's lock (its holder
                    # re-checks consent), nor anything else that happens to be there.
                    continue
                path = os.path.join(directory, name)
                if _unlink(path) and (directory == qdir or SUFFIX in name):
                    removed += 1
        for directory in (qdir, self.path):
            try:
                os.rmdir(directory)
            except OSError:
                pass
        return removed


def write_atomically(path: str, data: bytes, *, sync: bool = True) -> None:
    """Write `path` through `path.tmp` (mode 0600, fsynced) and a rename: readers see all or nothing."""
    tmp = path + ".tmp"
    try:
        fd = os.open(tmp, _fs.WRITE_FLAGS | os.O_TRUNC, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        # Also on KeyboardInterrupt: a half-written file must not outlive the attempt.
        _unlink(tmp)
        raise


def _lock_leftover_pid(name: str) -> int:
    # The launcher's private files: `uploader.lock.<pid>.<hex>.tmp` and `uploader.lock.stale.<pid>`.
    parts = name.split(".")
    for part in parts[2:4]:
        if part.isdigit():
            return int(part)
    return 0


def _writer_pid(name: str) -> int:
    parts = name.split("-")
    return int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else 0


def _unlink(path: str) -> bool:
    try:
        os.unlink(path)
    except OSError:
        return False
    return True


def _regular_or_missing(path: str) -> bool:
    try:
        return _fs.is_regular(os.lstat(path).st_mode)
    except OSError:
        return True


def _remove_odd(path: str) -> None:
    # Only ever inside the user's own spool dir (checked): a FIFO, symlink or empty directory
    # standing where a state file belongs.
    if not _unlink(path):
        try:
            os.rmdir(path)
        except OSError:
            pass


def spool_name(name: str, *, quarantined: bool = False) -> bool:
    """Whether `name` is one the spool format produces (module docstring): all `delete_all` removes."""
    base, sep, tail = name.partition(SUFFIX)
    if sep and (created_ns(base) is None or _writer_pid(base) == 0):
        return False
    if quarantined:
        return bool(sep)
    if name in (_DROPPED, _BACKOFF, _BACKOFF + ".tmp", _TALLY):
        return True
    if name.startswith(_BACKOFF + "."):
        # A destination's backoff: `backoff.<16 hex digits>` (destination()), or its temporary file.
        part = name[len(_BACKOFF) + 1 :]
        part = part[: -len(".tmp")] if part.endswith(".tmp") else part
        return len(part) == 16 and all(c in "0123456789abcdef" for c in part)
    if name.startswith((_DROPPED + ".", _TALLY + ".")):
        middle = name.split(".")[1:-1]
        return (
            name.endswith((".taking", ".tmp"))
            and bool(middle)
            and all(part.isdigit() for part in middle)
        )
    if not sep:
        return False
    tail = tail[: -len(".tmp")] if tail.endswith(".tmp") else tail
    return tail == "" or (
        tail.startswith((".claimed.", ".dropping.")) and tail.rpartition(".")[2].isdigit()
    )


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def _sum_counts(paths: Iterable[str]) -> dict[str, int]:
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
        from optel.spool.output import log_failure

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
