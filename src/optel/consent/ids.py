"""Random install ids and salts, UTC timestamps, and the deterministic sample by install id."""

from __future__ import annotations

import os
import time


def new_install_id() -> str:
    """A random uuid4 string, built from os.urandom (the uuid module costs ~15 ms to import)."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def new_salt() -> str:
    """32 random hex characters, used to hash project ids so they cannot be looked up."""
    return os.urandom(16).hex()


def utc_now() -> str:
    """The current time as UTC ISO 8601 with a Z, to the second (``2026-11-23T18:00:00Z``)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def in_sample(install_id: str, percent: float) -> bool:
    """Whether ``install_id`` falls inside ``percent`` of installs (deterministic: the formula of
    docs/contract.md#consent)."""
    if percent >= 100.0:
        return True
    if percent <= 0.0:
        return False
    import hashlib

    bucket = int(hashlib.sha256(install_id.encode("utf-8")).hexdigest()[:8], 16) / 2**32 * 100
    return bucket < percent
