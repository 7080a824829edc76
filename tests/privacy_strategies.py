"""Hypothesis strategies that hide personal and secret values in ordinary text, and the check that
none of them survived: shared by the scrubber's property tests and the end-to-end leak test.

Usage::

    from privacy_strategies import injected_texts, assert_scrubbed

    @given(injected_texts())
    def test_x(sample):
        text, injections = sample
        assert_scrubbed(run_the_pipeline(text), injections)

Paths are built under the HOME of the running test (read at draw time), and ``logins()`` gives
login names to put in ``USER`` (see ``login_env``). Secret material comes from a seeded
``random.Random``: real keys are random, and letting Hypothesis shrink a key to ``AAAA...`` would
test a string no scanner could call secret.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import random
import string
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from hypothesis import strategies as st

PATH = "<path>"
URL = "<url>"
EMAIL = "<email>"
IP = "<ip>"
SECRET = "<secret>"
USER = "<user>"
HOST = "<host>"
NUMBER = "<number>"
MAC = "<mac>"
MARKERS = (PATH, URL, EMAIL, IP, SECRET, USER, HOST, NUMBER, MAC, "<redacted>")

# Ordinary words around the injections: no key/value hint words, no "root" (the login of the CI
# container), nothing that a rule would touch.
WORDS = (
    "failed",
    "while",
    "calling",
    "the",
    "model",
    "deploy",
    "command",
    "retry",
    "after",
    "reading",
    "config",
    "from",
    "could",
    "not",
    "open",
    "request",
    "to",
    "returned",
    "status",
    "and",
    "with",
    "user",
    "input",
    "was",
    "empty",
    "value",
    "error",
    "in",
    "step",
    "build",
    "version",
    "1.2.3",
    "v2.10.0rc1",
    "a1b2c3d",
    "gpt-4o-mini",
    "claude-3-5-sonnet-20241022",
    "1.5s",
    "250ms",
    "mytool.commands.Deploy",
    "builtins.ValueError",
    "init",
    "run",
    "--fast",
)
SEPARATORS = (" ", " ", " ", "\n", ", ", " (", ") ", "; ", " '", "' ", ' "', '" ', ": ", "\t")

_B62 = string.ascii_letters + string.digits
_URLSAFE = _B62 + "-_"
_HEX = "0123456789abcdef"
_UPPER_DIGITS = string.ascii_uppercase + string.digits


class Injection:
    """One planted value: `text` goes into the input; none of `vanish` may be in the output (for
    random material, no 6-character window of it either); one of `markers` must be."""

    def __init__(
        self, text: str, markers: Sequence[str], vanish: Sequence[str], windows: Sequence[str] = ()
    ) -> None:
        self.text = text
        self.markers = tuple(markers)
        self.vanish = tuple(v for v in vanish if v)
        self.windows = tuple(w for w in windows if w)

    def __repr__(self) -> str:
        return f"Injection({self.text!r}, markers={self.markers})"


def _chars(rnd: random.Random, alphabet: str, n: int) -> str:
    return "".join(rnd.choice(alphabet) for _ in range(n))


def _b64url(rnd: random.Random, nbytes: int) -> str:
    return base64.urlsafe_b64encode(rnd.randbytes(nbytes)).decode().rstrip("=")


_seeds = st.integers(min_value=0, max_value=2**64 - 1).map(random.Random)


@st.composite
def secret_tokens(draw: st.DrawFn) -> Injection:
    """A vendor key, JWT, long hex or long base64 run."""
    rnd = draw(_seeds)
    kind = draw(
        st.sampled_from(
            (
                "openai",
                "openai-project",
                "anthropic",
                "github",
                "github-pat",
                "slack",
                "aws",
                "google",
                "stripe",
                "jwt",
                "hex",
                "base64",
                "base64url",
            )
        )
    )
    if kind == "openai":
        token = "sk-" + _chars(rnd, _B62, rnd.randint(20, 48))
    elif kind == "openai-project":
        token = "sk-proj-" + _chars(rnd, _URLSAFE, rnd.randint(40, 120))
    elif kind == "anthropic":
        token = "sk-ant-api03-" + _chars(rnd, _URLSAFE, 93) + "AA"
    elif kind == "github":
        token = rnd.choice(("ghp_", "gho_", "ghu_", "ghs_")) + _chars(rnd, _B62, 36)
    elif kind == "github-pat":
        token = "github_pat_" + _chars(rnd, _B62, 22) + "_" + _chars(rnd, _B62, 59)
    elif kind == "slack":
        token = (
            "xox"
            + rnd.choice("abpr")
            + "-"
            + _chars(rnd, string.digits, 12)
            + "-"
            + _chars(rnd, string.digits, 12)
            + "-"
            + _chars(rnd, _B62, 24)
        )
    elif kind == "aws":
        token = rnd.choice(("AKIA", "ASIA")) + _chars(rnd, _UPPER_DIGITS, 16)
    elif kind == "google":
        token = "AIza" + _chars(rnd, _URLSAFE, 35)
    elif kind == "stripe":
        token = rnd.choice(("sk_live_", "sk_test_", "rk_live_")) + _chars(rnd, _B62, 24)
    elif kind == "jwt":
        header = base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        claims = {"sub": _chars(rnd, _B62, 10), "iat": rnd.randint(10**9, 2 * 10**9)}
        payload = base64.urlsafe_b64encode(json.dumps(claims).encode())
        token = (
            header.decode().rstrip("=")
            + "."
            + payload.decode().rstrip("=")
            + "."
            + _b64url(rnd, 32)
        )
    elif kind == "hex":
        token = _chars(rnd, _HEX, rnd.choice((32, 40, 48, 64)))
        if rnd.random() < 0.3:
            token = token.upper()
    elif kind == "base64":
        token = base64.b64encode(rnd.randbytes(rnd.randint(24, 64))).decode()
    else:
        token = _b64url(rnd, rnd.randint(24, 64))
    # A standard base64 run may hold "/", and then the path rule may claim it first.
    markers = (SECRET, PATH) if kind == "base64" else (SECRET,)
    return Injection(token, markers, vanish=(token,), windows=(token,))


SENSITIVE_KEYS = (
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "apiKey",
    "auth_token",
    "client_secret",
    "access_token",
    "DB_PASSWORD",
    "private_key",
    "x-api-key",
    "session",
)


@st.composite
def key_value_secrets(draw: st.DrawFn) -> Injection:
    """``password=...``, ``token: ...``, ``"api_key": "..."``, ``--password ...``, an
    ``Authorization: Bearer ...`` header or a bare ``Bearer ...``."""
    rnd = draw(_seeds)
    value = (
        _chars(rnd, _B62, rnd.randint(6, 10))
        + rnd.choice(string.digits)
        + _chars(rnd, _B62, rnd.randint(1, 12))
    )
    form = draw(
        st.sampled_from(
            (
                "eq",
                "colon",
                "spaced",
                "json",
                "single",
                "flag",
                "flag-eq",
                "header",
                "bearer",
                "cookie",
            )
        )
    )
    key = draw(st.sampled_from(SENSITIVE_KEYS))
    if form == "eq":
        text = f"{key}={value}"
    elif form == "colon":
        # "X-Api-Key: ..." is also a header, which runs to the end of its line.
        text = f"{key}: {value}" + ("\n" if key == "x-api-key" else "")
    elif form == "spaced":
        text = f"{key} = {value}"
    elif form == "json":
        text = f'"{key}": "{value}"'
    elif form == "single":
        text = f"{key}='{value}'"
    elif form == "flag":
        text = f"--{key} {value}"
    elif form == "flag-eq":
        text = f"--{key}={value}"
    elif form == "header":
        value = _b64url(rnd, rnd.randint(16, 40))
        # A header runs to the end of its line: the newline keeps it from swallowing what follows.
        text = f"Authorization: Bearer {value}\n"
    elif form == "bearer":
        value = _b64url(rnd, rnd.randint(16, 40))
        text = f"Bearer {value}"
    else:
        text = f"Cookie: sid={value}; theme=dark\n"
    return Injection(text, (SECRET,), vanish=(value,), windows=(value,))


@st.composite
def whole_value_secrets(draw: st.DrawFn) -> Injection:
    """``key=value`` secrets whose value holds what used to end the match (``&;,)}<>``), a quoted value
    with spaces, or quoted parts run together as a shell reads them (``ab"cd"``)."""
    rnd = draw(_seeds)
    key = draw(st.sampled_from(SENSITIVE_KEYS))
    head = _chars(rnd, _B62, rnd.randint(6, 10)) + rnd.choice(string.digits)
    tail = _chars(rnd, _B62, rnd.randint(6, 10)) + rnd.choice(string.digits)
    form = draw(
        st.sampled_from(
            ("special", "special-flag", "double-spaces", "single-spaces", "json-spaces", "concat")
        )
    )
    if form == "special":
        text = f"{key}={head}{rnd.choice('&;,)}<>')}{tail}"
    elif form == "special-flag":
        text = f"--{key} {head}{rnd.choice('&;,)}<>')}{tail}"
    elif form == "double-spaces":
        text = f'{key}="{head} {tail}"'
    elif form == "single-spaces":
        # "X-Api-Key: ..." is also a header, which runs to the end of its line.
        text = f"{key}: '{head} {tail}'" + ("\n" if key == "x-api-key" else "")
    elif form == "json-spaces":
        text = f'"{key}": "{head} \\"{tail}"'
    else:
        text = f'{key}={head}"{tail}"'
    return Injection(text, (SECRET,), vanish=(head, tail), windows=(head, tail))


_TLDS = (
    "com",
    "io",
    "internal",
    "local",
    "corp",
    "lan",
    "dev",
    "net",
    "org",
    "cloud",
    "co.uk",
    "svc.cluster.local",
)


@st.composite
def host_names(draw: st.DrawFn) -> Injection:
    """A private host name: dotted with a known top-level domain, with a port, a Kubernetes service,
    a scheme-less remote, or an undotted name where a message says it is a host."""
    rnd = draw(_seeds)
    name = _name(rnd, 4, 9)
    if rnd.random() < 0.3:
        name += "-" + _name(rnd, 3, 6)
    sub = _name(rnd, 3, 6)
    host = (
        f"{name}.{sub}.{rnd.choice(_TLDS)}" if rnd.random() < 0.5 else f"{name}.{rnd.choice(_TLDS)}"
    )
    form = draw(
        st.sampled_from(
            (
                "dotted",
                "port",
                "k8s",
                "pool",
                "resolve",
                "quoted",
                "not-known",
                "connecting",
                "remote",
                "upper",
            )
        )
    )
    markers: tuple[str, ...] = (HOST,)
    vanish = [name]
    if form == "dotted":
        text = host
    elif form == "upper":
        text = host.upper()
    elif form == "port":
        text = f"{host}:{rnd.randint(1, 65535)}"
    elif form == "k8s":
        text = f"{name}.{sub}.svc.cluster.local:{rnd.randint(1, 65535)}"
        vanish.append(sub)
    elif form == "pool":
        text = f"HTTPSConnectionPool(host='{name}', port=443)"
    elif form == "resolve":
        text = f"ssh: Could not resolve hostname {name}: Name or service not known"
    elif form == "quoted":
        text = f'could not translate host name "{name}" to address'
    elif form == "not-known":
        text = f"Name or service not known: {name}"
    elif form == "connecting":
        text = f"Error -2 connecting to {name}:{rnd.randint(1000, 65535)}."
    else:
        org, repo = _name(rnd), _name(rnd)
        text = f"{host}/{org}/{repo}/"
        vanish += [org, repo]
        markers = (URL,)
    return Injection(text, markers, vanish=vanish)


def machine_mentions(machine: str) -> st.SearchStrategy[Injection]:
    """The machine's own name (see ``login_env``), alone or with a domain or a port."""
    forms = (
        machine,
        machine.upper(),
        f"{machine}.local",
        f"{machine}.corp.example.com",
        f"{machine}:8080",
    )
    return st.sampled_from(forms).map(lambda text: Injection(text, (HOST,), vanish=(machine,)))


_ESCAPES = ("\\udcff", "\\udce9", "\\x1b", "\\n", "\\t", "\\xe9", "\\x00", "\\r")


@st.composite
def repr_paths(draw: st.DrawFn) -> Injection:
    """A path as ``repr()`` writes it, an escape inside its file name (``'/srv/x/caf\\xe9.txt'``), or
    a relative directory written with a trailing slash (``org/project-name/``)."""
    rnd = draw(_seeds)
    first, second, third = _name(rnd), _name(rnd), _name(rnd)
    kind = draw(st.sampled_from(("posix", "home", "tilde", "trailing-slash")))
    escape = rnd.choice(_ESCAPES)
    if kind == "posix":
        text = (
            f"'/{rnd.choice(('srv', 'var/lib', 'opt', 'mnt'))}/{first}/{second}{escape}{third}.txt'"
        )
    elif kind == "home":
        text = f"'{home_dir()}/{first}/{second}{escape}{third}'"
    elif kind == "tilde":
        text = f"'~/{first}{escape}{second}/{third}.log'"
    else:
        text = f"{first}/{second}-{third}/"
    return Injection(text, (PATH,), vanish=(first, second, third))


def _luhn_completed(digits: str) -> str:
    for check in "0123456789":
        candidate = digits + check
        total = 0
        for index, char in enumerate(reversed(candidate)):
            value = int(char) * (2 if index % 2 else 1)
            total += value - 9 if value > 9 else value
        if total % 10 == 0:
            return candidate
    raise AssertionError("unreachable")


@st.composite
def personal_numbers(draw: st.DrawFn) -> Injection:
    """A payment card number (Luhn-valid), a US social security number, a phone number in
    international or North American form, or a MAC address."""
    rnd = draw(_seeds)
    kind = draw(st.sampled_from(("card", "ssn", "phone", "nanp", "mac")))
    if kind == "card":
        number = _luhn_completed(
            rnd.choice("3456") + _chars(rnd, string.digits, rnd.choice((12, 14, 15)) - 1)
        )
        sep = rnd.choice(("", " ", "-"))
        cuts = (0, 4, 10, 15) if len(number) == 15 and rnd.random() < 0.5 else range(0, 20, 4)
        groups = [number[a:b] for a, b in zip(cuts, [*cuts[1:], len(number)]) if number[a:b]]
        text = sep.join(groups) if sep else number
        # A number may come right before the card (a port, a year, a phone number), and the card
        # must be found after it, not read as the tail of a longer run.
        # (Its digits follow a "=" or ":", never a space: no 6-character window of the card matches
        # them by chance.)
        lead = rnd.choice(("", "", "", "port=8080 ", "retries=2024 ", "+44 20 7946 ", "db:5432 "))
        # Windows of the written form too: a rule that takes one group away leaves the rest.
        windows = (number, text)
        return Injection(lead + text, (NUMBER,), vanish=(text, number), windows=windows)
    if kind == "ssn":
        text = f"{rnd.randint(100, 899)}-{rnd.randint(10, 99)}-{rnd.randint(1000, 9999)}"
        return Injection(text, (NUMBER,), vanish=(text, text.replace("-", "")))
    if kind == "phone":
        # A country code, then area, exchange and line: eight digits or more, as every number is.
        groups = [str(rnd.randint(1, 99))] + [
            _chars(rnd, string.digits, rnd.randint(low, 4)) for low in (2, 3, 2)
        ]
        sep = rnd.choice((" ", "-", "."))
        text = "+" + sep.join(groups)
        digits = "".join(groups)
        # "+48.61.22.88" is also an IPv4 address, and the IP rule runs first.
        markers = (NUMBER, IP) if sep == "." else (NUMBER,)
        return Injection(text, markers, vanish=(text, digits, sep.join(groups[1:])))
    if kind == "nanp":
        area, exchange, line = rnd.randint(200, 999), rnd.randint(200, 999), rnd.randint(1000, 9999)
        text = rnd.choice(
            (
                f"({area}) {exchange}-{line}",
                f"{area}-{exchange}-{line}",
                f"{area}.{exchange}.{line}",
            )
        )
        return Injection(text, (NUMBER,), vanish=(text, f"{exchange}-{line}", f"{exchange}.{line}"))
    octets = [f"{rnd.randrange(256):02x}" for _ in range(6)]
    text = rnd.choice((":", "-")).join(octets)
    text = text.upper() if rnd.random() < 0.5 else text
    return Injection(text, (MAC,), vanish=(text, ":".join(octets[3:]), "-".join(octets[3:])))


def _name(rnd: random.Random, low: int = 3, high: int = 8) -> str:
    """A lower-case name with a digit, so it cannot collide with the surrounding words."""
    return _chars(rnd, string.ascii_lowercase, rnd.randint(low, high)) + str(rnd.randint(0, 99))


@st.composite
def emails(draw: st.DrawFn) -> Injection:
    rnd = draw(_seeds)
    local = _name(rnd)
    if rnd.random() < 0.5:
        local += rnd.choice("._+-") + _name(rnd, 2, 6)
    domain = _name(rnd) + "." + rnd.choice(("com", "org", "io", "co.uk", "dev", "example"))
    address = f"{local}@{domain}"
    return Injection(address, (EMAIL,), vanish=(address, local, domain))


@st.composite
def urls(draw: st.DrawFn) -> Injection:
    rnd = draw(_seeds)
    scheme = draw(st.sampled_from(("http", "https", "ws", "wss", "ftp", "postgres")))
    host = _name(rnd) + "." + rnd.choice(("com", "internal", "io", "example.org"))
    if rnd.random() < 0.2:
        host = str(ipaddress.IPv4Address(rnd.getrandbits(32)))
    user = ""
    if rnd.random() < 0.2:
        user = _name(rnd) + ":" + _name(rnd) + "@"
    port = f":{rnd.randint(1, 65535)}" if rnd.random() < 0.3 else ""
    path = "".join("/" + _name(rnd, 1, 6) for _ in range(rnd.randint(0, 3)))
    query_value = _name(rnd)
    query = f"?q={query_value}&page=2" if rnd.random() < 0.5 else ""
    url = f"{scheme}://{user}{host}{port}{path}{query}"
    return Injection(url, (URL,), vanish=(url, host, query_value if query else "", user))


@st.composite
def ip_addresses(draw: st.DrawFn) -> Injection:
    if draw(st.booleans()):
        address = str(ipaddress.IPv4Address(draw(st.integers(0, 2**32 - 1))))
    else:
        value = ipaddress.IPv6Address(draw(st.integers(0, 2**128 - 1)))
        address = value.exploded if draw(st.booleans()) else value.compressed
    return Injection(address, (IP,), vanish=(address,))


def _segments(rnd: random.Random, count: int) -> list[str]:
    alphabet = string.ascii_letters + string.digits + "_-."
    out = []
    for _ in range(count):
        segment = _chars(rnd, alphabet, rnd.randint(1, 10))
        if set(segment) == {"."}:
            segment = "d" + segment
        out.append(segment)
    return out


def home_dir() -> str:
    """The running test's home directory."""
    return os.path.expanduser("~")


@st.composite
def paths(draw: st.DrawFn) -> Injection:
    """A path under the test's HOME, another POSIX path, a Windows or UNC path, ``~/...`` or ``./...``."""
    rnd = draw(_seeds)
    kind = draw(
        st.sampled_from(
            ("home", "home-file-url", "posix", "windows", "windows-spaces", "unc", "tilde", "dot")
        )
    )
    segs = _segments(rnd, rnd.randint(1, 4))
    home = home_dir()
    vanish: list[str] = []
    markers = (PATH,)
    if kind == "home":
        path = home + "/" + "/".join(segs)
        vanish.append(home)
    elif kind == "home-file-url":
        path = "file://" + home + "/" + "/".join(segs)
        vanish.append(home)
        markers = (URL,)
    elif kind == "posix":
        root = rnd.choice(
            ("/var/lib", "/srv", "/opt", "/Users/" + _name(rnd), "/home/" + _name(rnd), "/mnt/data")
        )
        path = root + "/" + "/".join(segs)
        vanish.append(root)
    elif kind == "windows":
        person = _name(rnd)
        sep = rnd.choice(("\\", "/", "\\\\"))
        path = rnd.choice("CDE") + ":" + sep + "Users" + sep + person + sep + sep.join(segs)
        vanish.append(person)
    elif kind == "windows-spaces":
        person = _name(rnd).capitalize() + " " + _name(rnd).capitalize()
        path = "C:\\Users\\" + person + "\\" + "\\".join(segs)
        vanish.append(person)
    elif kind == "unc":
        server = _name(rnd)
        path = "\\\\" + server + "\\" + _name(rnd) + "\\" + "\\".join(segs)
        vanish.append(server)
    elif kind == "tilde":
        path = "~/" + "/".join(segs)
    else:
        path = "./" + "/".join(segs)
    vanish.append(path)
    return Injection(path, markers, vanish=vanish)


@st.composite
def logins(draw: st.DrawFn) -> str:
    """A login name that is no substring of the surrounding words, the markers or the test's HOME."""
    name = draw(st.from_regex(r"[a-z][a-z0-9._-]{2,10}[a-z0-9]", fullmatch=True))
    haystack = " ".join(WORDS) + " ".join(MARKERS) + home_dir().lower() + " root"
    if name in haystack or name in ("http", "https", "file", "www"):
        name = "u" + name + "9x"
    return name


def login_mentions(login: str) -> st.SearchStrategy[Injection]:
    forms = (
        login,
        login.capitalize(),
        login.upper(),
        f"{login}'s",
        f"{login}_notes",
        f"by {login}.",
    )
    # A dotted login can also be a host name ("a.io"); either marker shows it was caught.
    markers = (USER, HOST) if "." in login else (USER,)
    return st.sampled_from(forms).map(lambda text: Injection(text, markers, vanish=(login,)))


CLASSES = {
    "secret_tokens": secret_tokens,
    "key_value_secrets": key_value_secrets,
    "whole_value_secrets": whole_value_secrets,
    "emails": emails,
    "urls": urls,
    "ip_addresses": ip_addresses,
    "paths": paths,
    "repr_paths": repr_paths,
    "host_names": host_names,
    "personal_numbers": personal_numbers,
}


def injections(
    login: str | None = None, machine: str | None = None, classes: Sequence[str] | None = None
) -> st.SearchStrategy[Injection]:
    """Any one planted value of `classes` (default: all of ``CLASSES``); with `login` or `machine`,
    mentions of the login or machine name too (they are classes "login" and "machine")."""
    chosen = [*CLASSES, "login", "machine"] if classes is None else list(classes)
    kinds = [CLASSES[name]() for name in chosen if name in CLASSES]
    if login and "login" in chosen:
        kinds.append(login_mentions(login))
    if machine and "machine" in chosen:
        kinds.append(machine_mentions(machine))
    return st.one_of(*kinds)


@st.composite
def injected_texts(
    draw: st.DrawFn,
    login: str | None = None,
    max_injections: int = 3,
    machine: str | None = None,
    classes: Sequence[str] | None = None,
) -> tuple[str, list[Injection]]:
    """Ordinary words with 1..max_injections planted values, joined by prose separators."""
    planted = draw(
        st.lists(injections(login, machine, classes), min_size=1, max_size=max_injections)
    )
    parts: list[str] = list(draw(st.lists(st.sampled_from(WORDS), min_size=0, max_size=6)))
    for injection in planted:
        position = draw(st.integers(0, len(parts)))
        parts.insert(position, injection.text)
    text = ""
    for index, part in enumerate(parts):
        if index:
            text += draw(st.sampled_from(SEPARATORS))
        text += part
    return text, planted


@contextmanager
def login_env(login: str, machine: str | None = None) -> Iterator[None]:
    """USER (and LOGNAME) set to `login` for the block, and HOSTNAME (a name of the machine, as
    containers set it) to `machine`; restored after."""
    saved = {name: os.environ.get(name) for name in ("USER", "LOGNAME", "HOSTNAME")}
    os.environ["USER"] = login
    os.environ["LOGNAME"] = login
    if machine is not None:
        os.environ["HOSTNAME"] = machine
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _without_markers(text: str) -> str:
    for marker in MARKERS:
        text = text.replace(marker, "\x00")
    return text


def leaks(output: str, injections: Sequence[Injection]) -> list[str]:
    """What of the planted values is still in `output` (empty when nothing leaked)."""
    found = []
    bare = _without_markers(output)
    folded = bare.lower()
    for injection in injections:
        for value in injection.vanish:
            if value.lower() in folded:
                found.append(value)
        for material in injection.windows:
            for start in range(len(material) - 5):
                window = material[start : start + 6]
                if window in bare:
                    found.append(f"{window!r} of {material!r}")
                    break
    return found


def assert_scrubbed(output: str, injections: Sequence[Injection]) -> None:
    """No planted value (nor a 6-character window of planted random material) survives, and each
    planted value left one of its markers."""
    leaked = leaks(output, injections)
    assert not leaked, f"leaked {leaked} in {output!r}"
    for injection in injections:
        assert any(marker in output for marker in injection.markers), (
            f"{injection!r} left none of its markers in {output!r}"
        )
