"""Consent runs inside the host's `optel.init()`: its common paths import no costly module."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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


# What a host run that finds a stored choice loads (issue 19: what every run pays). The writer
# (lock, atomic replace, install ids), the first-run question and notice, the readers of declared
# off switches and the OpenTelemetry settings load only for the runs that need them.
APP = "imports-app"

HOST = r"""
import sys
import optel
telemetry = optel.init("imports-app", version="1.0")

@optel.step()
def fetch():
    return 1

@optel.command()
def main():
    return fetch()

main()
consent = telemetry.consent
sys.stdout.write(repr((consent.mode, consent.source, consent.reason, sorted(m for m in sys.modules if m.startswith("optel")))))
"""

# Loaded only when something is written, nobody decided yet, a tool declares off switches, or
# OTEL_SDK_DISABLED is set.
NOT_FOR_A_STORED_CHOICE = (
    "optel.consent.store",
    "optel.consent.lock",
    "optel.consent.ids",
    "optel.consent.asking",
    "optel.consent.prompt",
    "optel.consent.howto",
    "optel.consent.unasked",
    "optel.consent.switches",
    "optel.consent.warned",
    "optel._endpoints",
    "optel._logger",
)
# With telemetry off, plain decorated functions load no more than their wrappers: the coroutine
# and generator wrappers load with the first such function (and the id pools, in optel.record,
# fill at the first span).
NOT_WHEN_OFF = ("optel.record.shapes",)


def _run_host(stored: str, **env: str) -> tuple[str, str, str, list[str]]:
    path = _paths.user_config_file(APP)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(stored)
    result = subprocess.run(
        [sys.executable, "-c", HOST],
        env={**os.environ, **env, f"{APP.upper().replace('-', '_')}_TELEMETRY_LOG": ""},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    mode, source, reason, loaded = eval(result.stdout)  # our own repr of str/list values
    return mode, source, reason, loaded


STORED = (
    'install_id = "0b7f3c52-7d36-4c5e-9d2a-6f1f7f0f7a10"\nconsent_version = 1\n'
    'decided_at = "2026-11-23T18:00:00Z"\ndecided_by = "answer"\n'
)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["off", "anonymous"])
def test_a_stored_choice_is_decided_without_the_writer_the_prompt_or_the_notice(mode: str) -> None:
    got_mode, source, reason, loaded = _run_host(f'mode = "{mode}"\n' + STORED)
    assert (got_mode, source) == (mode, "user_file")
    answer = "no" if mode == "off" else mode
    assert reason.startswith(f"you answered {answer} when {APP} asked on 2026-11-23T18:00:00Z")
    assert sorted(set(loaded) & set(NOT_FOR_A_STORED_CHOICE)) == []
    if mode == "off":
        assert sorted(set(loaded) & set(NOT_WHEN_OFF)) == []


@pytest.mark.slow
def test_an_env_off_is_decided_without_the_files_readers() -> None:
    # DO_NOT_TRACK answers first: neither the user file nor the rows after it are read.
    mode, source, _, loaded = _run_host('mode = "anonymous"\n' + STORED, DO_NOT_TRACK="1")
    assert (mode, source) == ("off", "DO_NOT_TRACK")
    assert sorted(set(loaded) & set(NOT_FOR_A_STORED_CHOICE)) == []


@pytest.mark.slow
def test_otel_sdk_disabled_still_decides_when_set() -> None:
    # The variable is read cheaply; optel._endpoints (its one reader) loads once it is set.
    mode, source, reason, loaded = _run_host(
        'mode = "anonymous"\n' + STORED, OTEL_SDK_DISABLED="true"
    )
    assert (mode, source, reason) == (
        "off",
        "OTEL_SDK_DISABLED",
        "OTEL_SDK_DISABLED=true is set in the environment",
    )
    assert "optel._endpoints" in loaded
