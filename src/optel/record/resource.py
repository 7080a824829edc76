"""The header of a spool file (docs/spool-format.md#header): the run's resource facts (program,
OS, machine size, install and project ids), scrubbed, its consent and its export section.

One header per flush; the uploader turns it into the OpenTelemetry `Resource` and sends the file
where its export section says. The facts are computed at flush, never at import or init, from the
standard library and a few small files (``/etc/os-release``, the project's ``.git/config``, the
user file): no subprocess, no ``platform`` module. Never collected: host name, user name, IP
address, paths. The project id is ``optel.record.project``'s.
"""

from __future__ import annotations

import os
import sys
import time

from optel import __version__
from optel._fs import read_text
from optel.record import names as n
from optel.spool import SCHEMA

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from optel._settings import Settings
    from optel.consent import Consent

_ARCH = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "i386": "x86",
    "i486": "x86",
    "i586": "x86",
    "i686": "x86",
    "x86": "x86",
    "armv6l": "arm32",
    "armv7l": "arm32",
    "armv8l": "arm32",
    "arm": "arm32",
    "ppc": "ppc32",
    "ppc64": "ppc64",
    "ppc64le": "ppc64",
    "s390x": "s390x",
}

_GIB = 1 << 30

# Resource attributes whose values optel computes itself: random ids, the salted project hash,
# facts from the OS's own files and fixed vocabularies. They are not scrubbed (a hash looks like
# a secret to the scrubber); every other string is.
GENERATED = frozenset(
    (
        n.OS_TYPE,
        n.OS_VERSION,
        n.OS_DESCRIPTION,
        n.HOST_ARCH,
        n.OPTEL_HOST_CPU_COUNT,
        n.OPTEL_HOST_MEMORY_GIB,
        n.PROCESS_RUNTIME_NAME,
        n.PROCESS_RUNTIME_VERSION,
        n.TELEMETRY_SDK_NAME,
        n.TELEMETRY_SDK_LANGUAGE,
        n.TELEMETRY_SDK_VERSION,
        n.APP_INSTALLATION_ID,
        n.OPTEL_INSTALL_ID,
        n.OPTEL_INSTALL_AGE_DAYS,
        n.OPTEL_CONSENT_MODE,
        n.OPTEL_PROJECT_ID,
        n.OPTEL_CI_NAME,
        n.OPTEL_AGENT_NAME,
    )
)
# The tool's name and version as the maintainer declares them (init's `app` and `version`): like
# command and step names, not personal data (docs/privacy.md#names-the-maintainer-declares), so
# kept as written, only bounded; the uploader fills in a missing version the same way, from the
# distribution's metadata.
DECLARED = frozenset((n.SERVICE_NAME, n.PROCESS_EXECUTABLE_NAME, n.SERVICE_VERSION))
_machine: dict[str, object] | None = None


def os_type() -> str:
    """``linux``, ``darwin``, ``windows``, ``freebsd``, ... (semantic-convention values)."""
    platform = sys.platform
    if platform.startswith("linux"):
        return "linux"
    if platform in ("win32", "cygwin"):
        return "windows"
    for name in ("freebsd", "openbsd", "netbsd", "dragonfly", "sunos", "aix"):
        if platform.startswith(name):
            return "solaris" if name == "sunos" else name
    return platform


def _os_release() -> str | None:
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        try:
            text = read_text(path, 16384)
        except OSError:
            continue
        fields: dict[str, str] = {}
        for line in text.splitlines():
            key, sep, value = line.partition("=")
            if sep:
                fields[key.strip()] = value.strip().strip("\"'")
        name = fields.get("PRETTY_NAME") or " ".join(
            v for v in (fields.get("NAME"), fields.get("VERSION_ID")) if v
        )
        return name or None
    return None


def _macos_version() -> str | None:
    try:
        text = read_text("/System/Library/CoreServices/SystemVersion.plist", 16384)
    except OSError:
        return None
    at = text.find("<key>ProductVersion</key>")
    if at < 0:
        return None
    start = text.find("<string>", at)
    end = text.find("</string>", start)
    if start < 0 or end < 0:
        return None
    return text[start + len("<string>") : end].strip() or None


def _os_facts() -> dict[str, object]:
    facts: dict[str, object] = {n.OS_TYPE: os_type()}
    if sys.platform == "win32":
        v = sys.getwindowsversion()
        version = f"{v.major}.{v.minor}.{v.build}"
        facts[n.OS_VERSION] = version
        facts[n.OS_DESCRIPTION] = f"Windows {version}"
        machine = os.environ.get("PROCESSOR_ARCHITECTURE", "")
    else:
        uname = os.uname()
        facts[n.OS_VERSION] = uname.release
        machine = uname.machine
        if sys.platform == "darwin":
            mac = _macos_version()
            facts[n.OS_DESCRIPTION] = f"macOS {mac}" if mac else f"Darwin {uname.release}"
        else:
            described = _os_release() if facts[n.OS_TYPE] == "linux" else None
            facts[n.OS_DESCRIPTION] = described or f"{uname.sysname} {uname.release}"
    if machine:
        facts[n.HOST_ARCH] = _ARCH.get(machine.lower(), machine.lower())
    return facts


def _memory_gib() -> int | None:
    try:
        pages = os.sysconf("SC_PHYS_PAGES")
        size = os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None
    if pages <= 0 or size <= 0:
        return None
    return max(1, round(pages * size / _GIB))


def machine_facts() -> dict[str, object]:
    """OS, architecture, CPU count, memory and Python: computed once per process."""
    global _machine
    if _machine is None:
        facts = _os_facts()
        cpus = os.cpu_count()
        if cpus:
            facts[n.OPTEL_HOST_CPU_COUNT] = cpus
        memory = _memory_gib()
        if memory:
            facts[n.OPTEL_HOST_MEMORY_GIB] = memory
        facts[n.PROCESS_RUNTIME_NAME] = sys.implementation.name
        facts[n.PROCESS_RUNTIME_VERSION] = ".".join(str(part) for part in sys.version_info[:3])
        _machine = facts
    return dict(_machine)


# --- install facts from the user file --------------------------------------------------------


def _days_from_civil(year: int, month: int, day: int) -> int:
    # Days since 1970-01-01 in the proleptic Gregorian calendar (datetime costs an import).
    year -= month <= 2
    era = (year if year >= 0 else year - 399) // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def age_days(first_seen: str, now_s: float) -> int | None:
    """Whole days between ``first_seen`` (``2026-11-23T18:00:00Z``) and ``now_s``."""
    try:
        year, month, day = int(first_seen[0:4]), int(first_seen[5:7]), int(first_seen[8:10])
    except ValueError:
        return None
    if not (1 <= month <= 12 and 1 <= day <= 31) or first_seen[4:5] != "-":
        return None
    today = int(now_s // 86400)
    return max(0, today - _days_from_civil(year, month, day))


def user_table(consent: Consent) -> Mapping[str, object]:
    """The user file's keys (salt, first_seen, first_version), or {} when there are none."""
    path = getattr(consent, "user_file", "")
    if not path:
        return {}
    try:
        from optel.consent.files import identity_read, read_user_file

        # What the decision read at init, when it holds this consent's install id (one made
        # during the run is in the file only): the file is not parsed again at exit.
        kept = identity_read(path)
        if kept is not None and kept.get("install_id") == consent.install_id:
            return kept
        table = read_user_file(path)
    except Exception:
        return {}
    return table if isinstance(table, dict) else {}


def collect(
    app: str,
    version: str | None,
    consent: Consent,
    *,
    project_dir: str | None,
    now_s: float,
    table: Mapping[str, object] | None = None,
    remember: bool = False,
) -> dict[str, object]:
    """All resource attributes for one flush (unscrubbed; the caller scrubs). With `remember`
    (a flush that goes to the spool), a project id computed here is remembered there."""
    facts: dict[str, object] = {
        n.SERVICE_NAME: app,
        # The CLI conventions' executable name: the app's name, never argv[0] (a path).
        n.PROCESS_EXECUTABLE_NAME: app,
        n.TELEMETRY_SDK_NAME: "optel",
        n.TELEMETRY_SDK_LANGUAGE: "python",
        n.TELEMETRY_SDK_VERSION: __version__,
    }
    if version:
        facts[n.SERVICE_VERSION] = version
    facts.update(machine_facts())
    if table is None:
        table = user_table(consent)
    if consent.install_id:
        facts[n.APP_INSTALLATION_ID] = consent.install_id
        facts[n.OPTEL_INSTALL_ID] = consent.install_id  # the pre-1.0 name, kept for compatibility
    first_seen = table.get("first_seen")
    if isinstance(first_seen, str):
        days = age_days(first_seen, now_s)
        if days is not None:
            facts[n.OPTEL_INSTALL_AGE_DAYS] = days
    first_version = table.get("first_version")
    if isinstance(first_version, str) and first_version:
        facts[n.OPTEL_INSTALL_FIRST_VERSION] = first_version
    facts[n.OPTEL_CONSENT_MODE] = consent.mode
    if consent.mode == "identified" and consent.user_id:
        facts[n.USER_ID] = consent.user_id
    salt = table.get("salt")
    if isinstance(salt, str) and salt and project_dir:
        from optel.record.project import project_id

        try:
            facts[n.OPTEL_PROJECT_ID] = project_id(project_dir, salt, app, remember=remember)
        except (OSError, ValueError):
            pass
    if consent.mode != "off":
        if consent.ci_name:
            facts[n.OPTEL_CI_NAME] = consent.ci_name
        if consent.agent_name:
            facts[n.OPTEL_AGENT_NAME] = consent.agent_name
    return facts


# --- the header ---------------------------------------------------------------------------------


def spool_header(
    settings: Settings, consent: Consent, *, spooled: bool = False
) -> dict[str, object]:
    """The spool file header for a flush of this run, its resource scrubbed. `spooled`: the flush
    goes to the spool (not only to debug output or an audit log), where the project id may be
    remembered; nothing else writes there."""
    return {
        "schema": SCHEMA,
        "app": settings.app,
        "created_ns": time.time_ns(),
        "resource": _resource(settings, consent, spooled),
        "consent": {
            "mode": consent.mode,
            "source": consent.source,
            "install_id": consent.install_id,
        },
        "export": _export_section(settings),
        "settings": settings.header_settings(),
    }


def _resource(settings: Settings, consent: Consent, spooled: bool) -> dict[str, object]:
    from optel.record.clean import apply_mode, cut

    project_dir = settings.project_dir
    if project_dir is None:
        try:
            project_dir = os.getcwd()
        except OSError:
            project_dir = None
    facts = collect(
        settings.app,
        settings.version,
        consent,
        project_dir=project_dir,
        now_s=time.time(),
        remember=spooled,
    )
    facts.pop("user.id", None)
    # Facts optel makes itself (random ids, the salted hash, values read from the OS's own files,
    # fixed vocabularies) carry nothing of the user's; the scrubber would only mistake the hashes
    # for secrets. The maintainer's declared name and version are kept as written. Any other
    # string is scrubbed (the scrubber loads for it: a usual run has none).
    others = {k: v for k, v in facts.items() if k not in GENERATED and k not in DECLARED}
    if others:
        from optel import privacy

        facts.update(privacy.scrub_attributes(others))
    for key in DECLARED & facts.keys():
        facts[key] = cut(str(facts[key]))
    # apply_mode comes after scrubbing: the id a user typed for identified mode is theirs to send.
    # A debug or audit log with consent off shows what anonymous mode would send.
    mode = consent.mode if consent.mode != "off" else "anonymous"
    return apply_mode(facts, mode, consent.user_id)


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
