"""What optel emits conforms to the semantic conventions of the release it pins.

A real host (a subprocess) runs commands, a step, a timed request, an LLM call through
``@optel.llm_call`` and streamed and plain calls through the anthropic instrumentor (the real SDK
against tests/fake_llm_api.py); its uploader delivers to a receiver on 127.0.0.1 that decodes the
OTLP. Every name, value type, unit, bucket list, span kind and required attribute that arrives is
checked against the conventions' model files of ``optel.record.names.SEMCONV_VERSION``, kept in
tests/data/semconv/ (see its README). A name under one of the conventions' namespaces must be one
the conventions define; optel's own names live under ``optel.``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from optel.record import dictionary, names
from otlp_receiver import OTLPReceiver

MODEL = Path(__file__).parent / "data" / "semconv" / names.SEMCONV_VERSION

# Required by the conventions and deliberately not sent, with why (the data dictionary's command
# span says so, hence docs/telemetry-data.md and docs/guide.md).
NOT_SENT = {
    # A process id says nothing about how a tool is used, and with the start time it can single
    # out one run on one machine in other logs.
    "process.pid": "not product data; could link a run to local logs",
}

HOST = r"""
import sys

import anthropic

import optel

optel.init("semconv-host", version="1.0.0", endpoint=sys.argv[1], session_flag=True)
optel.instrument("anthropic")
client = anthropic.Anthropic(base_url=sys.argv[2], api_key="test", max_retries=0)
messages = [{"role": "user", "content": "hello"}]


@optel.llm_call(provider="openai")
def ask(model="gpt-4o"):
    return {
        "id": "chatcmpl-1",
        "model": "gpt-4o-2024-08-06",
        "choices": [{"finish_reason": "stop"}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 5,
                  "prompt_tokens_details": {"cached_tokens": 4},
                  "completion_tokens_details": {"reasoning_tokens": 2}},
    }


@optel.step("plan")
def plan():
    optel.count_input()
    ask()


@optel.timed("fetch")
def fetch():
    return 1


@optel.command("deploy")
def deploy():
    plan()
    fetch()
    client.messages.create(model="claude-opus-4-5", max_tokens=64, messages=messages)
    with client.messages.stream(model="claude-opus-4-5", max_tokens=64, messages=messages) as s:
        s.get_final_message()


@optel.command("broken")
def broken():
    raise ValueError("no such target")


deploy()
try:
    broken()
except ValueError:
    pass
optel.shutdown()
print("done")
"""


# --- the model ---------------------------------------------------------------------------------


@cache
def groups() -> dict[str, dict[str, Any]]:
    """Every group of the kept model files, by id."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(MODEL.rglob("*.yaml")):
        for group in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("groups", []):
            out[group["id"]] = group
    return out


@cache
def registry() -> dict[str, dict[str, Any]]:
    """Every attribute the kept registries define, by name."""
    return {
        a["id"]: a
        for g in groups().values()
        if g.get("type") == "attribute_group" and g["id"].startswith("registry.")
        for a in g.get("attributes", [])
        if "id" in a
    }


@cache
def namespaces() -> frozenset[str]:
    return frozenset((MODEL / "namespaces.txt").read_text(encoding="utf-8").split())


def requirements(group_id: str) -> dict[str, object]:
    """The requirement level of each attribute of a group, its ``extends`` chain included."""
    group = groups()[group_id]
    out = requirements(group["extends"]) if group.get("extends") else {}
    for a in group.get("attributes", []):
        out[a.get("ref") or a["id"]] = a.get("requirement_level", "recommended")
    return out


def required(group_id: str) -> set[str]:
    return {name for name, level in requirements(group_id).items() if level == "required"}


def metric_group(name: str) -> dict[str, Any] | None:
    return next((g for g in groups().values() if g.get("metric_name") == name), None)


def advisory_buckets() -> dict[str, list[float]]:
    """The ExplicitBucketBoundaries each GenAI metric's documentation gives."""
    text = (MODEL / "gen-ai" / "gen-ai-metrics.md").read_text(encoding="utf-8")
    out = {}
    for section in text.split("### Metric: `")[1:]:
        name = section.split("`", 1)[0]
        found = re.search(r"\[ExplicitBucketBoundaries\] of\s*\[([^\]]*)\]", section)
        if found:
            out[name] = [float(x) for x in found.group(1).split(",")]
    return out


_TYPES = {
    "string": str,
    "int": int,
    "double": float,
    "boolean": bool,
    "string[]": list,
}


def check_attribute(name: str, value: object, where: str) -> list[str]:
    """What is wrong with one emitted attribute, per the conventions."""
    if name.startswith("optel.") or name.split(".", 1)[0] not in namespaces():
        return []
    definition = registry().get(name)
    if definition is None:
        return [
            f"{where}: {name} is in a conventions namespace but the conventions define no such name"
        ]
    if definition.get("deprecated"):
        return [f"{where}: {name} is deprecated in {names.SEMCONV_VERSION}"]
    kind = definition["type"]
    if isinstance(kind, dict):  # an enum: open to custom values, its members are strings or ints
        kind = "int" if all(isinstance(m["value"], int) for m in kind["members"]) else "string"
    expected = _TYPES[kind]
    if type(value) is not expected:
        return [f"{where}: {name} = {value!r} is not a {kind}"]
    return []


# --- a real run -----------------------------------------------------------------------------


def _isolated_env(home: Path) -> dict[str, str]:
    """The environment conftest's ``isolated_home`` gives a test, for this module's one run
    (a module fixture is set up before the per-test one)."""
    from conftest import _CLEARED, _CLEARED_PREFIXES

    env = {
        k: v
        for k, v in os.environ.items()
        if k not in _CLEARED
        and not k.startswith((*_CLEARED_PREFIXES, "CODEX_"))
        and "_TELEMETRY" not in k
    }
    env.update(
        HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_CACHE_HOME=str(home / ".cache")
    )
    env["OPTEL_UPLOAD_INTERVAL"] = "0"  # the run's own detached uploader delivers what it recorded
    return env


@pytest.fixture(scope="module")
def emitted(tmp_path_factory: pytest.TempPathFactory, api: Any) -> dict[str, Any]:
    """What one run of HOST delivered: its spans and metric points, decoded."""
    home = tmp_path_factory.mktemp("home")
    script = home / "host.py"
    script.write_text(HOST)
    with OTLPReceiver() as backend:
        result = subprocess.run(
            [sys.executable, str(script), backend.url, api.anthropic_base_url],
            capture_output=True,
            text=True,
            timeout=90,
            cwd=home,
            env=_isolated_env(home),
        )
        assert (result.returncode, result.stdout) == (0, "done\n"), result.stderr
        arrived = backend.wait_for(
            lambda r: (
                {"deploy", "broken"} <= {s["name"] for s in r.spans()}
                and any(m["name"] == names.GEN_AI_CLIENT_OPERATION_DURATION for m in r.metrics())
            ),
            timeout=60,
        )
        assert arrived, "the host's data did not reach the receiver"
        return {"spans": backend.spans(), "metrics": backend.metrics()}


def test_the_pinned_model_files_are_kept_with_their_license():
    assert "Apache License" in (MODEL / "LICENSE").read_text(encoding="utf-8")
    assert names.SCHEMA_URL.endswith(names.SEMCONV_VERSION)
    assert {"gen_ai.usage.input_tokens", "process.exit.code", "app.installation.id"} <= set(
        registry()
    )


def test_every_emitted_name_is_the_conventions_or_optels_own(emitted):
    problems: list[str] = []
    for span in emitted["spans"]:
        where = f"span {span['name']!r}"
        for name, value in span["attributes"].items():
            problems += check_attribute(name, value, where)
        for name, value in span["resource"].items():
            problems += check_attribute(name, value, "resource")
        for event in span["events"]:
            for name, value in event["attributes"].items():
                problems += check_attribute(name, value, f"{where} event {event['name']!r}")
    for point in emitted["metrics"]:
        name = point["name"]
        if not name.startswith("optel.") and metric_group(name) is None:
            problems.append(f"metric {name} is neither the conventions' nor optel's own")
        for key, value in point["attributes"].items():
            problems += check_attribute(key, value, f"metric {name}")
    assert problems == []


def test_the_declared_data_dictionary_names_are_the_conventions_or_optels_own():
    problems = [
        f"{a.name}: not defined by the conventions, yet in their namespace"
        for a in dictionary.ATTRIBUTES.values()
        if not a.name.startswith("optel.")
        and a.name.split(".", 1)[0] in namespaces()
        and a.name not in registry()
    ]
    problems += [
        f"metric {m}: not defined by the conventions, yet in their namespace"
        for m in dictionary.METRICS
        if m.split(".", 1)[0] in namespaces() and metric_group(m) is None
    ]
    assert problems == []


def test_metrics_have_the_conventions_instruments_units_buckets_and_required_attributes(emitted):
    buckets = advisory_buckets()
    checked = set()
    problems: list[str] = []
    for point in emitted["metrics"]:
        group = metric_group(point["name"])
        if group is None:
            continue
        name = point["name"]
        checked.add(name)
        if point["unit"] != group["unit"]:
            problems.append(
                f"{name}: unit {point['unit']!r}, the conventions say {group['unit']!r}"
            )
        if point["type"] != group["instrument"]:
            problems.append(
                f"{name}: a {point['type']}, the conventions say a {group['instrument']}"
            )
        if name in buckets and point["explicit_bounds"] != buckets[name]:
            problems.append(
                f"{name}: buckets {point['explicit_bounds']}, the conventions advise {buckets[name]}"
            )
        missing = required(group["id"]) - set(point["attributes"])
        if missing:
            problems.append(f"{name}: lacks required {sorted(missing)}")
    assert problems == []
    assert checked == {
        names.GEN_AI_CLIENT_OPERATION_DURATION,
        names.GEN_AI_CLIENT_TOKEN_USAGE,
        names.GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK,
        names.PROCESS_UPTIME,
    }


def _genai_group(span: dict[str, Any]) -> str:
    attributes = span["attributes"]
    if attributes.get(names.GEN_AI_OPERATION_NAME) == "embeddings":
        return "span.gen_ai.embeddings.client"
    specific = f"span.{attributes.get(names.GEN_AI_PROVIDER_NAME)}.inference.client"
    return specific if specific in groups() else "span.gen_ai.inference.client"


def test_genai_spans_have_the_conventions_kind_name_and_required_attributes(emitted):
    llm = [s for s in emitted["spans"] if names.GEN_AI_OPERATION_NAME in s["attributes"]]
    assert len(llm) == 3
    for span in llm:
        attributes = span["attributes"]
        group = groups()[_genai_group(span)]
        assert span["kind"] == group["span_kind"]
        assert (
            span["name"]
            == f"{attributes[names.GEN_AI_OPERATION_NAME]} {attributes[names.GEN_AI_REQUEST_MODEL]}"
        )
        assert required(group["id"]) <= set(attributes), span["name"]
        # Conditionally required: the stream flag if and only if the call streamed.
        streamed = names.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK in attributes
        assert (names.GEN_AI_REQUEST_STREAM in attributes) is streamed
        assert (names.ERROR_TYPE in attributes) is (span["status"] == "error")
    # The host streams one call (the anthropic stream helper).
    assert sum(names.GEN_AI_REQUEST_STREAM in s["attributes"] for s in llm) == 1
    providers = sorted(s["attributes"][names.GEN_AI_PROVIDER_NAME] for s in llm)
    assert providers == ["anthropic", "anthropic", "openai"]
    members = {m["value"] for m in registry()[names.GEN_AI_PROVIDER_NAME]["type"]["members"]}
    assert set(providers) <= members


def test_command_spans_are_cli_spans_with_the_exit_code_and_the_executable_name(emitted):
    group = groups()["span.cli.internal"]
    commands = {s["name"]: s for s in emitted["spans"] if names.COMMAND_NAME in s["attributes"]}
    assert set(commands) == {"deploy", "broken"}
    for span in commands.values():
        assert span["kind"] == group["span_kind"]
        present = set(span["attributes"]) | set(span["resource"])
        assert required(group["id"]) - set(NOT_SENT) <= present, span["name"]
        failed = span["attributes"][names.PROCESS_EXIT_CODE] != 0
        assert (names.ERROR_TYPE in span["attributes"]) is failed
        assert (span["status"] == "error") is failed
    assert commands["deploy"]["attributes"][names.PROCESS_EXIT_CODE] == 0
    assert commands["broken"]["attributes"][names.PROCESS_EXIT_CODE] == 1
    # The app's name, never a path.
    assert commands["deploy"]["resource"][names.PROCESS_EXECUTABLE_NAME] == "semconv-host"


def test_the_resource_says_what_recorded_it_and_the_install_under_the_conventions_name(emitted):
    import optel

    resource = emitted["spans"][0]["resource"]
    assert resource[names.TELEMETRY_SDK_NAME] == "optel"
    assert resource[names.TELEMETRY_SDK_LANGUAGE] == "python"
    assert resource[names.TELEMETRY_SDK_VERSION] == optel.__version__
    assert resource[names.APP_INSTALLATION_ID] == resource[names.OPTEL_INSTALL_ID]
    language = {m["value"] for m in registry()[names.TELEMETRY_SDK_LANGUAGE]["type"]["members"]}
    assert "python" in language


def test_the_genai_metric_buckets_declared_are_the_conventions_advice():
    for name, bounds in advisory_buckets().items():
        metric = dictionary.METRICS.get(name)
        if metric is not None:
            assert list(metric.buckets or ()) == bounds, name


def test_the_names_module_and_the_data_dictionary_declare_the_same_names():
    constants = {
        value
        for key, value in vars(names).items()
        if key.isupper() and isinstance(value, str) and key not in ("SEMCONV_VERSION", "SCHEMA_URL")
    }
    declared = set(dictionary.ATTRIBUTES) | set(dictionary.METRICS)
    declared |= {s.name for s in dictionary.SPANS if "{" not in s.name}
    declared |= {e.name for e in dictionary.SPAN_EVENTS if "{" not in e.name}
    assert constants == declared
