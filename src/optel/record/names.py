"""Every attribute, metric and span name optel emits, as constants: the conventions' and optel's own.

Names from the OpenTelemetry semantic conventions are spelled as release ``SEMCONV_VERSION``
defines them; ``tests/test_semconv_conformance.py`` checks them against that release's model
files (kept in ``tests/data/semconv/``), so a misspelling or a drift fails CI. Names the
conventions do not define live in optel's own namespace, ``optel.*``: a name under a
conventions' namespace (``cli.``, ``host.``, ``app.``) that the conventions do not define would
read as theirs. Code refers to these constants instead of repeating the strings.
"""

from __future__ import annotations

SEMCONV_VERSION = "1.41.1"
SCHEMA_URL = f"https://opentelemetry.io/schemas/{SEMCONV_VERSION}"

# --- semantic conventions: resource ---------------------------------------------------------
SERVICE_NAME = "service.name"
SERVICE_VERSION = "service.version"
OS_TYPE = "os.type"
OS_VERSION = "os.version"
OS_DESCRIPTION = "os.description"
HOST_ARCH = "host.arch"
PROCESS_RUNTIME_NAME = "process.runtime.name"
PROCESS_RUNTIME_VERSION = "process.runtime.version"
PROCESS_EXECUTABLE_NAME = "process.executable.name"
TELEMETRY_SDK_NAME = "telemetry.sdk.name"
TELEMETRY_SDK_LANGUAGE = "telemetry.sdk.language"
TELEMETRY_SDK_VERSION = "telemetry.sdk.version"
APP_INSTALLATION_ID = "app.installation.id"
USER_ID = "user.id"

# --- semantic conventions: spans, events, metrics ----------------------------------------------
ERROR_TYPE = "error.type"
PROCESS_EXIT_CODE = "process.exit.code"
HTTP_RESPONSE_STATUS_CODE = "http.response.status_code"
HTTP_REQUEST_METHOD = "http.request.method"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
HTTP_CLIENT_REQUEST_DURATION = "http.client.request.duration"
PROCESS_UPTIME = "process.uptime"
EXCEPTION = "exception"  # the span event
EXCEPTION_TYPE = "exception.type"
EXCEPTION_MESSAGE = "exception.message"
EXCEPTION_STACKTRACE = "exception.stacktrace"

GEN_AI_OPERATION_NAME = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME = "gen_ai.provider.name"
GEN_AI_REQUEST_MODEL = "gen_ai.request.model"
GEN_AI_REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens"
GEN_AI_REQUEST_STREAM = "gen_ai.request.stream"
GEN_AI_RESPONSE_MODEL = "gen_ai.response.model"
GEN_AI_RESPONSE_ID = "gen_ai.response.id"
GEN_AI_RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK = "gen_ai.response.time_to_first_chunk"
GEN_AI_USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS = "gen_ai.usage.cache_creation.input_tokens"
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS = "gen_ai.usage.reasoning.output_tokens"
GEN_AI_TOKEN_TYPE = "gen_ai.token.type"

GEN_AI_CLIENT_OPERATION_DURATION = "gen_ai.client.operation.duration"
GEN_AI_CLIENT_TOKEN_USAGE = "gen_ai.client.token.usage"
GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK = "gen_ai.client.operation.time_to_first_chunk"

# --- optel's own -----------------------------------------------------------------------------
# Kept beside app.installation.id for collectors and dashboards built before it was sent (0.x).
OPTEL_INSTALL_ID = "optel.install.id"
OPTEL_INSTALL_AGE_DAYS = "optel.install.age_days"
OPTEL_INSTALL_FIRST_VERSION = "optel.install.first_version"
OPTEL_CONSENT_MODE = "optel.consent.mode"
OPTEL_PROJECT_ID = "optel.project.id"
OPTEL_HOST_CPU_COUNT = "optel.host.cpu.count"
OPTEL_HOST_MEMORY_GIB = "optel.host.memory.gib"
OPTEL_CI_NAME = "optel.cli.ci.name"
OPTEL_AGENT_NAME = "optel.cli.agent.name"
OPTEL_COMMAND_OPTIONS = "optel.cli.command.options"

COMMAND_NAME = "command.name"
STEP_NAME = "step.name"
REQUEST_NAME = "request.name"
OUTCOME = "outcome"
REASON = "reason"

OPTEL_COMMAND_INVOCATIONS = "optel.cli.command.invocations"
OPTEL_COMMAND_DURATION = "optel.cli.command.duration"
OPTEL_STEP_DURATION = "optel.cli.step.duration"
OPTEL_USER_INPUTS = "optel.cli.user.inputs"
OPTEL_ERRORS = "optel.cli.errors"
OPTEL_SESSION_DURATION = "optel.cli.session.duration"
OPTEL_REQUEST_DURATION = "optel.request.duration"
OPTEL_SPOOL_DROPPED = "optel.spool.dropped"

OPTEL_SESSION = "optel.cli.session"  # the session summary span's name
OPTEL_SUMMARY_COMMANDS = "optel.cli.summary.commands"
OPTEL_SUMMARY_STEPS = "optel.cli.summary.steps"
OPTEL_SUMMARY_LLM_REQUESTS = "optel.cli.summary.llm_requests"
OPTEL_SUMMARY_INPUT_TOKENS = "optel.cli.summary.input_tokens"
OPTEL_SUMMARY_OUTPUT_TOKENS = "optel.cli.summary.output_tokens"
OPTEL_SUMMARY_USER_INPUTS = "optel.cli.summary.user_inputs"
OPTEL_SUMMARY_ERRORS = "optel.cli.summary.errors"
OPTEL_SUMMARY_MODELS = "optel.cli.summary.models"

# Names optel 0.x sent before it moved its own names out of the conventions' namespaces: a spool
# file written by such a version is uploaded under the new names (optel.upload.convert).
RENAMED = {
    "host.cpu.count": OPTEL_HOST_CPU_COUNT,
    "host.memory.gib": OPTEL_HOST_MEMORY_GIB,
    "cli.ci.name": OPTEL_CI_NAME,
    "cli.agent.name": OPTEL_AGENT_NAME,
    "cli.command.options": OPTEL_COMMAND_OPTIONS,
    "cli.command.invocations": OPTEL_COMMAND_INVOCATIONS,
    "cli.command.duration": OPTEL_COMMAND_DURATION,
    "cli.step.duration": OPTEL_STEP_DURATION,
    "cli.user.inputs": OPTEL_USER_INPUTS,
    "cli.errors": OPTEL_ERRORS,
    "cli.session.duration": OPTEL_SESSION_DURATION,
    "app.request.duration": OPTEL_REQUEST_DURATION,
    "cli.session": OPTEL_SESSION,
    "cli.summary.commands": OPTEL_SUMMARY_COMMANDS,
    "cli.summary.steps": OPTEL_SUMMARY_STEPS,
    "cli.summary.llm_requests": OPTEL_SUMMARY_LLM_REQUESTS,
    "cli.summary.input_tokens": OPTEL_SUMMARY_INPUT_TOKENS,
    "cli.summary.output_tokens": OPTEL_SUMMARY_OUTPUT_TOKENS,
    "cli.summary.user_inputs": OPTEL_SUMMARY_USER_INPUTS,
    "cli.summary.errors": OPTEL_SUMMARY_ERRORS,
    "cli.summary.models": OPTEL_SUMMARY_MODELS,
}
