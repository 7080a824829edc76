"""The built-in scrubbing rules: each one a plain ``str -> str`` function, applied in order.

Regular expressions are compiled on the first call that needs them, never at import: ``import re``
alone costs most of the host's exit budget, and most strings never need it (see ``fastpath``).
Every rule replaces what it finds by a marker that keeps nothing of the original.
"""

from __future__ import annotations

from optel.privacy.fastpath import KEY_HINTS, LONG_RUN, SECRET_PREFIXES
from optel.privacy.identity import current_identity
from optel.privacy.keys import is_sensitive_key

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re
    from collections.abc import Callable

PATH = "<path>"
URL = "<url>"
EMAIL = "<email>"
IP = "<ip>"
SECRET = "<secret>"
USER = "<user>"
# What a value becomes when scrubbing itself failed: nothing of it can be trusted.
REDACTED = "<redacted>"
MARKERS = (PATH, URL, EMAIL, IP, SECRET, USER, REDACTED)

# A path segment: anything but whitespace, separators and the punctuation that ends a path in prose.
_SEG = r"""[^\s/\\<>"'`|;,()\[\]{}*?=&:]"""
# Inner segments may hold a few single spaces before a capitalised word or a digit ("Alice Smith",
# "Program Files (x86)") when a separator follows; prose words after a path are lower case, and
# the last segment takes no space at all, or a path would swallow the sentence after it.
_INNER = _SEG + r"+(?: [A-Z0-9(][^\s/\\<>\"'`|;,\[\]{}*?=&:]*){0,3}"
# "+" because base64 holds "/": "abc+/def" is one run, not "abc+" and a path.
_NOT_AFTER = r"(?<![\w.:/\\~@+-])"
_HEXDIGITS = frozenset("0123456789abcdefABCDEF")

_SOURCES: dict[str, str] = {
    "url": r"(?i)(?<![\w.+-])(?:[a-z][a-z0-9+.-]{1,19}://|www\.)[^\s<>\"'`]*",
    "path": "|".join(
        (
            # UNC, also as repr() writes it: \\server\share\... or \\\\server\\share
            r"(?<![\w\\])\\{2,4}(?=" + _SEG + r")(?:" + _INNER + r"\\+)*" + _SEG + r"*",
            # drive letters: C:\Users\..., c:/x, and repr()'s doubled backslashes
            r"(?<![\w])[A-Za-z]:[/\\]+(?:" + _INNER + r"[/\\]+)*" + _SEG + r"*",
            # absolute POSIX (a//b is one path); a lone "/" says nothing and is prose ("a / b")
            _NOT_AFTER + r"/(?=" + _SEG + r")(?:" + _INNER + r"/+)*" + _SEG + r"*",
            # home-relative and dot-relative: ~/x, ~alice/x, ./x, ../x
            _NOT_AFTER + r"(?:~[\w.-]*|\.{1,2})(?:[/\\](?:" + _INNER + r"(?=[/\\])|" + _SEG + r"*))+",
            # "~" alone, as scrub_home leaves a bare home directory
            _NOT_AFTER + r"~(?![\w/\\])",
            # relative with two or more separators (a/b/c, a\b\c), but not a date (11/23/2026)
            _NOT_AFTER + r"(?!\d+/\d+/\d+(?![\w/]))" + _SEG + r"+(?:[/\\]" + _SEG + r"+){2,}(?![/\\]|" + _SEG + r")",
            # relative with one separator and a file extension: src/main.py
            _NOT_AFTER + _SEG + r"+[/\\]" + _SEG + r"*\.[A-Za-z][A-Za-z0-9]{0,7}(?![\w.])",
        )
    ),
    "email": r"(?i)(?<![\w.%+-])[a-z0-9._%+-]+@(?:(?:[a-z0-9-]+\.)+[a-z]{2,}|\[?\d{1,3}(?:\.\d{1,3}){3}\]?|localhost)(?![\w-])",
    "ipv6": r"(?i)(?<![\w:.])(?:"
    r"(?:[0-9a-f]{0,4}:){2,7}(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f]{1,4})"
    r"|(?:[0-9a-f]{1,4}:){1,7}:"
    r"|::"
    r")(?:%[\w.-]+)?(?![0-9A-Za-z_]|:[0-9A-Fa-f:]|\.\d)",
    "ipv4": r"(?<![\w.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?!\w|\.\d)",
    "private_key": r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\Z)",
    "auth_header": r"(?i)(?<![\w-])((?:proxy-)?authorization|(?:set-)?cookie|x-api-key|x-auth-token)(\s*:\s*)[^\r\n]*",
    "auth_scheme": r"(?i)(?<![\w-])(bearer|basic|digest|token)(\s+)([A-Za-z0-9._~+/=_-]{8,})",
    "token_prefix": r"(?<![A-Za-z0-9])(?:"
    r"sk-ant-[A-Za-z0-9_-]{8,}"
    r"|sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{16,}"
    r"|(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{10,}"
    r"|gh[pousr]_[A-Za-z0-9]{16,}"
    r"|github_pat_[A-Za-z0-9_]{16,}"
    r"|xox[abposre]-[A-Za-z0-9-]{8,}"
    r"|(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{12,}"
    r"|AIza[0-9A-Za-z_-]{20,}"
    r"|glpat-[A-Za-z0-9_-]{16,}"
    r"|hf_[A-Za-z0-9]{20,}"
    r"|npm_[A-Za-z0-9]{20,}"
    r"|pypi-[A-Za-z0-9_-]{20,}"
    r")",
    "jwt": r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*",
    "key_value": r"(?i)(?<![A-Za-z0-9_.-])"
    r"(?P<dash>--?)?"
    r"(?P<key>[A-Za-z0-9_.-]{0,40}?"
    r"(?:pass|pwd|secret|token|api[_-]?key|auth|access[_-]?key|private[_-]?key|credential|cookie|session|jwt)"
    r"[A-Za-z0-9_.-]{0,40})"
    r"(?P<q>[\"']?)"
    r"(?P<sep>\s*(?:=>|[:=])\s*|(?(dash)[ \t]+|(?!)))"
    r"(?P<scheme>(?:bearer|basic|token)[ \t]+)?"
    r"(?P<val>\"[^\"\n]*\"?|'[^'\n]*'?|[^\s,;&'\"<>)\]}]+)",
    "long_hex": r"(?<![A-Za-z0-9])[0-9A-Fa-f]{32,}(?![A-Za-z0-9])",
    "long_run": r"(?<![A-Za-z0-9+/_=-])[A-Za-z0-9+/_-]{32,}={0,2}(?![A-Za-z0-9+/_=-])",
    "wordish": r"(?:[A-Z]?[a-z]+|[A-Z]+|\d+[A-Za-z]?){1,3}",
}

_compiled: dict[str, re.Pattern[str]] = {}
_home_patterns: dict[tuple[str, ...], re.Pattern[str]] = {}
_home_variant_cache: dict[tuple[str, ...], tuple[str, ...]] = {}
_login_patterns: dict[tuple[str, ...], re.Pattern[str]] = {}


def pattern(name: str) -> re.Pattern[str]:
    """The compiled built-in pattern `name` (compiled once, on first use)."""
    compiled = _compiled.get(name)
    if compiled is None:
        import re

        compiled = _compiled[name] = re.compile(_SOURCES[name])
    return compiled


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
    (``/Users/Alice Smith``) or the login name itself.
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
        compiled = re.compile(r"(?i)(?<![\w.-])(?:" + alternation + r")(?![\w.-])")
        _home_patterns[homes] = compiled
    return compiled.sub("~", text)


def _url_match(match: re.Match[str]) -> str:
    found = match.group()
    # Closing punctuation belongs to the sentence, not the URL: keep it outside the marker.
    kept = found.rstrip(".,;:!?)]}'\"")
    return URL + found[len(kept) :]


def scrub_urls(text: str) -> str:
    """Any ``scheme://...`` (http, https, ws, wss, file, ftp, postgres, s3...) or ``www.`` URL -> ``<url>``.

    Nothing of host, path, query or credentials is kept.
    """
    if "://" not in text and "www." not in text.lower():
        return text
    return pattern("url").sub(_url_match, text)


def scrub_paths(text: str) -> str:
    """POSIX, Windows (drive letter, UNC), home- and dot-relative paths, ``a/b/c`` and ``dir/file.ext`` -> ``<path>``.

    A single ``a/b`` without an extension survives: it is ``and/or``, ``n/a`` or a model id such
    as ``openai/custom``.
    """
    if "/" not in text and "\\" not in text and "~" not in text:
        return text
    return pattern("path").sub(PATH, text)


def scrub_emails(text: str) -> str:
    """E-mail addresses (also ``git@github.com`` and ``user@10.0.0.1``) -> ``<email>``."""
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
    if text.count(":") >= 2:
        text = pattern("ipv6").sub(_ipv6_match, text)
    if text.count(".") >= 3:
        text = pattern("ipv4").sub(_ipv4_match, text)
    return text


def scrub_private_keys(text: str) -> str:
    """PEM private key blocks -> ``<secret>``."""
    if "PRIVATE KEY" not in text:
        return text
    return pattern("private_key").sub(SECRET, text)


def scrub_auth_headers(text: str) -> str:
    """``Authorization:``, ``Cookie:``, ``Set-Cookie:``, ``X-Api-Key:`` headers: the rest of the line -> ``<secret>``."""
    if ":" not in text:
        return text
    lowered = text.lower()
    if "authorization" not in lowered and "cookie" not in lowered and "x-a" not in lowered:
        return text
    return pattern("auth_header").sub(lambda m: m.group(1) + m.group(2) + SECRET, text)


def _auth_scheme_match(match: re.Match[str]) -> str:
    scheme, gap, credential = match.groups()
    # "Bearer" is always followed by a credential; "Basic usage" or "Token limits" are prose,
    # so the other schemes need a value that does not read as a word.
    if scheme.lower() != "bearer" and credential.isalpha():
        return match.group()
    return scheme + gap + SECRET


def scrub_auth_schemes(text: str) -> str:
    """``Bearer <credential>`` (and Basic/Digest/Token with a non-word credential) -> ``Bearer <secret>``."""
    lowered = text.lower()
    if not any(scheme in lowered for scheme in ("bearer", "basic", "digest", "token")):
        return text
    return pattern("auth_scheme").sub(_auth_scheme_match, text)


def scrub_token_prefixes(text: str) -> str:
    """Keys recognised by their vendor prefix (``sk-``, ``sk-ant-``, ``ghp_``, ``github_pat_``, ``xoxb-``,
    ``AKIA``, ``AIza``, ``glpat-``, ``hf_``, ``npm_``, ``pypi-``, ``sk_live_``...) -> ``<secret>``."""
    if not any(prefix in text for prefix in SECRET_PREFIXES):
        return text
    return pattern("token_prefix").sub(SECRET, text)


def scrub_jwts(text: str) -> str:
    """JSON Web Tokens (``eyJ...``.``...``.``...``) -> ``<secret>``."""
    if "eyJ" not in text:
        return text
    return pattern("jwt").sub(SECRET, text)


def _key_value_match(match: re.Match[str]) -> str:
    dash = match.group("dash") or ""
    key = match.group("key")
    head = dash + key + match.group("q") + match.group("sep") + (match.group("scheme") or "")
    value = match.group("val")
    # In repr()'d text "\\npassword=x" is an escaped newline before the key, not a key "npassword".
    escaped = key[:1] in ("n", "t", "r") and match.string[match.start() - 1 : match.start()] == "\\"
    if not is_sensitive_key(key) and not (escaped and is_sensitive_key(key[1:])):
        # The value was consumed by this match; give it its own chance (`x: password=...`).
        return head + scrub_key_values(value)
    quote = value[0] if value[:1] in ("'", '"') else ""
    closing = quote if quote and len(value) > 1 and value.endswith(quote) else ""
    return head + quote + SECRET + closing


def scrub_key_values(text: str) -> str:
    """The value in ``password=...``, ``token: ...``, ``"api_key": "..."``, ``--password ...`` -> ``<secret>``.

    The key is judged by the same rule as attribute keys (``keys.is_sensitive_key``), so
    ``input_tokens=120`` and ``gen_ai.token.type: input`` survive.
    """
    if ":" not in text and "=" not in text and "-" not in text:
        return text
    lowered = text.lower()
    if not any(hint in lowered for hint in KEY_HINTS):
        return text
    return pattern("key_value").sub(_key_value_match, text)


def _has_long_piece(text: str) -> bool:
    """A whitespace-free stretch of LONG_RUN characters: the least any run detector needs."""
    if len(text) < LONG_RUN:
        return False
    return any(len(piece) >= LONG_RUN for piece in text.split())


def scrub_long_hex(text: str) -> str:
    """Runs of 32 or more hex digits (API keys, digests, a full 40-digit git sha) -> ``<secret>``.

    A hyphenated UUID survives: its groups are short.
    """
    if not _has_long_piece(text):
        return text
    return pattern("long_hex").sub(SECRET, text)


def looks_like_name(run: str) -> bool:
    """True when a long ``[A-Za-z0-9+/_-]`` run reads as a name rather than random material.

    A name is three or more pieces (split on ``- _ / +``), each made of at most three natural
    words (``DeepSeek``, ``R1``, ``32B``, ``Instruct``, ``v0``): ``meta-llama/Meta-Llama-3-8B-Instruct``.
    Random base64 almost never splits that way.
    """
    pieces = [p for p in run.rstrip("=").replace("_", "-").replace("/", "-").replace("+", "-").split("-") if p]
    if len(pieces) < 3:
        return False
    wordish = pattern("wordish")
    return all(wordish.fullmatch(piece) for piece in pieces)


def _long_run_match(match: re.Match[str]) -> str:
    run = match.group()
    letters = sum(1 for c in run if c.isalpha())
    digits = sum(1 for c in run if c.isdigit())
    mixed_case = any(c.isupper() for c in run) and any(c.islower() for c in run)
    if letters == 0 or not (mixed_case or digits) or looks_like_name(run):
        return run
    return SECRET


def scrub_long_runs(text: str) -> str:
    """Runs of 32+ base64/base64url characters that hold mixed case or digits and do not read as a
    name -> ``<secret>``. An all-lower-case word chain survives (it is prose)."""
    if not _has_long_piece(text):
        return text
    return pattern("long_run").sub(_long_run_match, text)


def scrub_secrets(text: str) -> str:
    """All the secret rules, in order: whole blocks and headers first, then prefixed keys, JWTs,
    key/value pairs, and last the shape-only detectors."""
    for rule in SECRET_RULES:
        text = rule(text)
    return text


def scrub_login(text: str) -> str:
    """The current user's login name, as a word in any case (``alice``, ``Alice_notes``) -> ``<user>``."""
    _, logins = current_identity()
    if not logins:
        return text
    folded = text.lower()
    if not any(login in folded for login in logins):
        return text
    compiled = _login_patterns.get(logins)
    if compiled is None:
        import re

        alternation = "|".join(re.escape(login) for login in sorted(logins, key=len, reverse=True))
        # "<" and ">" as boundaries keep a login such as "path" from eating the markers.
        compiled = re.compile(r"(?i)(?<![A-Za-z0-9<])(?:" + alternation + r")(?![A-Za-z0-9>])")
        if len(_login_patterns) > 32:
            # Only tests change USER mid-process; keep their many logins from piling up.
            _login_patterns.clear()
        _login_patterns[logins] = compiled
    return compiled.sub(USER, text)


SECRET_RULES: tuple[Callable[[str], str], ...] = (
    scrub_private_keys,
    scrub_auth_headers,
    scrub_auth_schemes,
    scrub_token_prefixes,
    scrub_jwts,
    scrub_key_values,
    scrub_long_hex,
    scrub_long_runs,
)

# The order matters: the home before paths (see scrub_home); URLs before paths so a URL is one
# marker; paths before the shape detectors so a path holding a hash is one marker; the login last,
# to catch it wherever the rules before left it.
BUILTIN_RULES: tuple[Callable[[str], str], ...] = (
    scrub_home,
    scrub_urls,
    scrub_paths,
    scrub_emails,
    scrub_ips,
    scrub_secrets,
    scrub_login,
)


def apply_builtin_rules(text: str) -> str:
    """The whole built-in chain."""
    for rule in BUILTIN_RULES:
        text = rule(text)
    return text
