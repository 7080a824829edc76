"""optel's one reading of a URL (a collector's, a proxy's) and its one rule for a header line.
``init()`` checks its endpoint and headers with them (``_settings``), and in the uploader the
reachability check's first hop, the proxy decision and the request's route all split the URL here,
and the request checks its headers here, so that none of them can disagree, and what init takes
is what the uploader can send.

Not `urllib.parse`: it imports `re` and `ipaddress`, ~36 M instructions, a fifth of an uploader
run. The split is `urllib.parse.urlsplit`'s for every URL it takes (tests/test_upload_urls.py
compares the two), and it refuses, with a ValueError, what urlsplit would read leniently or a
server might read otherwise: whitespace or control characters anywhere, a bracketed host that is
not an IPv6 address, anything between a `]` and its port, a port that is not 0-65535 in ASCII
digits, a name that NFKC would turn into a delimiter.
"""

from __future__ import annotations

# The port a URL without one connects to; anything else but http is read as TLS (a gRPC target).
PORTS = {"http": 80, "https": 443}
_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.")
_DIGITS = frozenset("0123456789")
_HEX = "0123456789abcdefABCDEF"
# What `split` says of a URL that names no host (init words it its own way).
NO_HOST = "a URL without a host"
# Characters a header name may not hold (RFC 9110 token); a value may hold none of the last three.
_NOT_IN_NAME = frozenset(' \t:"(),/;<=>?@[\\]{}\r\n\0')


class URL:
    """A split URL: its scheme (lower case), the userinfo's two parts, as written (None when
    absent), the host (lower case, no brackets; an IPv6 zone as written), the port (None when
    not given), the authority without its userinfo, the path and the query (no fragment)."""

    __slots__ = ("address", "host", "password", "path", "port", "query", "scheme", "username")

    def __init__(self, url: str) -> None:
        if not url.isprintable() or any(ch.isspace() for ch in url):
            raise ValueError("a URL with whitespace or control characters")
        scheme, sep, rest = url.partition("://")
        if not (
            sep and scheme[:1].isalpha() and scheme.isascii() and _SCHEME_CHARS.issuperset(scheme)
        ):
            raise ValueError("not a URL with a scheme and an authority")
        self.scheme = scheme.lower()
        end = _authority_end(rest)
        authority, rest = rest[:end], rest[end:]
        _check_normalised(authority)
        rest = rest.partition("#")[0]
        self.path, _, self.query = rest.partition("?")
        userinfo, at, self.address = authority.rpartition("@")
        self.username: str | None = None
        self.password: str | None = None
        if at:
            if "[" in userinfo or "]" in userinfo:
                raise ValueError("brackets in a URL's userinfo")
            self.username, colon, password = userinfo.partition(":")
            self.password = password if colon else None
        self.host, self.port = _host_and_port(self.address)

    def connect_port(self) -> int:
        """The port a connection goes to: the URL's (0 counts as none), else its scheme's."""
        return self.port or PORTS.get(self.scheme, 443)


def _authority_end(rest: str) -> int:
    """Where the authority of `rest` (a URL after its `://`) ends: at its first `/`, `?` or `#`."""
    return min((i for i in map(rest.find, "/?#") if i >= 0), default=len(rest))


def without_userinfo(url: str) -> str:
    """`url` without the `user:password@` of its authority (a credential: never written to disk
    nor shown), the authority found as `split` finds it. Any string is taken (a scheme-less gRPC
    target, a URL `split` refuses): what it would read as userinfo goes."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    end = _authority_end(rest)
    at = rest.rfind("@", 0, end)
    if at < 0:
        return url
    return f"{scheme}{sep}{rest[at + 1 :]}"


def split(url: str) -> URL:
    """`url` split (`URL`); ValueError for what is not a URL optel can send to as it reads it."""
    return URL(url)


def _host_and_port(address: str) -> tuple[str, int | None]:
    if "[" in address or "]" in address:
        if not address.startswith("["):
            raise ValueError("text before a bracketed host")
        host, closed, tail = address[1:].partition("]")
        if not closed or (tail and not tail.startswith(":")):
            raise ValueError("a bracketed host that is not closed, or text after it")
        _check_ipv6(host)
        port_text = tail[1:]
    else:
        host, _, port_text = address.partition(":")
    if not host:
        raise ValueError(NO_HOST)
    if port_text and not (_DIGITS.issuperset(port_text) and int(port_text) <= 65535):
        raise ValueError("a port that is not a number from 0 to 65535")
    # An IPv6 zone is a name the system gave an interface: kept as written, as urlsplit does.
    name, percent, zone = host.partition("%")
    return name.lower() + percent + zone, int(port_text) if port_text else None


def _check_ipv6(host: str) -> None:
    from _socket import AF_INET6, inet_pton

    address, percent, zone = host.partition("%")
    try:
        inet_pton(AF_INET6, address)
    except (OSError, ValueError):
        raise ValueError("a bracketed host that is not an IPv6 address") from None
    if percent and not zone:
        raise ValueError("an empty IPv6 zone")


def _check_normalised(authority: str) -> None:
    """urlsplit's check: a non-ASCII authority must not turn into a delimiter under NFKC (a
    lookalike of `/`, `?`, `#`, `@` or `:` that a resolver would read as one)."""
    if authority.isascii():
        return
    import unicodedata

    bare = authority.replace("@", "").replace(":", "").replace("#", "").replace("?", "")
    normal = unicodedata.normalize("NFKC", bare)
    if normal != bare and any(ch in normal for ch in "/?#@:"):
        raise ValueError("a host whose characters turn into delimiters under NFKC")


def unquote(text: str) -> str:
    """`text` with its %XX escapes decoded as UTF-8 (an invalid sequence is U+FFFD, a `%` not
    followed by two hex digits stays), as `urllib.parse.unquote` reads it."""
    if "%" not in text:
        return text
    if not text.isascii():
        from urllib.parse import unquote as standard  # rare: non-ASCII beside escapes

        return standard(text)
    head, *rest = text.split("%")
    out = bytearray(head.encode("ascii"))
    for piece in rest:
        pair = piece[:2]
        if len(pair) == 2 and pair[0] in _HEX and pair[1] in _HEX:
            out.append(int(pair, 16))
            out += piece[2:].encode("ascii")
        else:
            out += b"%" + piece.encode("ascii")
    return out.decode("utf-8", "replace")


def header_problem(name: str, value: str) -> str | None:
    """What makes `name`: `value` a header line optel's requests refuse to send, or None: a name
    that is not an RFC 9110 token, a value with a line break or NUL (it would end the line and
    start another: a header, or a request, injected), or one that is not Latin-1 (what HTTP/1.1
    headers are written in). The value itself is never quoted: it may be a token."""
    if not name or not _NOT_IN_NAME.isdisjoint(name) or not name.isprintable():
        return f"invalid header name {name!r}"
    if "\r" in value or "\n" in value or "\0" in value:
        return f"invalid value for header {name!r}: a line break or NUL"
    if not value.isascii():  # nearly every value: one C check, not a loop per character
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            return f"invalid value for header {name!r}: characters outside Latin-1"
    return None
