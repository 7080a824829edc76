"""The resource facts sent with each flush: program, OS, machine size, install and project ids.

Computed at flush, never at import or init, from the standard library and a few small files
(``/etc/os-release``, the project's ``.git/config``, the user file): no subprocess, no
``platform`` module. Never collected: host name, user name, IP address, paths.
"""

from __future__ import annotations

import os
import sys

from optel import __version__
from optel._fs import read_small
from optel.record import names as n

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

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
            text = _read_text(path, 16384)
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
        text = _read_text("/System/Library/CoreServices/SystemVersion.plist", 16384)
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


# --- the project id ---------------------------------------------------------------------------


def _git_dir(start: str) -> str | None:
    here = os.path.abspath(start)
    while True:
        candidate = os.path.join(here, ".git")
        if os.path.isdir(candidate):
            return candidate
        if os.path.isfile(candidate):
            # A worktree or submodule: ".git" is a file saying "gitdir: <path>".
            try:
                line = _first_line(candidate)
            except OSError:
                return None
            if line.startswith("gitdir:"):
                target = line[len("gitdir:") :].strip()
                return os.path.normpath(os.path.join(here, target))
            return None
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def _read_text(path: str, limit: int) -> str:
    # A repository is anyone's: its `.git/config` (or the file a `gitdir:` names) may be a FIFO
    # or a device, which a plain open() would wait on for ever, at the host's exit.
    return read_small(path, limit, follow=True).decode("utf-8", "replace")


def _first_line(path: str) -> str:
    return _read_text(path, 4096).partition("\n")[0].strip()


def _config_path(git_dir: str) -> str:
    # A worktree keeps its shared config in the common dir named by "commondir".
    try:
        common = _first_line(os.path.join(git_dir, "commondir"))
    except OSError:
        return os.path.join(git_dir, "config")
    return os.path.join(os.path.normpath(os.path.join(git_dir, common)), "config")


def remote_url(config_text: str) -> str | None:
    """The URL of remote ``origin`` in a git config, else of the first remote."""
    section: str | None = None
    urls: dict[str, str] = {}
    order: list[str] = []
    for raw in config_text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            header = line.strip("[]").strip()
            kind, _, name = header.partition(" ")
            section = name.strip().strip('"') if kind.lower() == "remote" else None
            continue
        if section is None:
            continue
        key, sep, value = line.partition("=")
        if sep and key.strip().lower() == "url" and section not in urls:
            urls[section] = value.strip().strip('"')
            order.append(section)
    if "origin" in urls:
        return urls["origin"]
    return urls[order[0]] if order else None


def normalise_remote(url: str) -> str:
    """One spelling per repository: no scheme, credentials, ``.git`` or case in the host.

    ``git@github.com:Org/Repo.git`` and ``https://user:token@github.com/Org/Repo`` both become
    ``github.com/Org/Repo``, so every clone of a project gets the same id.
    """
    text = url.strip()
    _, sep, rest = text.partition("://")
    if sep:
        text = rest
    elif ":" in text and "/" not in text.split(":", 1)[0]:
        # scp-like syntax: [user@]host:path
        host, _, path = text.partition(":")
        text = host + "/" + path.lstrip("/")
    host, _, path = text.partition("/")
    host = host.rpartition("@")[2].lower()
    path = path.rstrip("/")
    if path.endswith(".git"):
        path = path[:-4]
    return f"{host}/{path}" if path else host


def project_key(project_dir: str) -> str:
    """What the project id hashes: the normalised git remote URL, else the absolute path."""
    git_dir = _git_dir(project_dir)
    if git_dir is not None:
        try:
            url = remote_url(_read_text(_config_path(git_dir), 1 << 20))
        except OSError:
            url = None
        if url:
            return "remote:" + normalise_remote(url)
    return "path:" + os.path.abspath(project_dir)


def _sha256_hex(data: bytes) -> str:
    # _sha256 (_sha2 from 3.12) costs a third of hashlib's import. Only the one this Python has is
    # tried: a failed import searches every directory on sys.path first (~0.1 ms at each exit).
    try:
        if sys.version_info >= (3, 12):
            from _sha2 import sha256  # type: ignore[import-not-found,unused-ignore]
        else:
            from _sha256 import sha256  # type: ignore[import-not-found,no-redef,unused-ignore]
    except ImportError:
        from hashlib import sha256
    digest: str = sha256(data).hexdigest()
    return digest


def project_id(project_dir: str, salt: str) -> str:
    """32 hex digits of SHA-256(salt, project key): stable per install and project, not guessable."""
    return _sha256_hex(f"{salt}\n{project_key(project_dir)}".encode())[:32]


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
) -> dict[str, object]:
    """All resource attributes for one flush (unscrubbed; the caller scrubs)."""
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
        try:
            facts[n.OPTEL_PROJECT_ID] = project_id(project_dir, salt)
        except (OSError, ValueError):
            pass
    if consent.mode != "off":
        if consent.ci_name:
            facts[n.OPTEL_CI_NAME] = consent.ci_name
        if consent.agent_name:
            facts[n.OPTEL_AGENT_NAME] = consent.agent_name
    return facts
