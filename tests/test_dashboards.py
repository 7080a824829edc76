"""The dashboards in dashboards/: every ClickHouse query run in chDB on the exporter's tables filled
from a real optel upload, every PromQL query parsed and its names checked against what optel emits
after the Prometheus translation, every TraceQL query's attributes checked against the dictionary."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Callable

import pytest

from clickhouse_rows import metric_rows, trace_rows
from optel.record.dictionary import ATTRIBUTES, COUNTER, HISTOGRAM, METRIC, METRICS, RESOURCE, SPAN
from optel.report.read import input_files, read_lines, records
from optel.report.tally import Tally
from promql import Query
from report_inputs import INSTALLS, Inputs, build

ROOT = Path(__file__).resolve().parent.parent / "dashboards"
SCHEMA = Path(__file__).resolve().parent / "clickhouse_otel_schema.sql"
Rows = list[dict[str, Any]]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Inputs:
    return build(tmp_path_factory.mktemp("dashboard-inputs"))


@pytest.fixture(scope="module")
def tally(inputs: Inputs) -> Tally:
    return Tally().add_all(records(read_lines(input_files(str(inputs.otlp)))))


@pytest.fixture(scope="module")
def clickhouse(inputs: Inputs) -> Callable[[str], Rows]:
    from chdb import session

    db = session.Session()
    db.query("CREATE DATABASE IF NOT EXISTS otel")
    db.query("USE otel")
    for statement in SCHEMA.read_text().split(";"):
        if "CREATE" in statement:
            db.query(statement)
    tables: dict[str, Rows] = {
        "otel_traces": [],
        "otel_metrics_sum": [],
        "otel_metrics_histogram": [],
    }
    for request in inputs.requests:
        if hasattr(request, "resource_spans"):
            tables["otel_traces"] += trace_rows(request)
        else:
            for table, rows in metric_rows(request).items():
                tables[table] += rows
    for table, rows in tables.items():
        assert rows, f"the upload gave no row for {table}"
        body = "\n".join(json.dumps(row) for row in rows)
        db.query(f"INSERT INTO {table} FORMAT JSONEachRow {body}")

    def run(sql: str) -> Rows:
        text = str(db.query(sql, "JSONEachRow"))
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    yield run
    db.close()


def _by(rows: Rows, *keys: str, value: str) -> dict[Any, float]:
    out: dict[Any, float] = {}
    for row in rows:
        key = tuple(row[k] for k in keys) if len(keys) > 1 else row[keys[0]]
        out[key] = out.get(key, 0) + float(row[value])
    return out


def _installs(tally: Tally, fact: str) -> dict[str, float]:
    return {k: float(len(v)) for k, v in tally.facts[fact].items()}


def _percentiles_ordered(rows: Rows) -> bool:
    return bool(rows) and all(
        0 < float(r["p50_s"]) <= float(r["p90_s"]) <= float(r["p99_s"]) for r in rows
    )


# One check per query file: what it must return for the run report_inputs made, computed from
# the same upload by `optel report`'s reader where the two can be compared.
CHECKS: dict[str, Callable[[Rows, Tally], bool]] = {
    "installs_per_day.sql": lambda rows, t: (
        sum(float(r["installs"]) for r in rows) == sum(len(i) for i in t.installs_by_day.values())
    ),
    "installs_per_week.sql": lambda rows, t: (
        max(float(r["installs"]) for r in rows) == len(INSTALLS)
    ),
    "version_adoption.sql": lambda rows, t: (
        _by(rows, "version", value="installs") == _installs(t, "version")
    ),
    "commands.sql": lambda rows, t: (
        {r["command"]: (int(r["runs"]), int(r["failures"])) for r in rows}
        == {k: (u.runs, u.failures) for k, u in t.commands.items()}
    ),
    "error_types.sql": lambda rows, t: (
        _by(rows, "error_type", value="failures") == {k: float(v) for k, v in t.errors.items()}
    ),
    "command_durations.sql": lambda rows, t: (
        _percentiles_ordered(rows) and {r["command"] for r in rows} == set(t.commands)
    ),
    "llm_calls.sql": lambda rows, t: (
        _percentiles_ordered(rows)
        and {
            (r["provider"], r["model"]): tuple(
                int(r[k]) for k in ("calls", "failures", "input_tokens", "output_tokens")
            )
            for r in rows
        }
        == {k: (u.runs, u.failures, u.input_tokens, u.output_tokens) for k, u in t.llm.items()}
    ),
    "consent_modes.sql": lambda rows, t: (
        _by(rows, "mode", value="installs") == _installs(t, "consent")
    ),
    "os_python_mix.sql": lambda rows, t: (
        _by(rows, "python", value="installs") == _installs(t, "python")
    ),
    "command_invocations_metric.sql": lambda rows, t: (
        _by(rows, "command", value="runs") == {k: float(u.runs) for k, u in t.commands.items()}
        and {
            k: v
            for (k, outcome), v in _by(rows, "command", "outcome", value="runs").items()
            if outcome == "failure"
        }
        == {k: float(u.failures) for k, u in t.commands.items() if u.failures}
    ),
    "token_usage_metric.sql": lambda rows, t: (
        {
            (p, m): v
            for (p, m, kind), v in _by(
                rows, "provider", "model", "token_type", value="tokens"
            ).items()
            if kind == "input"
        }
        == {k: float(u.input_tokens) for k, u in t.llm.items()}
        and {
            (p, m): v
            for (p, m, kind), v in _by(
                rows, "provider", "model", "token_type", value="tokens"
            ).items()
            if kind == "output"
        }
        == {k: float(u.output_tokens) for k, u in t.llm.items()}
    ),
}


def test_every_clickhouse_query_has_a_check() -> None:
    assert sorted(p.name for p in (ROOT / "clickhouse").glob("*.sql")) == sorted(CHECKS)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_clickhouse_query_on_a_real_upload(
    name: str, clickhouse: Callable[[str], Rows], tally: Tally
) -> None:
    sql = (ROOT / "clickhouse" / name).read_text()
    rows = clickhouse(sql)
    assert rows, f"{name} returned nothing"
    assert CHECKS[name](rows, tally), (name, rows)


def test_clickhouse_queries_name_only_what_optel_sends() -> None:
    declared = set(ATTRIBUTES)
    for path in sorted((ROOT / "clickhouse").glob("*.sql")):
        sql = path.read_text()
        for key in re.findall(r"Attributes\['([^']+)'\]", sql):
            assert key in declared, f"{path.name}: {key} is not in the data dictionary"
        for metric in re.findall(r"MetricName = '([^']+)'", sql):
            assert metric in METRICS, f"{path.name}: {metric} is not an optel metric"


# --- Prometheus: the OTLP -> Prometheus name translation ---------------------------------------

UNITS = {"s": "seconds", "ms": "milliseconds", "By": "bytes", "1": "ratio"}


def prometheus_name(name: str) -> str:
    return re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9_:]", "_", name))


def prometheus_series() -> dict[str, set[str]]:
    """Each series name optel's metrics become, with the labels it may carry."""
    series: dict[str, set[str]] = {}
    resource = {prometheus_name(n) for n, a in ATTRIBUTES.items() if RESOURCE in a.scopes}
    for metric in METRICS.values():
        base = prometheus_name(metric.name)
        unit = "" if metric.unit.startswith("{") else UNITS.get(metric.unit, metric.unit)
        if unit and not base.endswith("_" + unit):
            base += "_" + unit
        labels = {prometheus_name(a) for a in metric.attributes} | resource | {"job", "instance"}
        if metric.instrument == COUNTER:
            series[base + "_total"] = labels
        elif metric.instrument == HISTOGRAM:
            series[base + "_sum"] = series[base + "_count"] = labels
            series[base + "_bucket"] = labels | {"le"}
    return series


def test_the_translation_gives_the_names_prometheus_shows() -> None:
    series = prometheus_series()
    assert "cli_command_invocations_total" in series or any(
        s.endswith("command_invocations_total") for s in series
    )
    assert "gen_ai_client_operation_duration_seconds_bucket" in series
    assert "gen_ai_client_token_usage_sum" in series


def _targets(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (p["title"], t.get("expr") or t.get("query"))
        for p in dashboard["panels"]
        for t in p["targets"]
    ]


def _grafana(text: str) -> str:
    return re.sub(r"\$__\w+", "5m", text).replace("$app", "x")


def test_every_promql_query_parses_and_uses_names_optel_emits() -> None:
    dashboard = json.loads((ROOT / "grafana" / "optel-metrics.json").read_text())
    series = prometheus_series()
    targets = _targets(dashboard)
    assert len(targets) >= 12
    variable = dashboard["templating"]["list"][1]["query"]["query"]
    for title, expr in [
        *targets,
        (
            "variable app",
            variable.replace("label_values(", "count by (job) (").replace(", job)", ")"),
        ),
    ]:
        query = Query(_grafana(expr))
        assert query.metrics, (title, expr)
        unknown = query.metrics - set(series)
        assert not unknown, f"{title}: {unknown} are not series optel's metrics become"
        allowed = set().union(*(series[m] for m in query.metrics))
        assert query.labels <= allowed, (
            f"{title}: labels {query.labels - allowed} are not on {query.metrics}"
        )


@pytest.mark.parametrize(
    "bad",
    ["sum(rate(x[5m])", 'x{a="b"', "rate(x[5])", "sum by (le x)", "x{a=b}", "x +"],
)
def test_the_promql_parser_rejects_broken_queries(bad: str) -> None:
    with pytest.raises(ValueError):
        Query(bad)


# --- Tempo: TraceQL ------------------------------------------------------------------------------

TRACEQL_FUNCTIONS = {
    "rate",
    "count_over_time",
    "quantile_over_time",
    "select",
    "by",
    "count",
    "avg",
    "max",
    "min",
    "sum",
}


def test_every_traceql_query_uses_attributes_optel_sends() -> None:
    dashboard = json.loads((ROOT / "grafana" / "optel-traces.json").read_text())
    scopes = {"span": {n for n, a in ATTRIBUTES.items() if SPAN in a.scopes or METRIC in a.scopes},
              "resource": {n for n, a in ATTRIBUTES.items() if RESOURCE in a.scopes}}  # fmt: skip
    targets = _targets(dashboard)
    assert len(targets) >= 6
    for title, query in targets:
        text = _grafana(query)
        assert text.count("{") == text.count("}") and text.count("(") == text.count(")"), title
        assert text.lstrip().startswith("{"), title
        for scope, name in re.findall(r"\b(span|resource)\.([a-z_][a-z0-9_.]*[a-z0-9_])", text):
            assert name in scopes[scope], (
                f"{title}: {scope}.{name} is not a {scope} attribute optel sends"
            )
        for function in re.findall(r"\|\s*([a-z_]+)\s*\(", text):
            assert function in TRACEQL_FUNCTIONS, f"{title}: {function}() is not a TraceQL function"
