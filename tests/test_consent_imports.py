"""Consent runs inside the host's `optel.init()`: its common paths import no costly module."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap

import pytest

from optel import _paths

COSTLY = {
    "re",
    "json",
    "typing",
    "dataclasses",
    "enum",
    "functools",
    "inspect",
    "pathlib",
    "tomllib",
    "tomli",
    "tomli_w",
    "platformdirs",
    "hashlib",
    "subprocess",
    "threading",
    "logging",
    "uuid",
    "random",
    "datetime",
    "tempfile",
    "contextlib",
    "select",
    "fcntl",
    "opentelemetry",
    "wrapt",
    "google",
    "grpc",
    "optel.consent.prompt",
}

PROBE = textwrap.dedent(
    """
    import sys
    before = set(sys.modules)
    import optel.consent as c
    r = c.resolve("budget-app", **{kwargs})
    new = sorted(m.split(".")[0] if not m.startswith("optel") else m for m in set(sys.modules) - before)
    import json
    print(json.dumps([r.mode, r.source, new]))
    """
)


def probe(
    python: str, env: dict[str, str] | None = None, kwargs: str = ""
) -> tuple[str, str, set[str]]:
    full = dict(os.environ)
    full.update(env or {})
    code = PROBE.replace("{kwargs}", "dict(" + kwargs + ")")
    proc = subprocess.run(
        [python, "-c", code],
        capture_output=True,
        text=True,
        env=full,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    mode, source, new = json.loads(proc.stdout.splitlines()[-1])
    return mode, source, set(new)


def write_user_file(text: str) -> None:
    path = _paths.user_config_file("budget-app")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


@pytest.mark.parametrize(
    ("env", "stored", "expected"),
    [
        ({"DO_NOT_TRACK": "1"}, None, ("off", "DO_NOT_TRACK")),
        ({}, None, ("off", "not_a_tty")),
        ({"CI": "true"}, None, ("off", "ci")),
        ({}, 'mode = "off"\ninstall_id = "x"\n', ("off", "user_file")),
        (
            {},
            'mode = "anonymous"\ninstall_id = "4f3c0000-0000-4000-8000-000000000000"\n'
            'decided_at = "2026-11-23T18:00:00Z"\nconsent_version = 1\nuser_id = ""\n'
            'notice_shown = false\nsalt = "00112233445566778899aabbccddeeff"\n'
            'first_seen = "2026-11-23T18:00:00Z"\nfirst_version = "1.2.3"\n',
            ("anonymous", "user_file"),
        ),
        ({"BUDGET_APP_TELEMETRY": "on"}, None, ("anonymous", "app_env")),
    ],
    ids=["do-not-track", "no-file", "ci", "stored-off", "stored-anonymous-all-keys", "raise"],
)
def test_common_paths_import_nothing_costly(python, env, stored, expected):
    if stored is not None:
        write_user_file(stored)
    mode, source, new = probe(python, env)
    assert (mode, source) == expected
    assert not new & COSTLY, sorted(new & COSTLY)


def test_hashlib_is_imported_only_when_a_percent_below_100_needs_it(python):
    write_user_file('mode = "anonymous"\ninstall_id = "4f3c0000-0000-4000-8000-000000000000"\n')
    assert "hashlib" not in probe(python)[2]
    assert "hashlib" in probe(python, kwargs="sample_percent=50.0")[2]
