"""The consent in force at upload time, and each queued file brought down to it
(docs/internals.md#consent-at-upload-time).

Standard library only (and optel's consent and privacy packages): a long-running host's upload
thread asks it before it knows whether there is anything to send, without loading the SDK.
"""

from __future__ import annotations

from _collections_abc import Mapping  # collections.abc's, without importing collections

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_RANK = {"off": 0, "anonymous": 1, "identified": 2}


def consent_in_force(app: str, environ: Mapping[str, str], project_dir: str | None) -> str:
    """The most that queued data may carry now: ``off``, ``anonymous`` or ``identified``
    (docs/internals.md#consent-at-upload-time).

    Asked once per upload run, through the consent package's read-only decision (it never writes
    the user's config dir: docs/consent.md): off when a withdrawing row answers (the spool is then
    deleted); else the mode decided from the same environment and stored choice, where an off that
    only means "nothing stored" (a run raised by a flag on a fresh install, CI) is anonymous, since
    a raise never stores a user id. The app's consent version is not known here: a choice stored
    for an older one still counts.
    """
    from optel.consent.readonly import in_force

    now, withdraws = in_force(app, environ=environ, project_dir=project_dir)
    if withdraws:
        return "off"
    return "identified" if now.mode == "identified" else "anonymous"


def bring_down(
    header: dict[str, Any], records: list[dict[str, Any]], in_force: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The file as the consent in force allows it: unchanged when it was recorded under no more.

    A file recorded while identified, sent after a downgrade to anonymous, loses what identified
    adds (`user.id`) and any other identity key, on its resource and every record, by the same
    rule the host applies (`optel.record.clean.apply_mode`); its resource and header then say
    anonymous. A file recorded under off stays off (the sampler drops it).
    """
    consent = header.get("consent")
    mode = consent.get("mode") if isinstance(consent, Mapping) else None
    if mode not in _RANK or _RANK[mode] <= _RANK[in_force]:
        return header, records
    from optel.record.clean import apply_mode

    lowered = in_force  # "off" too: the sampler then drops the file
    resource = header.get("resource")
    header = dict(header)
    if isinstance(resource, Mapping):
        header["resource"] = {**apply_mode(resource, lowered), "optel.consent.mode": lowered}
    header["consent"] = {**consent, "mode": lowered}  # type: ignore[dict-item]
    return header, [_record_down(record, lowered) for record in records]


def _record_down(record: dict[str, Any], mode: str) -> dict[str, Any]:
    from optel.record.clean import apply_mode

    out = dict(record)
    attributes = record.get("attributes")
    if isinstance(attributes, Mapping):
        out["attributes"] = apply_mode(attributes, mode)
    events = record.get("events")
    if isinstance(events, list):
        out["events"] = [
            {**event, "attributes": apply_mode(event["attributes"], mode)}
            if isinstance(event, Mapping) and isinstance(event.get("attributes"), Mapping)
            else event
            for event in events
        ]
    return out
