"""The uploader batches small spool files into few requests, and every file still arrives exactly once or is accounted for."""

from __future__ import annotations

import collections
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from optel import _paths
from optel.spool.files import Spool
from optel.upload import CHUNK_SPANS, DROPPED_METRIC, upload
from optel.upload.uploader import BATCH_RECORDS, CONSENT_RECHECK_S
from otlp_receiver import OTLPReceiver, ReceivedRequest, _Handler

APP = "batch-test"
T0 = 1_790_000_000_000_000_000


class RefusingReceiver(OTLPReceiver):
    """A receiver that answers 400 to any request whose body holds `refuse` (a collector's validation rule)."""

    def __init__(self, refuse: bytes) -> None:
        super().__init__()
        self.refuse = refuse
        self._server.RequestHandlerClass = _RefusingHandler


class _RefusingHandler(_Handler):
    def do_POST(self) -> None:
        receiver = self.server.receiver
        assert isinstance(receiver, RefusingReceiver)
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        if receiver.refuse in raw:
            headers = {k.lower(): v for k, v in self.headers.items()}
            receiver._record(ReceivedRequest(self.path, headers, raw, None, 400))
            self._answer(400, b"", {})
            return
        # The plain receiver reads the body itself: hand it what was read, then the socket again.
        connection = self.rfile
        self.rfile = io.BytesIO(raw)
        try:
            super().do_POST()
        finally:
            self.rfile = connection


class WithdrawingReceiver(OTLPReceiver):
    """A receiver during whose first span request the user turns telemetry off (its answer comes late)."""

    withdrew = False

    def _record(self, request: ReceivedRequest) -> None:
        super()._record(request)
        if request.path == "/v1/traces" and not self.withdrew:
            self.withdrew = True
            write_user_file('mode = "off"\ninstall_id = "id-1"\nconsent_version = 1\n')
            # Long enough that the uploader's next consent check is due before its next batch.
            time.sleep(CONSENT_RECHECK_S + 0.1)


@pytest.fixture
def receiver() -> Iterator[OTLPReceiver]:
    with OTLPReceiver() as r:
        yield r


def header(endpoint: str | None, version: str = "1.0", mode: str = "anonymous") -> dict[str, Any]:
    return {
        "app": APP,
        "created_ns": T0,
        "resource": {"service.name": APP, "service.version": version, "optel.install.id": "id-1"},
        "consent": {"mode": mode, "source": "user_file", "install_id": "id-1"},
        "export": {"endpoint": endpoint, "headers": None},
        "settings": {
            "policy": "opt-in",
            "sample_percent": 100.0,
            "consent_version": 1,
            "version_module": None,
        },
    }


def spans(n: int, file: int, name: str = "step") -> list[dict[str, Any]]:
    trace_id = f"{file + 1:032x}"
    return [
        {
            "t": "span", "trace_id": trace_id, "span_id": f"{(file + 1) << 24 | (i + 1):016x}",
            "parent_span_id": None if i == 0 else f"{(file + 1) << 24 | 1:016x}", "name": f"{name} {file} {i}",
            "kind": "internal", "start_ns": T0 + i, "end_ns": T0 + i + 10, "attributes": {"step.name": "s"},
            "status": "ok", "status_message": None, "events": [],
        }
        for i in range(n)
    ]  # fmt: skip


def invocation(file: int, name: str = "optel.cli.command.invocations") -> dict[str, Any]:
    return {"t": "metric", "name": name, "value": 1,
            "attributes": {"command.name": f"cmd {file}", "outcome": "success"}, "time_ns": T0 + file}  # fmt: skip


def spool_files(
    endpoint: str, count: int, per_file: int, *, metrics: bool = True, **header_kw: Any
) -> tuple[list[str], list[str]]:
    """`count` files of `per_file` spans (and one invocation each); returns (paths, span ids)."""
    paths, ids = [], []
    for file in range(count):
        records = spans(per_file, file)
        ids.extend(r["span_id"] for r in records)
        path = Spool(APP).write(
            header(endpoint, **header_kw), [*records, *([invocation(file)] if metrics else [])]
        )
        assert path is not None
        paths.append(path)
    return paths, ids


def write_user_file(text: str) -> None:
    path = _paths.user_config_file(APP)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def span_ids(receiver: OTLPReceiver) -> list[str]:
    return [s["span_id"] for s in receiver.spans()]


def spans_per_request(receiver: OTLPReceiver) -> list[int]:
    return [
        sum(len(ss.spans) for rs in r.message.resource_spans for ss in rs.scope_spans)
        for r in receiver.accepted("/v1/traces")
    ]


def invocations(receiver: OTLPReceiver) -> dict[str, float]:
    counts: dict[str, float] = collections.Counter()
    for point in receiver.metrics():
        if point["name"] == "optel.cli.command.invocations":
            counts[point["attributes"]["command.name"]] += point["value"]
    return dict(counts)


def dropped(receiver: OTLPReceiver) -> list[tuple[dict[str, Any], float]]:
    return [
        (m["attributes"], m["value"]) for m in receiver.metrics() if m["name"] == DROPPED_METRIC
    ]


def waiting() -> list[str]:
    return Spool(APP).files()


# batching --------------------------------------------------------------------------------------------


def test_many_small_files_go_in_one_span_request_and_one_metric_request(
    receiver: OTLPReceiver,
) -> None:
    _, written = spool_files(receiver.url, 150, 5)
    summary = upload(APP)
    assert (summary.files_sent, summary.sent_spans, summary.files_kept) == (150, 750, 0)
    assert len(receiver.accepted("/v1/traces")) == 1
    assert len(receiver.accepted("/v1/metrics")) == 1
    assert receiver.connections == 2  # one keep-alive connection, and the reachability check
    assert sorted(span_ids(receiver)) == sorted(written)
    assert invocations(receiver) == {f"cmd {i}": 1 for i in range(150)}
    assert waiting() == []


def test_requests_never_hold_more_than_a_batch_of_spans_and_each_span_arrives_once(
    receiver: OTLPReceiver,
) -> None:
    _, written = spool_files(receiver.url, 30, 300)
    summary = upload(APP)
    assert (summary.files_sent, summary.sent_spans) == (30, 9000)
    per_request = spans_per_request(receiver)
    assert max(per_request) <= CHUNK_SPANS
    assert per_request == [CHUNK_SPANS // 300 * 300] * 2 + [9000 - 2 * (CHUNK_SPANS // 300 * 300)]
    assert sorted(span_ids(receiver)) == sorted(written)
    assert invocations(receiver) == {f"cmd {i}": 1 for i in range(30)}


def test_files_heavy_with_measurements_are_batched_by_records_too(receiver: OTLPReceiver) -> None:
    per_batch = BATCH_RECORDS // 1100
    for file in range(2 * per_batch + 1):
        measurements = [invocation(file)] * 1000
        assert (
            Spool(APP).write(header(receiver.url), [*spans(100, file), *measurements]) is not None
        )
    summary = upload(APP)
    assert summary.files_sent == 2 * per_batch + 1
    assert spans_per_request(receiver) == [per_batch * 100, per_batch * 100, 100]
    assert len(receiver.accepted("/v1/metrics")) == 3
    assert invocations(receiver) == {f"cmd {i}": 1000 for i in range(2 * per_batch + 1)}


def test_files_of_different_resources_share_a_request_each_under_its_own_resource(
    receiver: OTLPReceiver,
) -> None:
    for file, version in enumerate(["1.0", "2.0", "1.0"]):
        assert Spool(APP).write(header(receiver.url, version=version), spans(2, file)) is not None
    assert upload(APP).files_sent == 3
    [request] = receiver.accepted("/v1/traces")
    assert len(request.message.resource_spans) == 2
    versions = {s["name"]: s["resource"]["service.version"] for s in receiver.spans()}
    assert versions == {"step 0 0": "1.0", "step 0 1": "1.0", "step 1 0": "2.0", "step 1 1": "2.0",
                        "step 2 0": "1.0", "step 2 1": "1.0"}  # fmt: skip


def test_resources_that_differ_only_in_a_value_type_stay_apart(receiver: OTLPReceiver) -> None:
    for file, value in enumerate([True, 1, 1.0]):
        head = header(receiver.url)
        head["resource"]["test.value"] = value
        assert Spool(APP).write(head, spans(1, file)) is not None
    assert upload(APP).files_sent == 3
    got = {s["name"]: s["resource"]["test.value"] for s in receiver.spans()}
    assert [(got[f"step {i} 0"], type(got[f"step {i} 0"])) for i in range(3)] == [
        (True, bool),
        (1, int),
        (1.0, float),
    ]


def test_files_for_another_endpoint_go_in_their_own_request(receiver: OTLPReceiver) -> None:
    with OTLPReceiver() as other:
        _, here = spool_files(receiver.url, 3, 2)
        for file in range(3, 6):
            assert Spool(APP).write(header(other.url), spans(2, file)) is not None
        assert upload(APP).files_sent == 6
        assert sorted(span_ids(receiver)) == sorted(here)
        assert len(receiver.accepted("/v1/traces")) == 1
        assert len(other.spans()) == 6 and len(other.accepted("/v1/traces")) == 1


def test_a_file_recorded_without_consent_in_a_batch_sends_nothing_and_the_others_go(
    receiver: OTLPReceiver,
) -> None:
    _, written = spool_files(receiver.url, 3, 2)
    assert (
        Spool(APP).write(header(receiver.url, mode="off"), [*spans(2, 9), invocation(9)])
        is not None
    )
    summary = upload(APP)
    assert (summary.files_sent, summary.sent_spans) == (4, 6)
    assert sorted(span_ids(receiver)) == sorted(written)
    assert "cmd 9" not in invocations(receiver)
    assert waiting() == []


# failures --------------------------------------------------------------------------------------------


def test_a_500_on_the_metric_request_of_a_batch_keeps_every_file_and_the_next_run_sends_each_span_once(
    receiver: OTLPReceiver,
) -> None:
    _, written = spool_files(receiver.url, 20, 3)
    receiver.respond_with(500, path="/v1/metrics", times=1)
    first = upload(APP)
    assert (first.files_sent, first.files_kept, first.sent_spans) == (0, 20, 60)
    assert len(waiting()) == 20
    assert Spool(APP).backoff_until() is not None
    second = upload(APP, respect_backoff=False)
    assert (second.files_sent, second.sent_spans, second.files_kept) == (20, 0, 0)
    assert sorted(span_ids(receiver)) == sorted(written)
    assert invocations(receiver) == {f"cmd {i}": 1 for i in range(20)}
    assert waiting() == []


def test_a_failed_span_request_keeps_the_batch_whole_and_the_next_run_sends_it_once(
    receiver: OTLPReceiver,
) -> None:
    _, written = spool_files(receiver.url, 20, 3)
    receiver.respond_with(503, path="/v1/traces", times=1)
    first = upload(APP)
    assert (first.files_sent, first.files_kept, first.sent_spans) == (0, 20, 0)
    assert receiver.accepted() == []
    second = upload(APP, respect_backoff=False)
    assert (second.files_sent, second.sent_spans) == (20, 60)
    assert sorted(span_ids(receiver)) == sorted(written)
    assert invocations(receiver) == {f"cmd {i}": 1 for i in range(20)}


def test_a_failure_in_a_later_batch_keeps_only_that_batch_and_the_files_after_it(
    receiver: OTLPReceiver,
) -> None:
    _, written = spool_files(receiver.url, 30, 300, metrics=False)
    receiver.respond_with(502, path="/v1/traces", times=1, after=1)
    first = upload(APP)
    per_batch = CHUNK_SPANS // 300
    assert (first.files_sent, first.files_kept, first.sent_spans) == (
        per_batch,
        30 - per_batch,
        per_batch * 300,
    )
    assert len(waiting()) == 30 - per_batch
    assert upload(APP, respect_backoff=False).files_sent == 30 - per_batch
    assert sorted(span_ids(receiver)) == sorted(written)


def test_a_400_for_a_batch_drops_only_the_refused_file_and_delivers_the_rest() -> None:
    with RefusingReceiver(b"poison") as receiver:
        written = []
        for file in range(12):
            records = spans(3, file, name="poison" if file == 6 else "step")
            if file != 6:
                written.extend(r["span_id"] for r in records)
            assert Spool(APP).write(header(receiver.url), [*records, invocation(file)]) is not None
        summary = upload(APP)
        assert (summary.files_sent, summary.files_dropped, summary.files_kept) == (11, 1, 0)
        assert sorted(span_ids(receiver)) == sorted(written)
        assert invocations(receiver) == {f"cmd {i}": 1 for i in range(12) if i != 6}
        refused = [r for r in receiver.requests if r.status == 400]
        # Halving finds the file in a few requests, not one per file.
        assert len(receiver.requests) < 2 * 12
        assert len(refused) < 6
        # Counted, and the count reported with the run's other data: the file's four records.
        assert dropped(receiver) == [({"reason": "rejected_400"}, 4)]
    assert waiting() == []


def test_a_400_on_the_metric_request_drops_only_that_file_and_sends_no_span_twice() -> None:
    with RefusingReceiver(b"poison.metric") as receiver:
        written = []
        for file in range(8):
            records = spans(2, file)
            written.extend(r["span_id"] for r in records)
            metric = invocation(
                file, name="poison.metric" if file == 3 else "optel.cli.command.invocations"
            )
            assert Spool(APP).write(header(receiver.url), [*records, metric]) is not None
        summary = upload(APP)
        assert (summary.files_sent, summary.files_dropped, summary.sent_spans) == (7, 1, 16)
        # The spans went out with the batch before its metrics were refused: each arrived once.
        assert sorted(span_ids(receiver)) == sorted(written)
        assert invocations(receiver) == {f"cmd {i}": 1 for i in range(8) if i != 3}
        # Only what the collector refused is counted as dropped: the file's one measurement.
        assert dropped(receiver) == [({"reason": "rejected_400"}, 1)]
    assert waiting() == []


def test_a_corrupt_file_in_the_middle_of_a_batch_is_quarantined_and_the_rest_go_in_one_request(
    receiver: OTLPReceiver,
) -> None:
    paths, _ = spool_files(receiver.url, 10, 2)
    with open(paths[4], "rb+") as f:
        f.truncate(os.path.getsize(paths[4]) - 30)
    summary = upload(APP)
    assert (summary.files_sent, summary.files_quarantined, summary.sent_spans) == (9, 1, 18)
    assert len(receiver.accepted("/v1/traces")) == 1
    assert {s["trace_id"] for s in receiver.spans()} == {
        f"{i + 1:032x}" for i in range(10) if i != 4
    }
    assert os.listdir(os.path.join(Spool(APP).path, "quarantine")) == [os.path.basename(paths[4])]
    assert waiting() == []


def test_out_of_time_between_batches_keeps_the_files_not_sent(receiver: OTLPReceiver) -> None:
    spool_files(receiver.url, 4, 2)
    summary = upload(APP, max_seconds=0)
    assert (summary.files_kept, summary.files_sent, summary.error) == (4, 0, "out of time")
    assert receiver.connections == 0
    assert len(waiting()) == 4


# consent ---------------------------------------------------------------------------------------------


def test_consent_withdrawn_mid_run_stops_sending_and_deletes_the_spool() -> None:
    with WithdrawingReceiver() as receiver:
        spool_files(receiver.url, 30, 300)
        summary = upload(APP)
        assert summary.withdrawn
        # The first batch was on the wire when the user opted out; nothing after it left.
        assert spans_per_request(receiver) == [CHUNK_SPANS // 300 * 300]
        assert len([r for r in receiver.requests if r.path == "/v1/traces"]) == 1
    assert waiting() == []
    assert not [n for n in os.listdir(Spool(APP).path) if ".jsonl" in n]


COUNT_CONSENT_READS = r"""
import json, sys, time
from optel import _paths
from optel.upload import upload

user_file = _paths.user_config_file(sys.argv[1])
reads = []
sys.addaudithook(lambda event, args: reads.append(1) if event == "open" and args[0] == user_file else None)
start = time.monotonic()
summary = upload(sys.argv[1])
print(json.dumps({"reads": len(reads), "seconds": time.monotonic() - start, "files": summary.files_sent}))
"""


def test_consent_is_asked_again_at_most_every_half_second_not_per_file(
    receiver: OTLPReceiver,
) -> None:
    write_user_file(
        'mode = "anonymous"\ninstall_id = "id-1"\nconsent_version = 1\nfirst_version = "1.0"\n'
    )
    for file in range(300):
        # The first version already noted, as the host does once it is stored: no user-file read for it.
        head = header(receiver.url)
        head["resource"]["optel.install.first_version"] = "1.0"
        assert Spool(APP).write(head, spans(1, file)) is not None
    done = subprocess.run(
        [sys.executable, "-c", COUNT_CONSENT_READS, APP],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    run = json.loads(done.stdout)
    assert run["files"] == 300
    # Once before the first file, then once per half second at most: never once per file.
    assert 1 <= run["reads"] <= 1 + run["seconds"] / CONSENT_RECHECK_S + 1
    assert run["reads"] < 300
