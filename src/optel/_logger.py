"""optel's diagnostics go to the ``optel`` logger, which never prints on the host's terminal by itself."""

from __future__ import annotations

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


def debug(message: str, *args: object) -> None:
    """Log `message % args` at DEBUG on the ``optel`` logger (``logging`` is imported only now)."""
    logger().debug(message, *args)
