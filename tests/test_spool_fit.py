"""Issue 12.8 (parts): one flush over the size bound keeps what fits; a scheme-less endpoint is refused at init."""

from __future__ import annotations

import os

import pytest

import optel
from optel import _runtime
from optel.spool import Spool
from optel.spool.claims import Claim
from test_spool_files import APP, header, spans


@pytest.fixture(autouse=True)
def _forget_init():
    yield
    _runtime.reset()


def test_a_flush_over_the_size_bound_keeps_its_newest_records_that_fit() -> None:
    spool = Spool(APP)
    records = spans(10, pad=200)
    path = spool.write(header(), records, max_bytes=1500)
    assert path is not None
    assert os.path.getsize(path) <= 1500
    _, kept = Claim(os.path.basename(path), path).read()
    # The newest come last in a flush (a run's command span ends after its children): they stay.
    assert [r["name"] for r in kept] == [r["name"] for r in records[-len(kept) :]]
    assert 1 <= len(kept) < 10
    assert spool.take_drop_counts() == {"size": 10 - len(kept)}


@pytest.mark.parametrize("max_bytes", range(700, 3200, 37))
def test_the_fitted_file_never_exceeds_the_bound_and_keeps_as_much_as_it_can(
    max_bytes: int,
) -> None:
    spool = Spool(APP)
    records = spans(12, pad=100)
    path = spool.write(header(), records, max_bytes=max_bytes)
    dropped = spool.take_drop_counts().get("size", 0)
    if path is None:
        assert dropped == 12
        return
    size = os.path.getsize(path)
    _, kept = Claim(os.path.basename(path), path).read()
    assert size <= max_bytes and len(kept) + dropped == 12
    if dropped:
        # One more record would not have fitted.
        one_more = spool.write(header(), records[-len(kept) - 1 :], max_bytes=1 << 30)
        assert one_more is not None and os.path.getsize(one_more) > max_bytes


@pytest.mark.parametrize(
    ("endpoint", "says"),
    [
        ("telemetry.example.com:4318", "must be an http:// or https:// URL"),
        ("localhost:4318", "must be an http:// or https:// URL"),
        ("ftp://collector.example.com", "must be an http:// or https:// URL"),
        ("http://", "must name a host"),
        ("https://:4318/", "must name a host"),
        ("http://collector example.com", "without spaces or control characters"),
        ("", "without spaces or control characters"),
        # Read as the uploader reads it (optel/_urls.py): a URL it could never send to.
        ("http://[::1:4318", "a bracketed host that is not closed"),
        ("http://collector.example.com:99999", "a port that is not a number from 0 to 65535"),
        ("http://collector.example.com:43x8/", "a port that is not a number from 0 to 65535"),
        ("http://[collector]:4318", "a bracketed host that is not an IPv6 address"),
        ("http://x[::1]:4318", "text before a bracketed host"),
        ("http://\uff43ollector\uff0fexample.com", "turn into delimiters under NFKC"),
    ],
)
def test_an_endpoint_without_http_scheme_or_host_is_refused_at_init(
    endpoint: str, says: str
) -> None:
    with pytest.raises(ValueError, match="endpoint") as raised:
        optel.init("fit-tool", endpoint=endpoint)
    assert says in str(raised.value) and repr(endpoint) in str(raised.value)


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://user:s3cret@collector.example.com:99999",
        "ftp://user:s3cret@collector.example.com",
        "https://user:s3cret@:4318/",
        "https://user:s3cret@collector example.com",
    ],
)
def test_a_refused_endpoint_is_quoted_without_its_credentials(endpoint: str) -> None:
    # The message may reach a host's crash report or log: the password never does.
    with pytest.raises(ValueError, match="endpoint") as raised:
        optel.init("fit-tool", endpoint=endpoint)
    assert "s3cret" not in str(raised.value) and "user" not in str(raised.value)
    assert "collector" in str(raised.value) or ":4318" in str(raised.value)


@pytest.mark.parametrize(
    ("headers", "says"),
    [
        ({"x-token": "abc\r\nx-injected: 1"}, "invalid value for header 'x-token': a line break"),
        ({"x-token": "abc\nx"}, "a line break or NUL"),
        ({"x-token": "abc\0"}, "a line break or NUL"),
        ({"bad name": "abc"}, "invalid header name 'bad name'"),
        ({"x:y": "abc"}, "invalid header name 'x:y'"),
        ({"": "abc"}, "invalid header name ''"),
        ({"x-token": "\u20ac5"}, "characters outside Latin-1"),
    ],
)
def test_headers_the_uploader_would_refuse_to_send_are_refused_at_init(
    headers: dict[str, str], says: str
) -> None:
    # The uploader's own rule (optel/_urls.py); the value, maybe a token, is never quoted.
    with pytest.raises(ValueError, match="headers") as raised:
        optel.init("fit-tool", endpoint="http://127.0.0.1:4318", headers=headers)
    assert says in str(raised.value)
    assert "abc" not in str(raised.value) and "\u20ac" not in str(raised.value)


def test_headers_init_accepts() -> None:
    headers = {"authorization": "Bearer t0k3n", "x-name": "caf\u00e9", "X-Api-Key": "a b;c=d"}
    telemetry = optel.init("fit-tool", endpoint="http://127.0.0.1:4318", headers=headers)
    assert telemetry.settings.headers == headers


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://127.0.0.1:4318",
        "HTTPS://collector.example.com/otlp",
        "http://[::1]:4318",
        "https://user:p%40ss@collector.example.com:443/v1?x=1",
        "http://[fe80::1%25eth0]:4318",
    ],
)
def test_endpoints_init_accepts(endpoint: str) -> None:
    assert optel.init("fit-tool", endpoint=endpoint, session_flag=False) is not None
