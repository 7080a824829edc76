"""Reporting the spool's failures to the `optel` logger, never to the host's terminal."""

from __future__ import annotations


def log_failure(doing: str, exc: BaseException) -> None:
    """Report a failure to the `optel` logger only: a host's terminal never sees it.

    Expected trouble (a read-only or full disk) goes out at DEBUG, anything else at WARNING
    (``optel._logger`` keeps both off the terminal of a host that set up no logging).
    """
    try:
        import logging

        from optel._logger import logger

        level = (
            logging.DEBUG
            if isinstance(exc, (OSError, KeyboardInterrupt, SystemExit))
            else logging.WARNING
        )
        logger().log(level, "optel: %s failed: %s: %s", doing, type(exc).__name__, exc)
    except BaseException:
        pass
