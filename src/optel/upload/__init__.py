"""The uploader (the sending process of docs/internals.md#the-process-split): spool records -> OTLP
protobuf requests -> the collector.

`upload(app)` drains an app's spool (`optel.upload.uploader`); `batching` gathers files into
batches, `consent` decides per file whether it may send, `convert` and `metrics` turn records into
OTLP messages (`otlp` builds the requests), `export` sends them (HTTP or gRPC) and reads the
outcome, `drops` reports what the spool dropped.
Everything heavy (protobuf, grpc; HTTP is the standard library's) is imported lazily: importing
`optel.upload` costs nothing. It runs in the uploader process only: a host never imports it.
"""

from __future__ import annotations

from optel import _loader

TYPE_CHECKING = False
if TYPE_CHECKING:
    from optel.upload.batching import CHUNK_SPANS
    from optel.upload.drops import DROPPED_METRIC
    from optel.upload.summary import UploadSummary
    from optel.upload.uploader import upload

__all__ = ["CHUNK_SPANS", "DROPPED_METRIC", "UploadSummary", "upload"]


_WHERE = {
    "CHUNK_SPANS": "batching",
    "DROPPED_METRIC": "drops",
    "UploadSummary": "summary",
    "upload": "uploader",
}


def __getattr__(name: str) -> object:
    return _loader.lazy_attribute(__name__, globals(), _WHERE, name)
