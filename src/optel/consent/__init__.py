"""Consent: one decision per process, with a reason (docs/contract.md#consent), and the files that
store it.

Imported inside the host's ``optel.init()``: each name below loads its own module on first use, so
a run pays only for the rules its decision reads (docs/internals.md#the-import-budget-of-the-host-side):
a stored choice never loads the writer, the prompt or the opt-out notice.
"""

from __future__ import annotations

from optel import _loader

TYPE_CHECKING = False
if TYPE_CHECKING:
    from optel.consent.decision import resolve
    from optel.consent.detect import can_prompt, detect_agent, detect_ci, is_tty
    from optel.consent.files import (
        Broken,
        find_project_file,
        loads_flat,
        parse_toml,
        read_project_mode,
        read_toml_file,
        recorded_app_settings,
    )
    from optel.consent.ids import in_sample, new_install_id, new_salt, utc_now
    from optel.consent.readonly import preview, withdrawn
    from optel.consent.store import BrokenFileError, UserStore
    from optel.consent.value import MODES, Consent

# Each public name and the submodule that defines it.
_HOMES = {
    "preview": "readonly",
    "resolve": "decision",
    "withdrawn": "readonly",
    "can_prompt": "detect",
    "detect_agent": "detect",
    "detect_ci": "detect",
    "is_tty": "detect",
    "Broken": "files",
    "find_project_file": "files",
    "parse_toml": "files",
    "read_project_mode": "files",
    "read_toml_file": "files",
    "recorded_app_settings": "files",
    "in_sample": "ids",
    "new_install_id": "ids",
    "new_salt": "ids",
    "utc_now": "ids",
    "BrokenFileError": "store",
    "UserStore": "store",
    "loads_flat": "files",
    "MODES": "value",
    "Consent": "value",
}

__all__ = [
    "MODES",
    "Broken",
    "BrokenFileError",
    "Consent",
    "UserStore",
    "can_prompt",
    "detect_agent",
    "detect_ci",
    "find_project_file",
    "in_sample",
    "is_tty",
    "loads_flat",
    "new_install_id",
    "new_salt",
    "parse_toml",
    "preview",
    "read_project_mode",
    "read_toml_file",
    "recorded_app_settings",
    "resolve",
    "utc_now",
    "withdrawn",
]


def __getattr__(name: str) -> object:
    return _loader.lazy_attribute(__name__, globals(), _HOMES, name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
