"""Long runs of random-looking characters (hex digests, base64 keys) -> ``<secret>``, unless they read
as a name (``meta-llama/Meta-Llama-3-8B-Instruct``) or a CamelCase identifier."""

from __future__ import annotations

from optel.privacy.fastpath import LONG_RUN
from optel.privacy.markers import SECRET
from optel.privacy.patterns import pattern

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re

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
