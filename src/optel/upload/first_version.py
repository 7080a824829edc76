"""The install's first version (`optel.install.first_version`): noted once in the spool, added to every resource."""

from __future__ import annotations

from _collections_abc import Mapping  # collections.abc's, without importing collections

from optel import _logger

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from optel.spool.files import Spool

FIRST_VERSION = "optel.install.first_version"
_VERSION_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.+-_!")


def with_first_version(
    app: str, spool: Spool, header: dict[str, Any], known: dict[str, str] | None = None
) -> dict[str, Any]:
    """The header, its resource completed with the install's first version (PipeRider's fact).

    The first batch an install uploads with a known `service.version` notes that version in the
    spool's `first_version` state file; every later batch of that install carries it. Only for
    the install the user file holds now (read, never written: the uploader does not touch the
    user's consent file), so a batch of an install that was reset since notes nothing. ``known``
    remembers the versions found, per install id, for the rest of an upload run. Never raises.
    """
    resource = header.get("resource")
    if not isinstance(resource, Mapping) or resource.get(FIRST_VERSION):
        return header
    try:
        consent = header.get("consent")
        install_id = consent.get("install_id") if isinstance(consent, Mapping) else None
        if not isinstance(install_id, str) or not _plain(install_id):
            return header
        first = known.get(install_id) if known is not None else None
        first = first or spool.first_version(install_id) or _note(app, spool, header, install_id)
        if not first:
            return header
        if known is not None:
            known[install_id] = first
        return {**header, "resource": {**resource, FIRST_VERSION: first}}
    except Exception:
        _logger.debug("optel: could not note the first version installed", exc_info=True)
        return header


def _note(app: str, spool: Spool, header: Mapping[str, Any], install_id: str) -> str | None:
    """Note this batch's version as the install's first, when the install is the user file's."""
    from optel import _paths
    from optel.consent import UserStore
    from optel.upload.attributes import resource_for

    version = resource_for(header).attributes.get("service.version")
    if not (isinstance(version, str) and _plain(version)):
        return None
    table = UserStore(_paths.user_config_file(app)).read()
    if not isinstance(table, dict) or table.get("install_id") != install_id:
        return None
    spool.note_first_version(install_id, version)
    return version


def _plain(text: str) -> bool:
    """Short, and made of the characters ids and versions use (PEP 440, semver): one word."""
    return 0 < len(text) <= 64 and _VERSION_CHARS.issuperset(text)
