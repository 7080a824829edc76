"""Producing records in the host: spans, measurements, the session summary and the data dictionary.

Submodules load on demand: ``spans`` is the hot path, ``api`` holds the decorators (built by
``wrappers``, ``shapes`` and ``llm_wrap``), ``genai`` reads LLM responses, ``dictionary`` declares
every signal, ``flush`` turns records into spool dicts (``clean`` cleans them) and ``resource``
gathers the machine facts at flush time.

The package itself holds the span and trace ids, drawn from pools of random hex strings:
``os.urandom`` fills a pool with one system call, 16 ids the first time (a command-line run records
a handful of spans), four times as many each next time, up to 256. ``optel.record.spans`` keeps
its own pools (popped inline for every span) and calls ``new_id``/``new_trace_id`` to fill them:
a run that records nothing draws no id. They are here rather than in a module of their own, as
every run loads this package anyway (each module costs a run ~0.1 ms,
docs/internals.md#the-import-budget-of-the-host-side).
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


# How many ids the next refill of each pool makes, by id size in bytes.
_next_count = {8: 16, 16: 16}


def _refill(pool: list[str], nbytes: int, keep: Callable[[str], bool]) -> None:
    # hex() with a separator every `nbytes` bytes, then split(): the ids made in C, a few µs in all.
    count = _next_count[nbytes]
    _next_count[nbytes] = min(count * 4, 256)
    text = os.urandom(count * nbytes).hex(" ", nbytes)
    fresh = text.split(" ")
    if _ZERO_ID in text:  # one search of the text, instead of one per id
        fresh = [i for i in fresh if keep(i)]
    pool.extend(fresh)


def new_trace_id(pool: list[str] = trace_ids) -> str:
    """A random 128-bit trace id as 32 lower-case hex digits (neither half all zeros), from ``pool``."""
    while True:
        try:
            return pool.pop()
        except IndexError:
            _refill(pool, 16, lambda t: not t.startswith(_ZERO_ID) and not t.endswith(_ZERO_ID))


def new_id(pool: list[str] = span_ids) -> str:
    """A random 64-bit id as 16 lower-case hex digits (never all zeros), from ``pool``."""
    while True:
        try:
            return pool.pop()
        except IndexError:
            _refill(pool, 8, lambda i: i != _ZERO_ID)


def forget() -> None:
    """Drop the pools (a forked child must not reuse its parent's ids)."""
    del span_ids[:]
    del trace_ids[:]


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=forget)
