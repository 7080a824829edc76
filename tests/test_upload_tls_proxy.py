"""OTLP/HTTP over TLS and through proxies, as the uploader sends it: a real CONNECT proxy, a real HTTPS receiver.

The uploader's HTTP requests are the standard library's (upload/connections.py): these pin what
`requests` did for it before, end to end on 127.0.0.1: the destination's CA bundle verifies the
collector, its client certificate is presented, an https collector is reached through a CONNECT
tunnel of `HTTPS_PROXY` (with the credentials of the proxy URL), one connection carries every
request of a run, and only the destination's headers go on the wire.
"""

from __future__ import annotations

import base64
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from connect_proxy import ConnectProxy
from optel.upload.export import RETRY, SENT, Exporters
from otlp_receiver import OTLPReceiver
from test_upload_export import one_span

_LEAF = """basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage={usage}
subjectAltName=IP:127.0.0.1
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
"""


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _leaf(directory: Path, name: str, usage: str) -> None:
    (directory / f"{name}.ext").write_text(_LEAF.format(usage=usage))
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=directory)  # fmt: skip
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-out", f"{name}.pem", "-extfile", f"{name}.ext", cwd=directory)  # fmt: skip


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA."""
    directory = tmp_path_factory.mktemp("pki")
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=optel test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)  # fmt: skip
    _leaf(directory, "server", "serverAuth")
    _leaf(directory, "client", "clientAuth")
    return directory


@pytest.fixture
def tls_receiver(pki: Path) -> Iterator[OTLPReceiver]:
    """An HTTPS receiver that asks for a client certificate signed by the CA."""
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(pki / "server.pem", pki / "server.key")
    server.load_verify_locations(pki / "ca.pem")
    server.verify_mode = ssl.CERT_REQUIRED
    with OTLPReceiver(tls=server) as receiver:
        yield receiver


@pytest.fixture(autouse=True)
def no_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def _settings(receiver: OTLPReceiver, pki: Path, **extra: str) -> dict[str, str]:
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
        "OTEL_EXPORTER_OTLP_HEADERS": "x-token=secret",
        "OTEL_EXPORTER_OTLP_CERTIFICATE": str(pki / "ca.pem"),
        "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": str(pki / "client.pem"),
        "OTEL_EXPORTER_OTLP_CLIENT_KEY": str(pki / "client.key"),
        **extra,
    }


def _send(environ: dict[str, str], times: int) -> list[str]:
    exporters = Exporters(environ)
    try:
        return [exporters.export_spans(one_span(), None, 5.0).kind for _ in range(times)]
    finally:
        exporters.close()


def _basic(credentials: str) -> str:
    return "Basic " + base64.b64encode(credentials.encode()).decode()


def test_https_goes_through_one_connect_tunnel_verified_by_the_destinations_ca_with_its_client_certificate(
    tls_receiver: OTLPReceiver, pki: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ConnectProxy() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url("me:p%40ss"))
        assert _send(_settings(tls_receiver, pki), 3) == [SENT] * 3
    assert len(tls_receiver.spans()) == 3
    # One tunnel for the run's three requests, with the proxy URL's credentials (decoded); the
    # proxy's other connection is the run's reachability check.
    seen = [
        (line.rpartition(" ")[0], auth) for line, auth in proxy.seen
    ]  # without the HTTP version
    assert seen == [(f"CONNECT 127.0.0.1:{tls_receiver.port}", _basic("me:p@ss"))]
    assert (proxy.connections, tls_receiver.connections) == (2, 1)
    # The destination's headers and the protocol's, nothing of any HTTP library's.
    for request in tls_receiver.requests:
        assert request.headers["x-token"] == "secret"
        assert request.headers["user-agent"].startswith("optel/")
        assert "proxy-authorization" not in request.headers
        assert set(request.headers) <= {"host", "accept-encoding", "content-type", "content-length",
                                        "user-agent", "x-token"}  # fmt: skip


def test_a_collector_the_destinations_ca_did_not_sign_gets_nothing_and_the_data_is_kept(
    tls_receiver: OTLPReceiver, pki: Path
) -> None:
    settings = _settings(tls_receiver, pki)
    del settings["OTEL_EXPORTER_OTLP_CERTIFICATE"]  # the default bundle does not know the test CA
    assert _send(settings, 1) == [RETRY]
    assert tls_receiver.requests == []


def test_a_collector_that_requires_a_client_certificate_refuses_a_run_without_one(
    tls_receiver: OTLPReceiver, pki: Path
) -> None:
    settings = _settings(tls_receiver, pki)
    del settings["OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"], settings["OTEL_EXPORTER_OTLP_CLIENT_KEY"]
    assert _send(settings, 1) == [RETRY]
    assert tls_receiver.requests == []


def test_plain_http_through_a_proxy_asks_it_by_absolute_url_on_one_kept_alive_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with OTLPReceiver() as receiver, ConnectProxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url("me:secret"))
        assert _send({"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url}, 2) == [SENT] * 2
        line = f"POST {receiver.url}/v1/traces HTTP/1.1"
        assert proxy.seen == [(line, _basic("me:secret"))] * 2
        assert proxy.connections == 2  # the reachability check, and one for both requests
        assert len(receiver.spans()) == 2
        assert all("proxy-authorization" not in r.headers for r in receiver.requests)
