"""The uploader's run: drains an app's spool into OTLP, many small files per request, under the consent of now.

`upload(app)` is what `python -m optel upload --app NAME` (the detached process the host starts)
and `optel upload` (foreground) run: take the uploader lock, decide the consent in force (`in_force`:
off deletes the spool and sends nothing; each file is brought down to it, so a downgrade to
anonymous strips the identity of files queued while identified), then gather claimed files into
batches (`batching`: one destination each, up to `CHUNK_SPANS` spans), send each (the files whose
recorded consent lets them send, `consent`, converted straight into OTLP protobuf requests) and
ack, keep, drop or quarantine its files by the outcome. A destination that fails keeps its files
and backs off alone; the others go on. Protobuf and the HTTP client are imported only when there
is work to do and the collector takes a connection (`reach`).
"""

from __future__ import annotations

import os
import time

from optel import _logger
from optel.upload.batching import BATCH_RECORDS, CHUNK_SPANS, SpoolFile, budget, gather
from optel.upload.summary import UploadSummary

TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from optel.spool.claims import Claim
    from optel.spool.files import Spool
    from optel.upload.attributes import FileResource
    from optel.upload.export import Exporters
    from optel.upload.outcome import Outcome

__all__ = ["BATCH_RECORDS", "CHUNK_SPANS", "CONSENT_RECHECK_S", "UploadSummary", "upload"]


# How often a run asks again whether consent was withdrawn: asking reads the user file (~0.3 ms),
# as much as sending a small file costs; a withdrawal stops the run within this time (and a batch).
CONSENT_RECHECK_S = 0.5

MISCONFIGURED_HINT = (
    "the collector refused the endpoint or its credentials, a setting the app's maintainer can fix; "
    "the data is kept (within the spool's bounds) and sent once it is fixed"
)


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
        environ = environ if environ is not None else os.environ
        _upload(app, environ, max_seconds, respect_backoff, project_dir, summary)
    except Exception as error:
        _logger.debug("optel: upload failed", exc_info=True)
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

        exporters = Exporters(environ, spool.path)
        run = Run(app, spool, exporters, deadline, summary, environ, project_dir, checked, in_force)
        run.respect_backoff = respect_backoff
        _drain(run, claims, lock.refresh)


class Run:
    """One upload run's state: where files go, its deadline, what it did so far."""

    __slots__ = (
        "app", "checked", "claimed", "deadline", "due", "environ", "exporters", "failed",
        "first_versions", "held", "in_force", "last_good", "project_dir", "resources",
        "respect_backoff", "sent_to", "spool", "summary",
    )  # fmt: skip

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
        self.resources: dict[tuple[Any, ...], FileResource] = {}
        self.first_versions: dict[str, str] = {}  # install id -> the first version it ran
        # Where consent is asked again, and when it was last asked (monotonic seconds).
        self.environ = environ
        self.project_dir = project_dir
        self.checked = checked
        self.in_force = in_force  # the consent in force: every file is brought down to it
        # Delivery per destination: one that fails is left for its own backoff, the others go on.
        self.respect_backoff = True
        self.failed: dict[str, Outcome] = {}  # destination -> the failure that ended it this run
        self.held: dict[str, float | None] = {}  # destination -> its backoff at start (None: due)
        self.sent_to: set[str] = set()
        self.due = False  # a file was kept that is due now (out of time, no exporter), not held

        self.claimed: set[str] = set()  # the names this run took: a file written since is due

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

    def holds(self, destination: str) -> bool:
        """Whether `destination`'s files wait this run: it failed already, or its backoff runs."""
        if destination in self.failed:
            return True
        if not self.respect_backoff:
            return False
        if destination not in self.held:
            self.held[destination] = self.spool.backoff_until(destination)
        return self.held[destination] is not None

    def deliver(self, batch: list[SpoolFile]) -> bool:
        """Send one batch and settle each of its files; False when the run must stop (files kept).

        The files are acked only when every request of the batch succeeded. After a failure, a
        file whose spans reached the collector is rewritten to hold only what did not, so that
        nothing arrives twice; the batch's destination then waits for its backoff, and the
        run goes on with the others. A refusal for good (a 4xx) says nothing about which file
        the collector minded: the batch is halved until the refused files stand alone, and only
        those are dropped.
        """
        from optel.upload.attributes import shared_resource
        from optel.upload.batching import send
        from optel.upload.outcome import RETRY, SENT, UNAVAILABLE

        if batch[0].destination in self.failed:
            self.keep(batch, due=False)  # the first half of a halved batch failed: so does this one
            return True
        resources = [shared_resource(self.resources, file.header) for file in batch]
        invalid = [0]
        outcome, spans, points, rests = send(
            batch, resources, self.exporters, self.deadline, invalid
        )
        self.summary.sent_spans += spans
        if outcome.kind == SENT:
            self.sent(batch, points, invalid[0])
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
            return self.halve(batch)
        self.refused(batch[0].claim, outcome)
        return True

    def sent(self, batch: list[SpoolFile], points: int, invalid: int) -> None:
        """The batch reached the collector: ack its files."""
        summary = self.summary
        for file in batch:
            self.spool.ack(file.claim)
        if invalid:
            # Records no collector could take (a hand-edited or damaged file): counted as
            # drops once their file is settled, so a retried batch does not count them twice.
            self.spool.add_drop_counts({"invalid": invalid})
            summary.records_invalid += invalid
        summary.files_sent += len(batch)
        summary.sent_metrics += points
        self.sent_to.add(batch[0].destination)
        self.last_good = batch[-1].header

    def halve(self, batch: list[SpoolFile]) -> bool:
        """Deliver the two halves of a refused batch apart, so that only refused files are dropped."""
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

    def refused(self, claim: Claim, outcome: Outcome) -> None:
        """A file the collector refused for good (dropped, counted) or that cannot be encoded (quarantined)."""
        from optel.upload.outcome import REJECTED

        if outcome.kind == REJECTED:
            _logger.info(
                "optel: the collector rejected %s (%s): dropped", claim.name, outcome.detail
            )
            self.spool.drop(claim, f"rejected_{outcome.status}" if outcome.status else "rejected")
            self.summary.files_dropped += 1
        else:
            _logger.info(
                "optel: %s cannot be exported (%s): quarantined", claim.name, outcome.detail
            )
            self.spool.quarantine(claim, "invalid")
            self.summary.files_quarantined += 1

    def fail(self, batch: list[SpoolFile], outcome: Outcome) -> None:
        """The batch's destination cannot take data now: keep its files, and every later one of it."""
        from optel.upload.outcome import MISCONFIGURED, RETRY

        self.failed[batch[0].destination] = outcome
        self.keep(batch, due=outcome.kind != RETRY)
        said = f"{outcome.detail} from {_shown(self.exporters.describe('traces', batch[0].export))}"
        if outcome.status in MISCONFIGURED:
            said += f": {MISCONFIGURED_HINT}"
        # Once a run: the destination waits now.
        _logger.debug("optel: %s; its files are kept for a later run", said)
        summary = self.summary
        summary.error = said if not summary.error else f"{summary.error}; {said}"
        if outcome.kind == RETRY and outcome.retry_after is not None:
            summary.retry_after = max(summary.retry_after or 0.0, outcome.retry_after)

    def keep(self, files: list[SpoolFile], *, due: bool = True) -> None:
        """Give the files back for a later run; `due` when nothing but this run's end holds them."""
        self.keep_claims([file.claim for file in files], due=due)

    def keep_claims(self, claims: list[Claim], *, due: bool = True) -> None:
        """`keep`, for files not read."""
        for claim in claims:
            self.spool.release(claim)
            self.summary.files_kept += 1
        self.due = self.due or (due and bool(claims))

    def settle(self) -> None:
        """Leave each destination's backoff, and the spool-wide one when every kept file waits for one.

        A destination that failed this run backs off further; one that took data is due again.
        When nothing kept is due before a backoff ends, the spool-wide backoff says when the first
        ends (the launcher's gate for leftovers, and `optel status`).
        """
        from optel.upload.outcome import RETRY

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


def _drain(run: Run, claims: list[Claim], refresh: Any) -> None:
    from optel.spool.files import delete_all

    # The claims in reverse, so that `pop()` takes the oldest first (no `collections.deque`:
    # `collections` costs an uploader run ~7 M instructions).
    pending = claims[::-1]
    run.claimed.update(claim.name for claim in claims)
    carry: list[SpoolFile] = []
    try:
        while pending or carry:
            if run.must_stop():
                break
            batch = gather(run, pending, carry)
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
            from optel.upload.drops import report_drops

            report_drops(run.spool, run.last_good, run.exporters, budget(run.deadline))
    finally:
        _keep_the_rest(run, pending, carry)
        run.exporters.close()


def _keep_the_rest(run: Run, pending: list[Claim], carry: list[SpoolFile]) -> None:
    """Give back what the run did not get to (out of time, or an error): it is due now."""
    run.keep(carry)
    carry.clear()
    for claim in pending:
        run.spool.release(claim)
        run.summary.files_kept += 1
        run.due = True
    pending.clear()


def _shown(url: str) -> str:
    """A collector's URL for a message, read as the request reads it (optel/_urls.py): without
    credentials, a query or a fragment (they may carry a key)."""
    from optel._urls import split

    bare = "://" not in url  # a gRPC target without a scheme
    try:
        parts = split(f"https://{url}" if bare else url)
    except ValueError:
        return "a URL that cannot be read"
    return f"{'' if bare else parts.scheme + '://'}{parts.address}{parts.path}"
