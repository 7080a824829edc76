"""The one table of token shapes and gateway rules: the client's regex, its fast-path pre-filter and
the collector gateway's processors are all derived from it.

A new key shape is one ``Shape`` line here. ``rules`` builds its ``token_prefix`` pattern from
``SHAPES``, ``fastpath`` groups the shapes' ``triggers`` into its pre-filter, and
``python -m optel.privacy.gateway collector/gateway.yaml`` writes them into the gateway's
``transform/scrub`` and ``redaction/secrets`` processors (a test fails when the checked-in file is
stale, and another when a shape's example gets past the pre-filter).

Every ``pattern`` here is written in the common subset of Python's ``re`` and RE2 (the collector's
engine): no look-around, no backreferences. The client adds its own look-behind in front.
"""

from __future__ import annotations


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

# The block rule's trigger (rules.scrub_private_keys): its text is all in the fast path's alphabet.
PRIVATE_KEY_TRIGGER = "PRIVATE KEY"

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


# Keys the gateway deletes whatever they hold (SPEC section 4: never host name, user name, IP or
# paths). collector/gateway.yaml's attributes/ and resource/drop_identifying list the same keys (a
# test pins them to these), and optel's rotel gateway (optel.gateway) deletes them too.
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
