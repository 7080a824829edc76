"""What one export came to (sent, retry later, rejected, invalid, unavailable), read from HTTP statuses and gRPC codes."""

from __future__ import annotations

SENT = "sent"
RETRY = "retry"  # keep the file, back off, stop this run
REJECTED = "rejected"  # the collector refused it for good: drop the file (counted)
INVALID = "invalid"  # it cannot even be encoded: quarantine the file
UNAVAILABLE = "unavailable"  # the configured exporter cannot be used here (no grpc extra): keep

# gRPC codes that keep the file: the retryable ones of the OTLP specification, plus INTERNAL and
# UNKNOWN (a collector that failed is not the data's fault, as with HTTP 5xx). Every other code
# (INVALID_ARGUMENT, UNAUTHENTICATED, UNIMPLEMENTED, ...) is the collector refusing the data: drop.
GRPC_KEEP = frozenset(
    {
        "CANCELLED",
        "DEADLINE_EXCEEDED",
        "RESOURCE_EXHAUSTED",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNAVAILABLE",
        "DATA_LOSS",
        "INTERNAL",
        "UNKNOWN",
    }
)

# Refusals that say the endpoint or its credentials are wrong, not the data: a setting the app's
# maintainer can fix. They keep the file (within the spool's bounds) and back off like a 503.
MISCONFIGURED = frozenset(
    {401, 403, 404, "unauthenticated", "permission_denied", "unimplemented", "not_found"}
)


class Outcome:
    """What one export came to: `kind` is one of SENT, RETRY, REJECTED, INVALID, UNAVAILABLE.

    `status` is the HTTP status code, or for gRPC the status code's name in lower case
    (`invalid_argument`), so that a dropped file is counted as `rejected_<status>` either way.
    """

    __slots__ = ("detail", "kind", "retry_after", "status")

    def __init__(
        self,
        kind: str,
        status: int | str | None = None,
        retry_after: float | None = None,
        detail: str = "",
    ) -> None:
        self.kind = kind
        self.status = status
        self.retry_after = retry_after
        self.detail = detail

    def __repr__(self) -> str:
        return f"Outcome({self.kind!r}, status={self.status}, retry_after={self.retry_after})"


def classify(status: int | None, error: BaseException | None, retry_after: float | None) -> Outcome:
    """The outcome of a failed export from the last answer
    (docs/internals.md#batches-retries-and-drops).

    Connection errors, timeouts, 408, 429 and every 5xx keep the file (a 500 is the collector's
    fault, not the data's); other 4xx drop it; a redirect, 401, 403 or 404 keeps it (a
    misconfigured endpoint can be fixed, dropped data cannot come back).
    """
    if status is not None:
        if status in (408, 429) or status >= 500 or 300 <= status < 400 or status in MISCONFIGURED:
            return Outcome(
                RETRY, status, retry_after if status in (429, 503) else None, f"HTTP {status}"
            )
        if 400 <= status < 500:
            return Outcome(REJECTED, status, None, f"HTTP {status}")
    if error is not None:
        return Outcome(RETRY, None, None, f"{type(error).__name__}: {error}")
    return Outcome(INVALID, None, None, "the exporter refused the batch before sending it")


def classify_grpc(code: str | None, details: str, retry_after: float | None) -> Outcome:
    """The outcome of a failed gRPC export from its status code's name (`UNAVAILABLE`, ...).

    The codes of `GRPC_KEEP` keep the file, with the delay of the collector's `RetryInfo` when it
    sent one; the others drop it. No code at all (the call failed before it was made) keeps it.
    """
    if code is None:
        return Outcome(RETRY, None, None, details or "the gRPC call failed")
    detail = f"gRPC {code}: {details}" if details else f"gRPC {code}"
    if code in GRPC_KEEP or code.lower() in MISCONFIGURED:
        return Outcome(RETRY, code.lower(), retry_after, detail)
    return Outcome(REJECTED, code.lower(), None, detail)
