"""An uploader run that cannot reach its collector (an offline laptop) finds out with one connect, before it imports protobuf or an HTTP client, and keeps its files and backoff as a failed request does."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import pytest

from optel.spool.files import Spool
from optel.spool.writer import destination
from otlp_receiver import OTLPReceiver
from rotel_process import free_port
from test_upload import APP, header, invocation, spans

# What one uploader process did, and which heavy modules it imported to do it.
RUN = r"""
import json, sys
from optel.upload import upload
summary = upload(sys.argv[1], respect_backoff=sys.argv[2] == "1")
heavy = sorted(m for m in ("google.protobuf", "requests", "urllib3", "grpc", "opentelemetry.sdk")
               if m in sys.modules)
print(json.dumps({"sent": summary.files_sent, "kept": summary.files_kept, "error": summary.error,
                  "quarantined": summary.files_quarantined, "heavy": heavy}))
"""


def run_uploader(python: str, env: dict[str, str], respect_backoff: bool = True) -> dict[str, Any]:
    done = subprocess.run(
        [python, "-c", RUN, APP, "1" if respect_backoff else "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stderr) == (0, "")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def spool_one(endpoint: str) -> Spool:
    spool = Spool(APP)
    assert spool.write(header(endpoint), [*spans(3), invocation()]) is not None
    return spool


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update(extra)
    return env


def test_an_unreachable_collector_costs_no_heavy_import_and_keeps_the_file_and_backoff(
    python: str,
) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    spool = spool_one(endpoint)
    where = destination({"endpoint": endpoint, "headers": None})
    result = run_uploader(python, clean_env())
    assert (result["sent"], result["kept"], result["heavy"]) == (0, 1, [])
    assert "ConnectionError" in result["error"]
    # As after a failed request: the file waits, the destination backs off after one failure.
    assert len(spool.files()) == 1
    assert spool.failures(where) == 1
    assert spool.backoff_until(where) is not None
    # The next run within the backoff does not even try.
    assert run_uploader(python, clean_env())["kept"] == 0
    assert len(spool.files()) == 1


def test_the_check_goes_to_the_proxy_the_request_would_use(python: str) -> None:
    with OTLPReceiver() as receiver:
        spool = spool_one(receiver.url)
        down = f"http://127.0.0.1:{free_port()}"
        # The request would go through a proxy that is not there: offline, nothing imported.
        result = run_uploader(python, clean_env(HTTP_PROXY=down), respect_backoff=False)
        assert (result["sent"], result["kept"], result["heavy"]) == (0, 1, [])
        assert receiver.connections == 0
        # NO_PROXY exempts the collector's host: the request goes straight to it, and so does the check.
        env = clean_env(HTTP_PROXY=down, NO_PROXY="localhost,127.0.0.1")
        result = run_uploader(python, env, respect_backoff=False)
        assert (result["sent"], result["kept"]) == (1, 0)
        # The request is made with the standard library and encoded by upload/wire.py: no HTTP
        # client library, no protobuf.
        assert result["heavy"] == []
        assert len(receiver.spans()) == 3
    assert spool.files() == []


def test_an_offline_run_reads_one_file_and_keeps_the_others_unread(python: str) -> None:
    # Its first file's collector is down: the run gives back the rest after reading their
    # headers only. Their bodies here are broken, so a run that read them would quarantine them.
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    spool = spool_one(endpoint)
    for _ in range(10):
        path = spool.write(header(endpoint), [*spans(3), invocation()])
        assert path is not None
        with open(path, "rb") as f:
            lines = f.read().split(b"\n")
        lines[1] = b'{"t": "span", broken'
        with open(path, "wb") as f:
            f.write(b"\n".join(lines))
    result = run_uploader(python, clean_env())
    assert (result["sent"], result["kept"], result["quarantined"]) == (0, 11, 0)
    assert "ConnectionError" in result["error"]
    assert len(spool.files()) == 11
    # Once the collector is there, each file is read: the good one sent, the broken ones set aside.
    with OTLPReceiver(port=port) as receiver:
        result = run_uploader(python, clean_env(), respect_backoff=False)
        assert (result["sent"], result["kept"], result["quarantined"]) == (1, 0, 10)
        assert len(receiver.spans()) == 3
    assert spool.files() == []


def test_the_check_connects_to_the_host_the_request_goes_to(python: str) -> None:
    # `#@` after the port: the request goes to 127.0.0.1 (the rest is a fragment), and the check
    # must go there too. It used to read the host after the `@`, and kept the file as offline.
    with OTLPReceiver() as receiver:
        port = receiver.url.rsplit(":", 1)[1]
        spool = spool_one(f"http://127.0.0.1:{port}#@unreachable.invalid")
        result = run_uploader(python, clean_env(), respect_backoff=False)
        assert receiver.connections >= 1
    # The request reached the collector (at "/": the path went with the fragment), which
    # refused it: the file is kept, and the message names the host the request went to.
    assert result["error"].startswith(f"HTTP 404 from http://127.0.0.1:{port}:")
    assert "unreachable.invalid" not in result["error"]
    assert (result["sent"], result["kept"], len(spool.files())) == (0, 1, 1)


@pytest.mark.parametrize(
    ("endpoint", "headers"),
    [
        ("http://127.0.0.1:99999", None),
        (None, {"x-token": "abc\r\nx-injected: 1"}),
        (None, {"bad name": "abc"}),
    ],
)
def test_a_file_that_could_never_be_sent_is_set_aside_not_kept_for_weeks(
    python: str, endpoint: str | None, headers: dict[str, str] | None
) -> None:
    # An older optel let init take such an endpoint or headers; every uploader run then failed
    # the request, kept the file and backed off, for 14 days. It is the same rule as init's now
    # (optel/_urls.py): the file is quarantined at once, and the good file beside it is sent.
    with OTLPReceiver() as receiver:
        spool = spool_one(receiver.url)
        bad = spool.write(header(endpoint or receiver.url, headers), spans(2))
        assert bad is not None
        result = run_uploader(python, clean_env(), respect_backoff=False)
        assert (result["sent"], result["kept"], result["quarantined"]) == (1, 0, 1)
        assert len(receiver.spans()) == 3
        assert all("x-injected" not in r.headers for r in receiver.requests)
    assert spool.files() == []
    assert len(os.listdir(os.path.join(spool.path, "quarantine"))) == 1
