"""The host-side import budget (docs/internals.md#the-import-budget-of-the-host-side), checked in a
fresh interpreter.

`import optel; optel.init("x")`, a decorated call, an LLM call and `optel.shutdown()` must never
load the OpenTelemetry SDK, protobuf, grpc or wrapt, and must keep off the standard modules
whose import alone costs milliseconds. With telemetry on, the flush may add only the few cheap
C modules it needs (`_json`, `_sha256`/`_sha2`, `pwd`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from optel import _paths

PROGRAM = r"""
import sys
before = set(sys.modules)
import optel
telemetry = optel.init("budget-app", version="1.0")

@optel.command("run")
def run():
    step()
    if LLM:
        ask(model="gpt-4o")
    optel.event("done")
    optel.count_input()

@optel.step
def step():
    return 1

@optel.llm_call(provider="openai")
def ask(model):
    return {"model": "gpt-4o", "usage": {"prompt_tokens": 3, "completion_tokens": 4}}

run()
optel.shutdown()
added = sorted(set(sys.modules) - before)
sys.stdout.write(repr((telemetry.consent.mode, telemetry.recording, added)))
"""

NEVER = ("opentelemetry", "google.protobuf", "grpc", "wrapt")
# Each costs milliseconds to import (docs/internals.md#the-import-budget-of-the-host-side).
EXPENSIVE = (
    "re", "typing", "json", "tomllib", "tomli", "platformdirs", "subprocess", "threading",
    "logging", "dataclasses", "enum", "inspect", "functools", "hashlib", "uuid", "random",
    "datetime", "signal", "pathlib", "tempfile", "importlib.metadata", "asyncio",
)  # fmt: skip


def _added_modules(env: dict[str, str], llm: bool = True) -> tuple[str, bool, list[str]]:
    result = subprocess.run(
        [sys.executable, "-c", f"LLM = {llm!r}\n" + PROGRAM],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    mode, recording, added = eval(result.stdout)  # our own repr of a tuple of str/bool/list
    return mode, recording, added


def _hits(added: list[str], names: tuple[str, ...]) -> list[str]:
    return [m for m in added if any(m == n or m.startswith(n + ".") for n in names)]


@pytest.mark.slow
def test_telemetry_off_imports_nothing_heavy():
    mode, recording, added = _added_modules(dict(os.environ))
    assert (mode, recording) == ("off", False)
    assert _hits(added, NEVER) == []
    assert _hits(added, EXPENSIVE) == []
    # Only optel itself and the few modules the budget allows.
    others = [m for m in added if not m.startswith("optel")]
    assert set(others) <= {"__future__", "contextvars", "_contextvars", "atexit"}, others


def _consent_anonymous_without_uploader(app: str) -> str:
    path = _paths.user_config_file(app)
    os.makedirs(os.path.dirname(path))
    with open(path, "w", encoding="utf-8") as f:
        f.write(
            'mode = "anonymous"\ninstall_id = "0b7f3c52-7d36-4c5e-9d2a-6f1f7f0f7a10"\nconsent_version = 1\nsalt = "ab"\n'
        )
    # The detached uploader would start at exit; a held lock keeps this test to the host side.
    from optel.spool.lock import acquire_lock

    spool = _paths.spool_dir(app)
    os.makedirs(spool, mode=0o700)
    assert acquire_lock(spool, os.getpid(), "test")
    return spool


# `gc`: built into the interpreter (nothing read from disk); the exit flush pauses the cyclic GC.
ON_ALLOWED = {
    "__future__",
    "contextvars",
    "_contextvars",
    "atexit",
    "_json",
    "_sha256",
    "_sha2",
    "pwd",
    "gc",
}


@pytest.mark.slow
def test_telemetry_on_records_and_flushes_without_anything_heavy():
    spool = _consent_anonymous_without_uploader("budget-app")
    mode, recording, added = _added_modules(dict(os.environ), llm=False)
    assert (mode, recording) == ("anonymous", True)
    assert _hits(added, NEVER) == []
    assert _hits(added, EXPENSIVE) == []
    others = {m for m in added if not m.startswith("optel")}
    assert others <= ON_ALLOWED, others
    files = [n for n in os.listdir(spool) if n.endswith(".jsonl")]
    assert len(files) == 1
    with open(os.path.join(spool, files[0]), encoding="utf-8") as f:
        lines = [json.loads(line) for line in f]
    assert any(r.get("name") == "run" for r in lines)


@pytest.mark.slow
def test_telemetry_on_with_an_llm_call_never_loads_the_sdk():
    spool = _consent_anonymous_without_uploader("budget-app")
    mode, recording, added = _added_modules(dict(os.environ), llm=True)
    assert (mode, recording) == ("anonymous", True)
    assert _hits(added, NEVER) == []
    # optel.privacy.models checks model names with a regex: `re` (and what it pulls in: enum,
    # functools) is the one expensive import left on this path.
    regex = {
        "re",
        "enum",
        "functools",
        "types",
        "operator",
        "collections",
        "copyreg",
        "keyword",
        "reprlib",
        "itertools",
    }
    assert _hits(added, EXPENSIVE) == [
        m for m in _hits(added, EXPENSIVE) if m.split(".")[0] in regex
    ]
    others = {
        m for m in added if not m.startswith("optel") and m.lstrip("_").split(".")[0] not in regex
    }
    assert others <= ON_ALLOWED | {"_sre", "_functools", "_operator", "_collections"}, others
    files = [n for n in os.listdir(spool) if n.endswith(".jsonl")]
    with open(os.path.join(spool, files[0]), encoding="utf-8") as f:
        lines = [json.loads(line) for line in f]
    assert any(r.get("name") == "chat gpt-4o" for r in lines)


INIT_ONLY = r"""
import sys
import optel
telemetry = optel.init("budget-app", version="1.0")
sys.stdout.write(repr((telemetry.recording, sorted(m for m in sys.modules if m.startswith("optel")))))
"""


@pytest.mark.slow
@pytest.mark.parametrize("leftovers", [False, True], ids=["empty-spool", "leftover-file"])
def test_init_loads_the_flush_path_only_when_there_is_something_to_flush(leftovers):
    spool = _consent_anonymous_without_uploader("budget-app")
    if leftovers:
        with open(os.path.join(spool, "1-1-0123abcd.jsonl"), "w", encoding="utf-8") as f:
            f.write("{}\n")
    result = subprocess.run(
        [sys.executable, "-c", INIT_ONLY],
        env=dict(os.environ),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    recording, loaded = eval(result.stdout)  # our own repr of a tuple of bool/list of str
    assert recording is True
    # The session summary, the data dictionary and the cleaning code wait for the first flush.
    assert not {"optel.record.flush", "optel.record.dictionary", "optel.privacy"} & set(loaded)
    # optel.spool comes only to drain what earlier runs left.
    assert ("optel.spool" in loaded) is leftovers


FRAMEWORKS = r"""
import sys
before = set(sys.modules)
if INSTRUMENT:
    import optel
    if INIT:
        optel.init("budget-app", version="1.0")
    optel.instrument("click", "typer", "argparse")
import argparse, click, typer
added = sorted(set(sys.modules) - before)
sys.stdout.write(repr(added))
"""


def _framework_modules(instrument: bool, init: bool = False) -> set[str]:
    program = f"INSTRUMENT = {instrument!r}\nINIT = {init!r}\n" + FRAMEWORKS
    result = subprocess.run(
        [sys.executable, "-c", program], env=dict(os.environ), stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return set(eval(result.stdout))  # our own repr of a list of str


@pytest.mark.slow
@pytest.mark.parametrize("init", [False, True], ids=["telemetry-off", "telemetry-on"])
def test_instrumenting_the_cli_frameworks_imports_nothing_they_do_not(init):
    """optel.instrument("click", "typer", "argparse") loads only optel's own small modules beside
    what the frameworks import anyway: no wrapt (wrapt 2 brings asyncio and importlib.metadata,
    ~140 ms at every start of a CLI)."""
    if init:
        _consent_anonymous_without_uploader("budget-app")
    bare = _framework_modules(instrument=False)
    instrumented = _framework_modules(instrument=True, init=init)
    extra = sorted(m for m in instrumented - bare if not m.startswith("optel"))
    assert _hits(sorted(instrumented), NEVER) == []
    assert _hits(extra, EXPENSIVE) == []
    assert set(extra) <= ON_ALLOWED, extra


@pytest.mark.slow
def test_a_run_with_telemetry_off_never_loads_the_flush_path():
    """Off (here by DO_NOT_TRACK), `import optel; optel.init(...)`, a command and the exit load
    none of optel's flushing, spool or leftover handling: they cost a CPU-bound run milliseconds."""
    env = {**os.environ, "DO_NOT_TRACK": "1"}
    mode, recording, added = _added_modules(env, llm=False)
    assert (mode, recording) == ("off", False)
    flush_path = ("optel._flushes", "optel._leftovers", "optel.record.flush")
    assert _hits(added, (*flush_path, "optel.spool")) == []


FLUSH_RUN = r"""
import sys
import optel
optel.init("budget-app", version="1.0")
tables = optel.metric("budget.tables", attributes=["command.name"])

@optel.command("run")
def run():
    try:
        step()
    except ValueError:
        pass
    ask(model="gpt-4o")
    tables.add(3, **{"command.name": "run", "undeclared": "x"})
    optel.count_input()

@optel.step
def step():
    raise ValueError("no")

@optel.llm_call(provider="openai")
def ask(model):
    return {"model": "gpt-4o", "usage": {"prompt_tokens": 3, "completion_tokens": 4}}

run()
optel.shutdown()
sys.stdout.write(repr(sorted(m for m in sys.modules if m.startswith("optel"))))
"""
# Read by people, the uploader and optel's tools, never by a run's flush: the data dictionary's
# descriptions and rendering, and what writes its allow-list into record/clean.py.
NOT_AT_FLUSH = ("optel.record.dictionary", "optel.record.allowlist", "optel.privacy.generated")


@pytest.mark.slow
def test_the_exit_flush_of_an_on_run_loads_the_allow_list_but_not_the_data_dictionary():
    """An on run's flush applies the allow-list (record/clean.py's generated literals) to spans,
    exception events, derived GenAI metrics and a host metric, without loading the dictionary's
    descriptions (docs/internals.md#the-import-budget-of-the-host-side)."""
    spool = _consent_anonymous_without_uploader("budget-app")
    result = subprocess.run(
        [sys.executable, "-c", FLUSH_RUN], env=dict(os.environ), stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    loaded = eval(result.stdout)  # our own repr of a list of str
    assert "optel.record.flush" in loaded
    assert _hits(loaded, NOT_AT_FLUSH) == []
    (name,) = [n for n in os.listdir(spool) if n.endswith(".jsonl")]
    with open(os.path.join(spool, name), encoding="utf-8") as f:
        records = [json.loads(line) for line in f][1:]
    metrics = {
        (r["name"], json.dumps(r["attributes"], sort_keys=True))
        for r in records
        if r["t"] == "metric"
    }
    assert ("budget.tables", '{"command.name": "run"}') in metrics
    usage = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o", "gen_ai.response.model": "gpt-4o"}  # fmt: skip
    for kind in ("input", "output"):
        typed = json.dumps({**usage, "gen_ai.token.type": kind}, sort_keys=True)
        assert ("gen_ai.client.token.usage", typed) in metrics
    assert (
        "optel.cli.step.duration",
        '{"error.type": "ValueError", "step.name": "step"}',
    ) in metrics
    (failed,) = [r for r in records if r["t"] == "span" and r["name"] == "step"]
    assert [e["name"] for e in failed["events"]] == ["exception"]
    assert {"exception.type", "exception.message"} <= set(failed["events"][0]["attributes"])


NOTHING_DUE = r"""
import sys
import optel
optel.init("budget-app", version="1.0", endpoint="http://127.0.0.1:4318")

@optel.command("run")
def run():
    return 1

run()
optel.shutdown()
sys.stdout.write(repr(sorted(m for m in sys.modules if m.startswith("optel"))))
"""

# What a run that writes its flush and starts no uploader has no use for: the uploader's reading,
# claims, state and bounds, the launcher, init's leftover handling, the debug and audit output.
# ("optel.spool.look" too: the tally a writer trusts spares it the look at every file.)
READ_SIDE = {
    "optel._leftovers",
    "optel._logger",
    "optel.spool.audit",
    "optel.spool.bounds",
    "optel.spool.claims",
    "optel.spool.files",
    "optel.spool.format",
    "optel.spool.launch",
    "optel.spool.lock",
    "optel.spool.look",
    "optel.spool.process",
    "optel.spool.state",
}


@pytest.mark.slow
def test_a_run_that_finds_spool_files_not_due_loads_only_the_write_side():
    """Issue 19: with the delivery policy nearly every run finds earlier runs' flushes waiting and
    adds one. Its init (are they due?) and its exit (write, is an uploader due?) load the
    spool's write side only, in a real process, run after a run that left a fresh flush."""
    spool = _consent_anonymous_without_uploader("budget-app")
    runs = []
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, "-c", NOTHING_DUE],
            env=dict(os.environ),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert result.stderr == ""
        runs.append(set(eval(result.stdout)))  # our own repr of a list of str
    assert len([n for n in os.listdir(spool) if n.endswith(".jsonl")]) == 2
    loaded = runs[1]
    assert loaded & READ_SIDE == set(), sorted(loaded & READ_SIDE)
    assert "optel.spool.writer" in loaded, "the flush was written"
    # Every module costs a run ~0.1 ms, whatever its size (docs/internals.md#the-import-budget-of-the-host-side):
    # a new one on this path is a cost to weigh, not a detail.
    assert sorted(loaded) == ON_RUN_MODULES


# What a usual run with telemetry on loads of optel (an endpoint, a stored choice, a command,
# earlier runs' flushes waiting and none due): the endpoint's check, the decision, the recorder,
# and at exit the flush's cleaning, the header and the spool's write side. Nothing more.
ON_RUN_MODULES = [
    "optel",
    "optel._env",
    "optel._flushes",
    "optel._fs",
    "optel._loader",
    "optel._paths",
    "optel._runtime",
    "optel._settings",
    "optel._terminal",
    "optel._urls",
    "optel.consent",
    "optel.consent.decision",
    "optel.consent.detect",
    "optel.consent.facts",
    "optel.consent.files",
    "optel.consent.rowkit",
    "optel.consent.rows",
    "optel.consent.value",
    "optel.record",
    "optel.record.api",
    "optel.record.clean",
    "optel.record.flush",
    "optel.record.names",
    "optel.record.project",
    "optel.record.resource",
    "optel.record.spans",
    "optel.record.wrappers",
    "optel.spool",
    "optel.spool.writer",
]
