"""The uploader's run: drains an app's spool into OTLP, one file at a time, under the consent of now.

`upload(app)` is what `python -m optel upload --app NAME` (the detached process the host starts)
and `optel upload` (foreground) run: take the uploader lock, re-check consent (withdrawn: delete
the spool, send nothing), then for each claimed file convert its records (`convert`), pass every
span through the `ConsentSampler`, export with the SDK's OTLP exporters (`export`) and ack, keep,
drop or quarantine the file by the outcome. The SDK is imported only when there is work to do.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from optel.spool.files import Claim, Spool
    from optel.upload.export import Exporters, Outcome

_log = logging.getLogger("optel")

# Spans per OTLP request: large enough that a usual flush goes in one request (a file is acked
# only when all its requests succeeded, so fewer requests mean fewer duplicates after a failure),
# small enough to bound the uploader's memory and the request size (~1.5 MB).
CHUNK_SPANS = 4096

# The metric that reports records the spool dropped (bounds, rejected or corrupt files).
DROPPED_METRIC = "optel.spool.dropped"
DROPPED_UNIT = "{record}"
DROPPED_DESCRIPTION = "Telemetry records the spool dropped before they could be sent, by reason."

class UploadSummary:
    """What one upload run did."""

    __slots__ = (
        "error",
        "files_dropped",
        "files_kept",
        "files_quarantined",
        "files_sent",
        "retry_after",
        "sent_metrics",
        "sent_spans",
        "skipped",
        "withdrawn",
    )

    def __init__(self) -> None:
        self.sent_spans = 0
        self.sent_metrics = 0  # metric data points
        self.files_sent = 0
        self.files_kept = 0
        self.files_dropped = 0
        self.files_quarantined = 0
        self.withdrawn = False
        self.skipped: str | None = None  # why nothing was tried: another uploader, backoff
        self.error: str | None = None  # why files were kept: the collector's answer, a config problem
        self.retry_after: float | None = None

    def line(self) -> str:
        """One line for a person: ``sent 12 spans and 30 metric points from 2 files; kept 0; dropped 0``."""
        if self.withdrawn:
            return "telemetry is off: the spool was deleted and nothing was sent"
        if self.skipped:
            return f"nothing sent: {self.skipped}"
        text = (
            f"sent {self.sent_spans} span{_s(self.sent_spans)} and {self.sent_metrics} metric "
            f"point{_s(self.sent_metrics)} from {self.files_sent} file{_s(self.files_sent)}; "
            f"kept {self.files_kept}; dropped {self.files_dropped}"
        )
        if self.files_quarantined:
            text += f"; quarantined {self.files_quarantined}"
        if self.error:
            text += f" ({self.error})"
        return text

    def as_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__slots__}

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.as_dict().items())
        return f"UploadSummary({inner})"


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def upload(
    app: str,
    *,
    environ: Mapping[str, str] | None = None,
    max_seconds: float | None = None,
    respect_backoff: bool = True,
    project_dir: str | None = None,
) -> UploadSummary:
    """Send `app`'s spool to the collector now; never raises.

    Exits at once when another uploader holds the lock, or (with `respect_backoff`) while the
    backoff of earlier failures runs. Stops after `max_seconds`, giving back what it did not send.
    """
    summary = UploadSummary()
    try:
        _upload(app, environ if environ is not None else os.environ, max_seconds, respect_backoff, project_dir, summary)
    except Exception as error:
        _log.debug("optel: upload failed", exc_info=True)
        summary.error = f"{type(error).__name__}: {error}"
    return summary


def _upload(
    app: str,
    environ: Mapping[str, str],
    max_seconds: float | None,
    respect_backoff: bool,
    project_dir: str | None,
    summary: UploadSummary,
) -> None:
    from optel.consent import withdrawn
    from optel.spool.files import Spool, delete_all
    from optel.spool.launch import uploader_lock

    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    lock = uploader_lock(app)
    with lock as held:
        if not held:
            summary.skipped = "another uploader is running"
            return
        if withdrawn(app, environ=environ, project_dir=project_dir) is not None:
            delete_all(app)
            summary.withdrawn = True
            return
        spool = Spool(app)
        if respect_backoff:
            until = spool.backoff_until()
            if until is not None:
                summary.skipped = f"backing off after failures, next attempt in {until - time.time():.0f} s"
                return
        claims = spool.claim()
        if not claims:
            return
        _drain(app, spool, claims, environ, deadline, project_dir, lock.refresh, summary)


def _drain(
    app: str,
    spool: Spool,
    claims: list[Claim],
    environ: Mapping[str, str],
    deadline: float | None,
    project_dir: str | None,
    refresh: Any,
    summary: UploadSummary,
) -> None:
    from optel.consent import withdrawn
    from optel.spool.files import CorruptSpoolFile, delete_all
    from optel.upload.export import RETRY, SENT, UNAVAILABLE, Exporters

    exporters = Exporters(environ)
    last_good: dict[str, Any] | None = None
    pending = list(claims)
    try:
        while pending:
            claim = pending.pop(0)
            if deadline is not None and time.monotonic() >= deadline:
                pending.insert(0, claim)
                summary.error = "out of time"
                break
            if withdrawn(app, environ=environ, project_dir=project_dir) is not None:
                # Consent went away mid-run: what was recorded under it must not leave.
                delete_all(app)
                summary.withdrawn = True
                pending.clear()
                return
            try:
                header, records = claim.read()
            except CorruptSpoolFile as error:
                _log.info("optel: quarantined %s: %s", claim.name, error)
                spool.quarantine(claim, "corrupt")
                summary.files_quarantined += 1
                continue
            except OSError:
                continue  # gone: the bounds or a reset took it
            header = _with_first_version(app, header)
            outcome, spans, points, rest = _send_file(header, records, exporters, deadline)
            refresh()
            if rest is not None and outcome.kind in (RETRY, UNAVAILABLE):
                # Part of the file reached the collector: keep only the rest, or it would arrive twice.
                summary.sent_spans += spans
                _keep_only(claim, header, rest)
            if outcome.kind == SENT:
                spool.ack(claim)
                summary.files_sent += 1
                summary.sent_spans += spans
                summary.sent_metrics += points
                last_good = header
            elif outcome.kind in (RETRY, UNAVAILABLE):
                spool.release(claim)
                summary.files_kept += 1
                summary.error = outcome.detail
                if outcome.kind == RETRY:
                    summary.retry_after = outcome.retry_after
                    spool.record_failure(outcome.retry_after)
                break
            elif outcome.kind == "rejected":
                _log.info("optel: the collector rejected %s (%s): dropped", claim.name, outcome.detail)
                spool.drop(claim, f"rejected_{outcome.status}" if outcome.status else "rejected")
                summary.files_dropped += 1
            else:
                _log.info("optel: %s cannot be exported (%s): quarantined", claim.name, outcome.detail)
                spool.quarantine(claim, "invalid")
                summary.files_quarantined += 1
        if summary.files_sent:
            spool.record_success()
            if last_good is not None:
                _report_drops(spool, last_good, exporters, deadline)
    finally:
        for claim in pending:
            spool.release(claim)
            summary.files_kept += 1
        exporters.close()


FIRST_VERSION = "optel.install.first_version"


def _with_first_version(app: str, header: dict[str, Any]) -> dict[str, Any]:
    """The header, its resource completed with the install's first version (PipeRider's fact).

    The first batch an install uploads with a known `service.version` stores that version as
    `first_version` in the user file; a batch recorded before that (the host read the file before
    it was written) gets the stored value. Only for the install the user file holds, and never
    when the file is broken or missing: the uploader does not create one. Never raises.
    """
    resource = header.get("resource")
    if not isinstance(resource, Mapping) or resource.get(FIRST_VERSION):
        return header
    try:
        from optel import _paths
        from optel.consent import UserStore

        consent = header.get("consent")
        install_id = consent.get("install_id") if isinstance(consent, Mapping) else None
        store = UserStore(_paths.user_config_file(app))
        table = store.read()
        if not isinstance(table, dict) or not install_id or table.get("install_id") != install_id:
            return header
        first = table.get("first_version")
        if not (isinstance(first, str) and first):
            from optel.upload.convert import resource_for

            version = resource_for(header).attributes.get("service.version")
            if not (isinstance(version, str) and version):
                return header
            table = store.update(first_version=version)
            if table.get("install_id") != install_id:
                return header
            first = table.get("first_version")
            if not (isinstance(first, str) and first):
                return header
        return {**header, "resource": {**resource, FIRST_VERSION: first}}
    except Exception:
        _log.debug("optel: could not note the first version installed", exc_info=True)
        return header


def _keep_only(claim: Claim, header: Mapping[str, Any], records: list[dict[str, Any]]) -> None:
    """Rewrite a claimed file (ours until released) so it holds only `records`."""
    from optel.spool.files import encode_file, write_atomically

    try:
        write_atomically(claim.path, encode_file(header, records))
    except OSError:
        _log.debug("optel: could not rewrite %s; it will be sent whole again", claim.name, exc_info=True)


def _budget(deadline: float | None) -> float:
    from optel.upload.export import DEFAULT_TIMEOUT

    if deadline is None:
        return DEFAULT_TIMEOUT
    return min(DEFAULT_TIMEOUT, max(deadline - time.monotonic(), 0.0))


def _file_consent(header: Mapping[str, Any]) -> Any:
    """The consent a file was recorded under, as the sampler reads it (sampled by its install id)."""
    from optel.consent import MODES, Consent, in_sample

    consent = header.get("consent")
    consent = consent if isinstance(consent, Mapping) else {}
    mode = consent.get("mode")
    if mode not in MODES:
        return None
    install_id = consent.get("install_id")
    settings = header.get("settings")
    percent = settings.get("sample_percent", 100.0) if isinstance(settings, Mapping) else 100.0
    if not isinstance(percent, (int, float)) or isinstance(percent, bool):
        percent = 100.0
    sampled = in_sample(install_id, float(percent)) if isinstance(install_id, str) else percent >= 100.0
    source = consent.get("source")
    return Consent(
        str(mode),
        "recorded under this consent",
        str(source) if isinstance(source, str) else "spool",
        install_id=install_id if isinstance(install_id, str) else None,
        sampled=sampled,
    )


def _send_file(
    header: Mapping[str, Any], records: list[dict[str, Any]], exporters: Exporters, deadline: float | None
) -> tuple[Outcome, int, int, list[dict[str, Any]] | None]:
    """Convert, sample and export one file.

    Returns (outcome, spans sent, metric points sent, records still to send): the last is not None
    when part of the file went out before a failure, so that only the rest is kept for later.
    """
    from opentelemetry.sdk.trace.sampling import Decision

    from optel.upload.convert import (
        InvalidRecord,
        metrics_from_records,
        resource_for,
        span_from_record,
    )
    from optel.upload.export import SENT, Outcome
    from optel.upload.sampler import ConsentSampler

    sampler = ConsentSampler(_file_consent(header))
    resource = resource_for(header)
    export = header.get("export") if isinstance(header.get("export"), Mapping) else None
    span_records = [r for r in records if r.get("t") == "span"]
    metric_records = [r for r in records if r.get("t") == "metric"]

    sent_spans = 0
    for first in range(0, len(span_records), CHUNK_SPANS):
        batch = []
        for record in span_records[first : first + CHUNK_SPANS]:
            try:
                span = span_from_record(record, resource)
            except InvalidRecord as error:
                _log.debug("optel: skipping a span record: %s", error)
                continue
            context = span.context
            decision = sampler.should_sample(None, context.trace_id, span.name, span.kind, span.attributes)
            if decision.decision is Decision.RECORD_AND_SAMPLE:
                batch.append(span)
        if not batch:
            continue
        outcome = exporters.export_spans(batch, export, _budget(deadline))
        if outcome.kind != SENT:
            rest = span_records[first:] + metric_records if sent_spans else None
            return outcome, sent_spans, 0, rest
        sent_spans += len(batch)

    points = 0
    if sampler.metrics_allowed():
        data = metrics_from_records(metric_records, resource)
        if data is not None:
            outcome = exporters.export_metrics(data, export, _budget(deadline))
            if outcome.kind != SENT:
                return outcome, sent_spans, 0, metric_records if sent_spans else None
            points = sum(
                len(metric.data.data_points)
                for rm in data.resource_metrics
                for sm in rm.scope_metrics
                for metric in sm.metrics
            )
    return Outcome(SENT), sent_spans, points, None


def _report_drops(spool: Spool, header: Mapping[str, Any], exporters: Exporters, deadline: float | None) -> None:
    """Send the spool's drop counts as `optel.spool.dropped`; put them back if that fails."""
    counts = spool.take_drop_counts()
    if not counts:
        return
    from optel.upload.convert import (
        counter_metric,
        declared_spec,
        metrics_from_records,
        resource_for,
    )
    from optel.upload.export import SENT

    now = time.time_ns()
    declared = declared_spec(DROPPED_METRIC)
    metric = counter_metric(
        DROPPED_METRIC,
        [({"reason": reason}, n) for reason, n in sorted(counts.items())],
        now,
        now,
        unit=declared.unit if declared else DROPPED_UNIT,
        description=declared.description if declared else DROPPED_DESCRIPTION,
    )
    data = metrics_from_records((), resource_for(header), extra=[metric])
    sent = False
    if data is not None:
        export = header.get("export") if isinstance(header.get("export"), Mapping) else None
        sent = exporters.export_metrics(data, export, _budget(deadline)).kind == SENT
    if not sent:
        spool.add_drop_counts(counts)
