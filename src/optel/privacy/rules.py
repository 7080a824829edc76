"""The built-in scrubbing rules: each one a plain ``str -> str`` function, applied in order.

Regular expressions are compiled on the first call that needs them, never at import: ``import re``
alone costs most of the host's exit budget, and most strings never need it (see ``fastpath``).
Every rule replaces what it finds by a marker that keeps nothing of the original.
"""

from __future__ import annotations

from optel.privacy.fastpath import KEY_HINTS, LONG_RUN, SECRET_PREFIXES
from optel.privacy.hosts import DOTTED, HOST, scrub_hosts, tld_after_a_dot
from optel.privacy.identity import current_identity
from optel.privacy.keys import is_sensitive_key
from optel.privacy.numbers import MAC, NUMBER, scrub_numbers
from optel.privacy.table import SHAPES

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
MARKERS = (PATH, URL, EMAIL, IP, SECRET, USER, HOST, NUMBER, MAC, REDACTED)

# A path segment: anything but whitespace, separators and the punctuation that ends a path in prose.
_SEG = r"""[^\s/\\<>"'`|;,()\[\]{}*?=&:]"""
# Inner segments may hold a few single spaces before a capitalised word or a digit ("Alice Smith",
# "Program Files (x86)") when a separator follows; prose words after a path are lower case, and
# the last segment takes no space (but see "spaced_tail"), or a path would swallow the sentence
# after it.
_INNER = _SEG + r"+(?: [A-Z0-9(][^\s/\\<>\"'`|;,\[\]{}*?=&:]*){0,3}"
_EXT = r"\.[A-Za-z][A-Za-z0-9]{0,7}"
# An escape as repr() or JSON writes it inside a path ("caf\\xe9", "\\udcff", "a\\nb"): part of a
# segment, where a separator or the end of the match would leave the rest of the name outside.
_ESC = r"\\(?:x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|N\{[^}\s]*\}|[0-7]{1,3}|[ntrabfv])"
_SEG_ESC = r"(?:" + _SEG + r"|" + _ESC + r")"
_INNER_ESC = _SEG_ESC + r"+(?: [A-Z0-9(][^\s/\\<>\"'`|;,\[\]{}*?=&:]*){0,3}"
# A word of a file name written with spaces: no separator, no "@" (an e-mail after a path is prose)
# and no "~" (so that no path can start inside the name).
_WORD = r"""[^\s/\\<>"'`|;,()\[\]{}*?=&:@~]"""
_PLAIN_WORD = r"(?!" + _WORD + r"*" + _EXT + r"(?!" + _WORD + r"))" + _WORD + r"+"
_DOC_EXT = (
    r"\.(?i:pdf|docx?|xlsx?|pptx?|od[tsp]|rtf|txt|md|csv|tsv|pages|numbers|key|epub|html?|xml|json"
    r"|log|png|jpe?g|gif|bmp|tiff?|heic|svg|webp|psd|mp[34]|m4a|mov|avi|mkv|wav|flac|zip|rar|7z"
    r"|tar|t?gz|dmg|iso|eml|msg|ics|vcf|ipynb)"
)
# "+" because base64 holds "/": "abc+/def" is one run, not "abc+" and a path. ":" is no guard:
# "file:/x", "PYTHONPATH=/a:/b" and "cp:~/x" end in paths, and a drive letter is matched first.
_NOT_AFTER = r"(?<![\w./\\~@+-])"
_HEXDIGITS = frozenset("0123456789abcdefABCDEF")
_VOWELS = frozenset("aeiouyAEIOUY")


def _path_source(seg: str, inner: str) -> str:
    """The path pattern; `seg` and `inner` are the POSIX segments (with escapes, or without)."""
    return "|".join(
        (
            # UNC, also as repr() writes it: \\server\share\... or \\\\server\\share
            r"(?<![\w\\])\\{2,4}(?=" + _SEG + r")(?:" + _INNER + r"\\+)*" + _SEG + r"*",
            # drive letters: C:\Users\..., c:/x, and repr()'s doubled backslashes
            r"(?<![\w])[A-Za-z]:[/\\]+(?:" + _INNER + r"[/\\]+)*" + _SEG + r"*",
            # absolute POSIX (a//b is one path) and forward-slash UNC (//server/share); a lone "/"
            # says nothing and is prose ("a / b")
            _NOT_AFTER + r"/{1,2}(?=" + seg + r")(?:" + inner + r"/+)*" + seg + r"*",
            # absolute POSIX as JSON escapes it: \/home\/alice\/x
            # (the backslash before the look-behind: most positions fail on it, and cheaply)
            r"\\(?<![\w.\\]\\)/(?=" + seg + r")(?:" + seg + r"+\\/)+" + seg + r"*",
            # home-relative and dot-relative: ~/x, ~alice/x, ./x, ../x
            _NOT_AFTER
            + r"(?:~[\w.-]*|\.{1,2})(?:[/\\](?:"
            + _INNER
            + r"(?=[/\\])|"
            + _SEG
            + r"*))+",
            # "~" alone, as scrub_home leaves a bare home directory
            _NOT_AFTER + r"~(?![\w/\\])",
            # relative: a directory written with a trailing separator (org/project-name/), or two or
            # more separators (a/b/c, a\b\c) but not a date (11/23/2026)
            _NOT_AFTER
            + r"(?!\d+/\d+/\d+(?![\w/]))"
            + _SEG
            + r"+[/\\]"
            + _SEG
            + r"+(?:[/\\](?![/\\]|"
            + _SEG
            + r")|(?:[/\\]"
            + _SEG
            + r"+)+[/\\]?(?![/\\]|"
            + _SEG
            + r"))",
            # relative with one separator and a file extension: src/main.py
            _NOT_AFTER + _SEG + r"+[/\\]" + _SEG + r"*" + _EXT + r"(?![\w.])",
        )
    )


_SOURCES: dict[str, str] = {
    "url": r"(?i)(?<![\w.+-])(?:"
    # JSON writes "/" as "\/": https:\/\/host\/x is as much a URL as https://host/x.
    r"(?:[a-z][a-z0-9+.-]{1,19}:(?://|\\/\\/)|www\.)[^\s<>\"'`]*"
    # scp-style remotes (git@host:team/repo.git, deploy@10.0.0.5:/srv): user, host and path in one.
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)*:(?=[\w~./-])[^\s<>\"'`]*"
    r")",
    # Remotes without a scheme: gitlab.com/org/repo/, registry.acme.io:5000/team/image (a pattern of
    # its own: it runs only where a dot is followed by a top-level domain).
    "remote": r"(?i)(?<![\w.@/\\-])" + DOTTED + r"(?::\d+)?/[^\s<>\"'`]*",
    "path": _path_source(_SEG, _INNER),
    # The same, with repr()'s and JSON's escapes inside POSIX segments: for texts with a backslash
    # only, since an alternation per character costs twice a character class.
    "path_esc": _path_source(_SEG_ESC, _INNER_ESC),
    # The rest of a file name written with spaces, right after a path whose last segment is a plain
    # word: " Smith CV.pdf" after "~/Bob". It ends in the extension of a document people name in
    # words (a cut there would leave the name's tail outside the marker), and the words before it
    # end in no extension, so "/x/state.db for ops" and "/tmp/x then alice.smith" keep their prose.
    "spaced_tail": r"(?: "
    + _PLAIN_WORD
    + r"){0,5} "
    + _WORD
    + r"*"
    + _DOC_EXT
    + r"(?=[.!]*(?!"
    + _SEG
    + r"|[/\\]))",
    # What any spaced tail holds, as a pattern that starts with a literal and so scans fast.
    "spaced_doc": r" " + _WORD + r"*" + _DOC_EXT,
    "ext_end": _EXT + r"$",
    "email": r"(?i)(?<![\w.%+-])[\w.%+-]+@(?:(?:[\w-]+\.)+[^\W\d_]{2,}|\[?\d{1,3}(?:\.\d{1,3}){3}\]?|localhost)(?![\w-])",
    "ipv6": r"(?i)(?<![\w:.])(?:"
    r"(?:[0-9a-f]{0,4}:){2,7}(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f]{1,4})"
    r"|(?:[0-9a-f]{1,4}:){1,7}:"
    r"|::"
    r")(?:%[\w.-]+)?(?![0-9A-Za-z_]|:[0-9A-Fa-f:]|\.\d)",
    "ipv4": r"(?<![\w.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?!\w|\.\d)",
    "private_key": r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\Z)",
    "auth_header": r"(?i)(?<![\w-])((?:proxy-)?authorization|(?:set-)?cookie|x-api-key|x-auth-token)(\s*:\s*)[^\r\n]*",
    "auth_scheme": r"(?i)(?<![\w-])(bearer|basic|digest|token)(\s+)([A-Za-z0-9._~+/=_-]{8,})",
    # Every shape of the one table (table.SHAPES), which the fast path and the gateway share.
    "token_prefix": r"(?<![A-Za-z0-9])(?:" + "|".join(shape.pattern for shape in SHAPES) + r")",
    "jwt": r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*",
    "key_value": r"(?i)(?<![A-Za-z0-9_.-])"
    r"(?P<dash>--?)?"
    r"(?P<key>[A-Za-z0-9_.-]{0,40}?"
    r"(?:pass|pwd|secret|token|api[_-]?key|auth|access[_-]?key|private[_-]?key|credential|cookie|session|jwt)"
    r"[A-Za-z0-9_.-]{0,40})"
    r"(?P<q>[\"']?)"
    r"(?P<sep>\s*(?:=>|[:=])\s*|(?(dash)[ \t]+|(?!)))"
    r"(?P<scheme>(?:bearer|basic|token)[ \t]+)?"
    # The whole value, as a shell reads a word: a quoted value to its closing quote (spaces and
    # escaped quotes included), else up to whitespace; `&`, `;`, `,` or `)` do not end it, nor does a
    # quoted part without spaces (abc"def"). A lone quote does: in prose it closes a quotation.
    r"(?P<val>(?:\"(?:[^\"\\\n]|\\.)*\"?|'(?:[^'\\\n]|\\.)*'?|[^\s\"'])"
    r"(?:[^\s\"']|\"[^\"\s]*\"|'[^'\s]*')*)",
    "long_hex": r"(?<![A-Za-z0-9])[0-9A-Fa-f]{32,}(?![A-Za-z0-9])",
    "long_run": r"(?<![A-Za-z0-9+/_=-])[A-Za-z0-9+/_-]{32,}={0,2}(?![A-Za-z0-9+/_=-])",
    "wordish": r"(?:[A-Z]?[a-z]+|[A-Z]+|\d+[A-Za-z]?){1,3}",
    "camel_word": r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+",
    "consonants": r"[^aeiouyAEIOUY]{5}",
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


def _reads_as_a_word(text: str) -> bool:
    """``usage``, ``Limits``, ``HTTP``: letters in one case, or capitalised; ``dXNlcjpwYXNz`` is not."""
    return text.isalpha() and (text.islower() or text.isupper() or text[1:].islower())


def _auth_scheme_match(match: re.Match[str]) -> str:
    scheme, gap, credential = match.groups()
    # "Bearer" is always followed by a credential; "Basic usage" or "Token limits" are prose,
    # so the other schemes need a value that does not read as a word. Letters alone are not
    # enough: base64 of a short "user:pass" is all letters (dXNlcjpwYXNz), but in mixed case.
    if scheme.lower() != "bearer" and _reads_as_a_word(credential):
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
    # Closing punctuation belongs to the sentence or the structure around the pair ("x=1, y",
    # "f(password=x)", '"key": "x",'): kept outside the marker, it tells nothing of the value.
    kept = value.rstrip(".,;:!?)]}>")
    quote = kept[0] if kept[:1] in ("'", '"') else ""
    closing = quote if quote and len(kept) > 1 and kept.endswith(quote) else ""
    return head + quote + SECRET + closing + value[len(kept) :]


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
    pieces = [
        p
        for p in run.rstrip("=").replace("_", "-").replace("/", "-").replace("+", "-").split("-")
        if p
    ]
    if len(pieces) < 3:
        return False
    wordish = pattern("wordish")
    return all(wordish.fullmatch(piece) for piece in pieces)


def _reads_as_camel_words(piece: str) -> bool:
    words = pattern("camel_word").findall(piece)
    consonants = pattern("consonants")
    named = letters = others = voweless = 0
    for index, word in enumerate(words):
        if word.isdigit() or word.isupper():
            others += 1
            if len(word) > 5 or others > 2:
                return False
            continue
        if not word[0].isupper() and index:
            # A lower-case word right after a digit or an acronym: random, not camelCase.
            return False
        if _VOWELS.isdisjoint(word):
            voweless += 1
            if voweless > 1 or len(word) < 4:
                return False
        elif consonants.search(word):
            return False
        named += 1
        letters += len(word)
    vowels = sum(1 for c in piece if c in _VOWELS)
    return (
        named >= 3
        and letters >= 4 * named
        and vowels * 10 >= letters * 3
        and letters * 100 >= len(piece) * 85
    )


def looks_like_camel_case(run: str) -> bool:
    """True when a long run reads as a CamelCase identifier: ``ProvisionedThroughputExceededException``,
    ``getUserAccountPreferencesForDisplay``, ``S3BucketPolicyReplicationConfiguration``, also with
    short ``_``/``-`` pieces around it (``DataIngestionPipelineOrchestrator_v2``).

    Split into words (``Data``, ``HTTP``, ``3``), a CamelCase piece is three or more capitalised
    words (the first may be lower case) with at most two acronyms or numbers among them,
    pronounceable (three vowels in ten letters or more, no five consonants in a row, at most one
    vowel-less word, of four letters or more: ``Http``) and averaging four letters or more. Such
    pieces make three quarters of the run or more, and the other pieces read as words. Of eighteen
    million random base64 and base64url runs of 32 to 88 characters, one read so.
    """
    if run.isalnum():
        return _reads_as_camel_words(run)
    pieces = [piece for piece in run.replace("_", "-").split("-") if piece]
    if not all(piece.isalnum() for piece in pieces):
        return False
    camel = [piece for piece in pieces if _reads_as_camel_words(piece)]
    if sum(len(piece) for piece in camel) * 4 < len(run) * 3:
        return False
    wordish = pattern("wordish")
    return all(piece in camel or wordish.fullmatch(piece) for piece in pieces)


def _long_run_match(match: re.Match[str]) -> str:
    run = match.group()
    letters = sum(1 for c in run if c.isalpha())
    digits = sum(1 for c in run if c.isdigit())
    mixed_case = any(c.isupper() for c in run) and any(c.islower() for c in run)
    if letters == 0 or not (mixed_case or digits):
        return run
    if looks_like_name(run) or looks_like_camel_case(run):
        return run
    return SECRET


def scrub_long_runs(text: str) -> str:
    """Runs of 32+ base64/base64url characters that hold mixed case or digits and do not read as a
    name or a CamelCase identifier -> ``<secret>``. An all-lower-case word chain survives (it is prose)."""
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

# The order matters: the home before paths (see scrub_home), and before URLs so that a home with
# spaces inside file:///Users/Alice Smith/x goes too (the home rule never takes a slash of "://",
# so the URL stays one marker); URLs before paths so a URL is one marker; paths before the shape
# detectors so a path holding a hash is one marker; e-mails and IPs before host names (a domain after
# "@" is the e-mail's, "1.2.3.4" no host); secrets before host names ("not known: password=x" must
# keep its key for the key/value rule) and numbers (a key may hold a digit run); the login last, to
# catch it wherever the rules before left it.
BUILTIN_RULES: tuple[Callable[[str], str], ...] = (
    scrub_home,
    scrub_urls,
    scrub_paths,
    scrub_emails,
    scrub_ips,
    scrub_secrets,
    scrub_hosts,
    scrub_numbers,
    scrub_login,
)


def apply_builtin_rules(text: str) -> str:
    """The whole built-in chain."""
    for rule in BUILTIN_RULES:
        text = rule(text)
    return text
