"""What the httpx, requests and aiohttp instrumentors share: one client span per request sent.

Each library module describes itself as a ``Library``: where a call's method and URL are
(``request_of``), how to read host, port and scheme from that URL (``address_of``, asked only
when the maintainer declared hosts, so an undeclared setup never parses a URL), and the status of
what came back. The wrappers here do the rest through ``optel.record.http``: nothing at all when
not recording, no span inside an LLM call of optel, the span ended when the response headers
arrived (the body, streamed or not, is read later by the caller), and never a raise of our own.
"""

from __future__ import annotations

from optel.record import hosts as _declared
from optel.record import http, spans

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from optel.record.spans import SpanHandle

    # (instance, args, kwargs) of the patched call -> (method, the URL in the library's own type)
    RequestOf = Callable[[Any, tuple[Any, ...], dict[str, Any]], tuple[str, Any]]
    # (instance, that URL) -> (host, port or None, scheme)
    AddressOf = Callable[[Any, Any], tuple[Any, Any, Any]]
    StatusOf = Callable[[Any], object]  # a response (or an exception) -> its status, or None


class Library:
    """How one HTTP client library's patched call is read (see the module docstring)."""

    __slots__ = ("address_of", "error_status", "package", "request_of", "status_of")

    def __init__(
        self,
        package: str,
        request_of: RequestOf,
        address_of: AddressOf,
        status_of: StatusOf,
        error_status: StatusOf | None = None,
    ) -> None:
        self.package = package
        self.request_of = request_of
        self.address_of = address_of
        self.status_of = status_of
        # The status of a response the library raised for (aiohttp's raise_for_status), else None.
        self.error_status = error_status

    def start(self, instance: Any, args: Any, kwargs: Any) -> SpanHandle | None:
        try:
            method, url = self.request_of(instance, args, kwargs)
            host = port = scheme = None
            if _declared.hosts:
                host, port, scheme = self.address_of(instance, url)
        except Exception:
            return None
        return http.start(method, host, port, scheme)

    def ended(self, handle: SpanHandle, response: Any) -> None:
        try:
            status = self.status_of(response)
        except Exception:
            status = None
        http.responded(handle, status)

    def raised(self, handle: SpanHandle, exc: BaseException) -> None:
        try:
            status = None if self.error_status is None else self.error_status(exc)
            if isinstance(status, int):
                http.forget(exc)
                http.responded(handle, status)
            else:
                http.failed(handle, exc, error_type(exc, self.package))
        except Exception:
            handle.end()


def error_type(exc: BaseException, package: str) -> str:
    """``httpx.ConnectError``: the library's public name for its exception, else the class path."""
    from optel.instrumentation._llm_errors import sdk_error_type
    from optel.record.failure import error_type as class_path

    return sdk_error_type(exc, package) or class_path(exc)


def sync_request(library: Library) -> Callable[..., Any]:
    """A wrapper for a method that sends one request and returns once its headers arrived."""

    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        if not spans._on:
            return wrapped(*args, **kwargs)
        handle = library.start(instance, args, kwargs)
        if handle is None:
            return wrapped(*args, **kwargs)
        try:
            response = wrapped(*args, **kwargs)
        except BaseException as exc:
            library.raised(handle, exc)
            raise
        library.ended(handle, response)
        return response

    return wrapper


def async_request(library: Library) -> Callable[..., Any]:
    """The same for an ``async def`` method; unrecorded, it returns the library's own coroutine."""

    async def traced(handle: SpanHandle, wrapped: Any, args: Any, kwargs: Any) -> Any:
        try:
            response = await wrapped(*args, **kwargs)
        except BaseException as exc:
            library.raised(handle, exc)
            raise
        library.ended(handle, response)
        return response

    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        if not spans._on:
            return wrapped(*args, **kwargs)
        handle = library.start(instance, args, kwargs)
        if handle is None:
            return wrapped(*args, **kwargs)
        return traced(handle, wrapped, args, kwargs)

    return wrapper
