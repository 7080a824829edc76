"""What the plots show, counted from a stream of spool-schema records in memory that does not grow with it.

Durations and token counts go into log-scale histograms (about 2% relative error on a percentile)
rather than lists; installs are kept as ids per day, which grows with installs and days, not with
spans.
"""

from __future__ import annotations

import math

from optel.report import names as n

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

DAY_NS = 86_400 * 10**9
_BASE = math.log(1.04)


class LogHistogram:
    """Counts of positive values in buckets 4% wide: percentiles in constant memory."""

    __slots__ = ("buckets", "count", "zeros")

    def __init__(self) -> None:
        self.buckets: dict[int, int] = {}
        self.count = 0
        self.zeros = 0

    def add(self, value: float) -> None:
        self.count += 1
        if value <= 0:
            self.zeros += 1
            return
        key = math.floor(math.log(value) / _BASE)
        self.buckets[key] = self.buckets.get(key, 0) + 1

    def percentile(self, q: float) -> float:
        """The value below which a share `q` (0-1) of the values fall (the bucket's middle)."""
        if not self.count:
            return 0.0
        rank = q * self.count
        seen = self.zeros
        if seen >= rank:
            return 0.0
        for key in sorted(self.buckets):
            seen += self.buckets[key]
            if seen >= rank:
                return math.exp((key + 0.5) * _BASE)
        return math.exp((max(self.buckets) + 0.5) * _BASE)


class Usage:
    """Runs (or calls), failures and a duration histogram for one command or one model."""

    __slots__ = ("durations", "failures", "input_tokens", "output_tokens", "runs")

    def __init__(self) -> None:
        self.runs = 0
        self.failures = 0
        self.durations = LogHistogram()
        self.input_tokens = 0
        self.output_tokens = 0


class Tally:
    """Installs by day, version, consent, OS and Python; commands, errors, LLM calls."""

    def __init__(self) -> None:
        self.resource: Mapping[str, object] = {}
        self.install = "(unknown)"
        self.installs_by_day: dict[int, set[str]] = {}
        self.versions_by_day: dict[int, dict[str, set[str]]] = {}
        self.facts: dict[str, dict[str, set[str]]] = {
            "consent": {},
            "os": {},
            "python": {},
            "version": {},
        }
        self.commands: dict[str, Usage] = {}
        self.errors: dict[str, int] = {}
        self.llm: dict[tuple[str, str], Usage] = {}
        self.metrics: dict[str, int] = {}
        self.spans = 0
        self.bad = 0

    def add_all(self, records: Iterable[Mapping[str, object]]) -> Tally:
        for record in records:
            self.add(record)
        return self

    def add(self, record: Mapping[str, object]) -> None:
        kind = record.get("t")
        if kind == "span":
            self._span(record)
        elif kind == "metric":
            name = str(record.get("name"))
            self.metrics[name] = self.metrics.get(name, 0) + 1
        elif kind is None and "schema" in record:
            self._header(record.get("resource"))
        elif kind != "end":
            self.bad += 1

    def _header(self, resource: object) -> None:
        self.resource = resource if isinstance(resource, dict) else {}
        self.install = str(self.resource.get(n.INSTALL_ID) or "(unknown)")
        python = f"{self.resource.get(n.RUNTIME_NAME, '?')} {_minor(self.resource.get(n.RUNTIME_VERSION))}"
        os_name = self.resource.get(n.OS_DESCRIPTION) or self.resource.get(n.OS_TYPE)
        for fact, value in (
            ("consent", self.resource.get(n.CONSENT_MODE)), ("os", os_name),
            ("python", python), ("version", self.resource.get(n.VERSION)),
        ):  # fmt: skip
            self.facts[fact].setdefault(str(value or "(unknown)"), set()).add(self.install)

    def _span(self, span: Mapping[str, object]) -> None:
        self.spans += 1
        start, end = span.get("start_ns"), span.get("end_ns")
        if not isinstance(start, int) or not isinstance(end, int):
            self.bad += 1
            return
        day = start // DAY_NS
        self.installs_by_day.setdefault(day, set()).add(self.install)
        version = str(self.resource.get(n.VERSION) or "(unknown)")
        self.versions_by_day.setdefault(day, {}).setdefault(version, set()).add(self.install)
        attrs = span.get("attributes")
        attributes: Mapping[str, object] = attrs if isinstance(attrs, dict) else {}
        failed = span.get("status") == "error"
        seconds = max(end - start, 0) / 1e9
        root = not span.get("parent_span_id")
        command = attributes.get(n.COMMAND)
        if root and isinstance(command, str):
            self._use(self.commands.setdefault(command, Usage()), failed, seconds)
        provider = attributes.get(n.PROVIDER)
        if isinstance(provider, str):
            key = (provider, str(attributes.get(n.MODEL) or "(unknown)"))
            usage = self.llm.setdefault(key, Usage())
            self._use(usage, failed, seconds)
            usage.input_tokens += _count(attributes.get(n.INPUT_TOKENS))
            usage.output_tokens += _count(attributes.get(n.OUTPUT_TOKENS))
        # An exception crosses every span it leaves: counted where it ends a command or an LLM call.
        if failed and (root or isinstance(provider, str)):
            error = str(attributes.get(n.ERROR_TYPE) or "(unknown)")
            self.errors[error] = self.errors.get(error, 0) + 1

    @staticmethod
    def _use(usage: Usage, failed: bool, seconds: float) -> None:
        usage.runs += 1
        usage.failures += failed
        usage.durations.add(seconds)


def _minor(version: object) -> str:
    return ".".join(str(version).split(".")[:2]) if version else "?"


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
