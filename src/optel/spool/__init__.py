"""Leaving the host: spool files, the audit log, debug output, and starting the detached uploader.

Host-side (docs/internals.md#the-import-budget-of-the-host-side): this package imports only the
standard library's cheapest modules, and each name is imported on first use (PEP 562), so that a
host's run loads only the modules its path needs: writing a flush does not load the uploader's
claims or the spawn. The uploader process uses `Spool`, its claims and `uploader_lock`.
"""

from __future__ import annotations

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
    from optel.spool.names import SCHEMA
    from optel.spool.output import deliver
    from optel.spool.policy import delivery_due
    from optel.spool.process import DETACHED_FLAG
    from optel.spool.writer import MAX_AGE_S, MAX_BYTES, dumps

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
    "SCHEMA": "names",
    "CorruptSpoolFile": "format",
    "UploaderLock": "launch",
    "drain_leftovers": "launch",
    "start_uploader": "launch",
    "uploader_lock": "launch",
    "uploader_running": "launch",
    "deliver": "output",
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


def __getattr__(name: str) -> object:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'optel.spool' has no attribute {name!r}")
    import sys

    # __import__, not importlib: importing importlib would cost the host ~0.4 ms.
    __import__(f"optel.spool.{module}")
    value = getattr(sys.modules[f"optel.spool.{module}"], name)
    globals()[name] = value
    return value
