"""The spool's names: its format's schema, what each file is called, and the time and pid a name carries.

The layout is docs/spool-format.md#file-names: `<created ns>-<pid>-<8 hex>.jsonl` a flush waiting,
`.tmp` one being written, `.claimed.<pid>` one an uploader took, `.dropping.<pid>` one the bounds
drop, `quarantine/` corrupt ones, and the state files named below. Both sides import these: the
host's writer and init's look (`policy`), and the uploader's claims and `optel status`.
"""

from __future__ import annotations

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
