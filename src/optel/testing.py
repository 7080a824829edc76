"""Helpers for host apps' own tests: ``capture()`` and a pytest plugin that keeps telemetry off.

``with optel.testing.capture() as records:`` collects, as spool dicts, the records the block
produces (cleaned exactly as a real flush cleans them), with or without ``optel.init()``,
writing and sending nothing.

The pytest plugin (entry point ``optel``, or ``-p optel.testing``) only offers fixtures; it
changes nothing in a test that does not ask for one (optel is often installed as a dependency
of a dependency, and a test suite that never heard of it keeps its environment):

- ``optel_off``: telemetry off (``OPTEL_TESTING=1``, inherited by subprocesses the test starts:
  ``optel.init()`` then decides off as for ``--no-telemetry``, without prompting or writing), XDG
  config and cache dirs in a temporary directory, and any ``optel.init()`` the test made
  forgotten after it. A suite that wants it everywhere says so in its conftest.py:
  ``pytestmark``/``usefixtures("optel_off")``, or an autouse fixture that requests it.
- ``optel_records``: the records the test produces, a live list as from ``capture()``.

``OPTEL_TESTING=1`` set by hand (in CI, say) turns telemetry off in the same way, and does
nothing else.
"""

from __future__ import annotations

import contextlib
import os

from optel import _runtime
from optel.record import spans as _spans
from optel.record.clean import Scrubber, scrubber
from optel.record.flush import to_dicts

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Collection, Iterator

    import pytest

    from optel.record.flush import Record
    from optel.record.spans import Measurement, SpanHandle

__all__ = ["capture", "optel_off", "optel_records"]


class _Sink(list):  # type: ignore[type-arg]
    """Stands in for the record buffer during a capture: each record is cleaned as it arrives.

    It stores nothing itself, so a flush running meanwhile finds nothing to take.
    """

    def __init__(self, out: list[Record], host: Collection[str], scrub: Scrubber) -> None:
        super().__init__()
        self._out = out
        self._host = host
        self._scrub = scrub

    def append(self, record: SpanHandle | Measurement) -> None:
        self._out.extend(to_dicts([record], host_attributes=self._host, scrub=self._scrub))


@contextlib.contextmanager
def capture(attributes: Collection[str] | None = None) -> Iterator[list[Record]]:
    """Yield a list that fills with the records (spool dicts) the block produces.

    Nothing is written, printed or sent. Recording is on inside the block even without
    ``optel.init()`` or with consent off. ``attributes`` adds host attribute names to keep (by
    default those of ``init(attributes=...)``, if init was called).
    """
    telemetry = _runtime.current()
    if attributes is None:
        attributes = telemetry.settings.attributes if telemetry is not None else frozenset()
    records: list[Record] = []
    previous_buffer, previous_on = _spans._buffer, _spans._on
    _spans._buffer = _Sink(records, frozenset(attributes), scrubber())
    _spans._on = True
    _patches_waiting_for_recording()
    try:
        yield records
    finally:
        _spans._buffer = previous_buffer
        _spans._on = previous_on


def _patches_waiting_for_recording() -> None:
    import sys

    instrumentation = sys.modules.get("optel.instrumentation")
    if instrumentation is not None:
        instrumentation.recording_started()


# --- the pytest plugin -----------------------------------------------------------------------

try:
    import pytest as _pytest
except ImportError:  # pragma: no cover - the module is also imported outside pytest
    _pytest = None  # type: ignore[assignment]

if _pytest is not None:

    @_pytest.fixture
    def optel_off(
        tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
    ) -> Iterator[None]:
        """Telemetry off, XDG config/cache dirs in tmp, init() forgotten after the test."""
        base = tmp_path_factory.mktemp("optel-xdg")
        monkeypatch.setenv(_runtime.TESTING_ENV, "1")
        monkeypatch.setenv("XDG_CONFIG_HOME", os.fspath(base / "config"))
        monkeypatch.setenv("XDG_CACHE_HOME", os.fspath(base / "cache"))
        before = _runtime.current()
        try:
            yield
        finally:
            if _runtime.current() is not before:
                _runtime.reset()
                _runtime._telemetry = before

    @_pytest.fixture
    def optel_records() -> Iterator[list[Record]]:
        """The records (spool dicts) the test produces, cleaned as a real flush would."""
        with capture() as records:
            yield records

else:  # pragma: no cover

    def optel_off() -> Iterator[None]:
        """Only meaningful as a pytest fixture."""
        yield

    def optel_records() -> Iterator[list[Record]]:
        """Only meaningful as a pytest fixture."""
        with capture() as records:
            yield records
