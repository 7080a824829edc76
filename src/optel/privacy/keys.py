"""Deciding whether an attribute key names a credential, so that its value is replaced whole.

A key is split into lower-case words (on any non-alphanumeric character and on camelCase), then:

- a *strong* word (``password``, ``secret``, ``cookie``, ``authorization``, ``credential``...) or a
  strong pair (``api key``, ``private key``, ``access key``, ``client secret``) makes it sensitive;
- a word run together from a strong word (``PGPASSWORD``, ``dbpassword``, ``clientsecret``) is
  strong too, as environment variables and all-lower-case keys write them;
- a *weak* word (``token``, ``auth``, ``session``, ``oauth``, ``pass``) makes it sensitive unless
  the next word describes it rather than holds it (``type``, ``count``, ``duration``, ``id``...). So
  ``auth_token``, ``x-auth``, ``github.token``, ``DB_PASS`` and ``session`` are sensitive, while the
  data dictionary's ``gen_ai.token.type``, ``optel.cli.session.duration`` and ``session.id`` (a random id,
  as OpenTelemetry defines it) are not. ``input_tokens`` never matches: ``tokens`` is not ``token``.

Allow-listing a key (``optel.init(attributes=...)``) exempts it from nothing: a host attribute is
only recorded when allow-listed, so an exemption would switch the rule off for every host key.
A host that wants ``myapp.session.kind`` names it with a describing word; only
``disable_builtin_rules=True`` turns the rule off.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Collection

STRONG_WORDS = frozenset(
    (
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "secret",
        "secrets",
        "apikey",
        "apikeys",
        "credential",
        "credentials",
        "cookie",
        "cookies",
        "setcookie",
        "authorization",
        "privatekey",
        "accesskey",
        "secretkey",
        "bearer",
        "jwt",
        "sessionid",
        "sessiontoken",
        "authtoken",
        "accesstoken",
        "refreshtoken",
        "apitoken",
        "csrftoken",
        "xsrftoken",
        "idtoken",
    )
)
STRONG_PAIRS = frozenset(
    (
        ("api", "key"),
        ("private", "key"),
        ("access", "key"),
        ("secret", "key"),
        ("client", "secret"),
        ("set", "cookie"),
        ("signing", "key"),
        ("encryption", "key"),
        # the camelCase and snake_case spellings of the joined words above (accessToken, id_token)
        ("access", "token"),
        ("refresh", "token"),
        ("api", "token"),
        ("id", "token"),
        ("session", "token"),
        ("auth", "token"),
        ("csrf", "token"),
        ("xsrf", "token"),
    )
)
# Environment variables and lower-case keys run words together (PGPASSWORD, dbpassword,
# clientsecret): a word that ends in one of these is strong. "pass" is not here, because "bypass"
# and "compass" end in it without naming a credential.
STRONG_ENDINGS = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "credential",
    "credentials",
    "apikey",
)
WEAK_WORDS = frozenset(("token", "auth", "session", "oauth", "pass"))
DESCRIPTORS = frozenset(
    (
        "type",
        "types",
        "kind",
        "count",
        "counts",
        "usage",
        "duration",
        "length",
        "size",
        "limit",
        "limits",
        "id",
        "method",
        "provider",
        "scheme",
        "status",
        "mode",
        "enabled",
        "required",
        "source",
        "version",
        "start",
        "end",
        "started",
        "ended",
        "expired",
        "ttl",
    )
)
# optel's own data-dictionary names that contain a weak word; the rule above already passes the
# first ones, the list pins them against future changes of the word sets.
KNOWN_TELEMETRY_KEYS = frozenset(
    (
        "gen_ai.token.type",
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.output_tokens",
        "gen_ai.request.max_tokens",
        "optel.cli.session.duration",
        "session.id",
        "session.previous_id",
    )
)


def key_words(key: str) -> list[str]:
    """The lower-case words of an attribute key: ``http.request.header.X-Api-Key`` -> http ... api key."""
    if key.isascii() and key == key.lower():
        # Most keys (``gen_ai.usage.input_tokens``): no capital, so no camelCase, and C-level
        # splits do what the loop below does.
        words = key.replace(".", " ").replace("_", " ").replace("-", " ").split()
        if "".join(words).isalnum():
            return words
    return _words_char_by_char(key)


def _words_char_by_char(key: str) -> list[str]:
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


# Every word the rules above name, and the second word of every strong pair, holds one of these (a
# test pins it): a key that holds none is judged with a few C-level `in`s, without being split.
TRIGGERS = (
    "key",
    "token",
    "pass",
    "pwd",
    "secret",
    "auth",
    "session",
    "cookie",
    "credential",
    "bearer",
    "jwt",
)


def may_name_a_credential(lowered: str) -> bool:
    """False when `lowered` (a key in lower case) holds no trigger: then no rule can match it."""
    # A plain loop: any() over a generator costs more than the few checks it would replace.
    for trigger in TRIGGERS:  # noqa: SIM110
        if trigger in lowered:
            return True
    return False


def is_sensitive_key(key: str, allowed: Collection[str] = ()) -> bool:
    """True when the value of attribute `key` must be replaced whole by ``<secret>``.

    `allowed` (the host's allow-list) is accepted for callers written when it exempted keys from
    the weak words; it exempts nothing now (see the module docstring).
    """
    if key in KNOWN_TELEMETRY_KEYS or not may_name_a_credential(key.lower()):
        return False
    return names_a_credential(key_words(key))


def names_a_credential(words: list[str]) -> bool:
    """Whether the words of a key (``key_words``) make it sensitive, by the rules above."""
    for index, word in enumerate(words):
        if word in STRONG_WORDS or word.endswith(STRONG_ENDINGS):
            return True
        following = words[index + 1] if index + 1 < len(words) else ""
        if (word, following) in STRONG_PAIRS:
            return True
        if word in WEAK_WORDS and following not in DESCRIPTORS:
            return True
    return False
