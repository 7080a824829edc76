"""Deciding whether an attribute key names a credential, so that its value is replaced whole.

A key is split into lower-case words (on any non-alphanumeric character and on camelCase), then:

- a *strong* word (``password``, ``secret``, ``cookie``, ``authorization``, ``credential``...) or a
  strong pair (``api key``, ``private key``, ``access key``, ``client secret``) makes it sensitive;
- a *weak* word (``token``, ``auth``, ``session``, ``oauth``) makes it sensitive unless the next word
  describes it rather than holds it (``type``, ``count``, ``duration``, ``id``...). So
  ``auth_token``, ``x-auth``, ``github.token`` and ``session`` are sensitive, while the data
  dictionary's ``gen_ai.token.type``, ``cli.session.duration`` and ``session.id`` (a random id, as
  OpenTelemetry defines it) are not. ``input_tokens`` never matches: ``tokens`` is not ``token``.

Keys the host allow-listed (``optel.init(attributes=...)``) are exempt from the weak words only: a
host can declare ``myapp.session.kind`` but can never make ``db.password`` pass.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Collection

STRONG_WORDS = frozenset(
    (
        "password", "passwd", "pwd", "passphrase", "secret", "secrets", "apikey", "apikeys",
        "credential", "credentials", "cookie", "cookies", "setcookie", "authorization",
        "privatekey", "accesskey", "secretkey", "bearer", "jwt", "sessionid", "sessiontoken",
        "authtoken", "accesstoken", "refreshtoken", "apitoken", "csrftoken", "xsrftoken", "idtoken",
    )
)
STRONG_PAIRS = frozenset(
    (
        ("api", "key"), ("private", "key"), ("access", "key"), ("secret", "key"),
        ("client", "secret"), ("set", "cookie"), ("signing", "key"), ("encryption", "key"),
    )
)
WEAK_WORDS = frozenset(("token", "auth", "session", "oauth"))
DESCRIPTORS = frozenset(
    (
        "type", "types", "kind", "count", "counts", "usage", "duration", "length", "size",
        "limit", "limits", "id", "method", "provider", "scheme", "status", "mode", "enabled",
        "required", "source", "version", "start", "end", "started", "ended", "expired", "ttl",
    )
)
# optel's own data-dictionary names that contain a weak word; the rule above already passes the
# first ones, the list pins them against future changes of the word sets.
KNOWN_TELEMETRY_KEYS = frozenset(
    (
        "gen_ai.token.type", "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens",
        "gen_ai.request.max_tokens", "cli.session.duration", "session.id", "session.previous_id",
    )
)


def key_words(key: str) -> list[str]:
    """The lower-case words of an attribute key: ``http.request.header.X-Api-Key`` -> http ... api key."""
    words: list[str] = []
    current: list[str] = []
    previous = ""
    for ch in key:
        if not ch.isalnum():
            if current:
                words.append("".join(current))
                current = []
            previous = ""
            continue
        # camelCase: a capital after a lower-case letter or digit starts a word.
        if ch.isupper() and (previous.islower() or previous.isdigit()) and current:
            words.append("".join(current))
            current = []
        current.append(ch.lower())
        previous = ch
    if current:
        words.append("".join(current))
    return words


def is_sensitive_key(key: str, allowed: Collection[str] = ()) -> bool:
    """True when the value of attribute `key` must be replaced whole by ``<secret>``."""
    if key in KNOWN_TELEMETRY_KEYS:
        return False
    words = key_words(key)
    for index, word in enumerate(words):
        if word in STRONG_WORDS:
            return True
        following = words[index + 1] if index + 1 < len(words) else ""
        if (word, following) in STRONG_PAIRS:
            return True
        if word in WEAK_WORDS and following not in DESCRIPTORS and key not in allowed:
            return True
    return False
