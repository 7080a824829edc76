"""A failed LLM call's error quotes the prompt; however the host passes it on, no piece of it leaves.

The real openai and anthropic clients call the fake API (tests/fake_llm_api.py), which refuses the
request and quotes the generated prompt in its error, as real APIs do. The host
(tests/llm_error_host.py) passes the error on in the common ways: re-raised, wrapped in
``click.ClickException(str(ex))`` or ``RuntimeError(f"LLM failed: {ex}")``, raised again after
the ``except`` block (no ``__context__``), its body's message or a slice of it raised, recorded as
an event attribute on the command span and outside any span. Then the whole chain runs:
spool file, audit log, uploader, a real collector (rotel), the receiver. No piece of
``provider_errors.MIN_MATCH`` characters of the prompt may be found in any of them, while the
messages of unrelated errors arrive intact.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import llm_error_host
import optel
import optel.upload
from llm_recording import forget_provider_errors
from optel import _paths, _runtime
from optel.record import provider_errors
from optel.spool.lock import TOKEN_ENV, acquire_lock
from otlp_receiver import OTLPReceiver
from rotel_process import running_rotel

APP = "llmerrtool"
USER_FILE = (
    'mode = "anonymous"\n'
    'install_id = "0b7f3c52-7d36-4c5e-9d2a-6f1f7f0f7a10"\n'
    'decided_at = "2026-01-01T00:00:00Z"\n'
    "consent_version = 1\n"
)
PIECE = provider_errors.MIN_MATCH

prompts = st.text(
    alphabet=st.characters(
        codec="utf-8", categories=("L", "N", "P", "S", "Zs"), exclude_characters="<>"
    ),
    min_size=PIECE + 4,
    max_size=160,
).filter(lambda text: len(set(text)) >= 8)


def pieces(prompt: str) -> set[str]:
    """The prompt's pieces of PIECE characters that could not occur anywhere by chance."""
    return {
        prompt[i : i + PIECE]
        for i in range(len(prompt) - PIECE + 1)
        if len(set(prompt[i : i + PIECE])) >= 6
    }


def leaks(prompt: str, texts: dict[str, str]) -> list[str]:
    return [
        f"{where}: {piece!r}"
        for where, text in texts.items()
        for piece in pieces(prompt)
        if piece in text
    ]


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def json_lines(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Every string inside JSON lines, decoded (numbers are left out: a nanosecond timestamp holds
    any run of digits), and the records."""
    records = [json.loads(line) for line in text.splitlines() if line.strip()]
    return "\n".join(s for r in records for s in _strings(r)), records


def _proto_strings(message: Any) -> Iterator[str]:
    for field, value in message.ListFields():
        for item in value if field.is_repeated else [value]:
            if field.type == field.TYPE_MESSAGE:
                yield from _proto_strings(item)
            elif field.type == field.TYPE_STRING:
                yield item


def received(backend: OTLPReceiver) -> dict[str, str]:
    texts = {}
    for n, request in enumerate(backend.accepted()):
        texts[f"request {n} {request.path}"] = "\n".join(_proto_strings(request.message))
        texts[f"request {n} bytes"] = request.body.decode("utf-8", "replace")
    return texts


def check_messages(spans: list[dict[str, Any]]) -> None:
    """The records arrived, and errors unrelated to the LLM call kept their messages."""
    by_name = {s["name"]: s for s in spans}
    assert {"prepare", "ask", "cleanup", "summarise"} <= set(by_name), sorted(by_name)
    assert by_name["prepare"]["status_message"] == llm_error_host.BEFORE
    assert by_name["cleanup"]["status_message"] == llm_error_host.AFTER
    (llm,) = [s for s in spans if "gen_ai.operation.name" in s["attributes"]]
    assert (llm["status"], llm["status_message"]) == ("error", "HTTP 400")
    assert by_name["ask"]["status"] == by_name["summarise"]["status"] == "error"


@pytest.fixture(scope="module")
def chain() -> Iterator[tuple[OTLPReceiver, str]]:
    with OTLPReceiver() as backend, running_rotel(backend.url) as collector:
        yield backend, collector


@pytest.fixture
def consented(
    isolated_home: Path, chain: tuple[OTLPReceiver, str], monkeypatch: pytest.MonkeyPatch
) -> Path:
    config = Path(_paths.user_config_file(APP))
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(USER_FILE)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", chain[1])
    return isolated_home


def run_in_process(
    home: Path, backend: OTLPReceiver, api: Any, pattern: str, provider: str, prompt: str
) -> dict[str, str]:
    """One host run in this process, then one upload through rotel; what left, by where."""
    _runtime.reset()
    forget_provider_errors()
    spool = _paths.spool_dir(APP)
    shutil.rmtree(spool, ignore_errors=True)
    os.makedirs(spool, mode=0o700)
    audit = home / "audit.jsonl"
    audit.unlink(missing_ok=True)
    with backend._lock:
        del backend.requests[:]
    # Holding the uploader lock, shutdown() starts no detached uploader: the upload below is it.
    token = f"t{os.getpid()}"
    assert acquire_lock(spool, os.getpid(), token)
    texts: dict[str, str] = {}
    try:
        llm_error_host.run(
            APP, pattern, provider, prompt, api.openai_base_url, api.anthropic_base_url, str(audit)
        )
        (spooled,) = [n for n in os.listdir(spool) if n.endswith(".jsonl")]
        texts["spool file"], records = json_lines(Path(spool, spooled).read_text(encoding="utf-8"))
        texts["audit log"], _ = json_lines(audit.read_text(encoding="utf-8"))
        spans = [r for r in records if r.get("t") == "span" and r["name"] != "optel.cli.session"]
        check_messages(spans)
        os.environ[TOKEN_ENV] = token
        assert optel.upload.upload(APP).files_sent == 1
        expected = {r["span_id"] for r in records if r.get("t") == "span"}
        assert backend.wait_for(lambda b: expected <= {s["span_id"] for s in b.spans()}, timeout=20)
        check_messages([s for s in backend.spans() if s["name"] != "optel.cli.session"])
        texts.update(received(backend))
    finally:
        os.environ.pop(TOKEN_ENV, None)
        _runtime.reset()
        optel.uninstrument("openai", "anthropic")
        forget_provider_errors()
    return texts


def test_a_quoted_prompt_passed_on_by_the_host_never_leaves(
    consented: Path, chain: Any, api: Any
) -> None:
    prompt = "Project Falcon: acquire Orbital Dynamics before the Q3 board meeting"
    for pattern in llm_error_host.PATTERNS:
        for provider in ("openai", "anthropic"):
            texts = run_in_process(consented, chain[0], api, pattern, provider, prompt)
            assert not leaks(prompt, texts), (pattern, provider, leaks(prompt, texts))


@pytest.mark.slow
def test_no_piece_of_a_generated_prompt_leaves_through_spool_audit_log_or_collector(
    consented: Path, chain: Any, api: Any
) -> None:
    # What optel sends anyway (attribute keys, the spool header): a prompt quoting it is no leak.
    baseline = "\n".join(
        "\n".join(
            run_in_process(
                consented, chain[0], api, "bare", provider, "an ordinary question"
            ).values()
        )
        for provider in ("openai", "anthropic")
    )

    @settings(
        max_examples=150,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        prompts,
        st.sampled_from(sorted(llm_error_host.PATTERNS)),
        st.sampled_from(("openai", "anthropic")),
    )
    def check(prompt: str, pattern: str, provider: str) -> None:
        assume(not any(piece in baseline for piece in pieces(prompt)))
        texts = run_in_process(consented, chain[0], api, pattern, provider, prompt)
        leaked = leaks(prompt, texts)
        assert not leaked, "\n".join(leaked[:10])

    check()


@pytest.mark.parametrize("pattern", sorted(llm_error_host.PATTERNS))
def test_a_host_process_passing_on_a_provider_error_sends_no_piece_of_the_prompt(
    consented: Path, chain: Any, api: Any, pattern: str
) -> None:
    backend, _ = chain
    with backend._lock:
        del backend.requests[:]
    prompt = f"Confidential: layoffs planned in the {pattern} team, tell nobody"
    provider = "anthropic" if len(pattern) % 2 else "openai"
    audit = consented / "audit.jsonl"
    host = Path(llm_error_host.__file__)
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(filter(None, [str(host.parent), os.environ.get("PYTHONPATH")])),
        OPTEL_UPLOAD_INTERVAL="0",  # this one run starts the detached uploader (docs/internals.md#the-delivery-policy)
    )
    result = subprocess.run(
        [
            sys.executable,
            str(host),
            APP,
            pattern,
            provider,
            prompt,
            api.openai_base_url,
            api.anthropic_base_url,
            str(audit),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert (result.returncode, result.stderr) == (0, "")
    # The host exits at once; its detached uploader delivers through rotel in the background.
    assert backend.wait_for(
        lambda b: {"summarise", "cleanup"} <= {s["name"] for s in b.spans()}, timeout=30
    )
    check_messages([s for s in backend.spans() if s["name"] != "optel.cli.session"])
    texts = received(backend)
    texts["audit log"], _ = json_lines(audit.read_text(encoding="utf-8"))
    assert not leaks(prompt, texts), leaks(prompt, texts)
    assert spool_settles(Path(_paths.spool_dir(APP)))


def spool_settles(spool: Path, timeout: float = 20.0) -> bool:
    """Whether the uploader, still acknowledging when the data arrived, empties the spool, and
    nothing is quarantined."""
    deadline = time.monotonic() + timeout
    while list(spool.glob("*.jsonl")) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not list(spool.glob("*.jsonl")) and not list(spool.glob("quarantine/*"))
