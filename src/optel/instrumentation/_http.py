"""What the httpx, requests and aiohttp instrumentors share: one client span per request sent.

Each library module says where a request is sent (a ``PatchSite``), how to read the method and
the URL's host, port and scheme from the call (``describe``), and the status of what came back
(``status_of``). The wrappers here do the rest through ``optel.record.http``: nothing at all when
not recording, no span inside an LLM call of optel, the span ended when the response headers
arrived (the body, streamed or not, is read later by the caller), and never a raise of our own.
"""

from __future__ import annotations

from optel.record import http, spans

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from optel.record.spans import SpanHandle

    # (instance, args, kwargs) -> (method, host, port, scheme)
    Describe = Callable[[Any, tuple[Any, ...], dict[str, Any]], tuple[str, Any, Any, Any]]
    StatusOf = Callable[[Any], object]  # a response (or an exception) -> its status, or None


def _start(describe: Describe, instance: Any, args: Any, kwargs: Any) -> SpanHandle | None:
    try:
        method, host, port, scheme = describe(instance, args, kwargs)
    except Exception:
        return None
    return http.start(method, host, port, scheme)


def error_type(exc: BaseException, package: str) -> str:
    """``httpx.ConnectError``: the library's public name for its exception, else the class path."""
    from optel.instrumentation._llm import sdk_error_type

    return sdk_error_type(exc, package) or spans._error_type(exc)


def _ended(handle: SpanHandle, response: Any, status_of: StatusOf) -> None:
    try:
        status = status_of(response)
    except Exception:
        status = None
    http.responded(handle, status)


def _raised(
    handle: SpanHandle, exc: BaseException, package: str, error_status: StatusOf | None
) -> None:
    try:
        status = None if error_status is None else error_status(exc)
        if isinstance(status, int):
            # Raised for a response that came (aiohttp's raise_for_status): typed by its code.
            http.forget(exc)
            http.responded(handle, status)
        else:
            http.failed(handle, exc, error_type(exc, package))
    except Exception:
        handle.end()


def sync_request(
    describe: Describe, status_of: StatusOf, package: str, error_status: StatusOf | None = None
) -> Callable[..., Any]:
    """A wrapper for a method that sends one request and returns once its headers arrived.

    ``error_status(exc)`` is the status of a response the library raised for, else None.
    """

    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        if not spans._on:
            return wrapped(*args, **kwargs)
        handle = _start(describe, instance, args, kwargs)
        if handle is None:
            return wrapped(*args, **kwargs)
        try:
            response = wrapped(*args, **kwargs)
        except BaseException as exc:
            _raised(handle, exc, package, error_status)
            raise
        _ended(handle, response, status_of)
        return response

    return wrapper


def async_request(
    describe: Describe, status_of: StatusOf, package: str, error_status: StatusOf | None = None
) -> Callable[..., Any]:
    """The same for an ``async def`` method; unrecorded, it returns the library's own coroutine."""

    async def traced(handle: SpanHandle, wrapped: Any, args: Any, kwargs: Any) -> Any:
        try:
            response = await wrapped(*args, **kwargs)
        except BaseException as exc:
            _raised(handle, exc, package, error_status)
            raise
        _ended(handle, response, status_of)
        return response

    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        if not spans._on:
            return wrapped(*args, **kwargs)
        handle = _start(describe, instance, args, kwargs)
        if handle is None:
            return wrapped(*args, **kwargs)
        return traced(handle, wrapped, args, kwargs)

    return wrapper
