"""The HTML page: one self-contained file, its plots inline SVG, no script, nothing fetched when viewed."""

from __future__ import annotations

from datetime import date, timedelta
from html import escape

from optel.report.svg import FAILED, PALETTE, columns, hbars, legend

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from optel.report.tally import Tally, Usage

DAYS_SHOWN = 90
WEEKS_SHOWN = 104
VERSIONS_SHOWN = 7
_EPOCH = date(1970, 1, 1)

_STYLE = """
body{font:14px system-ui,sans-serif;margin:24px;color:#222;background:#fff;max-width:960px}
h1{font-size:22px}h2{font-size:17px;margin:28px 0 6px}section{margin-bottom:18px}
svg.chart{display:block;font-size:12px;fill:#222}svg .tick{font-size:10px}
.legend{margin:4px 0}.key{margin-right:14px}.key i{display:inline-block;width:10px;height:10px;margin-right:4px}
.empty{color:#777;font-style:italic}table{border-collapse:collapse}td,th{padding:2px 10px;text-align:right}
td:first-child,th:first-child{text-align:left}
"""


def render(tally: Tally, sources: Sequence[str]) -> str:
    """The whole page for `tally`, read from `sources` (shown as given)."""
    body = [
        f"<h1>optel report</h1><p>{tally.spans:,} spans and {sum(tally.metrics.values()):,} metric points "
        f"from {escape(', '.join(sources))}{_days(tally)}.</p>",
    ]
    if tally.bad:
        body.append(f"<p>Skipped {tally.bad:,} line(s) or record(s) that are not telemetry.</p>")
    for plot_id, title, draw in _PLOTS:
        body.append(
            f'<section class="plot" data-plot="{plot_id}"><h2>{escape(title)}</h2>{draw(tally)}</section>'
        )
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        # Nothing but inline styles may load: the page cannot reach the network, whatever a label holds.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"<title>optel report</title><style>{_STYLE}</style></head><body>{''.join(body)}</body></html>\n"
    )


def _days(tally: Tally) -> str:
    if not tally.installs_by_day:
        return ""
    first, last = min(tally.installs_by_day), max(tally.installs_by_day)
    return f", {_day(first)} to {_day(last)}"


def _day(day: int) -> str:
    return (_EPOCH + timedelta(days=day)).isoformat()


def _week(day: int) -> int:
    return (day - 4) // 7  # weeks start on Monday; 1970-01-05 was one


def _empty() -> str:
    return '<p class="empty">No data.</p>'


def installs_per_day(tally: Tally) -> str:
    if not tally.installs_by_day:
        return _empty()
    last = max(tally.installs_by_day)
    days = list(range(max(min(tally.installs_by_day), last - DAYS_SHOWN + 1), last + 1))
    counts = [float(len(tally.installs_by_day.get(d, ()))) for d in days]
    return columns([_day(d)[5:] for d in days], [("installs", counts)])


def installs_per_week(tally: Tally) -> str:
    weeks: dict[int, set[str]] = {}
    for day, installs in tally.installs_by_day.items():
        weeks.setdefault(_week(day), set()).update(installs)
    if not weeks:
        return _empty()
    shown = list(range(max(min(weeks), max(weeks) - WEEKS_SHOWN + 1), max(weeks) + 1))
    labels = [_day(w * 7 + 4) for w in shown]
    return columns(labels, [("installs", [float(len(weeks.get(w, ()))) for w in shown])])


def version_adoption(tally: Tally) -> str:
    if not tally.versions_by_day:
        return _empty()
    ranked = sorted(tally.facts["version"], key=lambda v: -len(tally.facts["version"][v]))
    shown = ranked[:VERSIONS_SHOWN]
    last = max(tally.versions_by_day)
    days = list(range(max(min(tally.versions_by_day), last - DAYS_SHOWN + 1), last + 1))
    series = []
    for version in [*shown, "other"]:
        values = []
        for d in days:
            by_version = tally.versions_by_day.get(d, {})
            if version == "other":
                values.append(float(sum(len(i) for v, i in by_version.items() if v not in shown)))
            else:
                values.append(float(len(by_version.get(version, ()))))
        if any(values):
            series.append((version, values))
    return legend([s[0] for s in series]) + columns([_day(d)[5:] for d in days], series)


def _runs(usages: Mapping[str, Usage], noun: str = "runs") -> str:
    if not usages:
        return _empty()
    rows = [
        (
            name,
            (u.runs - u.failures, u.failures),
            f"{u.runs:,} {noun}, {100 * u.failures / u.runs:.1f}% failed",
        )
        for name, u in sorted(usages.items(), key=lambda kv: (-kv[1].runs, kv[0]))
    ]
    return legend(["succeeded", "failed"], (PALETTE[0], FAILED)) + hbars(rows, (PALETTE[0], FAILED))


def _percentiles(usages: Mapping[str, Usage]) -> str:
    if not usages:
        return _empty()
    rows = []
    for name, u in sorted(usages.items(), key=lambda kv: (-kv[1].runs, kv[0])):
        p50, p90, p99 = (u.durations.percentile(q) for q in (0.5, 0.9, 0.99))
        note = f"p50 {_seconds(p50)}, p90 {_seconds(p90)}, p99 {_seconds(p99)}"
        rows.append((name, (p50, p90 - p50, p99 - p90), note))
    colours = (PALETTE[0], PALETTE[4], "#b8daf0")
    return legend(["p50", "p90", "p99"], colours) + hbars(rows, colours)


def _seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def commands(tally: Tally) -> str:
    return _runs(tally.commands)


def command_durations(tally: Tally) -> str:
    return _percentiles(tally.commands)


def errors(tally: Tally) -> str:
    rows = [
        (k, (float(v),), f"{v:,}")
        for k, v in sorted(tally.errors.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    return hbars(rows, (FAILED,)) if rows else _empty()


def _models(tally: Tally) -> dict[str, Usage]:
    return {f"{provider} / {model}": u for (provider, model), u in tally.llm.items()}


def llm_calls(tally: Tally) -> str:
    return _runs(_models(tally), "calls")


def llm_tokens(tally: Tally) -> str:
    models = _models(tally)
    rows = [
        (
            name,
            (float(u.input_tokens), float(u.output_tokens)),
            f"{u.input_tokens:,} in, {u.output_tokens:,} out",
        )
        for name, u in sorted(
            models.items(), key=lambda kv: -(kv[1].input_tokens + kv[1].output_tokens)
        )
    ]
    return legend(["input", "output"]) + hbars(rows) if rows else _empty()


def llm_latency(tally: Tally) -> str:
    return _percentiles(_models(tally))


def _installs(fact: str) -> Callable[[Tally], str]:
    def draw(tally: Tally) -> str:
        counts = tally.facts[fact]
        rows = [
            (k, (float(len(v)),), f"{len(v):,}")
            for k, v in sorted(counts.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        ]
        return hbars(rows) if rows else _empty()

    return draw


_PLOTS: tuple[tuple[str, str, Callable[[Tally], str]], ...] = (
    ("installs-day", "Active installs per day", installs_per_day),
    ("installs-week", "Active installs per week (from Monday)", installs_per_week),
    ("versions", "Version adoption: installs per day by version", version_adoption),
    ("commands", "Commands and their failure rates", commands),
    ("errors", "Error types (failed commands and LLM calls)", errors),
    ("durations", "Command duration percentiles", command_durations),
    ("llm-calls", "LLM calls by provider and model", llm_calls),
    ("llm-tokens", "LLM tokens by provider and model", llm_tokens),
    ("llm-latency", "LLM latency percentiles", llm_latency),
    ("consent", "Consent modes (installs)", _installs("consent")),
    ("os", "Operating systems (installs)", _installs("os")),
    ("python", "Python versions (installs)", _installs("python")),
)
