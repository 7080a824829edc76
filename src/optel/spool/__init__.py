"""Leaving the host: spool files, the audit log, debug output, and starting the detached uploader.

Host-side (docs/internals.md §1): this package imports only the standard library's cheapest
modules at import time. The uploader process uses `Spool`, its claims and `uploader_lock`.
"""

from __future__ import annotations

from optel.spool._encode import dumps
from optel.spool.bounds import MAX_AGE_S, MAX_BYTES
from optel.spool.claims import Claim
from optel.spool.files import Spool, SpoolInfo, delete_all, describe, write
from optel.spool.format import SCHEMA, CorruptSpoolFile
from optel.spool.launch import (
    UploaderLock,
    drain_leftovers,
    start_uploader,
    uploader_lock,
    uploader_running,
)
from optel.spool.output import deliver
from optel.spool.policy import delivery_due
from optel.spool.process import DETACHED_FLAG

__all__ = [
    "DETACHED_FLAG",
    "MAX_AGE_S",
    "MAX_BYTES",
    "SCHEMA",
    "Claim",
    "CorruptSpoolFile",
    "Spool",
    "SpoolInfo",
    "UploaderLock",
    "delete_all",
    "deliver",
    "delivery_due",
    "describe",
    "drain_leftovers",
    "dumps",
    "start_uploader",
    "uploader_lock",
    "uploader_running",
    "write",
]
