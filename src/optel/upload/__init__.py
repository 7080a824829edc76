"""The uploader (the process side of SPEC §6): spool records -> OpenTelemetry SDK data -> OTLP.

`upload(app)` drains an app's spool (`optel.upload.uploader`); `convert` turns records into
`ReadableSpan`s and `MetricsData`, `sampler` holds the consent-aware `Sampler`, `export` the SDK's
OTLP exporters and how their outcomes are read.
This package is the only place that imports the OpenTelemetry SDK, and it does so lazily: importing
`optel.upload` costs nothing.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from optel.upload.uploader import CHUNK_SPANS, DROPPED_METRIC, UploadSummary, upload

__all__ = ["CHUNK_SPANS", "DROPPED_METRIC", "UploadSummary", "upload"]


def __getattr__(name: str) -> object:
    if name in __all__:
        from optel.upload import uploader

        return getattr(uploader, name)
    raise AttributeError(f"module 'optel.upload' has no attribute {name!r}")
