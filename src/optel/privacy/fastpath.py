"""Recognising strings that no built-in rule could change, without importing or running a regex.

Most attribute values are command names, model names, outcomes and counts; proving them safe with
a few ``str`` methods costs well under a microsecond, where the full chain costs ``import re``
once and tens of microseconds per string. The test suite checks that every string this module
calls safe comes out of the full chain unchanged.
"""

from __future__ import annotations

MAX_LENGTH = 160
# Every base64/hex detector needs a run of 32; a shorter bound here only sends more to the chain.
LONG_RUN = 32

# Substrings that start a vendor key or a JWT (see rules.scrub_token_prefixes), grouped by the
# character that must be present for any of them to occur, so a typical string checks few.
UNDERSCORE_PREFIXES = ("sk_", "rk_", "pk_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "hf_", "npm_")
DASH_PREFIXES = ("sk-", "xox", "glpat-", "pypi-")
UPPER_PREFIXES = ("AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA", "AIPA", "AIza", "eyJ", "PRIVATE")
SECRET_PREFIXES = UNDERSCORE_PREFIXES + DASH_PREFIXES + UPPER_PREFIXES
# Words that may name a credential in "key: value" or "--key value" text (lower case).
KEY_HINTS = (
    "pass", "pwd", "secret", "token", "auth", "key", "cookie", "session", "credential", "bearer",
    "basic", "digest", "jwt",
)


def plainly_safe(text: str, logins: tuple[str, ...]) -> bool:
    """True when `text` is short, made only of ``[A-Za-z0-9._: -]``, and shows none of: a secret
    prefix, an IPv4 or IPv6 shape, a 32-character run, a key/value hint, or a login name."""
    # Written for speed (it runs for every string attribute at exit): inline tests, no loops or
    # calls where a chain of `in` does; the prefix lists above are the reference for each chain.
    if len(text) > MAX_LENGTH or not text.isascii():
        return False
    if not text.isalnum():
        bare = text.replace("-", "").replace(".", "").replace("_", "").replace(":", "").replace(" ", "")
        if bare and not bare.isalnum():
            return False
        if text.count(".") >= 3 or text.count(":") >= 2:
            return False
        if "_" in text and (
            "sk_" in text or "rk_" in text or "pk_" in text or "gh" in text or "hf_" in text
            or "npm_" in text or "github_pat_" in text
        ):
            return False
        if "-" in text and ("sk-" in text or "xox" in text or "glpat-" in text or "pypi-" in text):
            return False
    lowered = text.lower()
    if text != lowered and (
        "AKIA" in text or "ASIA" in text or "AGPA" in text or "AIDA" in text or "AROA" in text
        or "ANPA" in text or "ANVA" in text or "AIPA" in text or "AIza" in text or "eyJ" in text
        or "PRIVATE" in text
    ):
        return False
    if "www." in lowered:
        return False
    # Key/value and "Bearer x" shapes need a colon or a space; without one a hint word is harmless.
    if (":" in text or " " in text) and _has_hint(lowered):
        return False
    for login in logins:
        if login in lowered:
            return False
    if len(text) >= LONG_RUN:
        for piece in text.replace(":", " ").replace(".", " ").split():
            if len(piece) >= LONG_RUN:
                return False
    return True


def _has_hint(lowered: str) -> bool:
    # A plain loop: any() over a generator costs more than the few checks it would replace.
    for hint in KEY_HINTS:  # noqa: SIM110
        if hint in lowered:
            return True
    return False
