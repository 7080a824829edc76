"""The spool's file names: what each name stands for, and the times and pids the names carry.

Layout of `_paths.spool_dir(app)` (docs/internals.md §5):

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

SUFFIX = ".jsonl"
QUARANTINE_DIR = "quarantine"
CLAIMED = SUFFIX + ".claimed."
DROPPING = SUFFIX + ".dropping."
TMP = SUFFIX + ".tmp"
DROPPED = "dropped"
BACKOFF = "backoff"
TALLY = "tally"
LOCK_NAME = "uploader.lock"


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


def spool_name(name: str, *, quarantined: bool = False) -> bool:
    """Whether `name` is one the spool format produces (module docstring): all `delete_all` removes."""
    base, sep, tail = name.partition(SUFFIX)
    if sep and (created_ns(base) is None or writer_pid(base) == 0):
        return False
    if quarantined:
        return bool(sep)
    if name in (DROPPED, BACKOFF, BACKOFF + ".tmp", TALLY):
        return True
    if name.startswith(BACKOFF + "."):
        # A destination's backoff: `backoff.<16 hex digits>` (destination()), or its temporary file.
        part = name[len(BACKOFF) + 1 :]
        part = part[: -len(".tmp")] if part.endswith(".tmp") else part
        return len(part) == 16 and all(c in "0123456789abcdef" for c in part)
    if name.startswith((DROPPED + ".", TALLY + ".")):
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
