"""The uploader against a real OTLP/HTTP receiver: what is sent, kept, dropped or deleted, and how often."""

from __future__ import annotations

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
from otlp_receiver import OTLPReceiver

APP = "upload-test"
T0 = 1_790_000_000_000_000_000


@pytest.fixture
def receiver() -> Iterator[OTLPReceiver]:
    with OTLPReceiver() as r:
        yield r


def header(
    endpoint: str | None, headers: dict[str, str] | None = None, **consent: Any
) -> dict[str, Any]:
    return {
        "app": APP,
        "created_ns": T0,
        "resource": {"service.name": APP, "service.version": "1.0", "optel.install.id": "id-1"},
        "consent": {"mode": "anonymous", "source": "user_file", "install_id": "id-1", **consent},
        "export": {"endpoint": endpoint, "headers": headers},
        "settings": {
            "policy": "opt-in",
            "sample_percent": 100.0,
            "consent_version": 1,
            "version_module": None,
        },
    }


def spans(n: int, trace: int = 1) -> list[dict[str, Any]]:
    trace_id = f"{trace:032x}"
    out = []
    for i in range(n):
        out.append(
            {
                "t": "span", "trace_id": trace_id, "span_id": f"{trace << 24 | (i + 1):016x}",
                "parent_span_id": None if i == 0 else f"{trace << 24 | 1:016x}", "name": f"step {i}",
                "kind": "internal", "start_ns": T0 + i, "end_ns": T0 + i + 10, "attributes": {"step.name": "s"},
                "status": "ok", "status_message": None, "events": [],
            }
        )  # fmt: skip
    return out


def invocation(time_ns: int = T0) -> dict[str, Any]:
    return {"t": "metric", "name": "optel.cli.command.invocations", "value": 1,
            "attributes": {"command.name": "go", "outcome": "success"}, "time_ns": time_ns}  # fmt: skip


def spool_file(endpoint: str | None, records: list[dict[str, Any]], **kw: Any) -> str:
    path = Spool(APP).write(header(endpoint, **kw), records)
    assert path is not None
    return path


def waiting() -> list[str]:
    return Spool(APP).files()


def span_ids(receiver: OTLPReceiver) -> list[str]:
    return [s["span_id"] for s in receiver.spans()]


def write_user_file(text: str) -> None:
    path = _paths.user_config_file(APP)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


# what arrives ----------------------------------------------------------------------------------------


def test_spans_and_metrics_arrive_with_ids_parentage_and_times(receiver: OTLPReceiver) -> None:
    spool_file(receiver.url, [*spans(3), invocation(T0 + 5), invocation(T0 + 9)])
    summary = upload(APP)
    assert (summary.sent_spans, summary.sent_metrics, summary.files_sent) == (3, 1, 1)
    got = {s["span_id"]: s for s in receiver.spans()}
    root = f"{1 << 24 | 1:016x}"
    assert got[root]["parent_span_id"] is None
    assert all(s["parent_span_id"] == root for sid, s in got.items() if sid != root)
    assert {s["trace_id"] for s in got.values()} == {f"{1:032x}"}
    assert got[root]["start_ns"] == T0 and got[root]["end_ns"] == T0 + 10
    assert got[root]["resource"]["service.name"] == APP
    [point] = receiver.metrics()
    assert (point["name"], point["type"], point["temporality"], point["value"]) == (
        "optel.cli.command.invocations", "sum", "delta", 2,
    )  # fmt: skip
    assert (point["start_ns"], point["time_ns"]) == (T0 + 5, T0 + 9)
    assert waiting() == []
    # Spans and metrics share one keep-alive connection; the other is the run's reachability
    # check (upload/reach.py), a connect closed at once, made once per address.
    assert receiver.connections == 2


def test_summary_line_says_what_was_sent(receiver: OTLPReceiver) -> None:
    spool_file(receiver.url, [*spans(2), invocation()])
    spool_file(receiver.url, spans(1, trace=2))
    line = upload(APP).line()
    assert line == "sent 3 spans and 1 metric point from 2 files; kept 0; dropped 0"


def test_app_headers_reach_the_collector(receiver: OTLPReceiver) -> None:
    spool_file(receiver.url, [*spans(1), invocation()], headers={"Authorization": "Bearer s3cret"})
    upload(APP)
    assert [r.headers.get("authorization") for r in receiver.requests] == ["Bearer s3cret"] * 2


def test_otel_headers_variable_never_reaches_the_apps_endpoint(receiver: OTLPReceiver) -> None:
    # The user's headers are for the user's own endpoint (tests/test_user_otel_settings.py).
    spool_file(receiver.url, spans(1), headers={"authorization": "Bearer app"})
    upload(APP, environ={"OTEL_EXPORTER_OTLP_HEADERS": "x-tenant=acme,authorization=Bearer%20env"})
    [request] = receiver.requests
    assert "x-tenant" not in request.headers
    assert request.headers["authorization"] == "Bearer app"


def test_otel_endpoint_variable_wins_over_the_app_endpoint(receiver: OTLPReceiver) -> None:
    with OTLPReceiver() as configured:
        spool_file(configured.url, spans(2))
        summary = upload(APP, environ={"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url})
        assert configured.connections == 0
    assert summary.sent_spans == 2
    assert len(receiver.spans()) == 2


def test_per_signal_endpoint_variable_is_used_as_the_full_url(receiver: OTLPReceiver) -> None:
    spool_file("http://127.0.0.1:9", spans(1))
    upload(APP, environ={"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": receiver.url + "/v1/traces"})
    assert len(receiver.spans()) == 1


def test_gzip_compression_variable_is_honoured(receiver: OTLPReceiver) -> None:
    spool_file(receiver.url, spans(2))
    upload(
        APP,
        environ={
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
            "OTEL_EXPORTER_OTLP_COMPRESSION": "gzip",
        },
    )
    assert receiver.requests[0].headers.get("content-encoding") == "gzip"
    assert len(receiver.spans()) == 2


def test_a_big_file_goes_in_chunks_and_arrives_whole(receiver: OTLPReceiver) -> None:
    spool_file(receiver.url, spans(CHUNK_SPANS + 10))
    assert upload(APP).sent_spans == CHUNK_SPANS + 10
    assert len(receiver.accepted("/v1/traces")) == 2
    assert len(set(span_ids(receiver))) == CHUNK_SPANS + 10


def test_an_empty_spool_makes_no_connection(receiver: OTLPReceiver) -> None:
    summary = upload(APP)
    assert summary.files_sent == 0
    assert receiver.connections == 0


# consent ---------------------------------------------------------------------------------------------


def test_do_not_track_at_upload_time_deletes_the_spool_without_connecting(
    receiver: OTLPReceiver,
) -> None:
    spool_file(receiver.url, [*spans(2), invocation()])
    summary = upload(APP, environ={"DO_NOT_TRACK": "1"})
    assert summary.withdrawn
    assert receiver.connections == 0
    assert waiting() == []
    assert not os.path.exists(Spool(APP).path) or not os.listdir(Spool(APP).path)


def test_user_file_turned_off_withdraws_what_was_recorded(receiver: OTLPReceiver) -> None:
    spool_file(receiver.url, spans(2))
    write_user_file('mode = "off"\ninstall_id = "id-1"\nconsent_version = 1\n')
    summary = upload(APP)
    assert summary.withdrawn
    assert receiver.connections == 0
    assert waiting() == []


def test_app_telemetry_variable_off_withdraws(receiver: OTLPReceiver) -> None:
    spool_file(receiver.url, spans(1))
    assert upload(APP, environ={"UPLOAD_TEST_TELEMETRY": "off"}).withdrawn
    assert receiver.connections == 0


def test_a_file_recorded_without_consent_is_never_sent(receiver: OTLPReceiver) -> None:
    spool_file(receiver.url, [*spans(2), invocation()], mode="off")
    summary = upload(APP)
    assert receiver.connections == 0
    assert summary.sent_spans == 0
    assert waiting() == []


def test_a_file_from_an_install_outside_the_sample_is_not_sent(receiver: OTLPReceiver) -> None:
    path = Spool(APP).write({**header(receiver.url), "settings": {"sample_percent": 0.0}}, spans(1))
    assert path is not None
    upload(APP)
    assert receiver.connections == 0


# failures --------------------------------------------------------------------------------------------


def test_500_keeps_the_file_and_the_next_run_sends_it_once(receiver: OTLPReceiver) -> None:
    spool_file(receiver.url, [*spans(2), invocation()])
    receiver.respond_with(500)
    first = upload(APP)
    assert (first.files_kept, first.files_sent) == (1, 0)
    assert len(waiting()) == 1
    assert Spool(APP).backoff_until() is not None
    receiver.behave()
    assert upload(APP).files_sent == 0  # still backing off
    second = upload(APP, respect_backoff=False)
    assert second.files_sent == 1
    assert sorted(span_ids(receiver)) == sorted(s["span_id"] for s in spans(2))
    assert waiting() == []
    assert Spool(APP).backoff_until() is None


def test_429_retry_after_is_remembered_as_the_backoff(receiver: OTLPReceiver) -> None:
    spool_file(receiver.url, spans(1))
    receiver.respond_with(429, {"Retry-After": "7200"})
    summary = upload(APP)
    assert summary.files_kept == 1
    assert summary.retry_after == 7200
    until = Spool(APP).backoff_until()
    assert until is not None and until >= time.time() + 7000
    assert len(receiver.requests) == 1  # no retry inside the run


@pytest.mark.parametrize("status", [408, 502, 503, 504])
def test_retryable_statuses_keep_the_file(receiver: OTLPReceiver, status: int) -> None:
    spool_file(receiver.url, spans(1))
    receiver.respond_with(status)
    assert upload(APP).files_kept == 1
    assert len(waiting()) == 1
    assert len(receiver.requests) == 1


def test_a_failure_stops_the_run_and_keeps_every_file(receiver: OTLPReceiver) -> None:
    for trace in (1, 2, 3):
        spool_file(receiver.url, spans(1, trace=trace))
    receiver.respond_with(503)
    summary = upload(APP)
    assert (summary.files_kept, summary.files_sent) == (3, 0)
    assert len(receiver.requests) == 1
    assert len(waiting()) == 3


def test_400_drops_the_file_counts_it_and_the_count_is_reported(receiver: OTLPReceiver) -> None:
    spool_file(receiver.url, spans(3, trace=1))
    receiver.respond_with(400, times=1)
    first = upload(APP)
    assert (first.files_dropped, first.files_kept) == (1, 0)
    assert waiting() == []
    assert Spool(APP).drop_counts() == {"rejected_400": 3}
    spool_file(receiver.url, spans(1, trace=2))
    upload(APP)
    dropped = [m for m in receiver.metrics() if m["name"] == DROPPED_METRIC]
    assert [(m["attributes"], m["value"], m["temporality"]) for m in dropped] == [
        ({"reason": "rejected_400"}, 3, "delta")
    ]
    assert Spool(APP).drop_counts() == {}


def test_drop_counts_stay_when_they_cannot_be_reported(receiver: OTLPReceiver) -> None:
    Spool(APP).add_drop_counts({"size": 4})
    spool_file(receiver.url, spans(1))
    receiver.respond_with(503, path="/v1/metrics")
    assert upload(APP).files_sent == 1
    assert Spool(APP).drop_counts() == {"size": 4}


def test_a_dead_collector_keeps_the_file(receiver: OTLPReceiver) -> None:
    with socket_nobody_listens_on() as url:
        spool_file(url, spans(1))
        summary = upload(APP)
    assert summary.files_kept == 1
    assert summary.error and "Connection" in summary.error
    assert len(waiting()) == 1


def test_failures_in_the_host_process_print_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    with socket_nobody_listens_on() as url:
        spool_file(url, spans(1))
        upload(APP)
    spool_file("http://127.0.0.1:9", spans(1))
    upload(APP, respect_backoff=False)
    assert capfd.readouterr() == ("", "")


def test_a_hanging_collector_is_given_up_within_the_timeout(receiver: OTLPReceiver) -> None:
    spool_file(receiver.url, spans(1))
    receiver.hang()
    summary = upload(
        APP,
        environ={"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_EXPORTER_OTLP_TIMEOUT": "300"},
    )
    assert summary.files_kept == 1
    assert summary.error and "timed out" in summary.error
    assert len(waiting()) == 1


def test_max_seconds_bounds_a_hanging_collector(receiver: OTLPReceiver) -> None:
    spool_file(receiver.url, spans(1))
    receiver.hang()
    summary = upload(APP, max_seconds=0.3)
    assert summary.files_kept == 1


def test_out_of_time_keeps_the_files_not_tried(receiver: OTLPReceiver) -> None:
    spool_file(receiver.url, spans(1))
    summary = upload(APP, max_seconds=0)
    assert summary.files_kept == 1
    assert receiver.connections == 0
    assert len(waiting()) == 1


def test_a_reset_mid_body_is_retried_once_at_once(receiver: OTLPReceiver) -> None:
    spool_file(receiver.url, spans(500))
    receiver.reset(times=1)
    summary = upload(APP)
    assert summary.files_sent == 1
    assert len(span_ids(receiver)) == 500


def test_resets_mid_body_keep_the_file(receiver: OTLPReceiver) -> None:
    spool_file(receiver.url, spans(500))
    receiver.reset()
    summary = upload(APP)
    assert summary.files_kept == 1
    assert len(waiting()) == 1
    receiver.behave()
    upload(APP, respect_backoff=False)
    assert len(span_ids(receiver)) == 500


def test_corrupt_and_truncated_files_are_quarantined_and_the_rest_sent(
    receiver: OTLPReceiver,
) -> None:
    good = spool_file(receiver.url, spans(2, trace=1))
    truncated = spool_file(receiver.url, spans(2, trace=2))
    with open(truncated, "rb+") as f:
        f.truncate(os.path.getsize(truncated) - 30)
    corrupt = spool_file(receiver.url, spans(2, trace=3))
    with open(corrupt, "wb") as f:
        f.write(b"{not json\n")
    summary = upload(APP)
    assert (summary.files_sent, summary.files_quarantined) == (1, 2)
    assert {s["trace_id"] for s in receiver.spans()} == {f"{1:032x}"}
    quarantine = os.path.join(Spool(APP).path, "quarantine")
    assert sorted(os.listdir(quarantine)) == sorted(
        os.path.basename(p) for p in (truncated, corrupt)
    )
    assert os.path.basename(good) not in os.listdir(Spool(APP).path)


def _quarantined(name: str, size: int) -> str:
    qdir = os.path.join(Spool(APP).path, "quarantine")
    os.makedirs(qdir, exist_ok=True)
    with open(os.path.join(qdir, name), "wb") as f:
        f.write(b"x" * size)
    return name


def test_the_quarantine_keeps_no_file_recorded_more_than_14_days_ago(
    receiver: OTLPReceiver,
) -> None:
    day = 86400 * 10**9
    now = time.time_ns()
    old = [_quarantined(f"{now - (15 + i) * day}-1-0000000{i}.jsonl", 100) for i in range(3)]
    recent = _quarantined(f"{now - 13 * day}-1-00000009.jsonl", 100)
    spool_file(receiver.url, spans(1))
    assert upload(APP).files_sent == 1
    assert os.listdir(os.path.join(Spool(APP).path, "quarantine")) == [recent]
    assert not set(old) & set(os.listdir(os.path.join(Spool(APP).path, "quarantine")))


def test_the_quarantine_stays_within_the_size_bound_dropping_the_oldest_first(
    receiver: OTLPReceiver,
) -> None:
    from optel.spool.writer import MAX_BYTES

    now = time.time_ns()
    names = [
        _quarantined(f"{now - (30 - i) * 10**9}-1-{i:08x}.jsonl", MAX_BYTES // 4) for i in range(6)
    ]
    corrupt = spool_file(receiver.url, spans(1))
    with open(corrupt, "wb") as f:
        f.write(b"{not json\n")
    assert upload(APP).files_quarantined == 1
    qdir = os.path.join(Spool(APP).path, "quarantine")
    kept = sorted(os.listdir(qdir))
    assert sum(os.path.getsize(os.path.join(qdir, n)) for n in kept) <= MAX_BYTES
    assert kept == sorted([*names[-3:], os.path.basename(corrupt)]), (
        "the newest stay, the oldest went"
    )


def _optel(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "optel", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env if env is not None else dict(os.environ),
    )


def test_two_uploaders_at_once_deliver_every_span_exactly_once(receiver: OTLPReceiver) -> None:
    written = []
    for trace in range(1, 41):
        records = spans(25, trace=trace)
        written.extend(s["span_id"] for s in records)
        spool_file(receiver.url, records)
    first = _optel("upload", "--app", APP)
    second = _optel("upload", "--app", APP)
    outputs = [p.communicate(timeout=60) for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0]
    while waiting():  # the loser may have exited before the winner released anything
        assert upload(APP, respect_backoff=False).files_sent
    received = span_ids(receiver)
    assert sorted(received) == sorted(written)
    assert all(err == "" for _, err in outputs)


def test_foreground_command_prints_one_summary_line(receiver: OTLPReceiver) -> None:
    spool_file(receiver.url, [*spans(2), invocation()])
    process = _optel("upload", "--app", APP)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0
    assert out == "sent 2 spans and 1 metric point from 1 file; kept 0; dropped 0\n"
    assert err == ""


def test_foreground_command_reports_a_dead_collector_quietly_and_exits_0() -> None:
    with socket_nobody_listens_on() as url:
        spool_file(url, spans(1))
        process = _optel("upload", "--app", APP)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0
    assert out.startswith("sent 0 spans and 0 metric points from 0 files; kept 1; dropped 0")
    assert err == ""


def test_detached_command_prints_nothing_even_when_the_collector_fails(
    receiver: OTLPReceiver,
) -> None:
    spool_file(receiver.url, spans(1))
    receiver.respond_with(500)
    process = _optel("upload", "--app", APP, "--detached")
    out, err = process.communicate(timeout=30)
    assert (process.returncode, out, err) == (0, "", "")
    assert len(receiver.requests) == 1
    assert len(waiting()) == 1


def test_detached_command_sends_under_do_not_track_nothing(receiver: OTLPReceiver) -> None:
    spool_file(receiver.url, spans(1))
    process = _optel(
        "upload", "--app", APP, "--detached", env={**os.environ, "DO_NOT_TRACK": "true"}
    )
    assert process.communicate(timeout=30) == ("", "")
    assert receiver.connections == 0
    assert waiting() == []


def test_usage_error_exits_non_zero() -> None:
    process = _optel("upload", "--max-seconds", "soon")
    _, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert "--max-seconds" in err


class socket_nobody_listens_on:
    """A loopback URL whose port was just free: connections to it are refused."""

    def __enter__(self) -> str:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        pass


HOST = r"""
import sys
import optel

optel.init("upload-test", endpoint=sys.argv[1], session_flag=True)


@optel.command()
def go():
    return 0


go()
"""


@pytest.mark.parametrize("off", [{"DO_NOT_TRACK": "1"}, {"UPLOAD_TEST_TELEMETRY": "off"}])
def test_a_host_with_consent_off_writes_no_spool_and_connects_to_nothing(
    receiver: OTLPReceiver, tmp_path: Any, off: dict[str, str]
) -> None:
    script = tmp_path / "host.py"
    script.write_text(HOST)
    result = subprocess.run(
        [sys.executable, str(script), receiver.url], capture_output=True, text=True, timeout=60,
        env={**os.environ, **off},
    )  # fmt: skip
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert not os.path.exists(Spool(APP).path) or os.listdir(Spool(APP).path) == []
    assert receiver.connections == 0


def test_a_host_with_consent_on_is_received_exactly_once(
    receiver: OTLPReceiver, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "OPTEL_UPLOAD_INTERVAL", "0"
    )  # an uploader at every flush (the test is about its faults)
    script = tmp_path / "host.py"
    script.write_text(HOST)
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, str(script), receiver.url], capture_output=True, text=True, timeout=60
        )
        assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert receiver.wait_for(
        lambda r: len([s for s in r.spans() if s["name"] == "go"]) == 2, timeout=30
    )
    # Whatever the detached uploaders left (one may have found the other's lock) goes now.
    deadline = time.monotonic() + 30
    while waiting() and time.monotonic() < deadline:
        upload(APP, respect_backoff=False)
        time.sleep(0.05)
    ids = [s["span_id"] for s in receiver.spans()]
    assert len(ids) == len(set(ids))


def test_a_failure_after_part_of_a_file_went_out_keeps_only_the_rest(
    receiver: OTLPReceiver,
) -> None:
    spool_file(receiver.url, [*spans(3), invocation()])
    receiver.respond_with(503, path="/v1/metrics", times=1)
    first = upload(APP)
    assert (first.files_kept, first.sent_spans) == (1, 3)
    assert len(waiting()) == 1
    second = upload(APP, respect_backoff=False)
    assert (second.files_sent, second.sent_spans, second.sent_metrics) == (1, 0, 1)
    assert sorted(span_ids(receiver)) == sorted(s["span_id"] for s in spans(3))
    assert [m["value"] for m in receiver.metrics()] == [1]


def test_a_failed_second_chunk_is_the_only_one_sent_again(receiver: OTLPReceiver) -> None:
    records = spans(CHUNK_SPANS + 5)
    spool_file(receiver.url, records)
    receiver.respond_with(502, times=1, path="/v1/traces", after=1)
    assert upload(APP).files_kept == 1
    assert upload(APP, respect_backoff=False).files_sent == 1
    ids = span_ids(receiver)
    assert len(ids) == len(set(ids)) == CHUNK_SPANS + 5


def test_a_file_past_the_age_bound_is_dropped_and_counted_not_sent_late(
    receiver: OTLPReceiver,
) -> None:
    from optel.spool.writer import MAX_AGE_S

    path = spool_file(receiver.url, spans(2, trace=1))
    spool_file(receiver.url, spans(1, trace=2))
    # The first flush aged past the bound while no host wrote (a host's write enforces it too):
    # the name carries the time it was written.
    directory, name = os.path.split(path)
    old = time.time_ns() - int((MAX_AGE_S + 7 * 86400) * 1e9)
    os.rename(path, os.path.join(directory, f"{old}-{name.split('-', 1)[1]}"))
    summary = upload(APP)
    assert summary.files_sent == 1
    assert summary.records_aged_out == 2
    assert "2 records too old to send, dropped" in summary.line()
    assert span_ids(receiver) == [f"{2 << 24 | 1:016x}"]
    dropped = [m for m in receiver.metrics() if m["name"] == DROPPED_METRIC]
    assert [(m["attributes"], m["value"]) for m in dropped] == [({"reason": "age"}, 2)]


def test_invalid_records_in_a_readable_file_are_skipped_and_counted_as_drops(
    receiver: OTLPReceiver,
) -> None:
    good = spans(2, trace=1)
    broken_span = {**spans(1, trace=3)[0], "span_id": "not-hex"}
    broken_metric = {**invocation(), "value": "seven"}
    spool_file(receiver.url, [*good, broken_span, invocation(), broken_metric])
    summary = upload(APP)
    assert (summary.files_sent, summary.sent_spans, summary.records_invalid) == (1, 2, 2)
    assert "2 invalid records skipped" in summary.line()
    assert sorted(span_ids(receiver)) == sorted(s["span_id"] for s in good)
    dropped = [m for m in receiver.metrics() if m["name"] == DROPPED_METRIC]
    assert [(m["attributes"], m["value"]) for m in dropped] == [({"reason": "invalid"}, 2)]
    assert Spool(APP).drop_counts() == {}
