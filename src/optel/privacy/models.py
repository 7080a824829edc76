"""Keeping public model names and turning every other model name into ``custom``.

A private fine-tune or deployment name (``ft:gpt-4o:acme::abc``, ``acme-support-bot-v3``) says who
the user works for, so only names that read as a public family followed by public words (sizes,
dates, versions, ``instruct``, ``mini``, ``latest``...) are kept; the lists are in
``model_families`` (``FAMILIES``, ``WORDS``). No regex is used, so checking a name never imports
``re``.

Provider prefixes: ``openai/gpt-4o``, ``meta-llama/Llama-3.1-8B-Instruct`` (Hugging Face),
``models/gemini-1.5-pro`` (Google), ``us.anthropic.claude-...-v1:0`` (Bedrock) are kept as given
when the rest is public. When the name carries a prefix that is a known provider (or equals the
`provider` argument) and the rest is not public, the result is ``<prefix>/custom``; any other
non-public name is ``custom``: a bare name says nothing about its provider, and the provider is
sent separately as ``gen_ai.provider.name`` anyway. An unknown prefix (``alice/llama-3-8b``, a
personal fine-tune) makes the whole name ``custom``.
"""

from __future__ import annotations

from optel.privacy.markers import CUSTOM
from optel.privacy.model_families import BEDROCK_REGIONS, FAMILIES, KNOWN_PREFIXES, WORDS

_cache: dict[tuple[str, str | None], str] = {}
_CACHE_LIMIT = 512


def _public_number(digits: str) -> bool:
    """A version, size or release date: up to four digits (0125, 2407, 405), or a date written
    YYMMDD or YYYYMMDD (20241022). A longer run (gpt-4o-1234567890) numbers a private deployment."""
    if len(digits) <= 4:
        return True
    if len(digits) == 6:
        digits = "20" + digits
    if len(digits) != 8 or digits[:2] not in ("19", "20"):
        return False
    month, day = int(digits[4:6]), int(digits[6:8])
    return 1 <= month <= 12 and 1 <= day <= 31


def _public_word(word: str) -> bool:
    if not word or word in WORDS:
        return True
    # Sizes, versions, dates and counts: 70b, 8x7b, 1.5, 0125, v0.3, a22b (active), 16e (experts).
    core = word
    if core[0] in "va" and len(core) > 1 and core[1].isdigit():
        core = core[1:]
    if "." in core:
        # A dotted version: each part is a short number (1.5, 0.3.1).
        parts = core.split(".")
        return all(part.isdigit() and len(part) <= 4 for part in parts if part) and any(parts)
    core = core.replace("x", "", 1)
    if core.isdigit():
        return _public_number(core)
    return 1 < len(core) <= 5 and core[:-1].isdigit() and core[-1] in "bmket"


def _public_after_family(rest: str) -> bool:
    """True when what follows a family name is only a version and public words."""
    if rest and rest[0] not in "-_. " and not rest[0].isdigit():
        # "gptacme" or "claudette": the family must end at a separator or a version digit.
        return False
    words = rest.replace("_", "-").replace(" ", "-").split("-")
    return all(_public_word(w.strip(".")) for w in words)


def _public_base(name: str) -> bool:
    """True when `name` (no prefix, any case) is a public family followed by public words."""
    base, _, tag = name.lower().partition(":")
    if base.startswith("ft") and tag:
        return False
    # Ollama and Bedrock tags: llama3:8b, qwen2.5:7b-instruct-q4_K_M, claude-...-v1:0.
    if tag and not all(_public_word(w) for w in tag.replace("_", "-").replace(".", "-").split("-")):
        return False
    # No regex: this runs for every LLM call, and `re` is not imported on the recording path.
    return any(
        base.startswith(family) and _public_after_family(base[len(family) :]) for family in FAMILIES
    )


def _strip_bedrock(name: str) -> str:
    lowered = name.lower()
    for region in BEDROCK_REGIONS:
        if lowered.startswith(region):
            name, lowered = name[len(region) :], lowered[len(region) :]
            break
    vendor, dot, rest = name.partition(".")
    if dot and vendor.lower() in KNOWN_PREFIXES and rest and not rest[0].isdigit():
        return rest
    return name


def _decide(model: str, provider: str | None) -> str:
    if model.lower().startswith("ft:"):
        return CUSTOM
    prefix, slash, base = model.rpartition("/")
    provider_word = (provider or "").strip().lower()
    if slash:
        segments = [s.lower() for s in prefix.split("/") if s]
        known = bool(segments) and all(
            s in KNOWN_PREFIXES or (provider_word and s == provider_word) for s in segments
        )
        if not known:
            return CUSTOM
        if _public_base(_strip_bedrock(base)):
            return model
        first = segments[0]
        if first in ("models", "publishers") and provider_word:
            first = provider_word
        return first + "/" + CUSTOM if first not in ("models", "publishers") else CUSTOM
    if _public_base(_strip_bedrock(model)):
        return model
    return CUSTOM


def public_model_name(model: str | None, provider: str | None = None) -> str | None:
    """`model` when it is a public model name, else ``custom`` (or ``<prefix>/custom``, see the
    module docstring); None or an empty name gives None. Never raises."""
    if model is None:
        return None
    try:
        name = str(model).strip()
        if not name:
            return None
        key = (name, provider)
        found = _cache.get(key)
        if found is None:
            found = _decide(name, provider)
            if len(_cache) < _CACHE_LIMIT:
                _cache[key] = found
        return found
    except Exception:
        return CUSTOM
