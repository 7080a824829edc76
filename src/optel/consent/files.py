"""Reading the consent files: the user's stored choice and a project's restriction, never writing.

Reading is on every host's start-up path and is all an uploader may do (docs/consent.md), so it
uses the flat reader and imports nothing heavy; tomllib loads only for a file the flat reader
cannot take.
"""

from __future__ import annotations

import os

from optel._fs import NotRegularFile, read_small
from optel._terminal import shown
from optel.consent.tomlflat import loads_flat
from optel.consent.value import MODES

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

PROJECT_DIR_PREFIX = "."
PROJECT_FILE_NAME = "telemetry.toml"
MAX_FILE_BYTES = 1 << 20
_A_DIRECTORY = "a directory stands where the file should be"

# The keys optel owns in the user file and the type each must have; other keys are kept as found.
USER_KEYS: dict[str, type] = {
    "mode": str,
    "install_id": str,
    "decided_at": str,
    # How the choice was made: a prompt answer (answer, enter, eof, timeout, unknown, error) or
    # the enable/disable command, so that `status` can say "you answered no" or "no answer in 30 s".
    "decided_by": str,
    "consent_version": int,
    "user_id": str,
    "notice_shown": bool,
    "salt": str,
    "first_seen": str,
    "first_version": str,
    # The policy and consent_version the app last decided with, for the CLI, which runs without
    # the app's settings (see ``recorded_app_settings``).
    "app_policy": str,
    "app_consent_version": int,
}


# What ties data to this install; `reset` removes all of it.
IDENTITY_KEYS = ("install_id", "salt", "first_seen", "first_version")


class Broken:
    """A config file that exists but cannot be used; ``reason`` says why, for a person."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        # Reasons quote the file's values, which are printed in warnings and `status`.
        self.reason = shown(reason)

    def __repr__(self) -> str:
        return f"Broken({self.reason!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Broken) and other.reason == self.reason

    def __hash__(self) -> int:
        return hash(("Broken", self.reason))


def _toml_parser() -> object:
    try:
        return __import__("tomllib")
    except ImportError:
        return __import__("tomli")


def parse_toml(text: str) -> dict[str, object] | Broken:
    """Parse TOML text: the flat fast path, else tomllib/tomli; Broken when it is not TOML."""
    table = loads_flat(text)
    if table is not None:
        return table
    parser = _toml_parser()
    try:
        full: dict[str, object] = parser.loads(text)  # type: ignore[attr-defined]
    except ValueError as exc:
        return Broken(f"not valid TOML: {exc}")
    except Exception as exc:
        # Deep nesting (`a = [[[...]]]`) exhausts the recursive parser: RecursionError or
        # MemoryError. The file is as unusable as invalid TOML, and must be replaceable like it.
        return Broken(f"too deeply nested or too large to parse ({exc.__class__.__name__})")
    return full


def read_toml_file(path: str, *, empty_is_broken: bool = True) -> dict[str, object] | Broken | None:
    """The table in ``path``; None when there is no such file; Broken when it cannot be used.

    An empty user file is broken (docs/contract.md#consent: something truncated it); an empty
    project file is just an empty table, which restricts nothing.
    """
    try:
        # Never waits on a FIFO or device (inside the host's init()): optel's one small-file reader.
        data = read_small(path, MAX_FILE_BYTES + 1, follow=True)
    except (FileNotFoundError, NotADirectoryError):
        # A file where the config directory should be means no choice can be stored there:
        # that is "nothing stored", and writing will fail with a clear error.
        return None
    except IsADirectoryError:
        return Broken(_A_DIRECTORY)
    except NotRegularFile:
        return Broken("not a regular file")
    except PermissionError:
        return Broken("not readable: permission denied")
    except OSError as exc:
        return Broken(f"not readable: {exc.strerror or exc}")
    if len(data) > MAX_FILE_BYTES:
        return Broken("larger than 1 MiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return Broken("not UTF-8 text")
    if not text.strip():
        return Broken("empty") if empty_is_broken else {}
    return parse_toml(text)


def check_user_table(table: dict[str, object]) -> Broken | None:
    """Broken when a key optel owns has the wrong type or value, else None."""
    for key, kind in USER_KEYS.items():
        if key not in table:
            continue
        value = table[key]
        # bool is an int subclass: a `consent_version = true` is wrong-typed, not version 1.
        if type(value) is not kind:
            return Broken(f"{key!r} should be a {kind.__name__}, not {type(value).__name__}")
    mode = table.get("mode")
    if mode is not None and mode not in MODES:
        return Broken(f"mode = {mode!r} is not one of off, anonymous, identified")
    version = table.get("consent_version")
    if isinstance(version, int) and version < 0:
        return Broken("consent_version is negative")
    return None


def recorded_app_settings(table: Mapping[str, object]) -> tuple[str, int]:
    """``(policy, consent_version)`` the app last decided with, as its user file records them.

    The version is 0 when none is recorded. A file without ``app_policy`` but with
    ``notice_shown = true`` was written by an opt-out app (only that policy shows the notice).
    """
    policy = table.get("app_policy")
    if policy not in ("opt-in", "opt-out"):
        policy = "opt-out" if table.get("notice_shown") is True else "opt-in"
    version = table.get("app_consent_version")
    if not isinstance(version, int) or isinstance(version, bool):
        version = 0
    return str(policy), version


# The identity keys of the last table read from each user file: the resource of a run's flush
# takes its salt and first-seen date from what init read, instead of parsing the file again.
_identities: dict[str, dict[str, object]] = {}


def read_user_file(path: str) -> dict[str, object] | Broken:
    """The stored table in the user file ``path`` (``{}`` when there is none), or Broken with the reason."""
    table = read_toml_file(path)
    if table is None:
        table = {}
    elif isinstance(table, Broken):
        return table
    else:
        problem = check_user_table(table)
        if problem is not None:
            return problem
    _identities[path] = {key: table[key] for key in IDENTITY_KEYS if key in table}
    return table


def identity_read(path: str) -> dict[str, object] | None:
    """The identity keys (IDENTITY_KEYS) of the table this process last read from ``path``."""
    found = _identities.get(path)
    return None if found is None else dict(found)


def find_project_file(app: str, project_dir: str | None = None) -> str | None:
    """The nearest ``.<app>/telemetry.toml`` in ``project_dir`` (default: cwd) or a parent."""
    try:
        here = os.path.abspath(project_dir if project_dir is not None else os.getcwd())
    except OSError:
        return None
    name = os.path.join(PROJECT_DIR_PREFIX + app, PROJECT_FILE_NAME)
    while True:
        candidate = os.path.join(here, name)
        if os.path.lexists(candidate):
            return candidate
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def read_project_mode(path: str) -> tuple[str, str | None]:
    """The most a project file allows: ``("off"|"anonymous"|"identified", problem or None)``.

    A project file can only restrict. One that cannot be read, or names no known mode, restricts
    to off: it exists because someone wanted less telemetry, and we fail closed.
    """
    table = read_toml_file(path, empty_is_broken=False)
    if table is None:
        return "identified", None
    if isinstance(table, Broken):
        return "off", table.reason
    mode = table.get("mode")
    if mode is None:
        return "identified", None
    if mode not in MODES:
        return "off", f"mode = {mode!r} is not one of off, anonymous, identified"
    return str(mode), None
