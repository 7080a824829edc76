"""A host's own metrics (``optel.metric``) reach the collector as declared: the kind the host chose,
its unit and description. A real host process, its detached uploader, an OTLP receiver on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from optel import _paths
from optel.spool.launch import uploader_running
from otlp_receiver import OTLPReceiver

APP = "metrics-tool"
HOST = """
import optel
optel.init({app!r}, endpoint={endpoint!r})
TABLES = optel.metric("mtool.tables", kind="histogram", unit="{{table}}",
                      description="Tables a run read", attributes=["command.name"])
SHARE = optel.metric("mtool.cache.share", unit="1", description="Share served from cache")
PLAIN = optel.metric("mtool.retries")

@optel.command("sync")
def sync():
    TABLES.record(3, **{{"command.name": "sync"}})
    TABLES.record(5, **{{"command.name": "sync"}})
    SHARE.add(0.5)
    SHARE.add(0.25)
    PLAIN.add(2)

sync()
"""


def _consent() -> None:
    user_file = _paths.user_config_file(APP)
    os.makedirs(os.path.dirname(user_file), exist_ok=True)
    with open(user_file, "w") as f:
        f.write('mode = "anonymous"\ninstall_id = "3f1d0c9e-0000-4000-8000-00000000a1b2"\n')


def test_a_hosts_metrics_arrive_with_the_kind_unit_and_description_it_declared() -> None:
    _consent()
    with OTLPReceiver() as receiver:
        env = {**os.environ, "OPTEL_UPLOAD_INTERVAL": "0"}  # the run's exit starts the uploader
        script = HOST.format(app=APP, endpoint=receiver.url)
        done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True)
        assert (done.returncode, done.stderr) == (0, b"")
        deadline = time.monotonic() + 30
        while uploader_running(APP) and time.monotonic() < deadline:
            time.sleep(0.05)
        rows = {row["name"]: row for row in receiver.metrics() if row["name"].startswith("mtool.")}
    tables = rows["mtool.tables"]
    # Whole numbers, which alone would have been taken for a count: a histogram, as declared.
    assert (tables["type"], tables["unit"], tables["description"]) == (
        "histogram",
        "{table}",
        "Tables a run read",
    )
    assert (tables["count"], tables["sum"], tables["min"], tables["max"]) == (2, 8, 3, 5)
    assert tables["attributes"] == {"command.name": "sync"}
    share = rows["mtool.cache.share"]
    # Fractions, which alone would have been taken for a distribution: a counter, as declared.
    assert (share["type"], share["unit"], share["description"]) == (
        "sum",
        "1",
        "Share served from cache",
    )
    assert (share["value"], share["is_monotonic"]) == (0.75, True)
    retries = rows["mtool.retries"]
    assert (retries["type"], retries["unit"], retries["value"]) == ("sum", "1", 2)


def _metric(name: str, values: list[float], declared: object) -> object:
    from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric

    from optel.upload.metrics import metrics_from_records

    records = [
        {"t": "metric", "name": name, "value": v, "attributes": {}, "time_ns": 10**18 + i, **(
            {"declared": declared} if declared is not None else {}
        )}
        for i, v in enumerate(values)
    ]  # fmt: skip
    (encoded,) = metrics_from_records(records)
    return Metric.FromString(encoded)


def test_a_declaration_the_uploader_cannot_use_is_ignored_and_the_dictionary_always_wins() -> None:
    # Not a kind optel.metric accepts, or a unit that is not text: inferred as before.
    for declared in ({"kind": "gauge", "unit": "1"}, {"kind": "histogram", "unit": 3}, "histogram"):
        metric = _metric("mtool.odd", [1, 2], declared)
        assert (metric.WhichOneof("data"), metric.unit) == ("sum", "")
    # A description that is not text is dropped; the rest of the declaration holds.
    metric = _metric("mtool.odd", [1, 2], {"kind": "histogram", "unit": "s", "description": 7})
    assert (metric.WhichOneof("data"), metric.unit, metric.description) == ("histogram", "s", "")
    # A file cannot redeclare one of optel's own metrics: the data dictionary says what it is.
    metric = _metric("optel.cli.command.invocations", [1], {"kind": "histogram", "unit": "ms"})
    assert (metric.WhichOneof("data"), metric.unit) == ("sum", "{invocation}")
