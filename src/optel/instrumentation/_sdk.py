"""Patch sites of the LLM SDKs whose calls are not openai's ``create``: any method or module function.

An instrumentor module builds one ``Sdk`` when it is loaded (that is, once its target is imported
and something records) and exposes its ``instrument`` and ``uninstrument`` as its own.

An SDK module (``litellm``, ``ollama``, ``mistralai``, ``google_genai``) describes each call it
records as a ``Site``: the module that defines it, the class (or ``""`` for a module-level
function), the method, the GenAI operation, whether it is ``async def`` and whether it always
streams. Its ``arguments(site, args, kwargs)`` turns the call's arguments into what the one GenAI
reader understands (``model``, ``max_tokens``, ``stream``; ``provider`` when it depends on the
call or its client, as litellm's and google-genai's do), never the prompt; it returns None for
a call that is not an LLM request (botocore's ``_make_api_call`` of another service). The span, its end, the streams and the errors are
``_llm.Call``'s, so every SDK is recorded the same way; a call made inside another instrumented
call (litellm through the openai SDK) is recorded once, by the outer one.
"""

from __future__ import annotations

import sys
from typing import NamedTuple

from optel.instrumentation._llm import Call, send, send_async
from optel.record import spans
from optel.record.genai_spans import in_llm_call

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from types import ModuleType
    from typing import Any

    from optel.instrumentation._llm import Reader

    Returned = Callable[[Call, Any], Any]
    Arguments = Callable[["Site", Any, tuple[Any, ...], dict[str, Any]], "Mapping[str, Any] | None"]


class Site(NamedTuple):
    """One SDK call to record."""

    module: str
    owner: str  # a class of ``module``, or "" for a function of the module itself
    method: str
    operation: str
    is_async: bool
    stream: bool = False  # the method always streams (mistralai's ``chat.stream``)


def keyword_arguments(
    site: Site, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Mapping[str, Any]:
    """The SDKs whose calls take keyword arguments only."""
    return kwargs


class Sdk:
    """An SDK's sites, readers and stream classes; ``instrument`` patches each site when its
    module loads, ``uninstrument`` puts every original back."""

    def __init__(
        self,
        package: str,
        provider: str,
        sites: tuple[Site, ...],
        readers: Mapping[str, tuple[Reader, Reader]],
        stream_types: Callable[[], tuple[type, ...]],
        arguments: Arguments = keyword_arguments,
        returned: Returned | None = None,
    ) -> None:
        self.package = package  # where its public exceptions live: they name error.type
        self.provider = provider
        self.sites = sites
        self.readers = readers
        self.stream_types = stream_types
        self.arguments = arguments
        # What to hand back for a result that holds a stream, rather than is one (botocore's
        # ``{"stream": EventStream, ...}``): ``returned(call, result)``.
        self.returned = returned
        self._patches: Any = None
        self._cancels: list[Callable[[], None]] = []

    def instrument(self, target: ModuleType) -> None:
        """Patch the sites of ``target`` (the SDK's top module, just imported) now, the others
        when their modules load."""
        if self._patches is not None:
            return
        from optel.instrumentation import when_imported
        from optel.instrumentation._patch import Patches

        self._patches = Patches()
        for module_name in dict.fromkeys(site.module for site in self.sites):
            if module_name == target.__name__:
                # Its import hook is running: waiting for it to load would wait forever.
                self._patcher(module_name)(target)
            else:
                self._cancels.append(when_imported(module_name, self._patcher(module_name)))

    def uninstrument(self, target: object = None) -> None:
        """Put every original back (``target``: as an instrumentor's ``uninstrument`` is called)."""
        while self._cancels:
            self._cancels.pop()()
        if self._patches is not None:
            self._patches.restore()
            self._patches = None

    def _patcher(self, module_name: str) -> Callable[[Any], None]:
        def patch(module: Any) -> None:
            patches = self._patches
            if patches is None:
                return
            for site in self.sites:
                if site.module != module_name:
                    continue
                owner = getattr(module, site.owner, None) if site.owner else module
                if owner is not None and callable(vars(owner).get(site.method)):
                    patches.wrap(owner, site.method, self.wrapper(site))

        return patch

    def start(
        self, site: Site, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Call | None:
        """The call's span, or None when it is not one to record."""
        try:
            request = self.arguments(site, instance, args, kwargs)
        except Exception:
            request = None
        if request is None:
            return None
        read, observe = self.readers[site.operation]
        provider = request.get("provider")
        return Call.start(
            self.package,
            site.operation,
            request,
            read,
            observe,
            stream=site.stream,
            provider=provider if isinstance(provider, str) and provider else self.provider,
        )

    def wrapper(self, site: Site) -> Callable[..., Any]:
        """The wrapt wrapper of one site: the SDK's own call, untouched, when nothing records."""
        sdk = self

        def sync(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
            if not spans.recording() or in_llm_call():
                return wrapped(*args, **kwargs)
            call = sdk.start(site, instance, args, kwargs)
            if call is None:
                return wrapped(*args, **kwargs)
            result = send(call, wrapped, args, kwargs)
            if sdk.returned is not None:
                return sdk.returned(call, result)
            return call.returned(result, sdk.stream_types(), is_async=False)

        async def traced(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
            call = sdk.start(site, instance, args, kwargs)
            if call is None:
                return await wrapped(*args, **kwargs)
            result = await send_async(call, wrapped, args, kwargs)
            return call.returned(result, sdk.stream_types(), is_async=True)

        def asynchronous(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
            if not spans.recording() or in_llm_call():
                return wrapped(*args, **kwargs)
            return traced(wrapped, instance, args, kwargs)

        return asynchronous if site.is_async else sync


def loaded_types(*names: tuple[str, str]) -> tuple[type, ...]:
    """The classes ``(module, class name)`` that are loaded already (a stream class is only
    needed once its module is, and looking it up must not import it)."""
    found = []
    for module_name, class_name in names:
        module = sys.modules.get(module_name)
        cls = getattr(module, class_name, None) if module is not None else None
        if isinstance(cls, type):
            found.append(cls)
    return tuple(found)
