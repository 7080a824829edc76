"""OTLP export of built requests: where each goes (`Destination`), over HTTP (protobuf or JSON) or gRPC, and what came of it.

Where each signal goes, and with what headers and settings, is decided by `optel._endpoints.resolve`
(the app's settings, or the user's own, never a mix). This module applies what the destination
asks of the data (the user's trace sampler ratio, resource attributes, cumulative temporality),
builds the request (upload/otlp.py) and sends it: HTTP through an `ObservingSession`
(upload/http.py: one attempt, a total deadline, the destination's headers and certificates only),
gRPC through a `GrpcTarget` (upload/grpc_call.py). Before the first request to a destination of a
run, a cheap connect (upload/reach.py) says whether the collector is there at all: when it is
not, nothing heavy is imported and the run keeps its files as a failed request would.
"""

from __future__ import annotations

import sys
import time

from optel import _logger
from optel._endpoints import DEFAULT_TIMEOUT, GRPC, HTTP_JSON, Destination, resolve
from optel.upload.outcome import (
    GRPC_KEEP,
    INVALID,
    MISCONFIGURED,
    REJECTED,
    RETRY,
    SENT,
    UNAVAILABLE,
    Outcome,
    classify,
    classify_grpc,
)  # fmt: skip

__all__ = [
    "DEFAULT_TIMEOUT", "GRPC_KEEP", "INVALID", "MISCONFIGURED", "REJECTED", "RETRY", "SENT",
    "UNAVAILABLE", "Exporters", "Outcome", "classify", "classify_grpc",
]  # fmt: skip


MIN_TIMEOUT = 0.2
_silence_sdk = False  # set by the detached uploader (silence_sdk_loggers)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from types import TracebackType
    from typing import Any

    Groups = list[tuple[Any, list[Any]]]  # (FileResource, spans or metrics of it)


class QuietSdk:
    """grpc's own log records of a failed call stay off the terminal: optel never prints.

    Only once grpc is imported (a gRPC target made before the block): an HTTP or offline run
    does not import `logging` for it. A class, not `contextlib.contextmanager`: `contextlib` costs
    an uploader run ~13 M instructions.
    """

    __slots__ = ("_before", "_logger")

    def __enter__(self) -> None:
        self._logger: Any = None
        if "grpc" not in sys.modules:
            return
        import logging

        self._logger = logging.getLogger("grpc")
        self._before = self._logger.propagate
        self._logger.propagate = False

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._logger is not None:
            self._logger.propagate = self._before


def silence_sdk_loggers() -> None:
    """Detached mode: nothing of the `opentelemetry` and `grpc` loggers goes anywhere.

    Applied when the run first makes a gRPC target (the one part that imports what logs through
    them), so that an HTTP run, one with nothing to send, or an offline one never imports `logging`.
    """
    global _silence_sdk
    _silence_sdk = True


def _silence_now() -> None:
    global _silence_sdk
    import logging

    _silence_sdk = False
    for name in ("opentelemetry", "grpc"):
        logger = logging.getLogger(name)
        logger.addHandler(logging.NullHandler())
        logger.propagate = False


class _HttpTarget:
    """OTLP/HTTP to one destination: the request serialised (protobuf, or OTLP/JSON) and posted."""

    def __init__(self, destination: Destination, session: Any) -> None:
        self._url = destination.url
        self._json = destination.protocol == HTTP_JSON
        self._compression = destination.compression
        self._timeout = destination.timeout
        self.session = session

    def send(self, request: Any, budget: float, destination: Destination) -> Outcome:
        from optel.upload.http import Reconnect, Stop

        if self._json:
            from optel.upload.otlp_json import encode

            body = encode(request.message())
        else:
            body = request.data  # the protobuf body as upload/wire.py wrote it: no protobuf import
        if self._compression == "gzip":
            import gzip

            body = gzip.compress(body)
        elif self._compression == "deflate":
            import zlib

            body = zlib.compress(body)
        session = self.session
        session.begin(budget, destination)
        for _ in range(2):
            try:
                session.post(self._url, data=body, timeout=self._timeout)
                return Outcome(SENT, session.status)
            except Reconnect:
                continue  # the session lets the first one through: a stale kept-alive connection, once
            except Stop:
                break  # the session kept what happened (status, Retry-After, error)
        return classify(session.status, session.error, session.retry_after)

    def close(self) -> None:
        """Nothing of its own: the run closes the session."""


class Exporters:
    """The destinations of one upload run and their connections, reused from request to request."""

    def __init__(self, environ: Mapping[str, str], state_dir: str | None = None) -> None:
        self._environ = environ
        # Where a cumulative preference keeps its running totals (the spool directory; None: delta only).
        self._state_dir = state_dir
        self._totals: dict[str, Any] = {}
        self._targets: dict[tuple[Any, ...], Any] = {}
        self._checked: dict[tuple[Any, ...], Outcome | None] = {}
        self._reached: dict[tuple[str, int] | None, OSError | None] = {}
        self._said: set[str] = set()  # each problem with the user's settings is logged once a run
        # One session for every HTTP destination of the run: requests go one at a time, and the
        # spans and metrics of a file then share one keep-alive connection.
        self._session: Any = None

    def destination(self, signal: str, export: Mapping[str, Any] | None) -> Destination:
        """Where `signal` of a file with this header `export` section goes, and with what."""
        destination = resolve(signal, export, self._environ)
        for note in destination.notes:
            if note not in self._said:
                self._said.add(note)
                _logger.logger().warning("optel: %s", note)
        return destination

    def describe(self, signal: str, export: Mapping[str, Any] | None) -> str:
        """Where `signal` goes for a file with this header `export` section (for messages)."""
        return self.destination(signal, export).url

    def check(self, signal: str, export: Mapping[str, Any] | None, budget: float) -> Outcome | None:
        """Why `signal` cannot be sent now, found before anything is imported or encoded; None: go on.

        Once per destination and run: the grpc extra is missing, or the collector (or its proxy)
        does not take a connection.
        """
        destination = self.destination(signal, export)
        if not destination.exporting or destination.ratio <= 0.0:
            return None  # nothing will be sent there: no connect either
        key = destination.key()
        if key in self._checked or key in self._targets:
            return self._checked.get(key)
        outcome: Outcome | None = None
        if destination.protocol == GRPC:
            from optel.upload import grpc_call

            if not grpc_call.available():
                _logger.logger().error("optel: %s", grpc_call.NEEDS_EXTRA)
                outcome = Outcome(UNAVAILABLE, None, None, grpc_call.NEEDS_EXTRA)
        if outcome is None:
            from optel.upload.reach import first_hop, unreachable

            # One connect per address and run: traces and metrics usually share a collector.
            hop = first_hop(destination.url)
            if hop not in self._reached:
                self._reached[hop] = unreachable(hop, min(budget, destination.timeout))
            error = self._reached[hop]
            if error is not None and destination.protocol == GRPC:
                outcome = classify_grpc("UNAVAILABLE", f"failed to connect: {error}", None)
            elif error is not None:
                outcome = classify(None, ConnectionError(f"cannot connect: {error}"), None)
        self._checked[key] = outcome
        return outcome

    def export_spans(
        self, request: Any, export: Mapping[str, Any] | None, budget: float
    ) -> Outcome:
        """Send a `SpanRequest` (upload/otlp.py); at most `budget` seconds."""
        until = time.monotonic() + max(budget, MIN_TIMEOUT)
        destination = self.destination("traces", export)
        if not destination.exporting:
            return Outcome(SENT)  # OTEL_TRACES_EXPORTER=none at the user's endpoint: sent nowhere
        keeps = destination.keeps if destination.ratio < 1.0 else None
        message = request.finish(destination.resource, keeps)
        if not message.data:
            return Outcome(SENT)  # the user's sampler kept none of these traces
        failed = self.check("traces", export, budget)
        if failed is not None:
            return failed
        return self._send(destination, message, until)

    def export_metrics(
        self, groups: Groups, export: Mapping[str, Any] | None, budget: float
    ) -> Outcome:
        """Send metrics (encoded `Metric`s per `FileResource`) in one request; at most `budget` seconds."""
        until = time.monotonic() + max(budget, MIN_TIMEOUT)
        destination = self.destination("metrics", export)
        if not destination.exporting:
            return Outcome(SENT)
        failed = self.check("metrics", export, budget)
        if failed is not None:
            return failed
        from optel.upload.otlp import metrics_request

        request = metrics_request(groups, destination.resource)
        totals = self._cumulative(destination)
        if totals is not None:
            request = totals.cumulative(request)
        outcome = self._send(destination, request, until)
        if totals is not None and outcome.kind == SENT:
            totals.commit()
        return outcome

    def _send(self, destination: Destination, request: Any, until: float) -> Outcome:
        target = self._target(destination)
        if isinstance(target, Outcome):
            return target
        budget = min(max(until - time.monotonic(), MIN_TIMEOUT), destination.timeout)
        with QuietSdk():
            try:
                outcome: Outcome = target.send(request, budget, destination)
                return outcome
            except Exception as error:  # anything unforeseen keeps the files
                _logger.debug("optel: the export raised", exc_info=True)
                return Outcome(RETRY, None, None, f"{type(error).__name__}: {error}")

    def _target(self, destination: Destination) -> Any:
        key = destination.key()
        target = self._targets.get(key)
        if target is not None:
            return target
        if destination.protocol == GRPC:
            if _silence_sdk:
                _silence_now()  # only grpc logs through them: an HTTP run never imports `logging`
            from optel.upload.grpc_call import GrpcTarget

            try:
                target = GrpcTarget(destination)
            except ImportError:
                from optel.upload.grpc_call import NEEDS_EXTRA

                _logger.logger().error("optel: %s", NEEDS_EXTRA)
                return Outcome(UNAVAILABLE, None, None, NEEDS_EXTRA)
            except Exception as error:
                # A TLS setting that cannot be loaded, say: a configuration that can be fixed, so keep.
                _logger.debug("optel: could not open the gRPC channel", exc_info=True)
                return Outcome(RETRY, None, None, f"gRPC channel to {destination.url}: {type(error).__name__}: {error}")  # fmt: skip
        else:
            if self._session is None:
                from optel.upload.http import ObservingSession

                self._session = ObservingSession()
            target = _HttpTarget(destination, self._session)
        self._targets[key] = target
        return target

    def _cumulative(self, destination: Destination) -> Any:
        """The running totals of a user's endpoint that prefers cumulative metrics (upload/temporality.py)."""
        if destination.temporality != "cumulative" or not self._state_dir:
            return None
        found = self._totals.get(destination.url)
        if found is None:
            from optel.upload.temporality import Totals, state_file

            found = self._totals[destination.url] = Totals(
                state_file(self._state_dir, destination.url)
            )
        return found

    def close(self) -> None:
        """Close every connection of the run (gRPC channels included)."""
        with QuietSdk():
            for target in self._targets.values():
                target.close()
            if self._session is not None:
                self._session.close()
        self._targets.clear()
