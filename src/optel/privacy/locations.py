"""Where things are: the user's home directory, paths, URLs (also scheme-less remotes), e-mail and IP addresses."""

from __future__ import annotations

from optel.privacy.fastpath import hex_between
from optel.privacy.hosts import tld_after_a_dot
from optel.privacy.identity import current_identity
from optel.privacy.markers import EMAIL, IP, PATH, URL
from optel.privacy.patterns import pattern

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re

_HEXDIGITS = frozenset("0123456789abcdefABCDEF")
_home_patterns: dict[tuple[str, ...], re.Pattern[str]] = {}
_home_variant_cache: dict[tuple[str, ...], tuple[str, ...]] = {}


def _home_variants(homes: tuple[str, ...]) -> tuple[str, ...]:
    """Each home as written natively, with forward slashes, and with repr()'s doubled backslashes."""
    variants: list[str] = []
    for home in homes:
        for form in (home, home.replace("\\", "/"), home.replace("\\", "\\\\")):
            if form.lower() not in variants:
                variants.append(form.lower())
    return tuple(sorted(variants, key=len, reverse=True))


def scrub_home(text: str) -> str:
    """The current user's home directory becomes ``~`` (and so, by ``scrub_paths``, ``<path>``).

    It runs first because a home may hold what the generic path rule cannot see whole: spaces
    (``/Users/Alice Smith``) or the login name itself. It leaves a home alone right after
    ``scheme:/``: in ``redis://root:pw@cache`` with HOME=/root, ``/root`` is a URL's user name.
    """
    homes, _ = current_identity()
    if not homes:
        return text
    variants = _home_variant_cache.get(homes)
    if variants is None:
        if len(_home_variant_cache) > 32:
            # Only tests change HOME mid-process; keep their many homes from piling up.
            _home_variant_cache.clear()
            _home_patterns.clear()
        variants = _home_variant_cache[homes] = _home_variants(homes)
    lowered = text.lower()
    if not any(variant in lowered for variant in variants):
        return text
    compiled = _home_patterns.get(homes)
    if compiled is None:
        import re

        alternation = "|".join(re.escape(v) for v in variants)
        # Windows paths are case-insensitive, and a home is rare enough in prose that folding
        # case everywhere costs nothing in precision.
        # Not right after "scheme:/" (nor JSON's "scheme:\/\/"): in redis://root:pw@host the home
        # "/root" would take one slash of "://", and the URL rule would no longer see a URL.
        compiled = re.compile(
            r"(?i)(?<![\w.-])(?<!:/)(?<!:\\/\\)(?:" + alternation + r")(?![\w.-])"
        )
        _home_patterns[homes] = compiled
    return compiled.sub("~", text)


def _url_match(match: re.Match[str]) -> str:
    found = match.group()
    # Closing punctuation belongs to the sentence, not the URL: keep it outside the marker.
    kept = found.rstrip(".,;:!?)]}'\"")
    return URL + found[len(kept) :]


def scrub_urls(text: str) -> str:
    """Any ``scheme://...`` (http, https, ws, wss, file, ftp, postgres, s3...), its JSON-escaped
    ``scheme:\\/\\/...``, ``www.``, scp-style ``user@host:path`` URL or scheme-less remote
    (``gitlab.com/org/repo``) -> ``<url>``.

    Nothing of host, path, query or credentials is kept.
    """
    if (
        "://" in text
        or ":\\/\\/" in text
        or ("@" in text and ":" in text)
        or "www." in text.lower()
    ):
        text = pattern("url").sub(_url_match, text)
    if "/" in text and "." in text and tld_after_a_dot(text):
        text = pattern("remote").sub(_url_match, text)
    return text


def scrub_paths(text: str) -> str:
    """POSIX, Windows (drive letter, UNC, also ``//server/share``), home- and dot-relative paths,
    JSON-escaped ``\\/var\\/x``, ``a/b/c`` and ``dir/file.ext`` -> ``<path>``.

    A path may follow a colon (``file:/x``, ``PYTHONPATH=/a:/b``); its last segment may hold
    spaces up to a document's extension (``~/Bob Smith CV.pdf``).

    A single ``a/b`` without an extension survives: it is ``and/or``, ``n/a`` or a model id such
    as ``openai/custom``.
    """
    if "/" not in text and "\\" not in text and "~" not in text:
        return text
    paths = pattern("path_esc" if "\\" in text else "path")
    if " " not in text or "." not in text or pattern("spaced_doc").search(text) is None:
        # No file name with spaces anywhere: the plain substitution, at C speed.
        return paths.sub(PATH, text)
    pieces: list[str] = []
    taken = 0
    for match in paths.finditer(text):
        start, end = match.span()
        if start < taken:
            # Inside a file name taken with its spaces. Its words hold no separator, so no path
            # should start there; if one did, its text would be written out twice.
            continue
        if text[end : end + 1] == " " and _ends_in_plain_segment(match.group()):
            tail = pattern("spaced_tail").match(text, end)
            if tail is not None:
                end = tail.end()
        pieces.append(text[taken:start])
        pieces.append(PATH)
        taken = end
    if not pieces:
        return text
    pieces.append(text[taken:])
    return "".join(pieces)


def _ends_in_plain_segment(path: str) -> bool:
    """True when `path` has a separator and its last segment is a word that may go on over a space."""
    cut = max(path.rfind("/"), path.rfind("\\"))
    last = path[cut + 1 :]
    if cut < 0 or not last or "@" in last or "~" in last:
        return False
    return pattern("ext_end").search(last) is None


def scrub_emails(text: str) -> str:
    """E-mail addresses (also ``git@github.com``, ``user@10.0.0.1`` and non-ASCII ``josé@münchen.de``) -> ``<email>``."""
    if "@" not in text:
        return text
    return pattern("email").sub(EMAIL, text)


def is_ipv6(candidate: str) -> bool:
    """True when `candidate` is a valid IPv6 address (zone and embedded IPv4 allowed)."""
    address = candidate.split("%", 1)[0]
    groups_needed = 8
    if "." in address:
        head, colon, tail = address.rpartition(":")
        parts = tail.split(".")
        if not colon or len(parts) != 4:
            return False
        if not all(p.isdigit() and len(p) <= 3 and int(p) <= 255 for p in parts):
            return False
        # "::1.2.3.4" leaves ":" before the last colon: the "::" must survive the cut.
        address = head + ":" if head.endswith(":") else head
        groups_needed = 6
    if address.count("::") > 1:
        return False
    if "::" in address:
        left, right = address.split("::")
        groups = (left.split(":") if left else []) + (right.split(":") if right else [])
        if len(groups) >= groups_needed:
            return False
    else:
        groups = address.split(":")
        if len(groups) != groups_needed:
            return False
    return all(1 <= len(g) <= 4 and all(c in _HEXDIGITS for c in g) for g in groups)


def _ipv6_match(match: re.Match[str]) -> str:
    return IP if is_ipv6(match.group()) else match.group()


def _ipv4_match(match: re.Match[str]) -> str:
    if all(int(octet) <= 255 for octet in match.groups()):
        return IP
    return match.group()


def scrub_ips(text: str) -> str:
    """IPv6 and IPv4 addresses -> ``<ip>``; ``1.2.3`` versions and ``12:30:45`` times survive."""
    if text.count(":") >= 2 and hex_between(text, ":", 0, 4):
        text = pattern("ipv6").sub(_ipv6_match, text)
    if text.count(".") >= 3:
        text = pattern("ipv4").sub(_ipv4_match, text)
    return text
