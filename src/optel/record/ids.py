"""Span and trace ids, drawn from pools of random hex strings.

``os.urandom`` fills a pool with one system call per 256 span ids, or 256 trace ids.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

_ZERO_ID = "0" * 16
# Span ids (64 bits); trace ids come from their own pool (128 bits, neither half all zeros), so
# that a root span draws one id instead of two. SpanHandle pops from both directly.
span_ids: list[str] = []
trace_ids: list[str] = []


def _refill(pool: list[str], nbytes: int, keep: Callable[[str], bool]) -> None:
    # hex() with a separator every `nbytes` bytes, then split(): 256 ids made in C, a few µs in all.
    text = os.urandom(256 * nbytes).hex(" ", nbytes)
    fresh = text.split(" ")
    if _ZERO_ID in text:  # one search of the text, instead of one per id
        fresh = [i for i in fresh if keep(i)]
    pool.extend(fresh)


def new_trace_id() -> str:
    """A random 128-bit trace id as 32 lower-case hex digits (neither half all zeros)."""
    while True:
        try:
            return trace_ids.pop()
        except IndexError:
            _refill(
                trace_ids, 16, lambda t: not t.startswith(_ZERO_ID) and not t.endswith(_ZERO_ID)
            )


def new_id() -> str:
    """A random 64-bit id as 16 lower-case hex digits (never all zeros)."""
    while True:
        try:
            return span_ids.pop()
        except IndexError:
            _refill(span_ids, 8, lambda i: i != _ZERO_ID)


def forget() -> None:
    """Drop the pools (a forked child must not reuse its parent's ids)."""
    del span_ids[:]
    del trace_ids[:]
