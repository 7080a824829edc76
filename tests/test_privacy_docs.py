"""docs/privacy.md states every built-in scrubbing rule, generated from optel/privacy/table.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from optel.privacy import docs, identity, rules
from optel.privacy.table import RULES

PAGE = Path(__file__).resolve().parents[1] / "docs" / "privacy.md"


def test_the_checked_in_page_is_what_the_generator_writes() -> None:
    current = PAGE.read_text(encoding="utf-8")
    assert docs.render(current) == current, (
        "docs/privacy.md is stale: run `python -m optel.privacy.docs docs/privacy.md`"
    )


def test_the_generator_reports_a_stale_page_and_rewrites_it(tmp_path: Path) -> None:
    stale = tmp_path / "privacy.md"
    stale.write_text(
        PAGE.read_text(encoding="utf-8").replace("| `login` |", "| `logon` |"), encoding="utf-8"
    )
    command = [sys.executable, "-m", "optel.privacy.docs"]
    check = subprocess.run(
        [*command, "--check", str(stale)], capture_output=True, text=True, timeout=60
    )
    assert check.returncode == 1 and "stale" in check.stderr
    assert subprocess.run([*command, str(stale)], timeout=60).returncode == 0
    assert stale.read_text(encoding="utf-8") == PAGE.read_text(encoding="utf-8")
    assert subprocess.run([*command, "--check", str(stale)], timeout=60).returncode == 0


def test_the_chain_runs_every_rule_of_the_table_and_nothing_else() -> None:
    assert [function.__name__ for function in rules.BUILTIN_RULES] == [
        "scrub_" + rule.name for rule in RULES
    ]
    assert set(rules._FUNCTIONS) == {rule.name for rule in RULES}


@pytest.mark.parametrize(
    ("given", "expected"), [example for rule in RULES for example in rule.examples]
)
def test_every_example_on_the_page_is_what_the_chain_gives(
    monkeypatch: pytest.MonkeyPatch, given: str, expected: str
) -> None:
    # The identity the page states, and no other: not this machine's account or name.
    monkeypatch.setattr(identity, "_account", ("", ""))
    monkeypatch.setattr(identity, "_node", "")
    for name in ("USERPROFILE", "LOGNAME", "USERNAME", "HOSTNAME", "COMPUTERNAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", "/Users/Alice Smith")
    monkeypatch.setenv("USER", "alice")
    assert rules.apply_builtin_rules(given) == expected
