"""Drop reporting: the spool's counts of records it dropped, sent as the `optel.spool.dropped` metric."""

from __future__ import annotations

import time
from _collections_abc import Mapping  # collections.abc's, without importing collections

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from optel.spool.files import Spool
    from optel.upload.export import Exporters

# The metric that reports records the spool dropped (bounds, rejected or corrupt files).
DROPPED_METRIC = "optel.spool.dropped"
DROPPED_UNIT = "{record}"
DROPPED_DESCRIPTION = "Telemetry records the spool dropped before they could be sent, by reason."


def report_drops(
    spool: Spool, header: Mapping[str, Any], exporters: Exporters, budget: float
) -> None:
    """Send the spool's drop counts as `optel.spool.dropped` under the resource of `header`
    (the last file sent); put them back if that fails."""
    counts = spool.take_drop_counts()
    if not counts:
        return
    from optel.upload.attributes import resource_for
    from optel.upload.metrics import counter_metric, declared_spec
    from optel.upload.outcome import SENT

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
    export = header.get("export") if isinstance(header.get("export"), Mapping) else None
    groups = [(resource_for(header), [metric])]
    if exporters.export_metrics(groups, export, budget).kind != SENT:
        spool.add_drop_counts(counts)
