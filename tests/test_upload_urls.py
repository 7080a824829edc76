"""The uploader's one URL reader (optel/_urls.py): urlsplit's reading for every URL it takes, a
refusal for the rest, and the reachability check and the request reading a URL the same way."""

from __future__ import annotations

import string
from urllib.parse import unquote as standard_unquote
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optel._urls import split, unquote
from optel.upload.connections import route
from optel.upload.reach import first_hop

# What makes URLs tricky: every delimiter, brackets, escapes, a backslash, and lookalikes that
# NFKC turns into delimiters (fullwidth `#`, `/`, `@`, `:`) or digits.
TRICKY = "/?#@:[]%\\.-_~!$&'()*+,;=" + "\uff03\uff0f\uff20\uff1a\uff10\uff18" + "é"
PIECES = st.text(alphabet=string.ascii_letters + string.digits + TRICKY, max_size=12)
HOSTS = st.one_of(
    st.sampled_from(["collector", "Collector.Example", "127.0.0.1", "[::1]", "[FE80::1%eth0]", "xn--bcher-kva.example", "bücher.example"]),
    PIECES,
)  # fmt: skip


@st.composite
def urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "Https", "ftp", "h2c", "", "1http"]))
    userinfo = draw(st.one_of(st.just(""), PIECES.map(lambda text: text + "@")))
    port = draw(
        st.one_of(
            st.just(""),
            st.integers(0, 99999).map(lambda p: f":{p}"),
            PIECES.map(lambda text: ":" + text),
        )
    )
    tail = draw(st.one_of(st.just(""), PIECES.map(lambda text: "/" + text), PIECES))
    return f"{scheme}://{userinfo}{draw(HOSTS)}{port}{tail}"


def standard(url: str) -> tuple[object, ...]:
    parts = urlsplit(url)
    return (
        parts.scheme,
        parts.username,
        parts.password,
        parts.hostname,
        parts.port,
        parts.netloc.rpartition("@")[2],
        parts.path,
        parts.query,
    )


def ours(url: str) -> tuple[object, ...]:
    p = split(url)
    return (p.scheme, p.username, p.password, p.host, p.port, p.address, p.path, p.query)


@settings(max_examples=1500, deadline=None)
@given(st.one_of(urls(), st.text(max_size=40)))
def test_every_url_it_takes_is_split_as_urlsplit_splits_it(url: str) -> None:
    try:
        mine = ours(url)
    except ValueError:
        return  # refused: nothing is sent there (the cases below say which)
    assert mine == standard(url)


@pytest.mark.parametrize(
    ("url", "parts"),
    [
        ("http://127.0.0.1:4318/v1/traces", ("http", None, None, "127.0.0.1", 4318, "127.0.0.1:4318", "/v1/traces", "")),
        ("HTTPS://User:p%40ss@Collector.Example/x?key=1#frag", ("https", "User", "p%40ss", "collector.example", None, "Collector.Example", "/x", "key=1")),
        ("http://[FE80::1%25Eth0]:80", ("http", None, None, "fe80::1%25Eth0", 80, "[FE80::1%25Eth0]:80", "", "")),
        ("http://u@h:@x:8/", ("http", "u@h", "", "x", 8, "x:8", "/", "")),
        ("http://h:/?", ("http", None, None, "h", None, "h:", "/", "")),
    ],
)  # fmt: skip
def test_the_urls_optel_sends_to_split_like_urlsplit(url: str, parts: tuple[object, ...]) -> None:
    assert ours(url) == parts == standard(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://exa mple.com/",  # urlsplit keeps the space in the host
        "http://example.com/\tx",  # urlsplit drops the tab: a server may not
        " http://example.com/",  # urlsplit strips the space in front
        "http://[::1",  # not closed
        "http://[::1]x:80/",  # urlsplit ignores the x
        "http://a[::1]/",  # urlsplit ignores the a
        "http://[1.2.3.4]/",  # not IPv6
        "http://[vf.x]/",  # IPvFuture: nothing connects to it
        "http://[::1%]/",  # an empty zone
        "http://h:99999/",
        "http://h:+80/",
        "http://h:\uff18\uff10/",  # fullwidth digits
        "http://ex\uff03ample.com/",  # NFKC makes it `#`
        "http:///path",  # no host
        "http://user@/",
        "http://[x]@host/",  # brackets in the userinfo: urlsplit reads them as a host
        "collector:4317",  # no scheme: for a request (first_hop reads it as TLS, below)
        "1http://h/",
    ],
)
def test_what_it_would_read_differently_or_not_at_all_is_refused(url: str) -> None:
    with pytest.raises(ValueError):
        split(url)


@pytest.mark.parametrize(
    "url",
    [
        # The check read the host after the `@` of a fragment; the request connects to the one
        # before the `#` (as urlsplit reads it).
        "http://evil.example:4318#@good.example/",
        "http://evil.example:4318?@good.example/",
        "http://good.example\\@evil.example/",
        "http://u:p@[::1]:4318/v1/traces",
        "http://Collector:4318/v1/traces",
    ],
)
def test_the_check_connects_where_the_request_goes(url: str) -> None:
    way = route(url, {})
    assert first_hop(url, {}) == (way.host, way.port)


@settings(max_examples=500, deadline=None)
@given(urls())
def test_the_check_and_the_request_never_disagree_on_the_host(url: str) -> None:
    try:
        way = route(url, {})
    except ValueError:
        return
    assert first_hop(url, {}) == (way.host, way.port)


def test_a_proxy_is_read_the_same_way_by_the_check_and_the_request() -> None:
    environ = {"HTTP_PROXY": " http://proxy.example:3128#@elsewhere.example "}
    way = route("http://collector.example:4318/v1/traces", environ)
    assert way.proxy is not None
    assert first_hop("http://collector.example:4318/v1/traces", environ) == way.proxy[1:3]
    assert way.proxy[1:3] == ("proxy.example", 3128)


def test_a_scheme_less_grpc_target_is_checked_as_tls() -> None:
    assert first_hop("collector:4317", {}) == ("collector", 4317)
    assert first_hop("collector", {}) == ("collector", 443)


@given(st.text(alphabet=string.printable + "%", max_size=30))
def test_unquote_reads_escapes_as_urllib_does(text: str) -> None:
    assert unquote(text) == standard_unquote(text)


@pytest.mark.parametrize("text", ["%C3%A9t%C3%A9", "%zz%4", "%FF%fe", "a%2", "é%20x", "%"])
def test_unquote_of_odd_escapes_and_non_ascii(text: str) -> None:
    assert unquote(text) == standard_unquote(text)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        # The request connects to `a`: a message that named `b` sent the reader to the wrong host.
        ("http://u:p@a#@b:9/v1/traces", "http://a"),
        ("https://user:s3cr3t@collector.example:4318/v1/traces?key=abc", "https://collector.example:4318/v1/traces"),
        ("collector:4317", "collector:4317"),
        ("http://[::1]:4318/v1/traces#k", "http://[::1]:4318/v1/traces"),
        ("http://[::1", "a URL that cannot be read"),
    ],
)  # fmt: skip
def test_an_upload_error_names_the_host_the_request_went_to_and_no_key(
    url: str, shown: str
) -> None:
    from optel.upload.uploader import _shown

    assert _shown(url) == shown
