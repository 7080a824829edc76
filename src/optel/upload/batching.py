"""Batching: claimed spool files read and gathered into batches for one destination, then converted and sent.

A batch holds files of one destination, up to `CHUNK_SPANS` spans and `BATCH_RECORDS` records.
Its spans go in requests of at most `CHUNK_SPANS` span records, its metrics in one request; each
file's records are converted only when its consent lets it send (upload/consent.py), and straight
into OTLP messages (upload/convert.py, upload/metrics.py). `send` says how far the batch got, so
that a file whose spans went out is rewritten to hold only what did not.
"""

from __future__ import annotations

import time
from _collections_abc import Mapping  # collections.abc's, without importing collections

from optel import _logger

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

    from optel.spool.claims import Claim
    from optel.upload.export import Exporters, Outcome
    from optel.upload.otlp import FileResource, SpanRequest
    from optel.upload.uploader import Run


# Spans per OTLP request, and per batch of files: large enough that a usual flush goes in one
# request and a CLI's small flushes go by the hundred (a request costs as much as ~40 spans, and a
# file acked only after its requests succeeded is sent again after a failure), small enough to
# bound the uploader's memory and the request size (~1.5 MB).
CHUNK_SPANS = 4096
# Records (spans and measurements) of a batch held at once: the memory bound for files that hold
# more measurements than spans. A single file larger than that is still read whole, as before.
BATCH_RECORDS = 2 * CHUNK_SPANS
# Files per batch: bounds the rewrites after a failed metric request and the halving after a refusal.
BATCH_FILES = 512


class SpoolFile:
    """A claimed file, read: its records by kind and the export section that says where they go."""

    __slots__ = ("claim", "destination", "export", "header", "metrics", "spans")

    def __init__(self, claim: Claim, header: dict[str, Any], records: list[dict[str, Any]]) -> None:
        from optel.spool.writer import destination

        self.claim = claim
        self.header = header
        export = header.get("export")
        self.export: Mapping[str, Any] | None = export if isinstance(export, Mapping) else None
        self.destination = destination(self.export)  # files with the same one keep their order
        self.spans = [r for r in records if r.get("t") == "span"]
        self.metrics = [r for r in records if r.get("t") == "metric"]

    @property
    def size(self) -> int:
        return len(self.spans) + len(self.metrics)

    def keep_only(self, records: list[dict[str, Any]], *, rewrite: bool = True) -> None:
        """From now on the file holds only `records` (the rest reached the collector)."""
        self.spans = [r for r in records if r.get("t") == "span"]
        self.metrics = [r for r in records if r.get("t") == "metric"]
        self.claim.records = len(records)
        if rewrite:
            from optel._fs import write_atomically
            from optel.spool.writer import encode_file

            try:
                write_atomically(self.claim.path, encode_file(self.header, records))
            except OSError:
                _logger.debug("optel: could not rewrite %s; it will be sent whole again", self.claim.name, exc_info=True)  # fmt: skip


def read_file(run: Run, claim: Claim) -> SpoolFile | None:
    """The claimed file, read; None when it is corrupt (quarantined) or gone."""
    from optel.spool.format import CorruptSpoolFile

    try:
        header, records = claim.read()
    except CorruptSpoolFile as error:
        _logger.info("optel: quarantined %s: %s", claim.name, error)
        run.spool.quarantine(claim, "corrupt")
        run.summary.files_quarantined += 1
        return None
    except OSError:
        return None  # gone: the bounds or a reset took it
    from optel.upload.in_force import bring_down

    header, records = bring_down(header, records, run.in_force)
    from optel.upload.first_version import with_first_version

    return SpoolFile(
        claim, with_first_version(run.app, run.spool, header, run.first_versions), records
    )


def gather(run: Run, pending: list[Claim], carry: list[SpoolFile]) -> list[SpoolFile]:
    """The next batch: files for one endpoint, up to `CHUNK_SPANS` spans and `BATCH_RECORDS` records.

    A file that does not fit is left in `carry` for the next batch; a file bigger than a batch
    makes a batch alone (its spans go in several requests).
    """
    from optel.upload.outcome import RETRY, UNAVAILABLE

    batch: list[SpoolFile] = []
    spans = records = 0
    while len(batch) < BATCH_FILES:
        if carry:
            file = carry.pop()
        elif pending:
            claim = pending.pop()
            if run.failed and _failed_already(run, claim):
                continue
            read = read_file(run, claim)
            if read is None:
                continue
            if run.holds(read.destination):
                run.keep([read], due=False)  # after its destination's older files, in a later run
                continue
            if not batch:
                # Its destination is checked before more files are read: an offline run reads one.
                failed = unreachable([read], run.exporters, budget(run.deadline))
                if failed is not None and failed.kind in (RETRY, UNAVAILABLE):
                    run.fail([read], failed)
                    continue
            file = read
        else:
            break
        if batch and (
            file.export != batch[0].export
            or spans + len(file.spans) > CHUNK_SPANS
            or records + file.size > BATCH_RECORDS
        ):
            carry.append(file)
            break
        batch.append(file)
        spans += len(file.spans)
        records += file.size
    return batch


def _failed_already(run: Run, claim: Claim) -> bool:
    """Whether `claim` goes where this run failed to send already; then it is given back unread
    (its header alone read): an offline run does not parse the spool it keeps."""
    from optel.spool.format import CorruptSpoolFile
    from optel.spool.writer import destination

    try:
        export = claim.peek_export()
    except (CorruptSpoolFile, OSError):
        return False  # read in full, which says what is wrong with it
    if destination(export if isinstance(export, Mapping) else None) not in run.failed:
        return False
    run.keep_claims([claim], due=False)
    return True


def budget(deadline: float | None) -> float:
    """The time an export may take: what is left of the run. The destination's timeout (5 s, or
    the user's own at the user's endpoint) caps it in `Exporters`, so a longer one takes effect."""
    if deadline is None:
        return float("inf")
    return max(deadline - time.monotonic(), 0.0)


def send(
    files: list[SpoolFile],
    resources: list[FileResource],
    exporters: Exporters,
    deadline: float | None,
    invalid: list[int] | None = None,
) -> tuple[Outcome, int, int, list[list[dict[str, Any]] | None]]:
    """Convert and export a batch of files: its spans (in requests of `CHUNK_SPANS`), then its metrics.

    Returns (outcome, spans sent, metric points sent, records still to send per file): None for a
    file none of whose spans went out (it is kept as it is), else the records it has left.
    """
    from optel.upload.consent import file_consent, sending
    from optel.upload.outcome import SENT, Outcome

    export = files[0].export
    allowed = [sending(file_consent(file.header)) for file in files]
    failed = unreachable(files, exporters, budget(deadline), allowed)
    if failed is not None:
        return failed, 0, 0, [None] * len(files)
    spans = 0
    through = 0  # span records (counted over the batch) that went out or needed no request
    for request, end in _span_chunks(files, resources, allowed, invalid):
        if request.count:
            outcome = exporters.export_spans(request, export, budget(deadline))
            if outcome.kind != SENT:
                return outcome, spans, 0, _rests(files, through)
            spans += request.count
        through = end
    points = [0]
    groups = _batch_metrics(files, resources, allowed, invalid, points)
    if groups:
        outcome = exporters.export_metrics(groups, export, budget(deadline))
        if outcome.kind != SENT:
            return outcome, spans, 0, _rests(files, through)
    return Outcome(SENT), spans, points[0], [None] * len(files)


def unreachable(
    files: list[SpoolFile],
    exporters: Exporters,
    seconds: float,
    allowed: list[bool] | None = None,
) -> Outcome | None:
    """Why the files' destination cannot take what they may send now (`Exporters.check`: a
    connect, before anything heavy is imported), or None. `allowed`: which files may send."""
    if allowed is None:
        from optel.upload.consent import file_consent, sending

        allowed = [sending(file_consent(file.header)) for file in files]
    for signal, has in (("traces", "spans"), ("metrics", "metrics")):
        if any(getattr(f, has) for f, ok in zip(files, allowed) if ok):
            failed = exporters.check(signal, files[0].export, seconds)
            if failed is not None:
                return failed
    return None


def _span_chunks(
    files: list[SpoolFile],
    resources: list[FileResource],
    allowed: list[bool],
    invalid: list[int] | None = None,
) -> Iterator[tuple[SpanRequest, int]]:
    """The batch's spans in requests of at most `CHUNK_SPANS` span records, each with how many span
    records (counted over the batch) it covers up to.

    Records that are not valid spans are skipped and counted in ``invalid[0]``; the spans of a
    file that may not send are never converted.
    """
    from optel.upload.convert import InvalidRecord, span_from_record
    from optel.upload.otlp import SpanRequest

    request = SpanRequest()
    taken = start = 0
    for file, resource, ok in zip(files, resources, allowed):
        into = None
        for record in file.spans:
            taken += 1
            if ok:
                if into is None:
                    into = request.spans(resource)
                try:
                    span_from_record(record, into)
                    request.count += 1
                except InvalidRecord as error:
                    _logger.debug("optel: skipping a span record: %s", error)
                    if invalid is not None:
                        invalid[0] += 1
            if taken - start == CHUNK_SPANS:
                yield request, taken
                request, into, start = SpanRequest(), None, taken
    if taken > start:
        yield request, taken


def _batch_metrics(
    files: list[SpoolFile],
    resources: list[FileResource],
    allowed: list[bool],
    invalid: list[int] | None = None,
    points: list[int] | None = None,
) -> list[tuple[FileResource, list[bytes]]]:
    """The batch's measurements as encoded `Metric`s per resource (their data points counted in
    ``points[0]``).

    Files of the same resource aggregate together: their delta points add up, as they would
    have over one longer flush interval.
    """
    by_resource: dict[int, tuple[FileResource, list[dict[str, Any]]]] = {}
    for file, resource, ok in zip(files, resources, allowed):
        if file.metrics and ok:
            by_resource.setdefault(id(resource), (resource, []))[1].extend(file.metrics)
    if not by_resource:
        return []
    from optel.upload.metrics import metrics_from_records

    groups = []
    for resource, records in by_resource.values():
        metrics = metrics_from_records(records, skipped=invalid, points=points)
        if metrics:
            groups.append((resource, metrics))
    return groups


def _rests(files: list[SpoolFile], through: int) -> list[list[dict[str, Any]] | None]:
    """What each file has left once the batch's first `through` span records went out."""
    rests: list[list[dict[str, Any]] | None] = []
    start = 0
    for file in files:
        if through > start:
            rests.append(file.spans[through - start :] + file.metrics)
        else:
            rests.append(None)
        start += len(file.spans)
    return rests
