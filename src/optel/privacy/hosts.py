"""Host names: the machine's own name anywhere, any name where a message says it is a host, and any
dotted name that ends in a known top-level domain become ``<host>``; a few public API hosts stay.

The rule for a bare dotted name is its last label: ``api.acme.io``, ``db.prod.internal`` and
``redis.ns.svc.cluster.local`` end in a top-level domain of ``TLDS``, while ``openai.APIError``,
``os.path.join``, ``config.toml``, ``1.2.3`` and ``gen_ai.usage.input_tokens`` do not. ``TLDS`` leaves
out the domains that are also file extensions or words after a dot in code (``py``, ``sh``, ``md``,
``zip``, ``to``, ``at``, ``in``, ``int``, ``home``, ``site``...): a host in one of them is still caught
where a message names it a host (``host='x'``, ``Could not resolve hostname x``...). A label in mixed
case (``System.Net``) is a code name, not a domain. ``TLDS`` and the context words are in ``table``.
"""

from __future__ import annotations

from optel.privacy.identity import machine_names
from optel.privacy.markers import HOST
from optel.privacy.table import CONTEXT_HINTS, TLD_LABELS

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re

# Public hosts that say nothing about the user: the LLM APIs an app calls, and code hosts.
ALLOWED_HOSTS = frozenset(
    (
        "api.openai.com", "api.anthropic.com", "generativelanguage.googleapis.com",
        "aiplatform.googleapis.com", "api.mistral.ai", "api.groq.com", "api.cohere.com",
        "api.cohere.ai", "api.deepseek.com", "api.together.xyz", "api.fireworks.ai",
        "openrouter.ai", "api.x.ai", "api.perplexity.ai", "huggingface.co",
        "api-inference.huggingface.co", "router.huggingface.co", "pypi.org", "github.com",
        "api.github.com", "gitlab.com",
    )
)  # fmt: skip

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_TLD = "(?:" + "|".join(sorted(TLD_LABELS, key=len, reverse=True)) + ")"
# A dotted host name: labels, then a top-level domain that no further label or word follows.
DOTTED = r"(?:" + _LABEL + r"\.)+" + _TLD + r"(?![\w-]|\.[A-Za-z0-9])"
_TOKEN = r"(?=[\w.-]*[A-Za-z])[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?"
_SOURCES = {
    # Where a message names a host, the next word is one, dotted or not.
    "context": r"(?i)(?:"
    r"\bhost(?:_?name)?\s*[=:]\s*"  # host='db', hostname: db, Host: db
    r"|\b(?:host(?:\s*name)?|server(?:\s+at)?)\s+(?=[\"'])"  # host "db", server at "db"
    r"|\bresolve\s+host(?:name)?:?\s+"  # Could not resolve hostname db, resolve host: db
    r"|\bnot\s+known:\s*"  # Name or service not known: db
    r"|\bENOTFOUND\s+"  # getaddrinfo ENOTFOUND db
    r"|\bconnect(?:ing|ed)?\s+to\s+(?:host\s+)?(?=[\w.-]+:\d)"  # connecting to redis-master:6379
    r"|\blookup\s+(?=[\w.-]+(?::\d+)?(?: on |: no such host))"  # Go: lookup db on 10.0.0.2:53
    # A whole word; one followed by "=" is the key of a pair, not a host ("not known: password=x").
    r")(?P<q>[\"']?)(?P<host>" + _TOKEN + r")(?P=q)(?![\w-])(?!\s*=)",
    "dotted": r"(?<![\w.@/\\-])" + DOTTED,
}
_compiled: dict[str, re.Pattern[str]] = {}
_machine_patterns: dict[tuple[str, ...], re.Pattern[str]] = {}


def _pattern(name: str) -> re.Pattern[str]:
    compiled = _compiled.get(name)
    if compiled is None:
        import re

        compiled = _compiled[name] = re.compile(_SOURCES[name])
    return compiled


def _private(host: str) -> bool:
    lowered = host.lower().rstrip(".")
    return lowered not in ALLOWED_HOSTS and lowered != "localhost"


def _context_match(match: re.Match[str]) -> str:
    host = match.group("host")
    if not _private(host):
        return match.group()
    start, end = match.span("host")
    whole = match.group()
    offset = match.start()
    return whole[: start - offset] + HOST + whole[end - offset :]


def _dotted_match(match: re.Match[str]) -> str:
    return HOST if _private(match.group()) else match.group()


def tld_after_a_dot(text: str) -> bool:
    """Whether the label right after some dot in `text` is a known top-level domain: what any
    dotted host name holds (a True may still be no host; a False never is one)."""
    for part in text.split(".")[1:]:
        end = 0
        for char in part[:12]:
            if not (char.isalnum() or char == "-"):
                break
            end += 1
        if part[:end] in TLD_LABELS:
            return True
    return False


def scrub_machine_name(text: str) -> str:
    """This machine's name (``socket.gethostname()``, ``HOSTNAME``), as a word in any case and with
    any domain after it -> ``<host>``."""
    names = machine_names()
    if not names:
        return text
    folded = text.lower()
    if not any(name in folded for name in names):
        return text
    compiled = _machine_patterns.get(names)
    if compiled is None:
        import re

        alternation = "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))
        compiled = re.compile(
            r"(?i)(?<![A-Za-z0-9<])(?:" + alternation + r")(?:\." + _LABEL + r")*(?![A-Za-z0-9>])"
        )
        if len(_machine_patterns) > 32:
            _machine_patterns.clear()
        _machine_patterns[names] = compiled
    return compiled.sub(HOST, text)


def _may_name_a_host(text: str, lowered: str) -> bool:
    """What every context of the "context" pattern holds: a False spares ``import re`` and the
    compile (milliseconds) for "Connection refused" and most other messages."""
    if not text.isascii():
        # (?i) folds a few non-ASCII letters (the Kelvin sign, a long s) that lower() does not.
        return any(hint in lowered for hint in CONTEXT_HINTS)
    if "host" in lowered or "server" in lowered or "lookup" in lowered or "enotfound" in lowered:
        return True
    # "not known:" and "connecting to db:6379" (the port's colon is part of that context).
    return "known:" in lowered or ("connect" in lowered and ":" in text)


def scrub_hosts(text: str) -> str:
    """Host names where a message names them, then dotted names with a known top-level domain,
    then the machine's own name -> ``<host>``; ``ALLOWED_HOSTS`` stay."""
    if "." in text or "=" in text or ":" in text or '"' in text or "'" in text or " " in text:
        if _may_name_a_host(text, text.lower()):
            text = _pattern("context").sub(_context_match, text)
        if "." in text and tld_after_a_dot(text):
            text = _pattern("dotted").sub(_dotted_match, text)
    return scrub_machine_name(text)
