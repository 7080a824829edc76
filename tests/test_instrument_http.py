"""The httpx, requests and aiohttp instrumentors, end to end: a real host process makes real
requests to a local server on 127.0.0.1, its spool goes through the uploader to a real receiver.

One client span per request (kind CLIENT, named by the method), with the method, the status code
or the error type, and the host and port only for the host the maintainer declared; the metric
``http.client.request.duration`` with the conventions' buckets. No URL, path, query, or host that
was not declared appears in the spool file, the audit log or the bytes the receiver got. A call
through the instrumented openai SDK (which sends with httpx) is one LLM span and no HTTP span.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import http_host
import optel.upload
from fake_llm_api import FakeLLMAPI
from host_process import consent
from http_status_server import BODY_DELAY, StatusServer
from optel import _paths
from optel.record.dictionary import HTTP_DURATION_BUCKETS
from optel.spool.lock import TOKEN_ENV, acquire_lock
from otlp_receiver import OTLPReceiver
from stalling_server import StallingServer

APP = "httptool"
LIBRARIES = ("httpx", "httpx2", "requests", "aiohttp")
HTTP_KEYS = {
    "http.request.method",
    "http.response.status_code",
    "server.address",
    "server.port",
    "error.type",
}
# What each library's requests that fail without a response are typed as (refused, timed out).
FAILURES = {
    "httpx": {"httpx.ConnectError", "httpx.ReadTimeout"},
    "httpx2": {"httpx2.ConnectError", "httpx2.ReadTimeout"},
    "requests": {"requests.ConnectionError", "requests.ReadTimeout"},
    "aiohttp": {
        "aiohttp.ClientConnectorError",
        "aiohttp.ConnectionTimeoutError",
        "aiohttp.SocketTimeoutError",
        "TimeoutError",
    },
}
FORBIDDEN = (http_host.SECRET_PATH, http_host.SECRET_QUERY, "query-secret", "/status/", "127.0.0.1")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_host(home: Path, lib: str, receiver: OTLPReceiver) -> dict[str, Any]:
    """One host process; then its spool, audit log and what the receiver got from the upload."""
    consent(APP, home)
    spool = _paths.spool_dir(APP)
    os.makedirs(spool, mode=0o700, exist_ok=True)
    audit = home / "audit.jsonl"
    token = f"t{os.getpid()}"
    # Holding the uploader lock, the host starts no uploader: its spool file stays for us to read.
    assert acquire_lock(spool, os.getpid(), token)
    with StatusServer() as server, StallingServer("silent", lasts=5) as stall, FakeLLMAPI() as api:
        argv = [APP, lib, str(server.port), str(stall.port), str(closed_port()), str(audit)]
        argv.append(api.openai_base_url.replace("127.0.0.1", "localhost"))
        env = dict(
            os.environ,
            PYTHONPATH=os.pathsep.join(
                filter(None, [str(Path(__file__).parent), os.environ.get("PYTHONPATH")])
            ),
        )
        done = subprocess.run(
            [sys.executable, http_host.__file__, *argv],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
    assert (done.returncode, done.stderr) == (0, "")
    (name,) = [n for n in os.listdir(spool) if n.endswith(".jsonl")]
    spooled = Path(spool, name).read_text(encoding="utf-8")
    os.environ[TOKEN_ENV] = token
    try:
        assert optel.upload.upload(APP).files_sent == 1
    finally:
        os.environ.pop(TOKEN_ENV, None)
    return {
        "port": server.port,
        "texts": {
            "spool file": records_only(spooled),
            "audit log": records_only(audit.read_text(encoding="utf-8")),
            "receiver bytes": b"".join(r.body for r in receiver.accepted()).decode("latin-1"),
        },
        "spans": [s for s in receiver.spans() if s["name"] != "cli.session"],
        "metrics": receiver.metrics(),
    }


def records_only(text: str) -> str:
    """The record lines of a spool file or audit log, without the headers that name the endpoint
    the uploader sends to (the receiver, on 127.0.0.1)."""
    return "\n".join(line for line in text.splitlines() if '"schema"' not in line[:12])


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch):
    with OTLPReceiver() as r:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", r.url)
        yield r


def http_spans(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for s in spans if "http.request.method" in s["attributes"]]


def assert_nothing_undeclared_leaves(texts: dict[str, str]) -> None:
    for where, text in texts.items():
        for forbidden in FORBIDDEN:
            assert forbidden not in text, f"{forbidden!r} in the {where}"


@pytest.mark.slow
@pytest.mark.parametrize("lib", ["httpx", "httpx2", "requests", "aiohttp"])
def test_each_request_is_one_client_span_with_method_status_and_only_a_declared_host(
    isolated_home: Path, receiver: OTLPReceiver, lib: str
) -> None:
    got = run_host(isolated_home, lib, receiver)
    port = got["port"]
    spans = http_spans(got["spans"])
    declared = {
        "http.request.method": "GET",
        "http.response.status_code": 200,
        "server.address": "localhost",
        "server.port": port,
    }
    ok = [s for s in spans if s["attributes"] == declared]
    # Plain, streamed, and a second client kind (async httpx, module-level requests, a new session).
    assert len(ok) == 3, spans
    assert all(s["kind"] == "client" and s["name"] == "GET" and s["status"] == "unset" for s in ok)
    streamed = max(ok, key=lambda s: s["end_ns"] - s["start_ns"])
    assert (streamed["end_ns"] - streamed["start_ns"]) / 1e9 < BODY_DELAY, (
        "a span ends at the headers"
    )
    for code in (404, 500):
        (failed,) = [s for s in spans if s["attributes"].get("http.response.status_code") == code]
        assert failed["attributes"] == {
            "http.request.method": "GET",
            "http.response.status_code": code,
            "error.type": str(code),
        }
        assert failed["status"] == "error"
    raised = [s for s in spans if "http.response.status_code" not in s["attributes"]]
    assert len(raised) == (3 if lib == "requests" else 2), raised
    for span in raised:
        assert set(span["attributes"]) == {"http.request.method", "error.type"}
        assert span["attributes"]["error.type"] in FAILURES[lib], span
        assert (span["status"], span["status_message"], span["events"]) == ("error", "", [])
    assert len({s["attributes"]["error.type"] for s in raised}) == 2, "refused and timed out differ"
    if lib == "requests":
        # The step's RuntimeError quotes the failed request's message (the URL): forgotten.
        (step,) = [s for s in got["spans"] if s["name"] == "refused_through_a_step"]
        (event,) = step["events"]
        assert (step["status_message"], event["attributes"]["exception.message"]) == ("", "")

    points = [m for m in got["metrics"] if m["name"] == "http.client.request.duration"]
    assert sum(p["count"] for p in points) == len(spans)
    for point in points:
        assert (point["type"], point["unit"]) == ("histogram", "s")
        assert point["explicit_bounds"] == list(HTTP_DURATION_BUCKETS)
        assert set(point["attributes"]) <= HTTP_KEYS
    assert_nothing_undeclared_leaves(got["texts"])


@pytest.mark.slow
def test_an_openai_call_is_one_llm_span_and_its_own_requests_no_http_span(
    isolated_home: Path, receiver: OTLPReceiver
) -> None:
    got = run_host(isolated_home, "openai", receiver)
    llm = [s for s in got["spans"] if "gen_ai.operation.name" in s["attributes"]]
    assert [s["name"] for s in llm] == ["chat gpt-4o"]
    # The SDK sends with httpx2, instrumented: the one HTTP span is the host's own httpx2
    # request after the call, not the SDK's.
    (http,) = http_spans(got["spans"])
    assert http["attributes"]["http.response.status_code"] == 200
    assert http["start_ns"] > llm[0]["end_ns"]
    assert_nothing_undeclared_leaves(got["texts"])


# --- in this process: the parts that need no host process -----------------------------------


@pytest.fixture
def status_server():
    with StatusServer() as server:
        yield server


@pytest.fixture
def instrumented():
    optel.instrument(*LIBRARIES)
    yield
    optel.uninstrument(*LIBRARIES)


def test_a_host_name_is_declared_bare_or_instrument_raises_before_patching_anything() -> None:
    from optel.record import hosts as http

    for wrong in (
        "https://api.example.com",
        "api.example.com:443",
        "api.example.com/v1",
        "*.example.com",
        "",
    ):
        with pytest.raises(ValueError, match="bare host name"):
            optel.instrument("httpx", http_hosts=[wrong])
    for wrong in ("api.example.com", 3, [3]):
        with pytest.raises(TypeError):
            optel.instrument("httpx", http_hosts=wrong)  # type: ignore[arg-type]
    assert "httpx" not in optel.instrumentation.instrumented()
    assert "api.example.com" not in http.declared_hosts()


def test_a_server_address_that_was_not_declared_never_leaves_whatever_set_it() -> None:
    import optel.testing

    with optel.testing.capture() as records:
        optel.event("probe", **{"server.address": "db.internal.example", "server.port": 5432})
    (span,) = [r for r in records if r["t"] == "span"]
    assert "server.address" not in span["attributes"] and "server.port" not in span["attributes"]


def test_requests_inside_an_llm_call_of_optel_are_not_recorded_again(status_server, instrumented):
    import httpx

    import optel.testing

    url = f"http://127.0.0.1:{status_server.port}/status/200/x"

    @optel.llm_call(provider="openai")
    def ask(model: str) -> None:
        httpx.get(url)
        httpx.get(url)

    with optel.testing.capture() as records:
        ask(model="gpt-4o")
        httpx.get(url)
    spans = [r for r in records if r["t"] == "span"]
    assert [s["name"] for s in spans] == ["chat gpt-4o", "GET"]


def test_uninstrument_gives_the_libraries_their_own_methods_back(instrumented):
    import aiohttp.client
    import httpx
    import httpx2
    import requests.adapters

    owners = [
        (httpx2.HTTPTransport, "handle_request"),
        (httpx.HTTPTransport, "handle_request"),
        (httpx.AsyncHTTPTransport, "handle_async_request"),
        (requests.adapters.HTTPAdapter, "send"),
        (aiohttp.client.ClientSession, "_request"),
    ]
    patched = [vars(owner)[name] for owner, name in owners]
    assert all(hasattr(p, "__wrapped__") for p in patched)
    optel.uninstrument(*LIBRARIES)
    assert [vars(owner)[name] for owner, name in owners] == [p.__wrapped__ for p in patched]
    optel.instrument(*LIBRARIES)


def test_not_recording_an_async_request_is_the_librarys_own_coroutine(status_server, instrumented):
    import asyncio

    import httpx

    from optel.record import spans

    assert not spans.recording()
    transport = httpx.AsyncHTTPTransport()
    request = httpx.Request("GET", f"http://127.0.0.1:{status_server.port}/status/200/x")
    coroutine = transport.handle_async_request(request)
    assert (
        coroutine.cr_code
        is vars(httpx.AsyncHTTPTransport)["handle_async_request"].__wrapped__.__code__
    )

    async def run() -> int:
        response = await coroutine
        await response.aclose()
        await transport.aclose()
        return response.status_code

    assert asyncio.run(run()) == 200


def test_aiohttp_raising_for_a_status_records_the_status_and_no_url(status_server, instrumented):
    import asyncio

    import aiohttp

    import optel.testing

    url = f"http://127.0.0.1:{status_server.port}/status/404/{http_host.SECRET_PATH}"

    @optel.command()
    async def fetch() -> None:
        async with aiohttp.ClientSession(raise_for_status=True) as session, session.get(url):
            pass

    with optel.testing.capture() as records, pytest.raises(aiohttp.ClientResponseError):
        asyncio.run(fetch())
    request, command = [r for r in records if r["t"] == "span"]
    assert request["attributes"] == {
        "http.request.method": "GET",
        "http.response.status_code": 404,
        "error.type": "404",
    }
    assert command["attributes"]["error.type"] == "aiohttp.client_exceptions.ClientResponseError"
    assert http_host.SECRET_PATH not in json.dumps(records)


def test_a_declared_host_is_sent_as_written_whatever_the_scrubbing_rules(
    status_server, instrumented
):
    import httpx

    import optel.testing
    from optel import privacy
    from optel.record import hosts

    # A rule that rewrites host names (the maintainer's own here; a built-in one would do the same).
    optel.instrument("httpx", http_hosts=["localhost"])
    privacy.configure([(r"\blocalhost\b", "<host>")])
    try:
        with optel.testing.capture() as records:
            httpx.get(f"http://localhost:{status_server.port}/status/200/x")
            optel.event("other", **{"server.address": "localhost.evil", "server.port": 1})
    finally:
        privacy.configure()
        hosts.hosts = hosts.hosts - {"localhost"}
    request, event = [r for r in records if r["t"] == "span"]
    assert request["attributes"]["server.address"] == "localhost"
    assert request["attributes"]["server.port"] == status_server.port
    assert "server.address" not in event["attributes"] and "server.port" not in event["attributes"]
