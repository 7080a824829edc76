"""Issue 11, item 5: one rule table. The client's token regex, the fast path's pre-filter and the
gateway's processors derive from ``optel.privacy.table``; the checked-in gateway file and the fast
path's generated block are what their generators write, and every trigger, top-level domain and
context word of the table stops the fast path."""

from __future__ import annotations

import ast
import importlib.util
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from optel.privacy import fastpath, gateway, prefilter, scrub_text, table
from optel.privacy.fastpath import SECRET_PREFIXES, plainly_safe
from optel.privacy.patterns import pattern
from optel.privacy.rules import apply_builtin_rules

ROOT = Path(__file__).resolve().parent.parent
GATEWAY_FILE = ROOT / "collector" / "gateway.yaml"
FASTPATH_FILE = Path(fastpath.__file__)

_spec = importlib.util.spec_from_file_location(
    "optel_collector_validate_table", ROOT / "collector" / "validate.py"
)
assert _spec is not None and _spec.loader is not None
validate = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = validate
_spec.loader.exec_module(validate)

SHAPES = {shape.name: shape for shape in table.SHAPES}


def _gateway_apply(rules: list, value: str) -> str:
    for rule in rules:
        value = re.sub(validate.to_python_regex(rule.regex), rule.replacement, value)
    return value


def test_the_checked_in_gateway_file_is_what_the_generator_writes() -> None:
    current = GATEWAY_FILE.read_text(encoding="utf-8")
    assert gateway.render(current) == current, (
        "stale: run python -m optel.privacy.gateway collector/gateway.yaml"
    )


def test_the_generator_reports_a_stale_file_and_rewrites_it(tmp_path: Path) -> None:
    stale = tmp_path / "gateway.yaml"
    stale.write_text(
        GATEWAY_FILE.read_text(encoding="utf-8").replace(r"\\bhf_", r"\\bhug_"), encoding="utf-8"
    )
    command = [sys.executable, "-m", "optel.privacy.gateway"]
    check = subprocess.run(
        [*command, "--check", str(stale)], capture_output=True, text=True, timeout=60
    )
    assert check.returncode == 1 and "stale" in check.stderr
    assert subprocess.run([*command, str(stale)], timeout=60).returncode == 0
    assert stale.read_text(encoding="utf-8") == GATEWAY_FILE.read_text(encoding="utf-8")
    assert subprocess.run([*command, "--check", str(stale)], timeout=60).returncode == 0


def test_the_fast_paths_generated_block_is_what_the_generator_writes() -> None:
    current = FASTPATH_FILE.read_text(encoding="utf-8")
    assert prefilter.render(current) == current, (
        "stale: run python -m optel.privacy.prefilter src/optel/privacy/fastpath.py"
    )


def test_the_prefilter_generator_reports_a_stale_fast_path_and_rewrites_it(tmp_path: Path) -> None:
    stale = tmp_path / "fastpath.py"
    current = FASTPATH_FILE.read_text(encoding="utf-8")
    assert current.count('"hf_"') == 2  # once in SECRET_PREFIXES, once in a chain
    stale.write_text(current.replace('"hf_"', '"hug_"'), encoding="utf-8")
    command = [sys.executable, "-m", "optel.privacy.prefilter"]
    check = subprocess.run(
        [*command, "--check", str(stale)], capture_output=True, text=True, timeout=60
    )
    assert check.returncode == 1 and "stale" in check.stderr
    assert subprocess.run([*command, str(stale)], timeout=60).returncode == 0
    assert stale.read_text(encoding="utf-8") == current
    assert subprocess.run([*command, "--check", str(stale)], timeout=60).returncode == 0


def test_the_fast_path_loads_no_table() -> None:
    # Its facts are literals of the generated block: a run whose strings all pass never loads
    # the table (tests/test_privacy_lazy.py checks that in a real run).
    tree = ast.parse(FASTPATH_FILE.read_text(encoding="utf-8"))
    imported = [
        node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
    ]
    assert imported == ["__future__"]


# Texts of the fast path's alphabet that it would take but for the one fact put in them.
def _with_trigger(trigger: str) -> str:
    return f"a {trigger}1 b"


def _with_domain(label: str) -> str:
    return f"db.{label}"


def _with_context(word: str) -> str:
    return f"{word}: db1"


def test_the_probes_pass_the_fast_path_without_the_fact() -> None:
    # Without this, the tests below could pass for another reason than the table's fact.
    for text in (_with_trigger("q"), _with_domain("qq"), _with_context("qq")):
        assert plainly_safe(text, ()), text


@pytest.mark.parametrize(
    "trigger",
    sorted({t for shape in table.SHAPES for t in shape.triggers} | {table.PRIVATE_KEY_TRIGGER}),
)
def test_every_trigger_of_the_table_stops_the_fast_path(trigger: str) -> None:
    assert not plainly_safe(_with_trigger(trigger), ())


def test_every_top_level_domain_and_context_word_of_the_table_stops_the_fast_path() -> None:
    for label in sorted(table.TLD_LABELS):
        assert not plainly_safe(_with_domain(label), ()), label
    for word in table.CONTEXT_HINTS:
        assert not plainly_safe(_with_context(word), ()), word


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_every_shapes_trigger_stops_the_fast_path(name: str) -> None:
    shape = SHAPES[name]
    assert any(trigger in shape.example for trigger in shape.triggers)
    assert set(shape.triggers) <= set(SECRET_PREFIXES)
    for text in (shape.example, f"key {shape.example} then", f"{shape.example}:x"):
        assert not plainly_safe(text, ()), text


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_every_shape_is_scrubbed_by_the_client(name: str) -> None:
    shape = SHAPES[name]
    assert pattern("token_prefix").fullmatch(shape.example)
    assert apply_builtin_rules(f"failed with {shape.example} now") == "failed with <secret> now"
    assert scrub_text(shape.example) == "<secret>"


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_every_shape_is_scrubbed_by_the_gateway(name: str) -> None:
    shape = SHAPES[name]
    config = yaml.safe_load(GATEWAY_FILE.read_text(encoding="utf-8"))
    for group in validate.scrub_rules(config):
        for target in {rule.target for rule in group}:
            rules = [rule for rule in group if rule.target == target]
            assert (
                _gateway_apply(rules, f"failed with {shape.example} now")
                == "failed with <secret> now"
            ), target
    blocked = config["processors"]["redaction/secrets"]["blocked_values"]
    assert any(re.search(validate.to_python_regex(p), f"x {shape.example} y") for p in blocked)


def test_every_shape_pattern_is_valid_re2() -> None:
    for shape in table.SHAPES:
        assert validate._regex_problem(r"\b" + shape.pattern) is None, shape


NEW_SHAPE = """
import optel.privacy.table as table
table.SHAPES += (table.Shape("acme", ("acme_",), r"acme_[a-z0-9]{20,}", "acme_" + "k3y" * 8),)
import importlib, optel.privacy.fastpath as fastpath, optel.privacy.rules as rules, optel.privacy.gateway as gateway
import optel.privacy.patterns as patterns, optel.privacy.credentials as credentials, optel.privacy.prefilter as prefilter
current = open(fastpath.__file__, encoding="utf-8").read()
fresh = prefilter.render(current)
# The regenerated fast path, as `python -m optel.privacy.prefilter` would write it.
regenerated = {"__name__": "regenerated_fastpath"}
exec(compile(fresh, "regenerated_fastpath", "exec"), regenerated)
for module in (patterns, credentials, rules):
    importlib.reload(module)
example = table.SHAPES[-1].example
print(fresh != current, fastpath.plainly_safe(example, ()), regenerated["plainly_safe"](example, ()),
      rules.apply_builtin_rules("a " + example + " b"), example in rules.apply_builtin_rules(example),
      "acme_[a-z0-9]{20,}" in gateway.generated_block())
"""


def test_a_shape_added_to_the_table_alone_reaches_client_fast_path_and_gateway() -> None:
    # The fast path's block is then stale (the staleness test fails) and still lets the new key
    # through; regenerated, it stops it.
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(NEW_SHAPE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "False", "a", "<secret>", "b", "False", "True"]
