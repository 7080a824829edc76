"""The public helper for writing an instrumentor: patch sites, wrapped once their module is imported.

An instrumentor for a library optel does not know is a module with ``TARGET`` (the module to wait
for), ``instrument(module)`` and ``uninstrument(module)``, registered in the ``optel.instrumentors``
entry-point group (docs/guide.md#instrumenting-another-library). Its ``instrument`` names the
attributes to wrap as ``PatchSite``s and hands them to ``patch``; ``uninstrument`` calls ``undo()``
on what ``patch`` returned; ``PatchSet`` writes that pair for you. A wrapper has wrapt's signature, ``wrapper(wrapped, instance, args,
kwargs)``, and must call ``wrapped(*args, **kwargs)`` exactly once and return what it returned.

Nothing is imported here beyond the standard library: the target's modules are patched by a
post-import hook when the host imports them, and wrapt is loaded only then.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from types import ModuleType
    from typing import Any

    Wrapper = Callable[[Callable[..., Any], Any, tuple[Any, ...], dict[str, Any]], Any]

__all__ = ["PatchSet", "PatchSite", "Patched", "patch"]


class PatchSite:
    """One attribute to wrap: ``attribute`` (a dotted path such as ``"Session.send"``) of ``module``.

    Raises ValueError at once for an empty module or attribute name, or a non-callable wrapper.
    """

    __slots__ = ("attribute", "module", "wrapper")

    def __init__(self, module: str, attribute: str, wrapper: Wrapper) -> None:
        if (
            not isinstance(module, str)
            or not module
            or not isinstance(attribute, str)
            or not attribute
        ):
            raise ValueError(
                f"PatchSite needs a module and an attribute name, got {module!r}, {attribute!r}"
            )
        if not callable(wrapper):
            raise ValueError(f"PatchSite({module!r}, {attribute!r}): the wrapper must be callable")
        self.module = module
        self.attribute = attribute
        self.wrapper = wrapper

    def __repr__(self) -> str:
        return f"PatchSite({self.module!r}, {self.attribute!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PatchSite):
            return NotImplemented
        return (self.module, self.attribute, self.wrapper) == (
            other.module,
            other.attribute,
            other.wrapper,
        )

    def __hash__(self) -> int:
        return hash((self.module, self.attribute))


class Patched:
    """The sites ``patch`` wrapped, or will wrap when their modules load; ``undo()`` unwraps them all."""

    __slots__ = ("_cancels", "_patches", "applied", "missing")

    def __init__(self) -> None:
        self._cancels: list[Callable[[], None]] = []
        self._patches: Any = None
        # Sites wrapped so far, and sites whose attribute was not found (the library's version
        # moved it): an instrumentor can report those instead of silently recording nothing.
        self.applied: list[PatchSite] = []
        self.missing: list[PatchSite] = []

    def undo(self) -> None:
        """Put back every original attribute and cancel the sites still waiting; idempotent."""
        while self._cancels:
            self._cancels.pop()()
        patches, self._patches = self._patches, None
        if patches is not None:
            patches.restore()
        self.applied.clear()

    def _apply(self, site: PatchSite, module: ModuleType) -> None:
        *path, name = site.attribute.split(".")
        owner: object = module
        for part in path:
            owner = getattr(owner, part, None)
        if owner is None or getattr(owner, name, None) is None:
            self.missing.append(site)
            from optel._logger import logger

            logger().warning("optel: %r not found; that call is not recorded", site)
            return
        if self._patches is None:
            from optel.instrumentation._patch import Patches

            self._patches = Patches()
        self._patches.wrap(owner, name, site.wrapper)
        self.applied.append(site)


def patch(*sites: PatchSite) -> Patched:
    """Wrap each site now if its module is imported, otherwise as soon as the host imports it.

    A site whose module is in ``sys.modules`` is wrapped at once (an instrumentor's ``instrument``
    runs when its target has just been imported). A site whose attribute does not exist is logged to the ``optel`` logger and listed in
    ``Patched.missing``; the others are wrapped all the same. Patching never raises into the
    host's import.
    """
    import sys

    from optel.instrumentation._hook import when_imported

    for site in sites:
        if not isinstance(site, PatchSite):
            raise TypeError(f"patch() takes PatchSite objects, not {site!r}")
    done = Patched()
    for site in sites:
        module = sys.modules.get(site.module)
        if module is not None:
            # Imported, or being imported and calling its instrumentor's hook right now (whose
            # own post-import hook would then never come): its attributes are there.
            done._apply(site, module)
            continue

        def hook(module: ModuleType, site: PatchSite = site) -> None:
            done._apply(site, module)

        done._cancels.append(when_imported(site.module, hook))
    return done


class PatchSet:
    """An instrumentor's ``instrument`` and ``uninstrument``, for the sites ``make_sites()`` builds.

    ``make_sites`` runs at the first ``instrument`` (when the target has been imported), so the
    wrappers it builds may import what they need then::

        _patches = PatchSet(lambda: [PatchSite("theirlib", "Client.fetch", wrapper)])
        instrument, uninstrument = _patches.instrument, _patches.uninstrument
    """

    __slots__ = ("_make_sites", "_patched")

    def __init__(self, make_sites: Callable[[], Iterable[PatchSite]]) -> None:
        self._make_sites = make_sites
        self._patched: Patched | None = None

    def instrument(self, module: ModuleType | None = None) -> None:
        """Patch the sites (now or when their modules load); idempotent."""
        if self._patched is None:
            self._patched = patch(*self._make_sites())

    def uninstrument(self, module: ModuleType | None = None) -> None:
        """Take every wrapper off again."""
        patched, self._patched = self._patched, None
        if patched is not None:
            patched.undo()

    @property
    def patched(self) -> Patched | None:
        """What the last ``instrument`` patched (``applied``, ``missing``), or None."""
        return self._patched
