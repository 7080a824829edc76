"""Leaving the host: spool files, the audit log, debug output, and starting the detached uploader.

Host-side (docs/internals.md#the-import-budget-of-the-host-side): this package imports only the
standard library's cheapest modules, and each name is imported on first use (PEP 562), so that a
host's run loads only the modules its path needs: writing a flush (``optel._flushes.deliver``) does
not load the uploader's claims or the spawn. The spool's names (its format's schema, what each file
is called, the time and pid a name carries) are defined here: both sides use them, and every
import of a spool module loads this package anyway. The uploader process uses `Spool`, its claims
and `uploader_lock`.
"""

from __future__ import annotations

from optel import _loader

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
    from optel.spool.policy import delivery_due
    from optel.spool.process import DETACHED_FLAG
    from optel.spool.writer import MAX_AGE_S, MAX_BYTES, dumps

# -- the spool's names (docs/spool-format.md#file-names) ---------------------------------------------
#
# `<created ns>-<pid>-<8 hex>.jsonl` a flush waiting, `.tmp` one being written, `.claimed.<pid>` one an
# uploader took, `.dropping.<pid>` one the bounds drop, `quarantine/` corrupt ones, and the state
# files named below. Both sides use them: the host's writer and init's look (`policy`), and the
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
    "delivery_due": "policy",
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
