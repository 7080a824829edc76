"""The user's own OpenTelemetry settings go only to the user's own endpoint, signal by signal
(docs/privacy.md#your-opentelemetry-settings-stay-yours).

Two real OTLP/HTTP receivers on 127.0.0.1: one is the app's endpoint (the maintainer's collector,
given to `optel.init`), the other the user's own backend (named by `OTEL_EXPORTER_OTLP_*`). A real
host process records a run and its detached uploader sends it; the test reads which receiver got
which signal, header and resource attribute.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from optel import _paths
from optel.spool.files import Spool
from optel.spool.launch import uploader_running
from otlp_receiver import OTLPReceiver

APP = "otel-settings-tool"
APP_TOKEN = "Bearer app-token"
USER_KEY = "user-secret-key"
HOST = """
import optel
optel.init({app!r}, endpoint={endpoint!r}, headers={{"authorization": {token!r}}})

@optel.command()
def deploy():
    optel.count_input()

deploy()
"""


@pytest.fixture
def receivers() -> Iterator[tuple[OTLPReceiver, OTLPReceiver]]:
    """(the app's endpoint, the user's own backend)."""
    with OTLPReceiver() as app, OTLPReceiver() as mine:
        yield app, mine


@pytest.fixture(autouse=True)
def consented() -> None:
    user_file = _paths.user_config_file(APP)
    os.makedirs(os.path.dirname(user_file), exist_ok=True)
    with open(user_file, "w") as f:
        f.write(
            'mode = "anonymous"\ninstall_id = "3f1d0c9e-0000-4000-8000-0000000020c2"\nconsent_version = 1\n'
        )


def _env(**extra: str) -> dict[str, str]:
    # An uploader at every run's exit: these tests follow the one each run starts. A host that
    # crashes (once seen: -11 on Python 3.9 under load, not reproduced) shows its threads' stacks.
    return {**os.environ, "OPTEL_UPLOAD_INTERVAL": "0", "PYTHONFAULTHANDLER": "1", **extra}


def _settle(timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while uploader_running(APP) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not uploader_running(APP), "the uploader did not finish"


def run_host_and_its_uploader(app: OTLPReceiver, **variables: str) -> dict[str, str]:
    """A host run under `variables`, then its detached uploader (the one it started, or one started
    the same way, with the same environment, if the run did not start one)."""
    env = _env(**variables)
    script = HOST.format(app=APP, endpoint=app.url, token=APP_TOKEN)
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, timeout=60)
    assert (done.returncode, done.stderr) == (0, b"")
    _settle()
    if Spool(APP).files():
        command = [sys.executable, "-m", "optel", "upload", "--app", APP, "--detached"]
        subprocess.run(command, env=env, capture_output=True, timeout=60, check=True)
    return env


def _signals(receiver: OTLPReceiver) -> set[str]:
    return {r.path.rsplit("/", 1)[1] for r in receiver.accepted()}


def _header_values(receiver: OTLPReceiver, name: str) -> set[str | None]:
    return {r.headers.get(name) for r in receiver.requests}


def test_without_variables_everything_goes_to_the_app_with_the_apps_token(receivers):
    app, mine = receivers
    run_host_and_its_uploader(app)
    assert _signals(app) == {"traces", "metrics"}
    assert _header_values(app, "authorization") == {APP_TOKEN}
    assert mine.connections == 0


def test_headers_alone_never_reach_the_apps_endpoint(receivers):
    app, mine = receivers
    run_host_and_its_uploader(app, OTEL_EXPORTER_OTLP_HEADERS=f"x-api-key={USER_KEY}")
    assert _signals(app) == {"traces", "metrics"}
    assert _header_values(app, "x-api-key") == {None}
    assert _header_values(app, "authorization") == {APP_TOKEN}
    assert mine.connections == 0


def test_a_general_endpoint_gets_everything_with_the_users_headers_and_not_the_apps(receivers):
    app, mine = receivers
    run_host_and_its_uploader(
        app,
        OTEL_EXPORTER_OTLP_ENDPOINT=mine.url,
        OTEL_EXPORTER_OTLP_HEADERS=f"x-api-key={USER_KEY}",
    )
    assert app.connections == 0
    assert _signals(mine) == {"traces", "metrics"}
    assert _header_values(mine, "x-api-key") == {USER_KEY}
    assert _header_values(mine, "authorization") == {None}


def test_a_traces_endpoint_takes_the_general_headers_and_metrics_stay_the_apps_without_them(
    receivers,
):
    app, mine = receivers
    run_host_and_its_uploader(
        app,
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=mine.url + "/v1/traces",
        OTEL_EXPORTER_OTLP_HEADERS=f"x-api-key={USER_KEY}",
    )
    assert _signals(mine) == {"traces"}
    assert _header_values(mine, "x-api-key") == {USER_KEY}
    assert _header_values(mine, "authorization") == {None}
    assert _signals(app) == {"metrics"}
    assert _header_values(app, "x-api-key") == {None}
    assert _header_values(app, "authorization") == {APP_TOKEN}


def test_per_signal_headers_go_with_their_own_signals_endpoint_only(receivers):
    app, mine = receivers
    run_host_and_its_uploader(
        app,
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=mine.url + "/v1/traces",
        OTEL_EXPORTER_OTLP_TRACES_HEADERS="x-traces-key=t1",
        OTEL_EXPORTER_OTLP_METRICS_HEADERS="x-metrics-key=m1",
    )
    assert _signals(mine) == {"traces"}
    assert _header_values(mine, "x-traces-key") == {"t1"}
    assert _header_values(mine, "x-metrics-key") == {None}
    assert _signals(app) == {"metrics"}
    assert _header_values(app, "x-metrics-key") == {None}
    assert _header_values(app, "x-traces-key") == {None}


def test_resource_attributes_of_the_user_go_to_the_users_endpoint_only(receivers):
    app, mine = receivers
    run_host_and_its_uploader(
        app,
        OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=mine.url + "/v1/metrics",
        OTEL_RESOURCE_ATTRIBUTES="deployment.environment=dev,team=plat%20form",
        OTEL_SERVICE_NAME="users-service",
    )
    [user_point, *_] = mine.metrics()
    assert user_point["resource"]["team"] == "plat form"
    assert user_point["resource"]["deployment.environment"] == "dev"
    # The file's own attributes rank above the environment's, as the SDK ranks explicit ones.
    assert user_point["resource"]["service.name"] == APP
    assert _signals(app) == {"traces"}
    for span in app.spans():
        assert "team" not in span["resource"] and "deployment.environment" not in span["resource"]


def test_the_sdks_own_variables_do_not_reach_the_apps_endpoint_either(receivers, tmp_path):
    # Certificates, timeout and compression are the user's too: the app's endpoint is sent to
    # with optel's defaults (a client certificate would identify the user).
    app, mine = receivers
    run_host_and_its_uploader(
        app,
        OTEL_EXPORTER_OTLP_COMPRESSION="gzip",
        OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE=str(tmp_path / "missing-client.pem"),
        OTEL_EXPORTER_OTLP_PROTOCOL="grpc",
    )
    assert _signals(app) == {"traces", "metrics"}
    assert _header_values(app, "content-encoding") == {None}
    assert mine.connections == 0


def test_a_later_upload_from_a_shell_without_the_variables_sends_where_the_run_meant_without_its_headers(
    receivers,
):
    app, mine = receivers
    port = mine.port
    mine.stop()  # the user's backend is down while the run's own uploader tries
    env = _env(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=f"http://127.0.0.1:{port}/v1/traces",
               OTEL_EXPORTER_OTLP_HEADERS=f"x-api-key={USER_KEY}")  # fmt: skip
    script = HOST.format(app=APP, endpoint=app.url, token=APP_TOKEN)
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, timeout=60)
    assert (done.returncode, done.stderr) == (0, b"")
    _settle()
    [name] = Spool(APP).files()
    with open(os.path.join(Spool(APP).path, name), "rb") as f:
        raw = f.read()
    # The endpoint is recorded for later; the user's key is never written to disk.
    assert USER_KEY.encode() not in raw
    header = json.loads(raw.split(b"\n", 1)[0])
    assert header["export"]["user_endpoints"] == {
        "traces": {"endpoint": f"http://127.0.0.1:{port}/v1/traces", "protocol": "http/protobuf"}
    }
    with OTLPReceiver(port=port) as again:
        shell = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
        upload = subprocess.run(
            [sys.executable, "-m", "optel", "upload", "--app", APP],
            env=shell,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert upload.returncode == 0, upload.stderr
        assert _signals(again) == {"traces"}, upload.stdout
        assert _header_values(again, "x-api-key") == {None}
        assert _header_values(again, "authorization") == {None}
    assert _header_values(app, "x-api-key") == {None}
    assert "traces" not in _signals(app)


# every OTEL_* variable's rule (docs/guide.md#every-otel_-variable), in real processes --------

MANY = """
import optel
optel.init({app!r}, endpoint={endpoint!r}, headers={{"authorization": {token!r}}})

@optel.command()
def deploy():
    optel.count_input()

for _ in range(40):
    deploy()
"""


def _run_host(app: OTLPReceiver, script: str = HOST, **variables: str) -> dict[str, str]:
    env = _env(**variables)
    done = subprocess.run(
        [sys.executable, "-c", script.format(app=APP, endpoint=app.url, token=APP_TOKEN)],
        env=env, capture_output=True, timeout=60,
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (0, b"")
    _settle()
    return env


def _upload(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "optel", "upload", "--app", APP]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def _trace_ids(receiver: OTLPReceiver) -> set[str]:
    return {span["trace_id"] for span in receiver.spans()}


def test_a_timeout_is_in_milliseconds(receivers):
    # 1500 ms: the run's uploader gives up on a collector that never answers after 1.5 s. Read as
    # seconds (as before), it waited the 5 s cap.
    app, mine = receivers
    mine.hang()
    env = _env(OTEL_EXPORTER_OTLP_ENDPOINT=mine.url, OTEL_EXPORTER_OTLP_TIMEOUT="1500")
    script = HOST.format(app=APP, endpoint=app.url, token=APP_TOKEN)
    host = subprocess.Popen([sys.executable, "-c", script], env=env, stderr=subprocess.PIPE)
    assert mine.wait_for(lambda r: bool(r.requests), timeout=60)
    asked = time.monotonic()
    assert host.wait(timeout=60) == 0
    _settle()
    took = time.monotonic() - asked
    assert took < 4.0, f"the uploader waited {took:.1f} s for a 1500 ms timeout"
    assert len(Spool(APP).files()) == 1  # kept for a later run
    assert app.connections == 0


def test_a_timeout_above_five_seconds_takes_effect_at_the_users_endpoint(receivers):
    # The collector answers traces after 6 s: within the user's 9000 ms, so the data is sent and
    # the file acknowledged (each export used to be capped at 5 s whatever the user's timeout).
    app, mine = receivers
    mine.slow(6.0, times=1, path="/v1/traces")
    run_host_and_its_uploader(
        app, OTEL_EXPORTER_OTLP_ENDPOINT=mine.url, OTEL_EXPORTER_OTLP_TRACES_TIMEOUT="9000"
    )
    assert _signals(mine) == {"traces", "metrics"}
    assert Spool(APP).files() == []
    assert app.connections == 0


def test_http_json_is_sent_as_otlp_json_to_the_users_endpoint_only(receivers):
    app, mine = receivers
    run_host_and_its_uploader(
        app, OTEL_EXPORTER_OTLP_ENDPOINT=mine.url, OTEL_EXPORTER_OTLP_PROTOCOL="http/json",
        OTEL_EXPORTER_OTLP_COMPRESSION="gzip", OTEL_EXPORTER_OTLP_HEADERS=f"x-api-key={USER_KEY}",
    )  # fmt: skip
    # Decoded by the receiver as OTLP/JSON (hex ids, camelCase names), not as protobuf.
    assert _signals(mine) == {"traces", "metrics"}
    assert _header_values(mine, "content-type") == {"application/json"}
    assert _header_values(mine, "content-encoding") == {"gzip"}
    assert _header_values(mine, "x-api-key") == {USER_KEY}
    spans = mine.spans()
    assert "deploy" in {span["name"] for span in spans}
    # Hex ids of the right length (base64 ones would not have decoded at all).
    assert {(len(span["trace_id"]), len(span["span_id"])) for span in spans} == {(32, 16)}
    assert {p["name"] for p in mine.metrics()} and Spool(APP).files() == []
    assert app.connections == 0
    # The app's endpoint stays OTLP/HTTP with protobuf whatever the user asks for.
    run_host_and_its_uploader(app, OTEL_EXPORTER_OTLP_PROTOCOL="http/json")
    assert _signals(app) == {"traces", "metrics"}
    assert _header_values(app, "content-type") == {"application/x-protobuf"}


@pytest.mark.parametrize(
    ("value", "off"), [("TRUE", True), ("true", True), ("1", False), ("yes", False)]
)
def test_otel_sdk_disabled_is_true_only_for_true(receivers, value, off):
    # OpenTelemetry's boolean rule: only "true" (any case) disables; DO_NOT_TRACK=1 is the
    # everyday switch (docs/guide.md).
    app, _ = receivers
    run_host_and_its_uploader(app, OTEL_SDK_DISABLED=value)
    assert _signals(app) == (set() if off else {"traces", "metrics"})
    assert Spool(APP).files() == []


def test_exporter_none_at_the_users_endpoint_sends_that_signal_nowhere(receivers):
    app, mine = receivers
    run_host_and_its_uploader(
        app, OTEL_EXPORTER_OTLP_ENDPOINT=mine.url, OTEL_TRACES_EXPORTER="none"
    )
    assert _signals(mine) == {"metrics"}
    assert app.connections == 0
    assert Spool(APP).files() == []


def test_exporter_none_without_a_users_endpoint_leaves_the_apps_data_alone(receivers):
    app, _ = receivers
    run_host_and_its_uploader(app, OTEL_TRACES_EXPORTER="none", OTEL_METRICS_EXPORTER="none")
    assert _signals(app) == {"traces", "metrics"}


def test_the_users_sampler_applies_at_their_endpoint_only(receivers):
    app, mine = receivers
    run_host_and_its_uploader(
        app,
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=mine.url + "/v1/traces",
        OTEL_TRACES_SAMPLER="always_off",
    )
    assert mine.connections == 0
    assert _signals(app) == {"metrics"}
    assert Spool(APP).files() == []
    app.requests.clear()
    run_host_and_its_uploader(app, OTEL_TRACES_SAMPLER="always_off")
    assert _signals(app) == {"traces", "metrics"}


def test_a_trace_id_ratio_keeps_whole_traces_by_the_sdks_rule(receivers):
    from opentelemetry.sdk.trace.sampling import TraceIdRatioBased

    app, mine = receivers
    port = mine.port
    mine.stop()  # down while the run's own uploader tries: the spool shows what was recorded
    env = _run_host(
        app, MANY, OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{port}",
        OTEL_TRACES_SAMPLER="parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG="0.5",
    )  # fmt: skip
    recorded: dict[str, int] = {}
    for name in Spool(APP).files():
        with open(os.path.join(Spool(APP).path, name)) as f:
            for line in f:
                record = json.loads(line)
                if record.get("t") == "span":
                    recorded[record["trace_id"]] = recorded.get(record["trace_id"], 0) + 1
    assert len(recorded) >= 40  # a trace per command, and the session's own
    bound = TraceIdRatioBased(0.5).bound
    chosen = {t for t in recorded if int(t, 16) & TraceIdRatioBased.TRACE_ID_LIMIT < bound}
    assert 0 < len(chosen) < len(recorded)  # 40 random ids all on one side: odds of 2**-39
    with OTLPReceiver(port=port) as again:
        assert _upload(env).returncode == 0
        spans = again.spans()
        assert _signals(again) == {"traces", "metrics"}
    # The SDK's TraceIdRatioBased decision, trace by trace, and every span of a chosen trace.
    assert {span["trace_id"] for span in spans} == chosen
    assert len(spans) == sum(recorded[t] for t in chosen)
    assert Spool(APP).files() == []
    assert app.connections == 0


def test_a_cumulative_preference_sends_running_totals_to_the_users_endpoint_only(receivers):
    app, mine = receivers
    prefer = {"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "Cumulative"}
    for _ in range(2):
        run_host_and_its_uploader(app, OTEL_EXPORTER_OTLP_ENDPOINT=mine.url, **prefer)
    # Whatever the metrics are called: every sum and histogram of the user's, by series.
    points = mine.metrics()
    assert points and {p["temporality"] for p in points if p["type"] != "gauge"} == {"cumulative"}
    series: dict[tuple[str, str], list[dict]] = {}
    for p in points:
        if p["type"] == "gauge":  # process.uptime: a gauge has no temporality
            continue
        series.setdefault((p["name"], json.dumps(p["attributes"], sort_keys=True)), []).append(p)
    assert series and all(len(pair) == 2 for pair in series.values())
    for first, second in series.values():
        # The second run's point is the total of both runs, since the first run's start.
        assert second["start_ns"] == first["start_ns"] <= first["time_ns"] < second["time_ns"]
        if first["type"] == "sum":
            assert second["value"] == 2 * first["value"]
        else:
            assert sum(second["bucket_counts"]) == second["count"] == 2 * first["count"]
            assert second["sum"] > first["sum"]
    assert app.connections == 0
    # The app's endpoint gets deltas, whatever the user prefers.
    run_host_and_its_uploader(app, **prefer)
    assert {p["temporality"] for p in app.metrics() if p["type"] != "gauge"} == {"delta"}


def test_running_totals_move_only_when_the_collector_took_them(receivers):
    app, mine = receivers
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": mine.url,
        "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "cumulative",
    }
    run_host_and_its_uploader(app, **env)
    mine.respond_with(503, times=1, path="/v1/metrics")
    run_host_and_its_uploader(app, **env)  # refused once: the file is kept
    assert len(Spool(APP).files()) == 1
    assert _upload(_env(**env)).returncode == 0
    assert Spool(APP).files() == []
    inputs = [p for p in mine.metrics() if p["type"] == "sum" and not p["attributes"]]
    assert [p["value"] for p in inputs] == [1, 2]


def test_a_later_upload_without_the_variables_keeps_the_runs_choice_of_what_to_send(receivers):
    # The run said: no traces, cumulative metrics. Not secrets, so recorded with the endpoint, and
    # an `optel upload` from a shell without the variables keeps to them.
    app, mine = receivers
    port = mine.port
    mine.stop()
    _run_host(app, OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{port}", OTEL_TRACES_EXPORTER="none",
              OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE="cumulative")  # fmt: skip
    [name] = Spool(APP).files()
    with open(os.path.join(Spool(APP).path, name), "rb") as f:
        header = json.loads(f.readline())
    assert header["export"]["user_endpoints"]["traces"]["exporter"] == "none"
    assert header["export"]["user_endpoints"]["metrics"]["temporality"] == "cumulative"
    shell = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    with OTLPReceiver(port=port) as again:
        assert _upload(shell).returncode == 0
        assert _signals(again) == {"metrics"}
        assert {p["temporality"] for p in again.metrics() if p["type"] != "gauge"} == {"cumulative"}
    assert Spool(APP).files() == [] and app.connections == 0
