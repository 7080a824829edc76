"""What an LLM SDK's error says that a span may keep.

Its public class name and its HTTP status, never its message, which quotes the prompt
(docs/privacy.md).
"""

from __future__ import annotations

import sys


def sdk_error_type(exc: BaseException, package: str) -> str | None:
    """``openai.RateLimitError``: an SDK exception by its public name; None for any other."""
    cls = type(exc)
    module = sys.modules.get(package)
    if module is not None and getattr(module, cls.__name__, None) is cls:
        return f"{package}.{cls.__name__}"
    return None


def http_status(exc: BaseException) -> int | None:
    """The HTTP status an SDK error carries: ``status_code`` (openai, anthropic, mistralai,
    ollama, litellm), ``code`` (google-genai) or a botocore ``ClientError``'s response metadata."""
    for value in (
        getattr(exc, "status_code", None),
        getattr(exc, "code", None),
        _get_path(getattr(exc, "response", None), ("ResponseMetadata", "HTTPStatusCode")),
    ):
        if type(value) is int and 100 <= value <= 599:
            return value
    return None


def _get_path(value: object, keys: tuple[str, ...]) -> object:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value
