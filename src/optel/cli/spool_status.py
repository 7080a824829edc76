"""The spool's part of `optel status`: what waits, the next attempt, the uploader, and what was dropped."""

from __future__ import annotations

import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from optel.spool.files import SpoolInfo


def spool_status(app: str) -> str:
    """The spool lines of `optel status` for `app`; never raises (an error is part of the text)."""
    try:
        from optel.spool.files import describe

        info = describe(app)
    except Exception as exc:
        return f"spool: unknown ({type(exc).__name__}: {exc})"
    return format_spool(info)


def format_spool(info: SpoolInfo, now_ns: int | None = None) -> str:
    """`info` as `optel status` prints it: one line of files, size and age, then what applies."""
    if info.problem is not None:
        return f"spool: refused, nothing is written or sent ({info.problem})"
    now = time.time_ns() if now_ns is None else now_ns
    if info.files:
        line = f"spool: {info.files} file{_s(info.files)}, {_size(info.bytes)}"
        if info.oldest_ns is not None:
            line += f", oldest {_ago(now - info.oldest_ns)} ago"
    else:
        line = "spool: empty"
    lines = [line + f" ({info.path})"]
    if info.next_retry_ns is not None and info.next_retry_ns > now:
        lines.append(
            f"next upload attempt: in {_ago(info.next_retry_ns - now)}"
            f" (after {info.failures} failed attempt{_s(info.failures)})"
        )
    if info.uploader_running:
        lines.append(f"uploader: running (pid {info.uploader_pid})")
    dropped = sum(info.dropped.values())
    if dropped:
        detail = ", ".join(f"{reason} {n}" for reason, n in sorted(info.dropped.items()))
        lines.append(f"dropped since the last upload: {dropped} records ({detail})")
    if info.quarantined:
        lines.append(f"quarantined (corrupt) files: {info.quarantined}")
    return "\n".join(lines)


def _s(n: int) -> str:
    return "s" if n != 1 else ""


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
