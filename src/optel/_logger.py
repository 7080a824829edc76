"""optel's diagnostics go to the ``optel`` logger, which never prints on the host's terminal by itself."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging

_silenced = False


def logger() -> logging.Logger:
    """The ``optel`` logger, with a NullHandler on it (``logging`` is imported here, on first need).

    Without any handler, Python's last-resort handler would write optel's warnings to the user's
    stderr, and docs/contract.md#what-the-host-prints allows only the prompt, the opt-out notice and
    one broken-config warning there. A host that configures logging still receives them through its
    own handlers.
    """
    global _silenced
    import logging

    log = logging.getLogger("optel")
    if not _silenced:
        log.addHandler(logging.NullHandler())
        _silenced = True
    return log


def debug(message: str, *args: object, exc_info: bool = False) -> None:
    """Log `message % args` at DEBUG on the ``optel`` logger, if anything can receive it.

    While ``logging`` was never imported, no handler or level was ever set: the record would go
    nowhere (the last-resort handler takes WARNING and up), so it is dropped without importing
    ``logging`` (the detached uploader's common path, docs/internals.md).
    """
    if "logging" in sys.modules:
        logger().debug(message, *args, exc_info=exc_info)


def info(message: str, *args: object) -> None:
    """Log `message % args` at INFO on the ``optel`` logger, if anything can receive it (see `debug`)."""
    if "logging" in sys.modules:
        logger().info(message, *args)
