"""The data dictionary: every metric, span, span event and attribute optel may send, with why.

This module is the source of the allow-list (an attribute not declared here, nor named by the
host in ``init(attributes=...)``, is dropped at flush; ``python -m optel.record.allowlist
src/optel/record/clean.py`` writes its names and types into the block the flush reads, so that
no run loads this module), the uploader's source of instrument kinds, units and bucket
boundaries, and the source of ``docs/telemetry-data.md``:
``python -m optel.record.dictionary docs/telemetry-data.md`` regenerates it and
``optel show`` prints it.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

# Attribute value types, as the OpenTelemetry specification names them.
STRING = "string"
INT = "int"
DOUBLE = "double"
BOOLEAN = "boolean"
STRING_ARRAY = "string[]"

# Where an attribute may appear.
RESOURCE = "resource"
SPAN = "span"
EVENT = "event"
METRIC = "metric"

COUNTER = "counter"
HISTOGRAM = "histogram"
GAUGE = "gauge"


class Attribute:
    """One attribute: its name, value type, where it may appear, and what it says."""

    __slots__ = ("description", "name", "scopes", "type")

    def __init__(self, name: str, type: str, scopes: tuple[str, ...], description: str) -> None:
        self.name = name
        self.type = type
        self.scopes = scopes
        self.description = description

    def __repr__(self) -> str:
        return f"Attribute({self.name!r}, {self.type!r})"


class Metric:
    """One instrument: kind (counter, histogram or gauge), unit, attributes and explicit buckets."""

    __slots__ = ("attributes", "buckets", "description", "instrument", "name", "unit")

    def __init__(
        self,
        name: str,
        instrument: str,
        unit: str,
        description: str,
        attributes: tuple[str, ...] = (),
        buckets: tuple[float, ...] | None = None,
    ) -> None:
        self.name = name
        self.instrument = instrument
        self.unit = unit
        self.description = description
        self.attributes = attributes
        self.buckets = buckets

    def __repr__(self) -> str:
        return f"Metric({self.name!r}, {self.instrument!r}, {self.unit!r})"


class SpanFamily:
    """One kind of span optel makes: how it is named, its span kind, and its attributes."""

    __slots__ = ("attributes", "description", "family", "kind", "name")

    def __init__(
        self, family: str, name: str, kind: str, description: str, attributes: tuple[str, ...]
    ) -> None:
        self.family = family
        self.name = name
        self.kind = kind
        self.description = description
        self.attributes = attributes

    def __repr__(self) -> str:
        return f"SpanFamily({self.family!r}, {self.name!r})"


class SpanEvent:
    """One kind of event recorded on a span."""

    __slots__ = ("attributes", "description", "name")

    def __init__(self, name: str, description: str, attributes: tuple[str, ...]) -> None:
        self.name = name
        self.description = description
        self.attributes = attributes


# The GenAI semantic conventions' advisory bucket boundaries (gen-ai-metrics.md).
GENAI_DURATION_BUCKETS = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
GENAI_TOKEN_BUCKETS = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip
# The HTTP semantic conventions' advisory bucket boundaries (http-metrics.md).
HTTP_DURATION_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    7.5,
    10.0,
)
# Commands and steps of a CLI last from milliseconds (a --help) to an hour (a long agent run);
# the SDK's default buckets are made for milliseconds and would put every command in the last one.
SECONDS_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
    600.0, 1800.0, 3600.0,
)  # fmt: skip

_R = (RESOURCE,)
_S = (SPAN,)
_SM = (SPAN, METRIC)
_M = (METRIC,)
_E = (EVENT,)

ATTRIBUTES: dict[str, Attribute] = {
    a.name: a
    for a in (
        # Resource: facts about the program and the machine, computed once per flush.
        Attribute("service.name", STRING, _R, "The app name the host passed to `optel.init()`."),
        Attribute("service.version", STRING, _R, "The host's version: `init(version=)`, else its installed distribution's version."),
        Attribute("os.type", STRING, _R, "Operating system family: `linux`, `darwin`, `windows`, `freebsd`, ..."),
        Attribute("os.version", STRING, _R, "Operating system release: the kernel release on Unix, the build on Windows."),
        Attribute("os.description", STRING, _R, "Distribution name and version (`PRETTY_NAME` of `/etc/os-release` on Linux, `macOS 14.5`, `Windows 10.0.22631`)."),
        Attribute("host.arch", STRING, _R, "CPU architecture: `amd64`, `arm64`, `x86`, `arm32`, `ppc64`, `s390x`, or the machine name."),
        Attribute("optel.host.cpu.count", INT, _R, "Number of logical CPUs."),
        Attribute("optel.host.memory.gib", INT, _R, "Physical memory in GiB, rounded to the nearest whole GiB."),
        Attribute("process.runtime.name", STRING, _R, "Python implementation: `cpython`, `pypy`, ..."),
        Attribute("process.runtime.version", STRING, _R, "Python version, `3.12.4`."),
        Attribute("process.executable.name", STRING, _R, "The app's name (`service.name`), as the CLI conventions ask of a command span; never a path."),
        Attribute("telemetry.sdk.name", STRING, _R, "`optel`: what recorded the data."),
        Attribute("telemetry.sdk.language", STRING, _R, "`python`."),
        Attribute("telemetry.sdk.version", STRING, _R, "optel's version."),
        Attribute("app.installation.id", STRING, _R, "A random uuid4 made on first use and kept in the user file; never derived from the machine."),
        Attribute("optel.install.id", STRING, _R, "The same id as `app.installation.id`, under its pre-1.0 name, kept for collectors and dashboards built on it; it will be removed in a later major version."),
        Attribute("optel.install.age_days", INT, _R, "Whole days since this install was first seen."),
        Attribute("optel.install.first_version", STRING, _R, "The host's version when this install was first seen."),
        Attribute("optel.consent.mode", STRING, _R, "The consent in force: `anonymous` or `identified` (`off` only in a local debug or audit log)."),
        Attribute("user.id", STRING, _R, "Identified mode only: the id the user typed or the host passed."),
        Attribute("optel.project.id", STRING, _R, "32 hex digits of SHA-256 over a random per-install salt and the project's git remote URL (else its absolute path): the same project gives the same id, and nobody can guess it from the URL."),
        Attribute("optel.cli.ci.name", STRING, _R, "The CI system detected (`github-actions`, `gitlab`, `generic`, ...)."),
        Attribute("optel.cli.agent.name", STRING, _R, "The coding agent detected (`claude-code`, `cursor`, `codex`, ...)."),
        # Spans and metrics.
        Attribute("command.name", STRING, _SM, "The command path as the user typed it, without arguments: `deploy`, `db migrate`."),
        Attribute("process.exit.code", INT, _S, "The command's exit code, on every command span: what it said (`sys.exit()`, the int an `@optel.command(exit_code=True)` returned, an instrumented CLI framework), else 1 for an uncaught exception (130 for Ctrl-C) and 0 for success."),
        Attribute("optel.cli.command.options", STRING_ARRAY, _S, "The names of the options given on the command line (`--verbose`), never their values."),
        Attribute("step.name", STRING, _SM, "The step's name: the decorated function's qualified name unless given."),
        Attribute("request.name", STRING, _SM, "The name given to `@optel.timed(name)`."),
        Attribute("outcome", STRING, _M, "`success` or `failure`."),
        Attribute("error.type", STRING, _SM, "The exception's class (module-qualified outside builtins) or the error code."),
        Attribute("gen_ai.operation.name", STRING, _SM, "The GenAI operation: `chat`, `text_completion`, `embeddings`, ..."),
        Attribute("gen_ai.provider.name", STRING, _SM, "The GenAI provider: `openai`, `anthropic`, ..."),
        Attribute("gen_ai.request.model", STRING, _SM, "The model asked for; a name not in the list of public models becomes `custom`."),
        Attribute("gen_ai.request.max_tokens", INT, _S, "The most tokens the request allowed the response (`max_tokens`, `max_completion_tokens`, `max_output_tokens`)."),
        Attribute("gen_ai.request.stream", BOOLEAN, _S, "`true` on a streamed request; absent otherwise."),
        Attribute("gen_ai.response.id", STRING, _S, "The provider's id of the response (`chatcmpl-...`, `msg_...`, `resp_...`), after the scrubber: an id that looks like a key (most of OpenAI's) arrives as `<secret>`."),
        Attribute("gen_ai.response.time_to_first_chunk", DOUBLE, _S, "Streamed requests: seconds from the request to the first chunk of the response."),
        Attribute("gen_ai.response.model", STRING, _SM, "The model that answered; a name not in the list of public models becomes `custom`."),
        Attribute("gen_ai.usage.input_tokens", INT, _S, "Tokens in the prompt, cached ones included, as the conventions count them (the number only, never the text)."),
        Attribute("gen_ai.usage.output_tokens", INT, _S, "Tokens in the response (the number only, never the text)."),
        Attribute("gen_ai.usage.cache_read.input_tokens", INT, _S, "Prompt tokens served from the provider's cache."),
        Attribute("gen_ai.usage.cache_creation.input_tokens", INT, _S, "Prompt tokens written to the provider's cache."),
        Attribute("gen_ai.usage.reasoning.output_tokens", INT, _S, "Response tokens spent on reasoning, when the provider reports them (included in the output tokens)."),
        Attribute("gen_ai.response.finish_reasons", STRING_ARRAY, _S, "Why the model stopped: `stop`, `length`, `tool_calls`, `end_turn`, ..."),
        Attribute("gen_ai.token.type", STRING, _M, "`input` or `output`."),
        Attribute("reason", STRING, _M, "Why the spool dropped records: `size`, `age`, `corrupt`, `invalid`, `rejected_<HTTP status>`."),
        Attribute("http.response.status_code", INT, _SM, "The HTTP status of a request made with an instrumented HTTP client, or of a failed LLM API call (`429`, `500`, ...)."),
        Attribute("http.request.method", STRING, _SM, "The HTTP method of a request made with an instrumented HTTP client (`GET`, `POST`, ...; `_OTHER` for a method the semantic conventions do not know). Never its URL, path or query."),
        Attribute("server.address", STRING, _SM, "The host a request went to, only when the maintainer declared that host (`optel.instrument(..., http_hosts=[...])`); absent for any other host."),
        Attribute("server.port", INT, _SM, "The port of a request to a declared host (`server.address`), `443` for https unless the URL says otherwise."),
        Attribute("optel.cli.summary.commands", INT, _S, "Commands run in this process."),
        Attribute("optel.cli.summary.steps", INT, _S, "Steps run in this process."),
        Attribute("optel.cli.summary.llm_requests", INT, _S, "LLM requests made in this process."),
        Attribute("optel.cli.summary.input_tokens", INT, _S, "Prompt tokens used in this process."),
        Attribute("optel.cli.summary.output_tokens", INT, _S, "Response tokens used in this process."),
        Attribute("optel.cli.summary.user_inputs", INT, _S, "User inputs counted with `optel.count_input()`."),
        Attribute("optel.cli.summary.errors", INT, _S, "Exceptions recorded in this process (each counted once, however many spans it left)."),
        Attribute("optel.cli.summary.models", STRING_ARRAY, _S, "The models used, sorted, after the public-name check."),
        # Span events.
        Attribute("exception.type", STRING, _E, "The exception's class, as in `error.type`."),
        Attribute("exception.message", STRING, _E, "The exception's message after scrubbing (no locals)."),
        Attribute("exception.stacktrace", STRING, _E, "The frames of the host's own package (or of its script, as `__main__`) the exception went through, one `module:function:line` per line, outermost first, at most the innermost 20: no frames of optel, the standard library or other packages, no file names, no locals."),
    )
}  # fmt: skip

_GENAI_METRIC_ATTRS = (
    "gen_ai.operation.name",
    "gen_ai.provider.name",
    "gen_ai.request.model",
    "gen_ai.response.model",
)

METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("optel.cli.command.invocations", COUNTER, "{invocation}", "Commands run.", ("command.name", "outcome")),
        Metric("optel.cli.command.duration", HISTOGRAM, "s", "How long a command ran.", ("command.name", "outcome", "error.type"), SECONDS_BUCKETS),
        Metric("optel.cli.step.duration", HISTOGRAM, "s", "How long a step ran.", ("step.name", "error.type"), SECONDS_BUCKETS),
        Metric("optel.cli.user.inputs", COUNTER, "{input}", "User inputs (answers, prompts typed), counted with `optel.count_input()`.", ()),
        Metric("optel.cli.errors", COUNTER, "{error}", "Exceptions raised through a command, step, LLM call or timed request (each exception counts once), and commands that ended with a non-zero exit code (typed by the code).", ("error.type",)),
        Metric("optel.cli.session.duration", HISTOGRAM, "s", "From `optel.init()` to `optel.shutdown()`, once per process.", (), SECONDS_BUCKETS),
        Metric("process.uptime", GAUGE, "s", "Seconds since `optel.init()`, with every flush that carries records: at shutdown, and while a long-running process (`flush_interval`) is active (semantic conventions).", ()),
        Metric("optel.request.duration", HISTOGRAM, "s", "How long a `@optel.timed(name)` call ran.", ("request.name", "error.type"), SECONDS_BUCKETS),
        Metric("http.client.request.duration", HISTOGRAM, "s", "HTTP client request duration (semantic conventions): from sending the request to receiving the response headers, per request an instrumented HTTP client made (not those an instrumented LLM call made).", ("http.request.method", "http.response.status_code", "server.address", "server.port", "error.type"), HTTP_DURATION_BUCKETS),
        Metric("gen_ai.client.operation.duration", HISTOGRAM, "s", "GenAI operation duration (semantic conventions).", (*_GENAI_METRIC_ATTRS, "error.type"), GENAI_DURATION_BUCKETS),
        Metric("gen_ai.client.operation.time_to_first_chunk", HISTOGRAM, "s", "Streamed GenAI requests: time from the request to the first chunk of the response (semantic conventions).", _GENAI_METRIC_ATTRS, GENAI_DURATION_BUCKETS),
        Metric("optel.spool.dropped", COUNTER, "{record}", "Records the spool dropped before they could be sent (over its size or age bound, rejected by the collector, corrupt), reported with the next successful upload.", ("reason",)),
        Metric("gen_ai.client.token.usage", HISTOGRAM, "{token}", "Input and output tokens used per GenAI operation (semantic conventions).", (*_GENAI_METRIC_ATTRS, "gen_ai.token.type"), GENAI_TOKEN_BUCKETS),
    )
}  # fmt: skip

SPANS: tuple[SpanFamily, ...] = (
    SpanFamily("command", "{command.name}", "internal", "One per `@optel.command()` call (or per command an instrumented CLI framework runs); the root of its trace. Named by the command path, as the CLI semantic conventions allow; `process.executable.name` is on the resource, and the conventions' `process.pid` is not sent (it says nothing about how a tool is used, and could tie a run to local logs).", ("command.name", "optel.cli.command.options", "process.exit.code", "error.type")),
    SpanFamily("step", "{step.name}", "internal", "One per `@optel.step()` call, a child of the span around it.", ("step.name", "error.type")),
    SpanFamily("llm", "{gen_ai.operation.name} {gen_ai.request.model}", "client", "One per LLM request (`@optel.llm_call()` or an instrumented client), as the GenAI semantic conventions name it.", ("gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model", "gen_ai.request.max_tokens", "gen_ai.request.stream", "gen_ai.response.model", "gen_ai.response.id", "gen_ai.response.time_to_first_chunk", "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.reasoning.output_tokens", "gen_ai.response.finish_reasons", "http.response.status_code", "error.type")),
    SpanFamily("http", "{http.request.method}", "client", "One per request an instrumented HTTP client (httpx, requests, aiohttp) made outside an instrumented LLM call, ending when the response headers arrived; named by the method (`HTTP` for `_OTHER`), as the HTTP semantic conventions name it without a URL template.", ("http.request.method", "http.response.status_code", "server.address", "server.port", "error.type")),
    SpanFamily("request", "{request.name}", "internal", "One per `@optel.timed(name)` call.", ("request.name", "error.type")),
    SpanFamily("event", "{event name}", "internal", "A zero-length span for `optel.event()` called outside any span (inside one it is a span event instead); carries only attributes the host declared.", ()),
    SpanFamily("session", "optel.cli.session", "internal", "One per process, at `optel.shutdown()`, from `init()` to shutdown: the session summary.", ("optel.cli.summary.commands", "optel.cli.summary.steps", "optel.cli.summary.llm_requests", "optel.cli.summary.input_tokens", "optel.cli.summary.output_tokens", "optel.cli.summary.user_inputs", "optel.cli.summary.errors", "optel.cli.summary.models")),
)  # fmt: skip

SPAN_EVENTS: tuple[SpanEvent, ...] = (
    SpanEvent("exception", "On a span whose call raised: the type, the scrubbed message and the frames of the host's own package.", ("exception.type", "exception.message", "exception.stacktrace")),
    SpanEvent("{event name}", "`optel.event(name, **attributes)` inside a span; carries only attributes the host declared.", ()),
)  # fmt: skip

SPAN_KINDS = ("internal", "client", "server")


def names_in(scope: str) -> frozenset[str]:
    """The attribute names declared for ``scope`` (``resource``, ``span``, ``event``, ``metric``)."""
    return frozenset(name for name, a in ATTRIBUTES.items() if scope in a.scopes)


# --- rendering docs/telemetry-data.md ---------------------------------------------------------


def _code_list(names: Iterable[str]) -> str:
    return ", ".join(f"`{n}`" for n in names) or "none"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render() -> str:
    """The Markdown text of ``docs/telemetry-data.md``."""
    sections = (_intro, _resource_section, _span_section, _metric_section, _attribute_section)
    return "\n".join(line for section in sections for line in section())


def _intro() -> list[str]:
    return [
        "# What optel records",
        "",
        "<!-- Generated from src/optel/record/dictionary.py by",
        "     `python -m optel.record.dictionary docs/telemetry-data.md`. Do not edit by hand. -->",
        "",
        "This is the complete list. An attribute that is not in it is dropped before anything is",
        "written or sent, except attribute names the host app declares itself with",
        "`optel.init(attributes=[...])`. Every string value but the names the maintainer declares",
        "passes the scrubber first (paths, URLs, e-mail and IP addresses, keys and tokens are",
        "replaced), prompt and response text is never recorded, and model names that are not in the",
        "list of public models become `custom`.",
        "Nothing is recorded at all unless consent was given (or a local debug/audit log was asked for).",
        "",
    ]


def _resource_section() -> list[str]:
    out = [
        "## Resource",
        "",
        "Sent once with each batch. Never: host name, user name, IP address, paths.",
        "",
        "| Attribute | Type | Description |",
        "| --- | --- | --- |",
    ]
    for a in ATTRIBUTES.values():
        if RESOURCE in a.scopes:
            out.append(f"| `{a.name}` | {a.type} | {_cell(a.description)} |")
    return [*out, ""]


def _span_section() -> list[str]:
    out = [
        "## Spans",
        "",
        "| Span | Name | Kind | Attributes | Description |",
        "| --- | --- | --- | --- | --- |",
    ]
    for s in SPANS:
        out.append(
            f"| {s.family} | `{s.name}` | {s.kind} | {_code_list(s.attributes)} | {_cell(s.description)} |"
        )
    out += [
        "",
        "Parent and child follow the call nesting. A failed call has status error, `error.type`",
        "and an `exception` event; the exception propagates unchanged.",
        "",
        "### Span events",
        "",
        "| Event | Attributes | Description |",
        "| --- | --- | --- |",
    ]
    for e in SPAN_EVENTS:
        out.append(f"| `{e.name}` | {_code_list(e.attributes)} | {_cell(e.description)} |")
    return [*out, ""]


def _metric_section() -> list[str]:
    out = [
        "## Metrics",
        "",
        "Delta temporality; each measurement keeps the time it was taken.",
        "",
        "| Metric | Instrument | Unit | Attributes | Description |",
        "| --- | --- | --- | --- | --- |",
    ]
    for m in METRICS.values():
        out.append(
            f"| `{m.name}` | {m.instrument} | `{m.unit}` | {_code_list(m.attributes)} | {_cell(m.description)} |"
        )
    out += ["", "Histogram bucket boundaries:", ""]
    for m in METRICS.values():
        if m.buckets is not None:
            out.append(f"- `{m.name}`: {', '.join(_number(b) for b in m.buckets)}")
    return [*out, ""]


def _attribute_section() -> list[str]:
    out = [
        "## Attributes of spans, events and metrics",
        "",
        "| Attribute | Type | On | Description |",
        "| --- | --- | --- | --- |",
    ]
    for a in ATTRIBUTES.values():
        if a.scopes != (RESOURCE,):
            out.append(
                f"| `{a.name}` | {a.type} | {', '.join(a.scopes)} | {_cell(a.description)} |"
            )
    return [*out, ""]


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) and not isinstance(value, float) else repr(value)


def main(argv: list[str] | None = None) -> int:
    """``python -m optel.record.dictionary [--check] [PATH]``: write the Markdown to PATH (or print
    it); ``--check``: exit 1 when PATH differs."""
    from optel.privacy.generated import write_or_check

    return write_or_check(argv, "optel.record.dictionary", render)


if __name__ == "__main__":
    sys.exit(main())
