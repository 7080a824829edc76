"""Command spans for ``typer`` apps, the same as for click (see ``optel.instrumentation.click``).

Recent typer versions carry their own copy of click (``typer._click``), older ones use click
itself; whichever the installed typer runs on is the one patched. When both the click and the
typer instrumentors patch the same click, the wrapper stays until both are switched off.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType

    from optel.instrumentation._patch import Patches

TARGET = "typer"

_patches: Patches | None = None


def instrument(module: ModuleType) -> None:
    """Wrap ``Command.invoke`` of the click that typer runs on."""
    global _patches
    if _patches is not None:
        return
    import importlib

    from optel.instrumentation._patch import Patches
    from optel.instrumentation.click import patch_core

    try:
        core = importlib.import_module(module.__name__ + "._click.core")
    except ImportError:
        core = importlib.import_module("click.core")
    _patches = Patches()
    patch_core(_patches, core)


def uninstrument(module: ModuleType) -> None:
    """Put ``Command.invoke`` back."""
    global _patches
    if _patches is not None:
        _patches.restore()
        _patches = None
