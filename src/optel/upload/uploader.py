"""The uploader's run: drains an app's spool into OTLP, many small files per request, under the consent of now.

`upload(app)` is what `python -m optel upload --app NAME` (the detached process the host starts)
and `optel upload` (foreground) run: take the uploader lock, decide the consent in force (`in_force`:
off deletes the spool and sends nothing; each file is brought down to it, so a downgrade to
anonymous strips the identity of files queued while identified), then gather claimed files into
batches (one destination each, up to `CHUNK_SPANS` spans), convert their records (`convert`), pass
every span through its file's `ConsentSampler`, export each batch with the SDK's OTLP exporters
(`export`: one span request, one metric request) and ack, keep, drop or quarantine its files by
the outcome. A destination that fails keeps its files and backs off alone; the others go on. The
SDK is imported only when there is work to do.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections import deque
    from collections.abc import Iterator

    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import ReadableSpan

    from optel.spool.claims import Claim
    from optel.spool.files import Spool
    from optel.upload.export import Exporters, Outcome
    from optel.upload.sampler import ConsentSampler

_log = logging.getLogger("optel")

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
# How often a run asks again whether consent was withdrawn: asking reads the user file (~0.3 ms),
# as much as sending a small file costs; a withdrawal stops the run within this time (and a batch).
CONSENT_RECHECK_S = 0.5

MISCONFIGURED_HINT = (
    "the collector refused the endpoint or its credentials, a setting the app's maintainer can fix; "
    "the data is kept (within the spool's bounds) and sent once it is fixed"
)

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
        "records_aged_out",
        "records_invalid",
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
        self.records_aged_out = 0  # past the spool's age bound: dropped, not sent late
        self.records_invalid = 0  # not valid spans or measurements: skipped, counted as drops
        self.withdrawn = False
        self.skipped: str | None = None  # why nothing was tried: another uploader, backoff
        self.error: str | None = (
            None  # why files were kept: the collector's answer, a config problem
        )
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
        if self.records_aged_out:
            text += f"; {self.records_aged_out} record{_s(self.records_aged_out)} too old to send, dropped"
        if self.records_invalid:
            text += f"; {self.records_invalid} invalid record{_s(self.records_invalid)} skipped"
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
        _upload(
            app,
            environ if environ is not None else os.environ,
            max_seconds,
            respect_backoff,
            project_dir,
            summary,
        )
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
    from optel.spool.files import Spool, delete_all
    from optel.spool.launch import uploader_lock
    from optel.upload.in_force import consent_in_force

    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    lock = uploader_lock(app)
    with lock as held:
        if not held:
            summary.skipped = "another uploader is running"
            return
        checked = time.monotonic()
        in_force = consent_in_force(app, environ, project_dir)
        if in_force == "off":
            delete_all(app)
            summary.withdrawn = True
            return
        spool = Spool(app)
        if respect_backoff:
            until = spool.backoff_until()
            if until is not None:
                summary.skipped = (
                    f"backing off after failures, next attempt in {until - time.time():.0f} s"
                )
                return
        # The age bound holds for what is sent, too: a file past it is dropped (and counted),
        # not sent late, even when no host wrote since it aged. The size bound is the writers'
        # (each knows what it adds, and may have been given a larger one).
        summary.records_aged_out = spool.enforce_bounds(max_bytes=1 << 62).get("age", 0)
        spool.prune_quarantine()
        claims = spool.claim()
        if not claims:
            return
        from optel.upload.export import Exporters

        run = _Run(
            app,
            spool,
            Exporters(environ, spool.path),
            deadline,
            summary,
            environ,
            project_dir,
            checked,
            in_force,
        )
        run.respect_backoff = respect_backoff
        _drain(run, claims, lock.refresh)


class _File:
    """A claimed file, read: its records by kind and the export section that says where they go."""

    __slots__ = ("claim", "destination", "export", "header", "metrics", "spans")

    def __init__(self, claim: Claim, header: dict[str, Any], records: list[dict[str, Any]]) -> None:
        from optel.spool.format import destination

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
            _keep_only(self.claim, self.header, records)


class _Run:
    """One upload run's state: where files go, its deadline, what it did so far."""

    __slots__ = (
        "app",
        "checked",
        "claimed",
        "deadline",
        "due",
        "environ",
        "exporters",
        "failed",
        "first_versions",
        "held",
        "in_force",
        "last_good",
        "project_dir",
        "resources",
        "respect_backoff",
        "sent_to",
        "spool",
        "summary",
    )

    def __init__(
        self,
        app: str,
        spool: Spool,
        exporters: Exporters,
        deadline: float | None,
        summary: UploadSummary,
        environ: Mapping[str, str],
        project_dir: str | None,
        checked: float,
        in_force: str = "identified",
    ) -> None:
        self.app = app
        self.spool = spool
        self.exporters = exporters
        self.deadline = deadline
        self.summary = summary
        self.last_good: dict[str, Any] | None = None
        self.resources: dict[tuple[Any, ...], Resource] = {}
        self.first_versions: dict[str, str] = {}  # install id -> the first version it ran
        # Where consent is asked again, and when it was last asked (monotonic seconds).
        self.environ = environ
        self.project_dir = project_dir
        self.checked = checked
        self.in_force = in_force  # the consent in force: every file is brought down to it
        # Delivery per destination: one that fails is left for its own backoff, the others go on.
        self.respect_backoff = True
        self.failed: dict[str, Outcome] = {}  # destination -> the failure that ended it this run
        self.held: dict[
            str, float | None
        ] = {}  # destination -> its backoff at the start (None: due)
        self.sent_to: set[str] = set()
        self.due = (
            False  # a file was kept that is due now (out of time, no exporter), not held back
        )
        self.claimed: set[str] = set()  # the names this run took: a file written since is due

    def resource(self, header: Mapping[str, Any]) -> Resource:
        """The file's `Resource`, one object for every file with the same one.

        The SDK's encoder groups a request's spans by resource in a dict: equal but distinct
        objects cost an attribute-by-attribute comparison per span, the same object none.
        """
        from optel.upload.convert import resource_for

        settings = header.get("settings")
        attrs = header.get("resource")
        try:
            key = (
                header.get("app"),
                settings.get("version_module") if isinstance(settings, Mapping) else None,
                # With the type: True, 1 and 1.0 are equal keys but different attribute values.
                tuple(sorted((k, type(v).__name__, v) for k, v in attrs.items()))
                if isinstance(attrs, Mapping)
                else None,
            )
            found = self.resources.get(key)
        except TypeError:  # a list value: not worth a key
            return resource_for(header)
        if found is None:
            found = self.resources[key] = resource_for(header)
        return found

    def must_stop(self) -> bool:
        """Whether the run ends before its next request: out of time, or consent withdrawn.

        Consent is asked at most every `CONSENT_RECHECK_S`: each file would cost more to ask
        about than to send.
        """
        now = time.monotonic()
        if self.deadline is not None and now >= self.deadline:
            self.summary.error = "out of time"
            return True
        if now - self.checked >= CONSENT_RECHECK_S:
            from optel.consent import withdrawn

            self.checked = now
            if withdrawn(self.app, environ=self.environ, project_dir=self.project_dir) is not None:
                self.summary.withdrawn = True
                return True
        return False

    def read(self, claim: Claim) -> _File | None:
        """The claimed file, read; None when it is corrupt (quarantined) or gone."""
        from optel.spool.format import CorruptSpoolFile

        try:
            header, records = claim.read()
        except CorruptSpoolFile as error:
            _log.info("optel: quarantined %s: %s", claim.name, error)
            self.spool.quarantine(claim, "corrupt")
            self.summary.files_quarantined += 1
            return None
        except OSError:
            return None  # gone: the bounds or a reset took it
        from optel.upload.in_force import bring_down

        header, records = bring_down(header, records, self.in_force)
        return _File(claim, _with_first_version(self.app, header, self.first_versions), records)

    def gather(self, pending: deque[Claim], carry: list[_File]) -> list[_File]:
        """The next batch: files for one endpoint, up to `CHUNK_SPANS` spans and `BATCH_RECORDS` records.

        A file that does not fit is left in `carry` for the next batch; a file bigger than a batch
        makes a batch alone (its spans go in several requests).
        """
        batch: list[_File] = []
        spans = records = 0
        while len(batch) < BATCH_FILES:
            if carry:
                file = carry.pop()
            elif pending:
                read = self.read(pending.popleft())
                if read is None:
                    continue
                if self.holds(read.destination):
                    self.keep(
                        [read], due=False
                    )  # after its destination's older files, in a later run
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

    def holds(self, destination: str) -> bool:
        """Whether `destination`'s files wait this run: it failed already, or its backoff runs."""
        if destination in self.failed:
            return True
        if not self.respect_backoff:
            return False
        if destination not in self.held:
            self.held[destination] = self.spool.backoff_until(destination)
        return self.held[destination] is not None

    def deliver(self, batch: list[_File]) -> bool:
        """Send one batch and settle each of its files; False when the run must stop (files kept).

        The files are acked only when every request of the batch succeeded. After a failure, a
        file whose spans reached the collector is rewritten to hold only what did not, so that
        nothing arrives twice; the batch's destination then waits for its backoff, and the
        run goes on with the others. A refusal for good (a 4xx) says nothing about which file
        the collector minded: the batch is halved until the refused files stand alone, and only
        those are dropped.
        """
        from optel.upload.export import REJECTED, RETRY, SENT, UNAVAILABLE

        if batch[0].destination in self.failed:
            self.keep(batch, due=False)  # the first half of a halved batch failed: so does this one
            return True
        summary = self.summary
        resources = [self.resource(file.header) for file in batch]
        invalid = [0]
        outcome, spans, points, rests = _send(
            batch, resources, self.exporters, self.deadline, invalid
        )
        summary.sent_spans += spans
        if outcome.kind == SENT:
            for file in batch:
                self.spool.ack(file.claim)
            if invalid[0]:
                # Records no collector could take (a hand-edited or damaged file): counted as
                # drops once their file is settled, so a retried batch does not count them twice.
                self.spool.add_drop_counts({"invalid": invalid[0]})
                summary.records_invalid += invalid[0]
            summary.files_sent += len(batch)
            summary.sent_metrics += points
            self.sent_to.add(batch[0].destination)
            self.last_good = batch[-1].header
            return True
        stopping = outcome.kind in (RETRY, UNAVAILABLE)
        for file, rest in zip(batch, rests):
            if rest is not None:
                # A file about to be dropped or quarantined is not worth a rewrite.
                file.keep_only(rest, rewrite=stopping or len(batch) > 1)
        if stopping:
            self.fail(batch, outcome)
            return True
        if len(batch) > 1:
            half = len(batch) // 2
            parts = (batch[:half], batch[half:])
            if self.must_stop():
                self.keep(batch)
                return False
            if not self.deliver(parts[0]):
                self.keep(parts[1])  # the first half kept its own files
                return False
            if self.must_stop():
                self.keep(parts[1])
                return False
            return self.deliver(parts[1])
        claim = batch[0].claim
        if outcome.kind == REJECTED:
            _log.info("optel: the collector rejected %s (%s): dropped", claim.name, outcome.detail)
            self.spool.drop(claim, f"rejected_{outcome.status}" if outcome.status else "rejected")
            summary.files_dropped += 1
        else:
            _log.info("optel: %s cannot be exported (%s): quarantined", claim.name, outcome.detail)
            self.spool.quarantine(claim, "invalid")
            summary.files_quarantined += 1
        return True

    def fail(self, batch: list[_File], outcome: Outcome) -> None:
        """The batch's destination cannot take data now: keep its files, and every later one of it."""
        from optel.upload.export import MISCONFIGURED, RETRY

        self.failed[batch[0].destination] = outcome
        self.keep(batch, due=outcome.kind != RETRY)
        said = f"{outcome.detail} from {_shown(self.exporters.describe('traces', batch[0].export))}"
        if outcome.status in MISCONFIGURED:
            said += f": {MISCONFIGURED_HINT}"
        _log.debug(
            "optel: %s; its files are kept for a later run", said
        )  # once a run: the destination waits now
        summary = self.summary
        summary.error = said if not summary.error else f"{summary.error}; {said}"
        if outcome.kind == RETRY and outcome.retry_after is not None:
            summary.retry_after = max(summary.retry_after or 0.0, outcome.retry_after)

    def keep(self, files: list[_File], *, due: bool = True) -> None:
        """Give the files back for a later run; `due` when nothing but this run's end holds them."""
        for file in files:
            self.spool.release(file.claim)
            self.summary.files_kept += 1
        self.due = self.due or (due and bool(files))

    def settle(self) -> None:
        """Leave each destination's backoff, and the spool-wide one when every kept file waits for one.

        A destination that failed this run backs off further; one that took data is due again.
        When nothing kept is due before a backoff ends, the spool-wide backoff says when the first
        ends (the launcher's gate for leftovers, and `optel status`).
        """
        from optel.upload.export import RETRY

        spool = self.spool
        for where, outcome in self.failed.items():
            if outcome.kind == RETRY:
                self.held[where] = spool.record_failure(outcome.retry_after, destination=where)
        for where in self.sent_to - self.failed.keys():
            spool.record_success(where)
        waiting = [
            (until, spool.failures(where))
            for where, until in self.held.items()
            if until is not None
        ]
        fresh = not set(spool.files()) <= self.claimed  # written during the run, for anywhere
        if self.due or fresh or not self.summary.files_kept or not waiting:
            spool.set_backoff(None)
            return
        until, _ = min(waiting)
        spool.set_backoff(until, max(failures for _, failures in waiting))
        if not (self.summary.files_sent or self.failed or self.summary.files_dropped):
            self.summary.skipped = (
                f"backing off after failures, next attempt in {until - time.time():.0f} s"
            )


def _drain(run: _Run, claims: list[Claim], refresh: Any) -> None:
    from collections import deque

    from optel.spool.files import delete_all

    pending = deque(claims)
    run.claimed.update(claim.name for claim in claims)
    carry: list[_File] = []
    try:
        while pending or carry:
            if run.must_stop():
                break
            batch = run.gather(pending, carry)
            if not batch:
                continue
            going_on = run.deliver(batch)
            refresh()
            if not going_on:
                break
        if run.summary.withdrawn:
            # Consent went away mid-run: what was recorded under it must not leave.
            pending.clear()
            carry.clear()
            delete_all(run.app)
            return
        _keep_the_rest(run, pending, carry)
        run.settle()
        if run.last_good is not None:
            _report_drops(run.spool, run.last_good, run.exporters, run.deadline)
    finally:
        _keep_the_rest(run, pending, carry)
        run.exporters.close()


def _keep_the_rest(run: _Run, pending: deque[Claim], carry: list[_File]) -> None:
    """Give back what the run did not get to (out of time, or an error): it is due now."""
    run.keep(carry)
    carry.clear()
    for claim in pending:
        run.spool.release(claim)
        run.summary.files_kept += 1
        run.due = True
    pending.clear()


def _shown(url: str) -> str:
    """A collector's URL for a message: without credentials or a query (it may carry a key)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    host, slash, path = rest.partition("/")
    host = host.rpartition("@")[2]
    path = path.partition("?")[0].partition("#")[0]
    return f"{scheme}{sep}{host}{slash}{path}"


FIRST_VERSION = "optel.install.first_version"


def _with_first_version(
    app: str, header: dict[str, Any], known: dict[str, str] | None = None
) -> dict[str, Any]:
    """The header, its resource completed with the install's first version (PipeRider's fact).

    The first batch an install uploads with a known `service.version` stores that version as
    `first_version` in the user file; a batch recorded before that (the host read the file before
    it was written) gets the stored value. Only for the install the user file holds, and never
    when the file is broken or missing: the uploader does not create one. ``known`` remembers
    the versions found, per install id, for the rest of an upload run (reading the user file
    costs ~60 µs, a file of 20 spans ~1 ms to send). Never raises.
    """
    resource = header.get("resource")
    if not isinstance(resource, Mapping) or resource.get(FIRST_VERSION):
        return header
    try:
        from optel import _paths
        from optel.consent import UserStore

        consent = header.get("consent")
        install_id = consent.get("install_id") if isinstance(consent, Mapping) else None
        if known is not None and isinstance(install_id, str) and install_id in known:
            return {**header, "resource": {**resource, FIRST_VERSION: known[install_id]}}
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
        if known is not None:
            known[install_id] = first
        return {**header, "resource": {**resource, FIRST_VERSION: first}}
    except Exception:
        _log.debug("optel: could not note the first version installed", exc_info=True)
        return header


def _keep_only(claim: Claim, header: Mapping[str, Any], records: list[dict[str, Any]]) -> None:
    """Rewrite a claimed file (ours until released) so it holds only `records`."""
    from optel.spool.disk import write_atomically
    from optel.spool.format import encode_file

    try:
        write_atomically(claim.path, encode_file(header, records))
    except OSError:
        _log.debug(
            "optel: could not rewrite %s; it will be sent whole again", claim.name, exc_info=True
        )


def _budget(deadline: float | None) -> float:
    """The time an export may take: what is left of the run. The destination's timeout (5 s, or
    the user's own at the user's endpoint) caps it in `Exporters`, so a longer one takes effect."""
    if deadline is None:
        return float("inf")
    return max(deadline - time.monotonic(), 0.0)


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
    sampled = (
        in_sample(install_id, float(percent)) if isinstance(install_id, str) else percent >= 100.0
    )
    source = consent.get("source")
    return Consent(
        str(mode),
        "recorded under this consent",
        str(source) if isinstance(source, str) else "spool",
        install_id=install_id if isinstance(install_id, str) else None,
        sampled=sampled,
    )


def _send(
    files: list[_File],
    resources: list[Resource],
    exporters: Exporters,
    deadline: float | None,
    invalid: list[int] | None = None,
) -> tuple[Outcome, int, int, list[list[dict[str, Any]] | None]]:
    """Convert, sample and export a batch of files: its spans (in requests of `CHUNK_SPANS`), then its metrics.

    Returns (outcome, spans sent, metric points sent, records still to send per file): None for a
    file none of whose spans went out (it is kept as it is), else the records it has left.
    """
    from optel.upload.export import SENT, Outcome
    from optel.upload.sampler import ConsentSampler

    export = files[0].export
    samplers = [ConsentSampler(_file_consent(file.header)) for file in files]

    spans = 0
    through = 0  # span records (counted over the batch) that went out or needed no request
    for chunk, end in _span_chunks(files, resources, samplers, invalid):
        if chunk:
            outcome = exporters.export_spans(chunk, export, _budget(deadline))
            if outcome.kind != SENT:
                return outcome, spans, 0, _rests(files, through)
            spans += len(chunk)
        through = end

    points = 0
    data = _batch_metrics(files, resources, samplers, invalid)
    if data is not None:
        outcome = exporters.export_metrics(data, export, _budget(deadline))
        if outcome.kind != SENT:
            return outcome, spans, 0, _rests(files, through)
        points = sum(
            len(metric.data.data_points)
            for rm in data.resource_metrics
            for sm in rm.scope_metrics
            for metric in sm.metrics
        )
    return Outcome(SENT), spans, points, [None] * len(files)


def _span_chunks(
    files: list[_File],
    resources: list[Resource],
    samplers: list[ConsentSampler],
    invalid: list[int] | None = None,
) -> Iterator[tuple[list[ReadableSpan], int]]:
    """The batch's sampled spans in request-sized lists, each with how many span records it covers up to.

    Records that are not valid spans are skipped and counted in ``invalid[0]``.
    """
    from opentelemetry.sdk.trace.sampling import Decision

    from optel.upload.convert import InvalidRecord, span_from_record

    sample = Decision.RECORD_AND_SAMPLE
    chunk: list[ReadableSpan] = []
    taken = start = 0
    for file, resource, sampler in zip(files, resources, samplers):
        for record in file.spans:
            taken += 1
            try:
                span = span_from_record(record, resource)
            except InvalidRecord as error:
                _log.debug("optel: skipping a span record: %s", error)
                if invalid is not None:
                    invalid[0] += 1
            else:
                decision = sampler.should_sample(
                    None, span.context.trace_id, span.name, span.kind, span.attributes
                )
                if decision.decision is sample:
                    chunk.append(span)
            if taken - start == CHUNK_SPANS:
                yield chunk, taken
                chunk = []
                start = taken
    if taken > start:
        yield chunk, taken


def _batch_metrics(
    files: list[_File],
    resources: list[Resource],
    samplers: list[ConsentSampler],
    invalid: list[int] | None = None,
) -> Any:
    """The batch's measurements as one `MetricsData` (one ResourceMetrics per resource), or None.

    Files of the same resource aggregate together: their delta points add up, as they would
    have over one longer flush interval.
    """
    from opentelemetry.sdk.metrics.export import MetricsData

    from optel.upload.convert import metrics_from_records

    by_resource: dict[Resource, list[dict[str, Any]]] = {}
    for file, resource, sampler in zip(files, resources, samplers):
        if file.metrics and sampler.metrics_allowed():
            by_resource.setdefault(resource, []).extend(file.metrics)
    resource_metrics: list[Any] = []
    for resource, records in by_resource.items():
        data = metrics_from_records(records, resource, skipped=invalid)
        if data is not None:
            resource_metrics.extend(data.resource_metrics)
    return MetricsData(resource_metrics=resource_metrics) if resource_metrics else None


def _rests(files: list[_File], through: int) -> list[list[dict[str, Any]] | None]:
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


def _report_drops(
    spool: Spool, header: Mapping[str, Any], exporters: Exporters, deadline: float | None
) -> None:
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
