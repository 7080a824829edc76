"""Secrets: credentials recognised by their context or shape (PEM blocks, auth headers and schemes,
vendor key prefixes of ``table.SHAPES``, JWTs, ``key=value`` pairs), and long runs of random-looking
characters (hex digests, base64 keys) unless they read as a name or a CamelCase identifier."""

from __future__ import annotations

from optel.privacy.fastpath import KEY_HINTS, LONG_RUN
from optel.privacy.keys import is_sensitive_key
from optel.privacy.markers import MARKERS, SECRET
from optel.privacy.patterns import pattern
from optel.privacy.table import secret_triggers

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re

# One of these is in every text a token shape could match (``table``).
SECRET_PREFIXES = secret_triggers()
# The words of the "key_value" pattern's key (patterns._SOURCES) but the three "...key" ones.
_KEY_WORDS = ("pass", "pwd", "secret", "token", "auth", "credential", "cookie", "session", "jwt")


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
    if kept[:1] == "<" and kept + ">" in MARKERS:
        # An earlier rule left a marker there (``Cookie: <secret>``, ``password=<path>``): its
        # ">" closes the marker, not the sentence; left outside, it would read ``<secret>>``.
        kept += ">"
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
    if text.isascii() and not _may_hold_a_key(lowered):
        # (An ASCII text only: (?i) folds a few non-ASCII letters that lower() does not.)
        return text
    return pattern("key_value").sub(_key_value_match, text)


def _may_hold_a_key(lowered: str) -> bool:
    """Whether `lowered` holds a key word of the "key_value" pattern: "key" alone is not one (only
    "api key", "access key", "private key"), so "KeyError: 'x'" spares ``import re`` and the compile."""
    for word in _KEY_WORDS:  # a loop: any() over a generator costs more
        if word in lowered:
            return True
    return "key" in lowered and ("api" in lowered or "access" in lowered or "private" in lowered)


_VOWELS = frozenset("aeiouyAEIOUY")


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
