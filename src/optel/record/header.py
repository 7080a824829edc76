"""The header of a spool file: the run's resource (scrubbed), consent and export section.

One header per flush (docs/spool-format.md#header); the uploader turns it into the OpenTelemetry
`Resource` and sends the file where its export section says.
"""

from __future__ import annotations

import os
import time

from optel.spool.names import SCHEMA

TYPE_CHECKING = False
if TYPE_CHECKING:
    from optel._settings import Settings
    from optel.consent import Consent


def spool_header(settings: Settings, consent: Consent) -> dict[str, object]:
    """The spool file header for a flush of this run, its resource scrubbed."""
    return {
        "schema": SCHEMA,
        "app": settings.app,
        "created_ns": time.time_ns(),
        "resource": _resource(settings, consent),
        "consent": {
            "mode": consent.mode,
            "source": consent.source,
            "install_id": consent.install_id,
        },
        "export": _export_section(settings),
        "settings": settings.header_settings(),
    }


def _resource(settings: Settings, consent: Consent) -> dict[str, object]:
    from optel import privacy
    from optel.record import resource
    from optel.record.clean import cut

    project_dir = settings.project_dir
    if project_dir is None:
        try:
            project_dir = os.getcwd()
        except OSError:
            project_dir = None
    facts = resource.collect(
        settings.app, settings.version, consent, project_dir=project_dir, now_s=time.time()
    )
    facts.pop("user.id", None)
    # Facts optel makes itself (random ids, the salted hash, values read from the OS's own files,
    # fixed vocabularies) carry nothing of the user's; the scrubber would only mistake the hashes
    # for secrets. The maintainer's declared name and version are kept as written. Any other
    # string is scrubbed (the scrubber loads for it: a usual run has none).
    others = {
        k: v for k, v in facts.items() if k not in resource.GENERATED and k not in resource.DECLARED
    }
    if others:
        facts.update(privacy.scrub_attributes(others))
    for key in resource.DECLARED & facts.keys():
        facts[key] = cut(str(facts[key]))
    # apply_mode comes after scrubbing: the id a user typed for identified mode is theirs to send.
    # A debug or audit log with consent off shows what anonymous mode would send.
    mode = consent.mode if consent.mode != "off" else "anonymous"
    return privacy.apply_mode(facts, mode, consent.user_id)


def _export_section(settings: Settings) -> dict[str, object]:
    """Where this run's data goes: the app's endpoint and headers, and the endpoints (only) that
    this run's OTEL_EXPORTER_OTLP_* variables name, signal by signal, so that an `optel upload`
    from another shell sends them where this run meant (optel/_endpoints.py)."""
    export = settings.export()
    # `_endpoints.recorded` records nothing unless an OTEL_EXPORTER_OTLP_[<SIGNAL>_]ENDPOINT is
    # set: a run whose environment names none (nearly every run) does not load its 20 KB of code.
    if any(
        name.startswith("OTEL_EXPORTER_OTLP_") and name.endswith("ENDPOINT") for name in os.environ
    ):
        from optel import _endpoints

        mine = _endpoints.recorded(os.environ)
        if mine:
            export[_endpoints.RECORDED_KEY] = mine
    return export
