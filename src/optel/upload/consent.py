"""Per-file consent at upload: what each spool file may send, decided once per file before anything is encoded.

Two questions, one mechanism. What may the data carry *now* (`optel.upload.in_force`: off deletes
the spool, anonymous strips identity) is applied to every file as it is read (`bring_down`). Whether
a file's records go out at all is then `sending(file_consent(header))`: the consent the file was
recorded under, read back from its header, must be anonymous or identified *and* the install in the
sample (`sample_percent`). A file that may not send is settled like a sent one, its records never
encoded: there is no per-span decision to make, every record of a file shares its consent
(docs/internals.md, the process split).
"""

from __future__ import annotations

from _collections_abc import Mapping  # collections.abc's, without importing collections

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def file_consent(header: Mapping[str, Any]) -> Any:
    """The `Consent` a file was recorded under (sampled by its install id), or None when unreadable."""
    from optel.consent import MODES, Consent, in_sample

    consent = header.get("consent")
    consent = consent if isinstance(consent, Mapping) else {}
    mode = consent.get("mode")
    if mode not in MODES:
        return None
    install_id = consent.get("install_id")
    settings = header.get("settings")
    percent = settings.get("sample_percent", 100.0) if isinstance(settings, Mapping) else 100.0
    if not isinstance(percent, (int, float)) or isinstance(percent, bool):
        percent = 100.0
    sampled = (
        in_sample(install_id, float(percent)) if isinstance(install_id, str) else percent >= 100.0
    )
    source = consent.get("source")
    return Consent(
        str(mode),
        "recorded under this consent",
        str(source) if isinstance(source, str) else "spool",
        install_id=install_id if isinstance(install_id, str) else None,
        sampled=sampled,
    )


def sending(consent: Any) -> bool:
    """Whether data recorded under `consent` may leave: fail closed (None, off, or not sampled)."""
    if consent is None:
        return False
    allowed = getattr(consent, "sending", None)
    if isinstance(allowed, bool):
        return allowed
    return getattr(consent, "mode", None) in ("anonymous", "identified")
