"""The delivery policy: when a host's run starts an uploader, by the age and size of what waits.

Documented in docs/guide.md#where-the-data-goes ("How late the data is"), with its worst-case delay.
"""

from __future__ import annotations

import os
import time

from optel.spool.names import created_ns, waiting
from optel.spool.writer import SpoolWriter

TYPE_CHECKING = False
if TYPE_CHECKING:
    from optel.spool.writer import Tally

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
    if isinstance(spool, str):
        spool = SpoolWriter(spool)
    if names is None:
        try:
            names = os.listdir(spool.path)
        except OSError:
            return False
    oldest = _oldest_waiting_ns(names)
    if oldest is None:
        return False
    return due(oldest, spool.waiting_bytes(), time.time_ns())


def leftovers_due(app: str, names: list[str] | None = None) -> bool:
    """init's gate for what earlier runs left (`names`: the spool directory's listing, when the
    caller has it): due (`delivery_due`) and the spool-wide backoff elapsed, the gates
    `start_uploader` applies. During an outage every run is due for hours: it then neither starts
    the init thread nor imports the launcher. With nothing due, the common case, it costs one small
    read (the tally) and loads only what the run's exit flush loads anyway."""
    spool = SpoolWriter(app)
    return delivery_due(spool, names) and spool.backoff_until() is None
