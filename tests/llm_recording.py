"""Helpers shared by the tests of the LLM client instrumentors (the real SDKs against tests/fake_llm_api.py)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import optel
import optel.testing
from fake_llm_api import PROMPT_TEXT, RESPONSE_TEXT


@contextlib.contextmanager
def ended_spans(instrument: str | None = None) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Records as a flush cleans them: yields a function that returns the spans ended since it
    was last called. With ``instrument``, that instrumentor is on inside the block."""
    if instrument is not None:
        optel.instrument(instrument)
    try:
        with optel.testing.capture() as records:
            seen = [0]

            def ended() -> list[dict[str, Any]]:
                fresh, seen[0] = records[seen[0] :], len(records)
                return [r for r in fresh if r["t"] == "span"]

            yield ended
    finally:
        if instrument is not None:
            optel.uninstrument(instrument)


def assert_no_text(records: object) -> None:
    """Neither the prompt nor the response the fake API sends appears anywhere in `records`."""
    dump = json.dumps(records)
    assert PROMPT_TEXT not in dump and RESPONSE_TEXT not in dump


def streamed_facts(span: dict[str, Any]) -> dict[str, Any]:
    """A streamed call's span attributes without the two that only streams carry, after checking
    them: ``gen_ai.request.stream`` is true, and the time to first chunk (seconds) lies within
    the span."""
    attributes = dict(span["attributes"])
    assert attributes.pop("gen_ai.request.stream") is True
    first_chunk = attributes.pop("gen_ai.response.time_to_first_chunk")
    assert isinstance(first_chunk, float)
    assert 0 <= first_chunk <= (span["end_ns"] - span["start_ns"]) / 1e9
    return attributes


def forget_provider_errors() -> None:
    """Forget every failed LLM call's error that optel.record.provider_errors remembered (tests
    that run many hosts in one process)."""
    from optel.record import provider_errors as remembered

    remembered.active = remembered.strict = False
    remembered._chars = 0
    for state in (
        remembered._exceptions,
        remembered._pending,
        remembered._texts,
        remembered._pieces,
        remembered._checked,
    ):
        state.clear()
