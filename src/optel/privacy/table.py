"""The one table of scrubbing rules: the client's chain and token shapes, its fast-path pre-filter,
the collector gateway's processors and the rules docs/privacy.md states are all derived from it.

A new key shape is one ``Shape`` line here. ``patterns`` builds its ``token_prefix`` pattern from
``SHAPES``; ``python -m optel.privacy.prefilter src/optel/privacy/fastpath.py`` writes the shapes'
``triggers``, ``TLDS`` and ``CONTEXT_HINTS`` into the fast path's pre-filter, and
``python -m optel.privacy.gateway collector/gateway.yaml`` the shapes into the gateway's
``transform/scrub`` and ``redaction/secrets`` processors (a test fails when either checked-in file
is stale, and another when a trigger of the table gets past the pre-filter). A new rule of the client's
chain is a ``Rule`` line in ``RULES`` and its function in ``rules``; ``python -m optel.privacy.docs
docs/privacy.md`` writes the page's rule tables (a test fails when the page is stale, and another
when a rule's example no longer comes out as stated).

Every ``pattern`` here is written in the common subset of Python's ``re`` and RE2 (the collector's
engine): no look-around, no backreferences. The client adds its own look-behind in front.
"""

from __future__ import annotations

# The markers each rule puts where it found something are in ``markers``.
from optel.privacy.markers import EMAIL, HOST, IP, MAC, NUMBER, PATH, SECRET, URL, USER

# -- host names (``hosts``, and the fast path's pre-filter) ----------------------------------------

# Top-level domains a dotted name must end in to be taken for a host (see ``hosts`` for what is left out).
TLDS = frozenset(
    (
        "com", "net", "org", "edu", "gov", "mil", "info", "biz", "io", "ai", "app", "dev", "co",
        "cloud", "tech", "xyz", "online", "tv", "ly", "gg", "fm", "us", "uk", "de", "fr", "nl", "eu",
        "ca", "au", "jp", "cn", "ru", "ch", "se", "es", "br", "kr", "nz", "ie", "dk", "fi", "cz",
        "pt", "ar", "mx", "za", "sg", "hk", "tw", "il", "ua", "ro", "hu", "gr",
        # names that only a private network resolves
        "local", "localdomain", "internal", "intranet", "intra", "lan", "corp", "private", "svc",
        "example", "invalid", "test", "onion", "arpa", "localhost",
    )
)  # fmt: skip
# Both spellings a domain is written in; "Net" or "Io" in mixed case is a code name.
TLD_LABELS = TLDS | frozenset(t.upper() for t in TLDS)
# What each context of the "context" pattern holds (lower case): its pre-filter, and the fast path's.
CONTEXT_HINTS = ("host", "known", "enotfound", "connect", "lookup", "server")


class Shape:
    """A secret recognised by how it starts (a plain class: ``typing`` is too dear for the host)."""

    __slots__ = ("example", "name", "pattern", "triggers")

    def __init__(self, name: str, triggers: tuple[str, ...], pattern: str, example: str) -> None:
        self.name = name
        # Literal substrings, one of which every match contains: the fast path's pre-filter.
        self.triggers = triggers
        # The whole match, from its first character (valid in Python re and in RE2).
        self.pattern = pattern
        # One real-looking match, for the tests that pin the table to the client and the gateway.
        self.example = example

    def __repr__(self) -> str:
        return f"Shape({self.name!r})"


SHAPES: tuple[Shape, ...] = (
    Shape("anthropic", ("sk-",), r"sk-ant-[A-Za-z0-9_-]{8,}", "sk-ant-api03-Xq7Lm2Vb9Rt4"),
    Shape(
        "openai",
        ("sk-",),
        r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{16,}",
        "sk-proj-Xq7Lm2Vb9Rt4Ws8Yc1Nd",
    ),
    Shape(
        "stripe",
        ("sk_", "rk_", "pk_"),
        r"(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{10,}",
        "rk_live_Xq7Lm2Vb9Rt4",
    ),
    Shape(
        "github",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
        r"gh[pousr]_[A-Za-z0-9]{16,}",
        "ghs_Xq7Lm2Vb9Rt4Ws8Yc1Nd6P",
    ),
    Shape(
        "github-pat",
        ("github_pat_",),
        r"github_pat_[A-Za-z0-9_]{16,}",
        "github_pat_11ABCDEFG0123456789_xyz",
    ),
    Shape(
        "slack",
        ("xox",),
        r"xox[abposre]-[A-Za-z0-9-]{8,}",
        "xoxe-1234-5678-abcdefgh",
    ),
    Shape(
        "aws",
        ("AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA", "AIPA"),
        r"(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{12,}",
        "AROAY34FZKBOKMUTVV7A",
    ),
    Shape("google", ("AIza",), r"AIza[0-9A-Za-z_-]{20,}", "AIzaSyA-abcdefghijklmnopqrstu"),
    Shape("gitlab", ("glpat-",), r"glpat-[A-Za-z0-9_-]{16,}", "glpat-abcdefghij0123456789"),
    Shape("huggingface", ("hf_",), r"hf_[A-Za-z0-9]{20,}", "hf_abcdefghijklmnopqrstuvwxyz0123"),
    Shape("npm", ("npm_",), r"npm_[A-Za-z0-9]{20,}", "npm_abcdefghijklmnopqrstuvwxyz0123"),
    Shape("pypi", ("pypi-",), r"pypi-[A-Za-z0-9_-]{20,}", "pypi-AgEIcHlwaS5vcmcCJGFiY2Rl"),
    Shape(
        "jwt",
        ("eyJ",),
        r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N",
    ),
)

# The block rule's trigger (credentials.scrub_private_keys): its text is all in the fast path's alphabet.
PRIVATE_KEY_TRIGGER = "PRIVATE KEY"


def secret_triggers() -> tuple[str, ...]:
    """The triggers of every shape, then the private key block's, each once, in table order: one
    of them is in every text a token rule could change (the chain's and the fast path's pre-filter)."""
    return (*dict.fromkeys(t for shape in SHAPES for t in shape.triggers), PRIVATE_KEY_TRIGGER)


class Rule:
    """One step of the client's built-in chain, as docs/privacy.md states it (generated from here)."""

    __slots__ = ("catches", "examples", "marker", "name")

    def __init__(
        self, name: str, marker: str, catches: str, examples: tuple[tuple[str, str], ...]
    ) -> None:
        # The rule function's name without ``scrub_`` (``rules`` looks the function up by it).
        self.name = name
        self.marker = marker
        # What it replaces, in Markdown, for the page.
        self.catches = catches
        # (input, output) pairs; a test runs each input through the whole chain, with HOME
        # ``/Users/Alice Smith`` and USER ``alice``, and checks the output.
        self.examples = examples

    def __repr__(self) -> str:
        return f"Rule({self.name!r})"


# Why the client's chain runs in the order of RULES (the page states it too).
CHAIN_ORDER = (
    "The home directory goes before paths and URLs: a home may hold spaces or the login name, and "
    "inside `file:///Users/Alice Smith/x` the URL stays one marker. URLs go before paths, so that a "
    "URL is one marker; paths before the shape detectors, so that a path holding a hash is one "
    "marker; e-mail and IP addresses before host names (the domain after `@` is the address's, "
    "`1.2.3.4` is no host); secrets before host names (`not known: password=x` keeps its key for "
    "the key/value rule) and numbers (a key may hold a digit run); MAC addresses before host names "
    "(`not known: 00:1a:...` would give the first octet for a host); the login name last, wherever the "
    "rules before left it."
)
RULES: tuple[Rule, ...] = (
    Rule(
        "home",
        PATH,
        "the current user's home directory, also with spaces (`/Users/Alice Smith`) or as `repr()` "
        "writes a Windows one; it becomes `~`, which the path rule then replaces",
        (("saved /Users/Alice Smith/Bob CV.pdf", "saved <path>"),),
    ),
    Rule(
        "urls",
        URL,
        "`scheme://...` URLs (http, https, ws, file, ftp, postgres, s3...), also JSON-escaped "
        "(`https:\\/\\/...`), `www.` addresses, scp-style remotes (`git@host:team/repo.git`) and "
        "remotes without a scheme (`gitlab.com/org/repo/`): host, path, query and credentials included",
        (
            ("fetch https://user:pw@api.acme.io/v1?key=x failed.", "fetch <url> failed."),
            ("push to git@git.acme.io:team/app.git", "push to <url>"),
        ),
    ),
    Rule(
        "paths",
        PATH,
        "POSIX and Windows paths (drive letters, UNC, `//server/share`), home- and dot-relative "
        "paths, paths with the escapes `repr()` and JSON write, `a/b/c`, `org/project/` and "
        "`dir/file.ext`; a last segment with spaces up to a document's extension. A single `a/b` "
        "without an extension stays (`and/or`, `n/a`, `openai/custom`)",
        (
            ("cannot open C:\\Users\\bob\\x.txt: denied", "cannot open <path>: denied"),
            ("see src/main.py and/or org/app/", "see <path> and/or <path>"),
        ),
    ),
    Rule(
        "emails",
        EMAIL,
        "e-mail addresses, also `user@10.0.0.1` and non-ASCII ones (`josé@münchen.de`)",
        (("mail ops@example.com now", "mail <email> now"),),
    ),
    Rule(
        "ips",
        IP,
        "IPv4 and IPv6 addresses (zones and embedded IPv4 included); versions (`1.2.3`) and times "
        "(`12:30:45`) stay",
        (("from 10.0.0.2 and fe80::1 at 12:30:45", "from <ip> and <ip> at 12:30:45"),),
    ),
    Rule(
        "private_keys",
        SECRET,
        "PEM private key blocks, `BEGIN` to `END` (or to the end of the text)",
        (("-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----", "<secret>"),),
    ),
    Rule(
        "auth_headers",
        SECRET,
        "the rest of the line after `Authorization:`, `Proxy-Authorization:`, `Cookie:`, "
        "`Set-Cookie:`, `X-Api-Key:` and `X-Auth-Token:`",
        (("Cookie: sid=abc; theme=dark", "Cookie: <secret>"),),
    ),
    Rule(
        "auth_schemes",
        SECRET,
        "the credential after `Bearer`, and after `Basic`, `Digest` or `Token` when it does not "
        "read as a word (`Basic usage` stays)",
        (("sent Bearer abc.def.ghi123", "sent Bearer <secret>"),),
    ),
    Rule(
        "token_prefixes",
        SECRET,
        "keys recognised by their vendor prefix: every shape of the table below",
        (("key sk-proj-Xq7Lm2Vb9Rt4Ws8Yc1Nd used", "key <secret> used"),),
    ),
    Rule(
        "jwts",
        SECRET,
        "JSON Web Tokens (`eyJ...` in three dotted parts)",
        (("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N", "jwt <secret>"),),
    ),
    Rule(
        "key_values",
        SECRET,
        'the value in `password=...`, `token: ...`, `"api_key": "..."`, `--password ...`, '
        "as a shell reads it (`&`, `;`, `,` inside it, quoted values with spaces); the key is judged "
        "by the same rule as attribute names, so `input_tokens=120` stays",
        (
            ("login --password 'a b;c' ok", "login --password '<secret>' ok"),
            ("input_tokens=120 api_key=x1&y", "input_tokens=120 api_key=<secret>"),
        ),
    ),
    Rule(
        "long_hex",
        SECRET,
        "runs of 32 or more hex digits (keys, digests, a full git sha); a UUID stays",
        (("sha 0123456789abcdef0123456789abcdef01234567", "sha <secret>"),),
    ),
    Rule(
        "long_runs",
        SECRET,
        "runs of 32 or more base64 or base64url characters with mixed case or digits, unless they "
        "read as a name (`meta-llama/Meta-Llama-3-8B-Instruct`) or a CamelCase identifier",
        (("got dGhpcyBpcyBhIHNlY3JldCB2YWx1ZTEyMw== back", "got <secret> back"),),
    ),
    Rule(
        "macs",
        MAC,
        "MAC addresses, with colons or dashes, in either case",
        (
            (
                "ssh: Name or service not known: 00:1a:2b:3c:4d:5e",
                "ssh: Name or service not known: <mac>",
            ),
        ),
    ),
    Rule(
        "hosts",
        HOST,
        "this machine's own name (`socket.gethostname()`, `HOSTNAME`) and its domain, anywhere; "
        "any name a message calls a host (`host='db'`, `Could not resolve hostname db`, `Name or "
        "service not known: db`, `connecting to db:6379`); any dotted name whose last label is a "
        "known top-level domain (`db.prod.internal`, `api.acme.io`), except public API and code "
        "hosts (`api.openai.com`, `github.com`...)",
        (
            ("Could not resolve hostname db-primary", "Could not resolve hostname <host>"),
            ("db.prod.internal, not api.openai.com", "<host>, not api.openai.com"),
        ),
    ),
    Rule(
        "numbers",
        NUMBER,
        "payment card numbers (13-19 digits that pass the Luhn check, in one run or in groups of four "
        "or 4-6-5 with one space or dash throughout, wherever they start in a run of numbers: "
        "`port 8080 4111 1111 1111 1111`), US social security numbers, phone numbers written "
        "`+49 30 1234567` or `(555) 123-4567` / `555-123-4567`",
        (
            ("card 4111 1111 1111 1111, call +49 30 1234567", "card <number>, call <number>"),
            ("connecting to db:8080 4111-1111-1111-1111", "connecting to <host>:8080 <number>"),
        ),
    ),
    Rule(
        "login",
        USER,
        "the current user's login name, as a word in any case (`Alice_notes`); shared accounts "
        "(`root`, `runner`, `ubuntu`...) stay",
        (("by Alice and alice_notes", "by <user> and <user>_notes"),),
    ),
)

# -- the gateway's rules (RE2), in the order the gateway applies them -------------------------------
# The gateway is a second net, not a copy of the client: the client's finer rules (single-segment
# paths, host names, key/value pairs in prose, numbers) need look-around that RE2 does not have.

GATEWAY_URL = r"(?i)\b[a-z][a-z0-9+.-]*:(?://|\\/\\/)[^\s<>]+"
GATEWAY_EMAIL = r"[A-Za-z0-9À-ɏ._%+-]+@[A-Za-z0-9À-ɏ-]+(?:\.[A-Za-z0-9À-ɏ-]+)*\.[A-Za-zÀ-ɏ]{2,}"
GATEWAY_BEARER = r"(?i:bearer)\s+[A-Za-z0-9._~+/=-]{8,}"
GATEWAY_IP = (
    r"\b(?:[0-9]{1,3}\.){3}[0-9]{1,3}\b"
    r"|(?i:\b(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}\b|\b(?:[0-9a-f]{1,4}:){1,6}(?::[0-9a-f]{1,4}){1,6}\b|::1\b)"
)
GATEWAY_PATH = r"~[/\\][^\s]*|\b[A-Za-z]:[/\\][^\s]*|(?:\.{1,2})?(?:/[^\s/]+){2,}/?"
# Not on resource attributes: optel's own ids (install id, salted project id) are long and hex.
GATEWAY_LONG = r"\b[0-9a-fA-F]{32,}\b|[A-Za-z0-9+/]{40,}={0,2}"
GATEWAY_KEY_VALUE = r"(?i)\b(?:password|passwd|pwd|secret|api[_-]?key|token)\s*[=:]\s*\S+"
GATEWAY_SECRET_KEYS = (
    r"(?i)(password|passwd|secret|credential|api[._-]?key|private[._-]?key"
    r"|(access|refresh|id|auth|session|api|bearer|csrf)[._-]?token)"
    r"|(^|[._-])(auth|authorization|bearer|cookie|session|pass|pwd)($|[._-])|(^|[._-])token$"
)


def gateway_secret_pattern() -> str:
    """The gateway's one secret rule: bearer credentials and every shape, at a word boundary."""
    return "|".join((GATEWAY_BEARER, *(r"\b" + shape.pattern for shape in SHAPES)))


def gateway_scrub_rules(*, resource: bool) -> tuple[tuple[str, str], ...]:
    """(RE2 pattern, marker) in the gateway's order; `resource` leaves out the long-run rule."""
    rules = (
        (GATEWAY_URL, "<url>"),
        (GATEWAY_EMAIL, "<email>"),
        (gateway_secret_pattern(), "<secret>"),
        (GATEWAY_IP, "<ip>"),
        (GATEWAY_PATH, "<path>"),
        (GATEWAY_LONG, "<secret>"),
    )
    return rules[:-1] if resource else rules


def gateway_blocked_values() -> tuple[str, ...]:
    """The redaction processor's value patterns: every shape, then credential key/value pairs."""
    return (*(r"\b" + shape.pattern for shape in SHAPES), GATEWAY_KEY_VALUE)


# Keys the gateway deletes whatever they hold (docs/contract.md#what-is-collected: never host name,
# user name, IP or paths). collector/gateway.yaml's attributes/ and resource/drop_identifying list
# the same keys (a test pins them to these), and optel's rotel gateway (optel.gateway) deletes them
# too.
GATEWAY_IDENTITY_KEYS = (
    "client.address", "net.peer.ip", "net.host.ip", "host.name", "user.name", "user.email",
    "user.full_name",
)  # fmt: skip
GATEWAY_RESOURCE_IDENTITY_KEYS = (
    "host.name", "host.id", "host.ip", "host.mac", "user.name", "user.email", "user.full_name",
    "process.owner", "process.command", "process.command_line", "process.command_args",
    "process.executable.path", "client.address", "net.peer.ip",
)  # fmt: skip
GATEWAY_NETWORK_KEY = (
    r"^(client|source|network\.peer|network\.local|net\.sock\.peer|net\.sock\.host|net\.peer|net\.host)"
    r"\.(address|addr|ip|name)$"
)
GATEWAY_IP_KEY = r"(^|[._-])(ip|ipv4|ipv6|ip_address|client_ip|remote_addr|remote_ip)$"
# The install ids the gateway pseudonymises, as sha256("<salt>:<id>"), when given a salt.
GATEWAY_INSTALL_ID_KEYS = ("optel.install.id", "app.installation.id")
