"""Credentials recognised by their context or shape: PEM blocks, auth headers and schemes, vendor
key prefixes (``table.SHAPES``), JWTs and ``key=value`` pairs."""

from __future__ import annotations

from optel.privacy.fastpath import KEY_HINTS, SECRET_PREFIXES
from optel.privacy.keys import is_sensitive_key
from optel.privacy.markers import MARKERS, SECRET
from optel.privacy.patterns import pattern

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re


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
    return pattern("key_value").sub(_key_value_match, text)
