"""Consent: one decision per process, with a reason (docs/contract.md#consent), and the files that
store it.

Imported inside the host's ``optel.init()``: this package loads only the standard modules the import
budget allows (docs/internals.md#the-import-budget-of-the-host-side); the prompt, tomllib and
tomli-w load on first need.
"""

from __future__ import annotations

from optel.consent.decision import preview, resolve, withdrawn
from optel.consent.detect import can_prompt, detect_agent, detect_ci, is_tty
from optel.consent.files import (
    Broken,
    find_project_file,
    parse_toml,
    read_project_mode,
    read_toml_file,
    recorded_app_settings,
)
from optel.consent.ids import in_sample, new_install_id, new_salt, utc_now
from optel.consent.store import BrokenFileError, UserStore
from optel.consent.tomlflat import loads_flat
from optel.consent.value import MODES, Consent

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
