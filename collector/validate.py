"""Checks optel's OpenTelemetry Collector configs without the otelcol-contrib binary.

    python collector/validate.py [collector/*.yaml]

prints one line per problem (``file: where: what``) and exits 1 when there is any. It checks what a
typo or a careless edit breaks and ``otelcol-contrib validate`` would catch, plus the rules of
docs/contract.md#the-collector that the binary does not know: every component referenced is defined,
every component type exists in the pinned contrib release (collector/components.toml), receivers
reachable from other machines use TLS and an authenticator, placeholders are ``${env:NAME}``,
memory_limiter comes first and batch last in every pipeline, no secret is written inline, and every
regular expression compiles and stays inside RE2.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any, Iterator, List, Mapping, Optional, Sequence, Tuple

import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11 only
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

HERE = Path(__file__).resolve().parent
COMPONENTS_FILE = HERE / "components.toml"

KINDS = ("receivers", "processors", "exporters", "extensions", "connectors")
TOP_LEVEL = (*KINDS, "service")
SIGNALS = ("traces", "metrics", "logs", "profiles")

_COMPONENT_ID = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:/[^/\s]+)?")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# What the collector's confmap expands: ${...}, $$ (an escaped $), and what it no longer
# expands but a reader would think it does: $NAME.
_DOLLAR = re.compile(r"\$(\$|\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*)?")
_ENV_PLACEHOLDER = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")

_LOOPBACK_HOSTS = {"localhost", "::1", "[::1]"}
# Keys whose string value is a credential whatever it looks like.
_SECRET_KEY = re.compile(
    r"(?i)(^|[._-])(token|password|passwd|secret|client_secret|api[._-]?key|authorization"
    r"|x-honeycomb-team|ingestion[._-]?key|credentials?)($|[._-])"
)
# What is left of a secret-keyed value once its placeholders are removed, and is not a secret.
_SECRET_VALUE_SCAFFOLD = {"", "Bearer", "Basic"}
# Shapes of real credentials, searched in the raw text (comments included).
_SECRET_SHAPES = (
    ("an OpenAI-style key", re.compile(r"\bsk-[A-Za-z0-9_-]{20,}")),
    ("a GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}")),
    ("a Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("an AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("a JWT", re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.")),
    ("a private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    ("a long hex secret", re.compile(r"\b[0-9a-fA-F]{40,}\b")),
)
# RE2 (the collector's regex engine) has no lookaround and no backreferences.
_NOT_RE2 = re.compile(r"\(\?(?:=|!|<=|<!|P=)|(?<!\\)(?:\\\\)*\\[1-9]")

# OTTL functions whose arguments are regular expressions: name -> indexes of regex arguments.
_OTTL_REGEX_ARGS = {
    "replace_all_patterns": (2,),
    "replace_pattern": (1,),
    "replace_all_matches": (),
    "delete_matching_keys": (1,),
    "keep_matching_keys": (1,),
    "IsMatch": (1,),
}


class Release:
    """The component type names one contrib release ships, per kind."""

    __slots__ = ("types", "version")

    def __init__(self, version: str, types: Mapping[str, frozenset[str]]) -> None:
        self.version = version
        self.types = dict(types)


def load_release(path: Path = COMPONENTS_FILE) -> Release:
    """Reads the pinned component list (collector/components.toml)."""
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    return Release(str(data["release"]), {kind: frozenset(data[kind]) for kind in KINDS})


class ScrubRule:
    """One OTTL replacement from a transform processor: what it rewrites, how, and into what."""

    __slots__ = ("context", "function", "regex", "replacement", "target")

    def __init__(self, function: str, target: str, regex: str, replacement: str) -> None:
        self.function = function
        self.target = target
        self.context = target.split(".", 1)[0]
        self.regex = regex
        self.replacement = replacement

    def __repr__(self) -> str:
        return f"ScrubRule({self.target!r}, {self.regex!r} -> {self.replacement!r})"


# --------------------------------------------------------------------------- placeholders


def expand_defaults(text: str) -> str:
    """The string the collector would see with every variable unset: defaults, else ""."""
    expanded = _ENV_PLACEHOLDER.sub(lambda m: m.group(2) or "", text)
    return expanded.replace("$$", "$")


def resolve(value: Any) -> Any:
    """A config value as the collector would load it with every variable unset.

    A value that is one placeholder and nothing else takes its default parsed as YAML (the
    collector's env provider does the same), or None without a default.
    """
    if not isinstance(value, str):
        return value
    whole = _ENV_PLACEHOLDER.fullmatch(value.strip())
    if whole:
        default = whole.group(2)
        return None if default is None else yaml.safe_load(default) if default else ""
    return expand_defaults(value)


def _placeholder_problems(text: str) -> Iterator[str]:
    for match in _DOLLAR.finditer(text):
        body = match.group(1)
        if body is None or body == "$":
            continue
        if body.startswith("{"):
            if not _ENV_PLACEHOLDER.fullmatch(match.group(0)):
                yield f"placeholder {match.group(0)} must read ${{env:NAME}} or ${{env:NAME:-default}}"
        else:
            yield f"bare ${body} is not expanded by the collector; write ${{env:{body}}}"


# --------------------------------------------------------------------------- tree walking


def _walk(node: Any, where: str = "") -> Iterator[Tuple[str, Optional[str], Any]]:
    """Every (path, key, value) below node, depth first; key is None inside lists."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            path = f"{where}.{key}" if where else str(key)
            yield path, str(key), value
            yield from _walk(value, path)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            path = f"{where}[{index}]"
            yield path, None, value
            yield from _walk(value, path)


def _section(config: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = config.get(name)
    return value if isinstance(value, Mapping) else {}


def _type_of(component_id: str) -> str:
    return component_id.split("/", 1)[0]


def _as_id_list(value: Any) -> Optional[List[str]]:
    resolved = resolve(value)
    if resolved is None:
        return []
    if isinstance(resolved, list) and all(isinstance(item, str) for item in resolved):
        return [resolve(item) for item in resolved]
    return None


# --------------------------------------------------------------------------- checks


def check_structure(config: Any, release: Release) -> List[str]:
    """Top-level keys, component ids and types against the pinned release."""
    if not isinstance(config, Mapping):
        return ["the file must hold a mapping of collector sections"]
    problems = []
    for key in config:
        if key not in TOP_LEVEL:
            problems.append(
                f"{key}: unknown top-level section (expected one of {', '.join(TOP_LEVEL)})"
            )
    for kind in KINDS:
        section = config.get(kind)
        if section is None:
            continue
        if not isinstance(section, Mapping):
            problems.append(f"{kind}: must be a mapping of component ids")
            continue
        for component_id in section:
            if not _COMPONENT_ID.fullmatch(str(component_id)):
                problems.append(f"{kind}.{component_id}: not a component id (type or type/name)")
                continue
            component_type = _type_of(str(component_id))
            if component_type not in release.types[kind]:
                problems.append(
                    f"{kind}.{component_id}: unknown {kind[:-1]} type {component_type!r}: not in "
                    f"otelcol-contrib {release.version} (collector/components.toml)"
                )
    return problems


def check_references(config: Mapping[str, Any]) -> List[str]:
    """Every id named in service (and every authenticator) is defined where it must be."""
    problems = []
    defined = {kind: set(map(str, _section(config, kind))) for kind in KINDS}
    service = _section(config, "service")

    enabled_extensions = _as_id_list(service.get("extensions"))
    if enabled_extensions is None:
        problems.append("service.extensions: must be a list of extension ids")
        enabled_extensions = []
    for ext in enabled_extensions:
        if ext not in defined["extensions"]:
            problems.append(f"service.extensions: {ext!r} is not defined under extensions")

    pipelines = service.get("pipelines")
    if not isinstance(pipelines, Mapping) or not pipelines:
        problems.append("service.pipelines: at least one pipeline is required")
        pipelines = {}
    allowed = {
        "receivers": defined["receivers"] | defined["connectors"],
        "processors": defined["processors"],
        "exporters": defined["exporters"] | defined["connectors"],
    }
    for pipeline_id, pipeline in pipelines.items():
        where = f"service.pipelines.{pipeline_id}"
        if _type_of(str(pipeline_id)) not in SIGNALS:
            problems.append(f"{where}: a pipeline id starts with one of {', '.join(SIGNALS)}")
        if not isinstance(pipeline, Mapping):
            problems.append(f"{where}: must be a mapping with receivers, processors, exporters")
            continue
        for role in ("receivers", "processors", "exporters"):
            ids = _as_id_list(pipeline.get(role))
            if ids is None:
                problems.append(f"{where}.{role}: must be a list of component ids")
                continue
            if role != "processors" and not ids:
                problems.append(f"{where}.{role}: at least one is required")
            for component_id in ids:
                if component_id not in allowed[role]:
                    problems.append(f"{where}.{role}: {component_id!r} is not defined")

    for kind in ("receivers", "exporters", "extensions"):
        for path, key, value in _walk(_section(config, kind), kind):
            if key == "authenticator":
                name = resolve(value)
                if name not in defined["extensions"]:
                    problems.append(
                        f"{path}: authenticator {name!r} is not defined under extensions"
                    )
                elif name not in enabled_extensions:
                    problems.append(
                        f"{path}: authenticator {name!r} is not listed in service.extensions"
                    )
    return problems


def _host_of(value: Any) -> Optional[str]:
    """The host an endpoint binds to, or None when it cannot be known without the environment."""
    if not isinstance(value, str):
        return None
    endpoint = value.strip()
    if endpoint.startswith("["):
        return endpoint[: endpoint.find("]") + 1]
    if endpoint.count(":") > 1:  # a bare IPv6 address with a port
        return endpoint.rsplit(":", 1)[0]
    return endpoint.rsplit(":", 1)[0] if ":" in endpoint else endpoint


def _is_loopback(host: Optional[str]) -> bool:
    if host is None:
        return False
    return host in _LOOPBACK_HOSTS or host.startswith("127.") or host.startswith("/")


def check_exposure(config: Mapping[str, Any]) -> List[str]:
    """A receiver reachable from other machines must use TLS and an authenticator."""
    problems = []
    for path, _key, value in _walk(_section(config, "receivers"), "receivers"):
        if not isinstance(value, Mapping) or "endpoint" not in value:
            continue
        host = _host_of(resolve(value.get("endpoint")))
        if _is_loopback(host):
            continue
        shown = host if host is not None else "an address set only at run time"
        tls = value.get("tls")
        if not (isinstance(tls, Mapping) and tls.get("cert_file") and tls.get("key_file")):
            problems.append(
                f"{path}: binds to {shown or '0.0.0.0'} without tls.cert_file and tls.key_file"
            )
        auth = value.get("auth")
        if not (isinstance(auth, Mapping) and auth.get("authenticator")):
            problems.append(f"{path}: binds to {shown or '0.0.0.0'} without auth.authenticator")
    return problems


def check_processor_order(config: Mapping[str, Any]) -> List[str]:
    """memory_limiter first (refuse early), batch last (batch what the others produced)."""
    problems = []
    pipelines = _section(_section(config, "service"), "pipelines")
    for pipeline_id, pipeline in pipelines.items():
        if not isinstance(pipeline, Mapping):
            continue
        ids = _as_id_list(pipeline.get("processors")) or []
        types = [_type_of(component_id) for component_id in ids]
        where = f"service.pipelines.{pipeline_id}.processors"
        if not types or types[0] != "memory_limiter":
            problems.append(f"{where}: memory_limiter must be the first processor")
        if "batch" not in types:
            problems.append(f"{where}: batch is missing")
        elif types[-1] != "batch":
            problems.append(f"{where}: batch must be the last processor")
    return problems


def check_placeholders(config: Any) -> List[str]:
    """Every placeholder is ${env:NAME} or ${env:NAME:-default} (keys and values)."""
    problems: List[str] = []
    for path, key, value in _walk(config):
        for text in (key, value):
            if isinstance(text, str):
                problems.extend(f"{path}: {message}" for message in _placeholder_problems(text))
    return problems


def check_secrets(config: Any, text: str) -> List[str]:
    """No credential is written in the file: secret-named keys hold placeholders only."""
    problems = []
    for path, key, value in _walk(config):
        if key is not None and isinstance(value, str) and _SECRET_KEY.search(key):
            scaffold = _ENV_PLACEHOLDER.sub("", value).strip()
            if scaffold not in _SECRET_VALUE_SCAFFOLD:
                problems.append(f"{path}: a credential is written inline; use ${{env:NAME}}")
    for lineno, line in enumerate(text.splitlines(), 1):
        for label, shape in _SECRET_SHAPES:
            if shape.search(line):
                problems.append(
                    f"line {lineno}: looks like {label}; keep secrets in the environment"
                )
    return problems


# --------------------------------------------------------------------------- regexes and OTTL


def ottl_unquote(literal: str) -> str:
    """The value of an OTTL string literal (Go escapes); ValueError for an invalid escape."""
    if len(literal) < 2 or literal[0] != '"' or literal[-1] != '"':
        raise ValueError(f"not a string literal: {literal}")
    body, out, i = literal[1:-1], [], 0
    simple = {"\\": "\\", '"': '"', "n": "\n", "t": "\t", "r": "\r", "'": "'"}
    while i < len(body):
        char = body[i]
        if char == "\\":
            if i + 1 >= len(body) or body[i + 1] not in simple:
                escape = body[i : i + 2]
                raise ValueError(f"invalid escape {escape!r} in OTTL string (double the backslash)")
            out.append(simple[body[i + 1]])
            i += 2
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _split_args(text: str) -> List[str]:
    """Top-level comma-separated arguments of an OTTL call (strings and brackets respected)."""
    args, depth, current, i = [], 0, [], 0
    while i < len(text):
        char = text[i]
        if char == '"':
            end = i + 1
            while end < len(text) and text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            current.append(text[i : end + 1])
            i = end + 1
            continue
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        if char == "," and depth == 0:
            args.append("".join(current).strip())
            current = []
        else:
            current.append(char)
        i += 1
    if current:
        args.append("".join(current).strip())
    return args


def ottl_calls(statement: str, function: str) -> List[List[str]]:
    """The raw argument lists of every call of function in an OTTL statement."""
    calls = []
    for match in re.finditer(rf"(?<![A-Za-z0-9_]){re.escape(function)}\(", statement):
        depth, i, in_string = 1, match.end(), False
        while i < len(statement) and depth:
            char = statement[i]
            if in_string:
                if char == "\\":
                    i += 1
                elif char == '"':
                    in_string = False
            elif char == '"':
                in_string = True
            elif char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
            i += 1
        calls.append(_split_args(statement[match.end() : i - 1]))
    return calls


def _ottl_statements(processor: Mapping[str, Any]) -> Iterator[Tuple[str, str]]:
    """(where, statement) for every OTTL statement or condition of a transform/filter processor."""
    for path, _key, value in _walk(processor):
        if isinstance(value, str) and "(" in value and ")" in value:
            yield path, value


def to_python_regex(pattern: str) -> str:
    """RE2 syntax that Python spells differently: the end-of-text anchor."""
    return re.sub(r"(?<!\\)((?:\\\\)*)\\z", r"\1\\Z", pattern)


def _regex_problem(pattern: str) -> Optional[str]:
    if _NOT_RE2.search(pattern):
        return f"{pattern!r} uses lookaround or a backreference, which RE2 does not have"
    try:
        re.compile(to_python_regex(pattern))
    except re.error as exc:
        return f"{pattern!r} does not compile: {exc}"
    return None


def check_patterns(config: Mapping[str, Any]) -> List[str]:
    """Every regex in redaction/attributes/resource/transform/filter processors is valid RE2."""
    problems: List[str] = []
    for component_id, body in _section(config, "processors").items():
        if not isinstance(body, Mapping):
            continue
        where = f"processors.{component_id}"
        component_type = _type_of(str(component_id))
        patterns: List[Tuple[str, str]] = []
        if component_type == "redaction":
            for option in ("blocked_values", "blocked_key_patterns", "allowed_values"):
                for index, pattern in enumerate(body.get(option) or []):
                    patterns.append((f"{where}.{option}[{index}]", expand_defaults(str(pattern))))
        if component_type in ("attributes", "resource"):
            for path, key, value in _walk(body, where):
                if key == "pattern" and isinstance(value, str):
                    patterns.append((path, expand_defaults(value)))
        if component_type in ("transform", "filter"):
            for path, statement in _ottl_statements(body):
                statement = expand_defaults(statement)
                for function, indexes in _OTTL_REGEX_ARGS.items():
                    for args in ottl_calls(statement, function):
                        for index in indexes:
                            if index >= len(args):
                                problems.append(
                                    f"{where}.{path}: {function} needs a regex argument"
                                )
                                continue
                            try:
                                patterns.append((f"{where}.{path}", ottl_unquote(args[index])))
                            except ValueError as exc:
                                problems.append(f"{where}.{path}: {exc}")
        for path, pattern in patterns:
            problem = _regex_problem(pattern)
            if problem:
                problems.append(f"{path}: {problem}")
    return problems


def scrub_rules(
    config: Mapping[str, Any], processor_id: str = "transform/scrub"
) -> List[List[ScrubRule]]:
    """The OTTL replacements of a transform processor, one list per statement group, in order."""
    body = _section(_section(config, "processors"), processor_id)
    groups: List[List[ScrubRule]] = []
    for signal in ("trace_statements", "metric_statements", "log_statements"):
        for group in body.get(signal) or []:
            statements = group.get("statements", []) if isinstance(group, Mapping) else [group]
            rules = []
            for raw in statements:
                statement = expand_defaults(str(raw))
                for args in ottl_calls(statement, "replace_all_patterns"):
                    rules.append(
                        ScrubRule(
                            "replace_all_patterns",
                            args[0],
                            ottl_unquote(args[2]),
                            ottl_unquote(args[3]),
                        )
                    )
                for args in ottl_calls(statement, "replace_pattern"):
                    rules.append(
                        ScrubRule(
                            "replace_pattern", args[0], ottl_unquote(args[1]), ottl_unquote(args[2])
                        )
                    )
            groups.append(rules)
    return groups


# --------------------------------------------------------------------------- entry points


def check_config(config: Any, release: Release, text: str = "") -> List[str]:
    """Every problem of one loaded config; text is its source, for the secret scan."""
    problems = check_structure(config, release)
    if not isinstance(config, Mapping):
        return problems
    problems += check_references(config)
    problems += check_exposure(config)
    problems += check_processor_order(config)
    problems += check_placeholders(config)
    problems += check_secrets(config, text)
    problems += check_patterns(config)
    return problems


def check_text(text: str, release: Release) -> List[str]:
    """Every problem of a config given as YAML text."""
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return [f"not valid YAML: {exc}".replace("\n", " ")]
    return check_config(config, release, text)


def check_file(path: Path, release: Release) -> List[str]:
    """Every problem of one config file, each prefixed with the file name."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return [f"{path}: cannot read: {exc}"]
    return [f"{path}: {problem}" for problem in check_text(text, release)]


def config_files(directory: Path = HERE) -> List[Path]:
    """The collector configs that ship in a directory."""
    return sorted(directory.glob("*.yaml"))


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Validates the named files (default: every YAML in collector/); 1 when any problem."""
    args = list(sys.argv[1:] if argv is None else argv)
    paths = [Path(arg) for arg in args] or config_files()
    if not paths:
        print("no collector configs found", file=sys.stderr)
        return 1
    release = load_release()
    problems = [problem for path in paths for problem in check_file(path, release)]
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print(
        f"{len(paths)} collector config(s) valid for otelcol-contrib {release.version}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
