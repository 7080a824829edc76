"""The collector configs in collector/ are valid, safe to expose, and scrub as
docs/privacy.md#defence-in-depth-at-the-gateway says."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

COLLECTOR = Path(__file__).resolve().parent.parent / "collector"

_spec = importlib.util.spec_from_file_location(
    "optel_collector_validate", COLLECTOR / "validate.py"
)
assert _spec is not None and _spec.loader is not None
validate = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = validate
_spec.loader.exec_module(validate)

RELEASE = validate.load_release()
SHIPPED = validate.config_files(COLLECTOR)


def load(name: str) -> dict:
    return yaml.safe_load((COLLECTOR / name).read_text(encoding="utf-8"))


def problems_of(text: str) -> list[str]:
    return validate.check_text(textwrap.dedent(text), RELEASE)


# A config that passes every check; the negative tests each break one thing in it.
GOOD = """
    extensions:
      health_check:
      bearertokenauth:
        token: ${env:TOKEN}
    receivers:
      otlp:
        protocols:
          http:
            endpoint: 0.0.0.0:4318
            tls:
              cert_file: ${env:CERT}
              key_file: ${env:KEY}
            auth:
              authenticator: bearertokenauth
    processors:
      memory_limiter:
        limit_mib: 100
      batch:
    exporters:
      debug:
    service:
      extensions: [health_check, bearertokenauth]
      pipelines:
        traces:
          receivers: [otlp]
          processors: [memory_limiter, batch]
          exporters: [debug]
"""


def broken(old: str, new: str) -> list[str]:
    assert old in GOOD, old
    return validate.check_text(textwrap.dedent(GOOD.replace(old, new, 1)), RELEASE)


def assert_reported(problems: list[str], *fragments: str) -> None:
    assert any(all(f in p for f in fragments) for p in problems), problems


# ----------------------------------------------------------------------------- shipped configs


def test_collector_ships_gateway_loadbalancing_and_local_configs() -> None:
    assert {p.name for p in SHIPPED} >= {"gateway.yaml", "loadbalancing.yaml", "local.yaml"}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_config_has_no_problems(path: Path) -> None:
    assert validate.check_file(path, RELEASE) == []


def test_the_reference_config_of_these_tests_has_no_problems() -> None:
    assert problems_of(GOOD) == []


def test_component_list_records_the_release_it_came_from() -> None:
    text = (COLLECTOR / "components.toml").read_text(encoding="utf-8")
    assert re.search(r'^release = "0\.\d+\.\d+"', text, re.M)
    assert "distributions/otelcol-contrib/manifest.yaml" in text
    for kind, name in [
        ("receivers", "otlp"),
        ("processors", "redaction"),
        ("processors", "transform"),
        ("exporters", "otlphttp"),
        ("exporters", "loadbalancing"),
        ("extensions", "bearertokenauth"),
        ("extensions", "health_check"),
        ("connectors", "spanmetrics"),
    ]:
        assert name in RELEASE.types[kind]


def test_validate_script_exits_zero_for_the_shipped_configs() -> None:
    result = subprocess.run(
        [sys.executable, str(COLLECTOR / "validate.py"), *map(str, SHIPPED)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_validate_script_prints_one_line_per_problem_and_exits_nonzero(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        textwrap.dedent(GOOD.replace("[otlp]", "[otlp/missing]").replace("${env:KEY}", "${KEY}"))
    )
    result = subprocess.run(
        [sys.executable, str(COLLECTOR / "validate.py"), str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 2, lines
    assert all(line.startswith(f"{bad}: ") for line in lines)


# ----------------------------------------------------------------------------- negative checks


def test_dangling_pipeline_reference_is_reported() -> None:
    assert_reported(
        broken("[memory_limiter, batch]", "[memory_limiter, transform/nope, batch]"),
        "service.pipelines.traces.processors",
        "'transform/nope' is not defined",
    )


def test_dangling_exporter_reference_is_reported() -> None:
    assert_reported(
        broken("exporters: [debug]", "exporters: [otlphttp]"), "'otlphttp' is not defined"
    )


def test_extension_enabled_but_not_defined_is_reported() -> None:
    assert_reported(
        broken("[health_check, bearertokenauth]", "[health_check, bearertokenauth, pprof]"),
        "service.extensions",
        "'pprof' is not defined",
    )


def test_unknown_component_type_is_reported() -> None:
    assert_reported(
        broken("  debug:\n", "  debugg:\n"), "exporters.debugg", "unknown exporter type 'debugg'"
    )


def test_component_type_from_another_distribution_is_reported() -> None:
    problems = broken("      batch:\n", "      batch:\n      not_in_contrib/x:\n")
    assert_reported(problems, "processors.not_in_contrib/x", "not in otelcol-contrib")


def test_receiver_on_all_interfaces_without_auth_is_reported() -> None:
    problems = broken("            auth:\n              authenticator: bearertokenauth\n", "")
    assert_reported(
        problems, "receivers.otlp.protocols.http", "0.0.0.0", "without auth.authenticator"
    )


def test_receiver_on_all_interfaces_without_tls_is_reported() -> None:
    problems = broken(
        "            tls:\n              cert_file: ${env:CERT}\n              key_file: ${env:KEY}\n",
        "",
    )
    assert_reported(problems, "receivers.otlp.protocols.http", "without tls.cert_file")


def test_receiver_with_empty_host_counts_as_all_interfaces() -> None:
    problems = validate.check_text(
        textwrap.dedent(
            GOOD.replace("0.0.0.0:4318", ":4318").replace(
                "            auth:\n              authenticator: bearertokenauth\n", ""
            )
        ),
        RELEASE,
    )
    assert_reported(problems, "receivers.otlp.protocols.http", "without auth.authenticator")


def test_receiver_whose_address_is_only_known_at_run_time_must_be_protected() -> None:
    problems = validate.check_text(
        textwrap.dedent(
            GOOD.replace("0.0.0.0:4318", "${env:ENDPOINT}").replace(
                "            auth:\n              authenticator: bearertokenauth\n", ""
            )
        ),
        RELEASE,
    )
    assert_reported(problems, "set only at run time", "without auth.authenticator")


def test_loopback_receiver_needs_neither_tls_nor_auth() -> None:
    text = GOOD.replace("0.0.0.0:4318", "${env:ENDPOINT:-127.0.0.1:4318}")
    text = text.replace("            auth:\n              authenticator: bearertokenauth\n", "")
    text = text.replace(
        "            tls:\n              cert_file: ${env:CERT}\n              key_file: ${env:KEY}\n",
        "",
    )
    assert "cert_file" not in text and "authenticator" not in text
    assert validate.check_text(textwrap.dedent(text), RELEASE) == []


def test_authenticator_that_is_not_defined_is_reported() -> None:
    assert_reported(
        broken("authenticator: bearertokenauth", "authenticator: oidc"),
        "receivers.otlp.protocols.http.auth.authenticator",
        "'oidc' is not defined",
    )


def test_authenticator_not_enabled_in_service_is_reported() -> None:
    assert_reported(
        broken("[health_check, bearertokenauth]", "[health_check]"),
        "'bearertokenauth' is not listed in service.extensions",
    )


def test_placeholder_without_env_scheme_is_reported() -> None:
    assert_reported(
        broken("${env:TOKEN}", "${TOKEN}"),
        "extensions.bearertokenauth.token",
        "placeholder ${TOKEN} must read ${env:NAME}",
    )


def test_placeholder_with_default_but_without_env_scheme_is_reported() -> None:
    assert_reported(
        broken("${env:CERT}", "${CERT:-/etc/cert.pem}"), "placeholder ${CERT:-/etc/cert.pem}"
    )


def test_bare_dollar_variable_is_reported() -> None:
    assert_reported(broken("${env:KEY}", "$KEY"), "bare $KEY is not expanded")


def test_escaped_dollar_and_regex_anchor_are_not_placeholders() -> None:
    assert validate.check_placeholders({"a": "costs $$5", "b": "^end$", "c": "x$|y"}) == []


def test_memory_limiter_not_first_is_reported() -> None:
    assert_reported(
        broken("[memory_limiter, batch]", "[batch, memory_limiter]"),
        "memory_limiter must be the first processor",
    )


def test_missing_memory_limiter_is_reported() -> None:
    assert_reported(
        broken("[memory_limiter, batch]", "[batch]"), "memory_limiter must be the first processor"
    )


def test_batch_not_last_is_reported() -> None:
    problems = validate.check_text(
        textwrap.dedent(
            GOOD.replace("      batch:\n", "      batch:\n      filter:\n").replace(
                "[memory_limiter, batch]", "[memory_limiter, batch, filter]"
            )
        ),
        RELEASE,
    )
    assert_reported(problems, "batch must be the last processor")


def test_missing_batch_is_reported() -> None:
    assert_reported(broken("[memory_limiter, batch]", "[memory_limiter]"), "batch is missing")


def test_inline_token_is_reported() -> None:
    assert_reported(
        broken("token: ${env:TOKEN}", "token: hunter2hunter2"),
        "extensions.bearertokenauth.token",
        "credential is written inline",
    )


def test_inline_authorization_header_is_reported() -> None:
    problems = broken(
        "      debug:\n",
        "      debug:\n      otlphttp:\n        endpoint: https://x.invalid\n"
        "        headers:\n          Authorization: Basic dXNlcjpwYXNz\n",
    )
    assert_reported(
        problems, "exporters.otlphttp.headers.Authorization", "credential is written inline"
    )


def test_authorization_header_from_env_with_scheme_is_accepted() -> None:
    problems = broken(
        "      debug:\n",
        "      debug:\n      otlphttp:\n        endpoint: https://x.invalid\n"
        "        headers:\n          authorization: Bearer ${env:BACKEND_TOKEN}\n",
    )
    assert problems == []


def test_secret_shape_in_a_comment_is_reported() -> None:
    token = "ghp_" + "A1b2C3d4E5" * 4
    assert_reported(
        broken("    exporters:\n", f"    # old token {token}\n    exporters:\n"),
        "looks like a GitHub token",
    )


def test_single_backslash_in_ottl_string_is_reported() -> None:
    problems = broken(
        "      batch:\n",
        "      batch:\n      transform:\n        trace_statements:\n"
        '          - \'replace_pattern(span.name, "\\d+", "<n>")\'\n',
    )
    assert_reported(problems, "processors.transform", "invalid escape")


def test_lookahead_regex_is_reported_as_not_re2() -> None:
    problems = broken(
        "      batch:\n",
        "      batch:\n      redaction:\n        allow_all_keys: true\n"
        "        blocked_values: ['secret(?=x)']\n",
    )
    assert_reported(problems, "processors.redaction.blocked_values[0]", "RE2")


def test_unknown_top_level_section_is_reported() -> None:
    assert_reported(
        problems_of(GOOD + "    recievers: {}\n"), "recievers: unknown top-level section"
    )


def test_file_that_is_not_yaml_is_reported() -> None:
    assert_reported(problems_of("receivers: [unclosed\n"), "not valid YAML")


# ----------------------------------------------------------------------------- gateway contents


def test_gateway_receivers_use_tls_and_a_bearer_token_kept_outside_the_file() -> None:
    gateway = load("gateway.yaml")
    for protocol in ("grpc", "http"):
        settings = gateway["receivers"]["otlp"]["protocols"][protocol]
        assert settings["tls"]["cert_file"].startswith("${env:")
        assert settings["tls"]["key_file"].startswith("${env:")
        assert settings["auth"]["authenticator"] == "bearertokenauth"
    assert gateway["receivers"]["otlp"]["protocols"]["grpc"]["max_recv_msg_size_mib"] <= 16
    assert "max_request_body_size" in gateway["receivers"]["otlp"]["protocols"]["http"]
    auth = gateway["extensions"]["bearertokenauth"]
    assert auth["token"].startswith("${env:") and auth["filename"].startswith("${env:")


def test_gateway_pipelines_filter_unknown_apps_before_anything_else_sees_them() -> None:
    gateway = load("gateway.yaml")
    for pipeline in gateway["service"]["pipelines"].values():
        assert pipeline["processors"][:2] == ["memory_limiter", "filter/unknown_services"]
    condition = gateway["processors"]["filter/unknown_services"]["traces"]["span"][0]
    assert "${env:OPTEL_GATEWAY_ALLOWED_SERVICES}" in condition
    allowed = condition.replace("${env:OPTEL_GATEWAY_ALLOWED_SERVICES}", "my-tool|other-tool")
    (args,) = validate.ottl_calls(allowed, "IsMatch")
    pattern = re.compile(validate.to_python_regex(validate.ottl_unquote(args[1])))
    assert pattern.search("my-tool") and pattern.search("other-tool")
    assert not pattern.search("my-tool-fork") and not pattern.search("evil")
    unset = re.compile(
        validate.to_python_regex(
            validate.ottl_unquote(
                validate.ottl_calls(validate.expand_defaults(condition), "IsMatch")[0][1]
            )
        )
    )
    assert not unset.search("my-tool"), "an unset allow-list must drop everything"


def test_gateway_deletes_host_user_and_network_identity() -> None:
    gateway = load("gateway.yaml")
    span_keys = {
        a.get("key") for a in gateway["processors"]["attributes/drop_identifying"]["actions"]
    }
    resource_keys = {
        a.get("key") for a in gateway["processors"]["resource/drop_identifying"]["attributes"]
    }
    assert {"client.address", "net.peer.ip", "host.name", "user.name"} <= span_keys
    assert {"host.name", "user.name", "client.address", "process.command_line"} <= resource_keys
    patterns = [
        a["pattern"]
        for a in gateway["processors"]["attributes/drop_identifying"]["actions"]
        if "pattern" in a
    ]
    for key in ("source.address", "network.peer.address", "http.client_ip", "peer.ip"):
        assert any(re.search(p, key) for p in patterns), key
    for key in ("server.address", "gen_ai.provider.name", "description"):
        assert not any(re.search(p, key) for p in patterns), key


def test_gateway_hashes_install_id_only_after_scrubbing() -> None:
    processors = load("gateway.yaml")["service"]["pipelines"]["traces"]["processors"]
    assert processors.index("transform/pseudonymize") > processors.index("transform/scrub")
    assert processors.index("transform/pseudonymize") > processors.index("redaction/secrets")


def test_gateway_exporters_are_chosen_by_environment_and_default_to_sending_nothing_out() -> None:
    gateway = load("gateway.yaml")
    for pipeline in gateway["service"]["pipelines"].values():
        assert pipeline["exporters"].startswith("${env:OPTEL_GATEWAY_EXPORTERS:-")
        assert validate.resolve(pipeline["exporters"]) == ["debug"]
    assert {"otlphttp", "debug", "file"} <= set(gateway["exporters"])
    assert gateway["exporters"]["otlphttp"]["endpoint"].startswith("${env:OPTEL_BACKEND_ENDPOINT")


def test_gateway_reports_its_own_health_and_metrics() -> None:
    gateway = load("gateway.yaml")
    assert "health_check" in gateway["service"]["extensions"]
    assert gateway["service"]["telemetry"]["metrics"]["readers"]


SCRUB_CASES = [
    ("open /home/alice/project/main.py", "open <path>"),
    ("cfg in ~/.config/tool", "cfg in <path>"),
    ("C:\\Users\\bob\\notes.txt missing", "<path> missing"),
    ("GET https://api.example.com/v1/items?id=3 failed", "GET <url> failed"),
    ("write to alice.smith@example.co.uk", "write to <email>"),
    ("from 192.168.1.20 port", "from <ip> port"),
    ("peer 2001:db8::8a2e:370:7334 down", "peer <ip> down"),
    ("peer fe80::1", "peer <ip>"),
    ("key sk-proj-abcdefghijklmnop1234", "key <secret>"),
    ("token ghp_abcdefghijklmnopqrstuvwxyz012345", "token <secret>"),
    ("slack xoxb-1234567890-abcdef", "slack <secret>"),
    ("aws AKIAIOSFODNN7EXAMPLE", "aws <secret>"),
    ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N", "jwt <secret>"),
    ("Authorization: Bearer abc.def-ghi_jkl", "Authorization: <secret>"),
    ("sha " + "0123456789abcdef" * 4, "sha <secret>"),
    ("write to jürgen.müller@firma.de", "write to <email>"),
    ("peer 2001:0db8:0000:0000:0000:ff00:0042:8329 up", "peer <ip> up"),
    (
        "error body: https:\\/\\/internal.acme.corp\\/api\\/v1 not found",
        "error body: <url> not found",
    ),
]
KEPT = [
    "cli.command",
    "gpt-4o-mini",
    "3.11.4",
    "input",
    "2024-05-01T12:30:45Z",
    "my-tool",
    "at 10:30:00 UTC",
    "ValueError",
    "anthropic",
    "application/json",
    "4f3c2a10-9b7e-4c1d-8e2f-0a1b2c3d4e5f",
]


def apply(rules: list, value: str) -> str:
    for rule in rules:
        value = re.sub(validate.to_python_regex(rule.regex), rule.replacement, value)
    return value


@pytest.mark.parametrize(("raw", "scrubbed"), SCRUB_CASES)
def test_gateway_scrubs_span_attributes_like_the_client_scrubber(raw: str, scrubbed: str) -> None:
    span_rules = [
        r for r in validate.scrub_rules(load("gateway.yaml"))[0] if r.target == "span.attributes"
    ]
    assert apply(span_rules, raw) == scrubbed


@pytest.mark.parametrize("value", KEPT)
def test_gateway_scrub_leaves_ordinary_values_alone(value: str) -> None:
    for group in validate.scrub_rules(load("gateway.yaml")):
        assert apply(group, value) == value


def test_every_scrub_group_applies_the_same_rules_in_the_same_order() -> None:
    groups = validate.scrub_rules(load("gateway.yaml"))
    by_target: dict[str, list[tuple[str, str]]] = {}
    for group in groups:
        for rule in group:
            by_target.setdefault(rule.target, []).append((rule.regex, rule.replacement))
    full = by_target["span.attributes"]
    assert len(full) == 6
    for target in ("span.status.message", "spanevent.attributes", "datapoint.attributes"):
        assert by_target[target] == full, target
    without_long = [rule for rule in full if "{32,}" not in rule[0]]
    assert len(without_long) == 5
    assert by_target["resource.attributes"] == without_long * 2  # traces and metrics


def test_resource_scrub_keeps_optel_ids_that_are_long_and_hex() -> None:
    resource_rules = [r for r in validate.scrub_rules(load("gateway.yaml"))[2]]
    project_id = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    assert apply(resource_rules, project_id) == project_id


def test_redaction_masks_values_of_secret_named_keys_but_not_token_counts() -> None:
    (pattern,) = load("gateway.yaml")["processors"]["redaction/secrets"]["blocked_key_patterns"]
    for key in ("api_key", "user.password", "http.request.header.authorization", "openai.api-key"):
        assert re.search(pattern, key), key
    for key in ("gen_ai.token.type", "gen_ai.usage.input_tokens", "cli.command.name", "keyboard"):
        assert not re.search(pattern, key), key


# ----------------------------------------------------------------------------- local and scale-out


def test_local_config_listens_on_loopback_only_and_writes_debug_and_file() -> None:
    local = load("local.yaml")
    for settings in local["receivers"]["otlp"]["protocols"].values():
        assert settings["endpoint"].startswith("127.0.0.1:")
    assert local["extensions"]["health_check"]["endpoint"].startswith("127.0.0.1:")
    for pipeline in local["service"]["pipelines"].values():
        assert pipeline["exporters"] == ["debug", "file"]


def test_loadbalancing_tier_routes_spans_by_trace_and_metrics_by_stream() -> None:
    tier = load("loadbalancing.yaml")
    assert tier["exporters"]["loadbalancing/traces"]["routing_key"] == "traceID"
    assert tier["exporters"]["loadbalancing/metrics"]["routing_key"] == "streamID"
    assert tier["service"]["pipelines"]["traces"]["exporters"] == ["loadbalancing/traces"]
    for exporter in ("loadbalancing/traces", "loadbalancing/metrics"):
        otlp = tier["exporters"][exporter]["protocol"]["otlp"]
        assert otlp["auth"]["authenticator"] == "bearertokenauth/tier2"


def test_every_environment_variable_the_configs_read_is_documented() -> None:
    readme = (COLLECTOR / "README.md").read_text(encoding="utf-8")
    names = set()
    for path in SHIPPED:
        names |= set(
            re.findall(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)", path.read_text(encoding="utf-8"))
        )
    assert names
    missing = sorted(name for name in names if f"`{name}`" not in readme)
    assert missing == []


@pytest.mark.parametrize(
    "key",
    [
        "PGPASSWORD",
        "DB_PASS",
        "auth_token",
        "x-auth",
        "session",
        "github.token",
        "id_token",
        "accessToken",
        "token",
    ],
)
def test_gateway_masks_values_of_secret_named_keys(key: str) -> None:
    (pattern,) = load("gateway.yaml")["processors"]["redaction/secrets"]["blocked_key_patterns"]
    assert re.search(validate.to_python_regex(pattern), key)


def test_gateway_masks_no_attribute_of_optels_data_dictionary() -> None:
    from optel.record import dictionary

    (pattern,) = load("gateway.yaml")["processors"]["redaction/secrets"]["blocked_key_patterns"]
    regex = re.compile(validate.to_python_regex(pattern))
    assert [name for name in dictionary.ATTRIBUTES if regex.search(name)] == []


@pytest.mark.parametrize(
    "value",
    [
        "github_pat_11ABCDEFG0123456789abc_XYZxyz0123456789",
        "AIzaSyD-abcdefghijklmnopqrstuvwxyz01234",
        "hf_abcdefghijklmnopqrstuvwxyz0123",
        "glpat-abcdefghijklmnopqrst",
        "sk_live_abcdefghijklmnop1234",
        "password=hunter2",
        "api_key: s3cr3tvalue",
    ],
)
def test_gateway_redaction_masks_the_token_shapes_the_client_knows(value: str) -> None:
    blocked = load("gateway.yaml")["processors"]["redaction/secrets"]["blocked_values"]
    assert any(re.search(validate.to_python_regex(p), f"x {value} y") for p in blocked)


def test_gateway_pseudonymizes_the_install_id_under_both_its_names() -> None:
    from optel.record import names

    statements = load("gateway.yaml")["processors"]["transform/pseudonymize"]
    for kind in ("trace_statements", "metric_statements"):
        hashed = {
            key
            for statement in statements[kind]
            for key in re.findall(r'^set\(resource\.attributes\["([^"]+)"\], SHA256', statement)
        }
        assert hashed == {names.APP_INSTALLATION_ID, names.OPTEL_INSTALL_ID}, kind


# ----------------------------------------------------------------------------- gateway-proxy.conf
# nginx in front of `optel gateway` (rotel has no TLS or auth). No nginx here: parse it offline.

# Directives nginx accepts in the contexts the file uses (a typo is an unknown directive).
NGINX_DIRECTIVES = {
    "http": {"map", "log_format", "server"},
    "map": {"default", "include"},
    "server": {
        "listen", "http2", "server_name", "ssl_certificate", "ssl_certificate_key", "ssl_protocols",
        "ssl_prefer_server_ciphers", "access_log", "client_max_body_size", "location",
    },
    "location": {
        "if", "limit_except", "proxy_pass", "proxy_http_version", "proxy_set_header", "grpc_pass",
        "grpc_set_header", "return",
    },
    "if": {"return"},
    "limit_except": {"deny"},
}  # fmt: skip


def nginx_parse(text: str) -> list[tuple[str, list[str], list]]:
    """nginx's grammar: `name args;` or `name args { ... }`, with quotes and # comments."""
    tokens = re.findall(r'#[^\n]*|"(?:[^"\\]|\\.)*"|\'[^\']*\'|[{};]|[^\s{};"\']+', text)
    tokens = [t for t in tokens if not t.startswith("#")]
    position = 0

    def block(closing: bool) -> list[tuple[str, list[str], list]]:
        nonlocal position
        out: list[tuple[str, list[str], list]] = []
        words: list[str] = []
        while position < len(tokens):
            token = tokens[position]
            position += 1
            if token == ";":
                assert words, "an empty statement"
                out.append((words[0], words[1:], []))
                words = []
            elif token == "{":
                assert words, "a block without a name"
                out.append((words[0], words[1:], block(True)))
                words = []
            elif token == "}":
                assert closing and not words, f"unexpected }} after {words}"
                return out
            else:
                words.append(token)
        assert not closing, "a block is not closed"
        assert not words, f"a statement without its ';': {words}"
        return out

    return block(False)


def nginx_walk(tree: list, context: str = "http") -> list[tuple[str, str, list[str], list]]:
    found = []
    for name, args, children in tree:
        found.append((context, name, args, children))
        child = "map" if name == "map" else name
        found.extend(nginx_walk(children, child))
    return found


def test_gateway_proxy_conf_parses_and_uses_only_known_directives() -> None:
    tree = nginx_parse((COLLECTOR / "gateway-proxy.conf").read_text(encoding="utf-8"))
    for context, name, _args, _ in nginx_walk(tree):
        if context == "map":
            continue  # a map's lines are its values: "default" and includes are checked below
        assert name in NGINX_DIRECTIVES[context], f"{name} is not an nginx directive in {context}"


def test_gateway_proxy_terminates_tls_and_checks_the_token_before_every_upstream() -> None:
    from optel.cli.main import build_parser

    tree = nginx_parse((COLLECTOR / "gateway-proxy.conf").read_text(encoding="utf-8"))
    (token_map,) = [(args, children) for name, args, children in tree if name == "map"]
    assert token_map[0] == ["$http_authorization", "$optel_token_ok"]
    assert ("default", ["0"], []) in token_map[1]  # fail closed: an unknown token is refused
    (server,) = [children for name, _, children in tree if name == "server"]
    directives = {name: args for name, args, _ in server}
    assert all("ssl" in args for name, args, _ in server if name == "listen")
    assert {"ssl_certificate", "ssl_certificate_key"} <= set(directives)
    assert set(directives["ssl_protocols"]) <= {"TLSv1.2", "TLSv1.3"}
    # The upstreams are the gateway's own defaults, on loopback.
    defaults = build_parser().parse_args(["gateway", "--exporter-endpoint", "http://127.0.0.1:1"])
    upstreams = {
        "proxy_pass": f"http://{defaults.http_endpoint}",
        "grpc_pass": f"grpc://{defaults.grpc_endpoint}",
    }
    proxied = 0
    for name, args, children in server:
        if name != "location":
            continue
        passes = [(n, a) for n, a, _ in children if n in upstreams]
        if not passes:
            assert ("return", ["404"], []) in children, args
            continue
        proxied += 1
        ((kind, target),) = passes
        assert target == [upstreams[kind]]
        assert children[0] == ("if", ["($optel_token_ok", "=", "0)"], [("return", ["401"], [])]), (
            args
        )
        header = "proxy_set_header" if kind == "proxy_pass" else "grpc_set_header"
        cleared = {a[0] for n, a, _ in children if n == header and a[1:] == ['""']}
        assert {"X-Forwarded-For", "Authorization"} <= cleared, args
    assert proxied == 2


def test_nginx_parser_rejects_what_nginx_rejects() -> None:
    for bad in (
        "server { listen 443 ssl }",
        "server { listen 443;",
        "listen 443 ssl; }",
        "map $a $b { default 0; ",
    ):
        with pytest.raises(AssertionError):
            nginx_parse(bad)
