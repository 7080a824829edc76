"""Records: parent/child across tasks and threads, ids, the allow-list, the spool dict shapes."""

from __future__ import annotations

import asyncio
import contextvars
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import optel
import optel.record as id_pools
from optel.record import genai_spans, spans
from optel.record.flush import Summary, session_records, to_dicts
from optel.testing import capture

HEX32 = re.compile(r"^[0-9a-f]{32}$")
HEX16 = re.compile(r"^[0-9a-f]{16}$")


def by_name(records):
    return {r["name"]: r for r in records if r["t"] == "span"}


def test_span_dict_has_the_spool_schema_shape():
    with capture() as records:
        handle = spans.start("work", attributes={"step.name": "work"})
        handle.set("error.type", "Timeout")
        handle.add_event("retry")
        handle.end()
    span = records[0]
    assert set(span) == {
        "t",
        "trace_id",
        "span_id",
        "parent_span_id",
        "name",
        "kind",
        "start_ns",
        "end_ns",
        "attributes",
        "status",
        "status_message",
        "events",
    }
    assert HEX32.match(span["trace_id"]) and HEX16.match(span["span_id"])
    assert span["parent_span_id"] is None
    assert 0 < span["start_ns"] <= span["end_ns"]
    assert span["events"][0]["name"] == "retry"
    assert set(span["events"][0]) == {"name", "time_ns", "attributes"}


def test_ids_are_random_unique_and_never_zero():
    ids = {id_pools.new_id() for _ in range(5000)}
    assert len(ids) == 5000
    assert all(HEX16.match(i) and i != "0" * 16 for i in ids)


def test_a_pool_starts_small_and_grows_to_256_ids_a_refill(monkeypatch):
    # A command-line run records a handful of spans: its first refill must not hex kilobytes.
    monkeypatch.setattr(id_pools, "_next_count", {8: 16, 16: 16})
    drawn: list[int] = []
    urandom = id_pools.os.urandom
    monkeypatch.setattr(id_pools.os, "urandom", lambda n: drawn.append(n) or urandom(n))
    pool: list[str] = []
    ids = [id_pools.new_id(pool) for _ in range(16 + 64 + 256 + 1)]
    assert drawn == [16 * 8, 64 * 8, 256 * 8, 256 * 8]
    assert len(set(ids)) == len(ids) and all(HEX16.match(i) for i in ids)
    traces: list[str] = []
    assert HEX32.match(id_pools.new_trace_id(traces)) and len(traces) == 15


def test_children_share_the_trace_and_name_their_parent():
    with capture() as records:
        root = spans.start("top", attributes={"command.name": "top"})
        child = spans.start("child")
        grandchild = spans.start("grandchild")
        grandchild.end()
        child.end()
        sibling = spans.start("sibling")
        sibling.end()
        root.end()
    s = by_name(records)
    assert {r["trace_id"] for r in s.values()} == {s["top"]["trace_id"]}
    assert s["child"]["parent_span_id"] == s["top"]["span_id"]
    assert s["grandchild"]["parent_span_id"] == s["child"]["span_id"]
    assert s["sibling"]["parent_span_id"] == s["top"]["span_id"]
    assert spans.current() is None


def test_asyncio_tasks_nest_under_the_span_that_created_them():
    @optel.step("leaf")
    async def leaf(i):
        await asyncio.sleep(0.001 * (3 - i))
        return i

    @optel.command("fan-out")
    async def fan_out():
        return await asyncio.gather(*(asyncio.create_task(leaf(i)) for i in range(3)))

    with capture() as records:
        assert asyncio.run(fan_out()) == [0, 1, 2]
    command = next(r for r in records if r["t"] == "span" and r["name"] == "fan-out")
    leaves = [r for r in records if r["t"] == "span" and r["name"] == "leaf"]
    assert len(leaves) == 3
    assert {r["parent_span_id"] for r in leaves} == {command["span_id"]}
    assert {r["trace_id"] for r in leaves} == {command["trace_id"]}


def test_concurrent_tasks_do_not_become_each_others_parents():
    @optel.step("a")
    async def a():
        await asyncio.sleep(0.01)

    @optel.step("b")
    async def b():
        await asyncio.sleep(0.005)

    async def main():
        await asyncio.gather(a(), b())

    with capture() as records:
        asyncio.run(main())
    s = by_name(records)
    assert s["a"]["parent_span_id"] is None and s["b"]["parent_span_id"] is None
    assert s["a"]["trace_id"] != s["b"]["trace_id"]


def test_a_thread_pool_inside_a_command_nests_under_the_command():
    @optel.step("worker")
    def worker(i):
        return i

    @optel.command("batch")
    def batch():
        with ThreadPoolExecutor(4) as pool:
            return list(pool.map(worker, range(8)))

    with capture() as records:
        batch()
    command = by_name(records)["batch"]
    workers = [r for r in records if r["t"] == "span" and r["name"] == "worker"]
    assert len(workers) == 8
    assert {w["parent_span_id"] for w in workers} == {command["span_id"]}


def test_a_thread_with_a_copied_context_nests_under_the_current_step():
    @optel.step("inner")
    def inner():
        pass

    @optel.step("outer")
    def outer():
        context = contextvars.copy_context()
        thread = threading.Thread(target=context.run, args=(inner,))
        thread.start()
        thread.join()

    with capture() as records:
        outer()
    s = by_name(records)
    assert s["inner"]["parent_span_id"] == s["outer"]["span_id"]


def test_a_thread_outside_any_command_starts_its_own_trace():
    results = []

    def run():
        with_span = spans.start("in-thread")
        results.append(with_span.parent)
        with_span.end()

    with capture() as records:
        outer = spans.start("outer")
        thread = threading.Thread(target=run)
        thread.start()
        thread.join()
        outer.end()
    assert results == [None]
    s = by_name(records)
    assert s["in-thread"]["trace_id"] != s["outer"]["trace_id"]


def test_undeclared_attributes_are_dropped_and_host_declared_ones_kept():
    with capture(attributes={"myapp.plan"}) as records:
        handle = spans.start(
            "s",
            attributes={
                "step.name": "s",
                "myapp.plan": "pro",
                "host.name": "laptop",
                "user.email": "a@b.c",
                "random": 1,
                "step.extra": "x",
            },
        )
        handle.end()
        spans.measure("optel.cli.user.inputs", 1, {"command.name": "x"})
        spans.measure("my.own.metric", 3)
    span, step_duration, measured = records
    assert span["attributes"] == {"step.name": "s", "myapp.plan": "pro"}
    assert step_duration["attributes"] == {"step.name": "s"}
    assert measured["attributes"] == {}
    assert [r["name"] for r in records] == ["s", "optel.cli.step.duration", "optel.cli.user.inputs"]


def test_values_of_the_wrong_type_are_dropped():
    with capture(attributes={"myapp.thing"}) as records:
        handle = spans.start("s")
        handle.set("step.name", 42)
        handle.set("gen_ai.usage.input_tokens", "12")
        handle.set("gen_ai.usage.output_tokens", True)
        handle.set("gen_ai.response.finish_reasons", ["stop", 3])
        handle.set("myapp.thing", object())
        handle.set("process.exit.code", 3)
        handle.end()
    assert records[0]["attributes"] == {
        "gen_ai.response.finish_reasons": ["stop"],
        "process.exit.code": 3,
    }


def test_every_value_is_scrubbed_once_at_flush_and_declared_names_are_kept():
    with capture(attributes={"myapp.note"}) as records:
        handle = spans.start(
            "/run",
            attributes={
                "myapp.note": "see https://internal.example.com/x for sk-abcdefghijklmnopqrstuvwxyz123456"
            },
        )
        handle.add_event("/add", {"myapp.note": "mail bob@example.com"})
        handle.end()
    span = records[0]
    assert span["attributes"]["myapp.note"] == "see <url> for <secret>"
    # Names the maintainer declares are not personal data
    # (docs/privacy.md#names-the-maintainer-declares): an in-chat command is no path.
    assert span["name"] == "/run"
    assert span["events"][0]["name"] == "/add"
    assert span["events"][0]["attributes"]["myapp.note"] == "mail <email>"


def test_genai_helpers_end_the_span_and_derive_both_metrics():
    with capture() as records:
        handle = genai_spans.start("anthropic", "chat", request_model="claude-3-5-haiku-20241022")
        assert spans.current() is handle
        genai_spans.finish(
            handle,
            response_model="claude-3-5-haiku-20241022",
            input_tokens=12,
            output_tokens=34,
            finish_reasons=["end_turn"],
        )
    assert spans.current() is None
    span, duration, usage_in, usage_out = records
    assert span["name"] == "chat claude-3-5-haiku-20241022"
    assert span["kind"] == "client"
    assert duration["name"] == "gen_ai.client.operation.duration"
    assert (usage_in["value"], usage_out["value"]) == (12, 34)
    assert usage_in["attributes"]["gen_ai.token.type"] == "input"


def test_genai_finish_with_an_error_code_marks_the_span_failed():
    with capture() as records:
        handle = genai_spans.start("openai", request_model="gpt-4o")
        genai_spans.finish(handle, error_type="rate_limit_exceeded")
    span = by_name(records)["chat gpt-4o"]
    assert span["status"] == "error"
    assert span["attributes"]["error.type"] == "rate_limit_exceeded"
    assert any(r["t"] == "metric" and r["name"] == "optel.cli.errors" for r in records)


def test_end_is_idempotent_and_set_after_end_is_harmless():
    with capture() as records:
        handle = spans.start("once")
        handle.end()
        handle.end(ValueError("late"))
        handle.set("step.name", "late")
    assert len(records) == 1
    assert records[0]["status"] == "unset"


def test_start_returns_none_when_not_recording():
    assert spans.recording() is False
    assert spans.start("x") is None
    assert genai_spans.start("openai") is None
    genai_spans.finish(None, input_tokens=3)
    spans.measure("optel.cli.user.inputs", 1)
    assert spans.take() == []


def test_session_summary_counts_what_the_session_did():
    summary = Summary()
    with capture() as records:

        @optel.command("c")
        def c():
            s()
            optel.count_input()
            h = genai_spans.start("openai", request_model="gpt-4o")
            genai_spans.finish(h, response_model="gpt-4o", input_tokens=5, output_tokens=7)

        @optel.step("s")
        def s():
            pass

        c()
    for record in records:
        summary.add(record)
    span, duration = session_records(summary, 1_000_000_000, 3_500_000_000)
    assert span["name"] == "optel.cli.session"
    assert span["attributes"] == {
        "optel.cli.summary.commands": 1,
        "optel.cli.summary.steps": 1,
        "optel.cli.summary.llm_requests": 1,
        "optel.cli.summary.input_tokens": 5,
        "optel.cli.summary.output_tokens": 7,
        "optel.cli.summary.user_inputs": 1,
        "optel.cli.summary.errors": 0,
        "optel.cli.summary.models": ["gpt-4o"],
    }
    assert duration == {
        "t": "metric",
        "name": "optel.cli.session.duration",
        "value": 2.5,
        "attributes": {},
        "time_ns": 3_500_000_000,
    }


def test_to_dicts_skips_spans_that_have_not_ended():
    spans.set_recording(True)
    try:
        open_span = spans.begin("still-open")
        closed = spans.begin("closed")
        closed.end()
    finally:
        spans.set_recording(False)
    out = to_dicts([open_span, *spans.take()])
    assert [r["name"] for r in out] == ["closed"]


def test_a_host_object_with_a_broken_str_does_not_break_the_flush():
    class Nasty(Exception):
        def __str__(self):
            raise RuntimeError("no")

    with capture() as records:
        handle = spans.start("s")
        handle.end(Nasty())
    span = by_name(records)["s"]
    assert span["status"] == "error"
    assert span["status_message"] is None


@pytest.fixture(autouse=True)
def _no_leftovers():
    yield
    spans.set_recording(False)
    spans.take()


def test_a_long_value_is_never_cut_through_a_secret():
    from optel.record.clean import MAX_STRING, clean_value

    # The key straddles the bound: a plain slice would keep "sk-" plus a stub too short to look like a key.
    text = "x " * ((MAX_STRING - 6) // 2) + "sk-" + "A1b2C3d4E5f6G7h8I9j0K1l2" + " tail"
    cleaned = clean_value(text, None)
    assert isinstance(cleaned, str) and len(cleaned) <= MAX_STRING
    assert "sk-" not in cleaned


def test_a_hosts_extract_and_genai_finish_read_the_same_facts_the_same_way():
    # One table (genai.FACTS) for both: finish once lacked response_id and reasoning_tokens, and
    # read a single finish reason string letter by letter.
    from optel.record import genai

    facts = {
        "response_model": "gpt-4o-2024-08-06",
        "response_id": "chatcmpl-1",
        "input_tokens": 30,
        "output_tokens": 40,
        "cache_read_tokens": 10,
        "cache_creation_tokens": 2,
        "reasoning_tokens": 5,
        "finish_reasons": "stop",
    }
    with capture() as records:

        @optel.llm_call(provider="openai", model="gpt-4o", extract=lambda result: facts)
        def ask():
            return object()

        ask()
        handle = genai_spans.start("openai", request_model="gpt-4o")
        genai_spans.finish(handle, **facts)
    extracted, finished = [r for r in records if r["t"] == "span"]
    assert extracted["attributes"] == finished["attributes"]
    assert set(genai.FACTS.values()) <= set(finished["attributes"])
    assert finished["attributes"]["gen_ai.response.finish_reasons"] == ["stop"]
