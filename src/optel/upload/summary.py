"""`UploadSummary`: what one upload run did, for the person who ran `optel upload` and for tests."""

from __future__ import annotations


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
