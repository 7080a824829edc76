"""Command spans for ``typer`` apps, the same as for click (see ``optel.instrumentation.click``).

Recent typer versions carry their own copy of click (``typer._click``), older ones use click
itself; whichever the installed typer runs on is the one patched. When both the click and the
typer instrumentors patch the same click, the wrapper stays until both are switched off.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType

    from optel.instrumentation._patch import Patches

TARGET = "typer"
# (distribution, first release patched, first release not): checked by optel status.
SUPPORTED = ("typer", "0.9", "1")

_patches: Patches | None = None


def instrument(module: ModuleType) -> None:
    """Wrap the ``Command`` methods of the click that typer runs on, and typer's own ``main``."""
    global _patches
    if _patches is not None:
        return
    import importlib

    from optel.instrumentation._patch import Patches
    from optel.instrumentation.click import main_wrapper, patch_core

    try:
        core = importlib.import_module(module.__name__ + "._click.core")
    except ImportError:
        core = importlib.import_module("click.core")
    _patches = Patches()
    patch_core(_patches, core)
    # typer's commands override click's main() with typer.core._main, its own standalone mode.
    own = sys.modules.get(module.__name__ + ".core")
    if own is not None and callable(getattr(own, "_main", None)):
        _patches.replace(own, "_main", main_wrapper)


def uninstrument(module: ModuleType) -> None:
    """Put the methods back."""
    global _patches
    if _patches is not None:
        _patches.restore()
        _patches = None
