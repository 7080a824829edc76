"""The attribute and span names the report reads, found in the data dictionary rather than written out.

Each name is looked up by the part of it that says what it is (`install.id`, `usage.input_tokens`),
so that a move of optel's own names into another namespace follows here without an edit; a
lookup that finds none or several is an error at import, which the report's tests catch.
"""

from __future__ import annotations

from optel.record.dictionary import ATTRIBUTES, RESOURCE, SPANS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable


def _family(family: str) -> tuple[str, tuple[str, ...]]:
    for span in SPANS:
        if span.family == family:
            return span.name, span.attributes
    raise LookupError(f"no span family {family!r} in the data dictionary")


def _one(candidates: Iterable[str], suffix: str) -> str:
    names = [n for n in candidates if n == suffix or n.endswith("." + suffix)]
    if len(names) != 1:
        raise LookupError(
            f"the data dictionary has {len(names)} names ending in {suffix!r}: {names}"
        )
    return names[0]


_RESOURCE = [name for name, a in ATTRIBUTES.items() if RESOURCE in a.scopes]
_COMMAND_TEMPLATE, _COMMAND_ATTRS = _family("command")
_LLM_TEMPLATE, _LLM_ATTRS = _family("llm")

# The command span is named after this attribute ("{command.name}").
COMMAND = _COMMAND_TEMPLATE.strip("{}")
ERROR_TYPE = _one(_COMMAND_ATTRS, "error.type")
SESSION_SPAN = _family("session")[0]

PROVIDER = _one(_LLM_ATTRS, "provider.name")
OPERATION = _one(_LLM_ATTRS, "operation.name")
MODEL = _one(_LLM_ATTRS, "request.model")
INPUT_TOKENS = _one(_LLM_ATTRS, "usage.input_tokens")
OUTPUT_TOKENS = _one(_LLM_ATTRS, "usage.output_tokens")

SERVICE_NAME = _one(_RESOURCE, "service.name")
VERSION = _one(_RESOURCE, "service.version")
INSTALL_ID = _one(_RESOURCE, "install.id")
CONSENT_MODE = _one(_RESOURCE, "consent.mode")
OS_TYPE = _one(_RESOURCE, "os.type")
OS_DESCRIPTION = _one(_RESOURCE, "os.description")
RUNTIME_NAME = _one(_RESOURCE, "runtime.name")
RUNTIME_VERSION = _one(_RESOURCE, "runtime.version")
