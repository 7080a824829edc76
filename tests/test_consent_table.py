"""docs/consent.md's table of rows is generated from the chain itself, and is current.

Regenerate with: python -m optel.consent.table docs/consent.md
"""

from __future__ import annotations

import pathlib

from optel.consent import table
from optel.consent.decision import WITHDRAWING, chain

DOC = pathlib.Path(__file__).resolve().parents[1] / "docs" / "consent.md"


def test_docs_consent_md_holds_the_current_table() -> None:
    assert table.main(["--check", str(DOC)]) == 0, (
        "docs/consent.md is stale: run python -m optel.consent.table docs/consent.md"
    )


def test_a_stale_table_is_reported_and_regenerated(tmp_path: pathlib.Path) -> None:
    stale = tmp_path / "consent.md"
    text = DOC.read_text(encoding="utf-8")
    stale.write_text(text.replace("`do_not_track`", "`dnt`", 1), encoding="utf-8")
    assert table.main(["--check", str(stale)]) == 1
    assert table.main([str(stale)]) == 0
    assert stale.read_text(encoding="utf-8") == text


def test_every_row_is_in_the_table_in_chain_order() -> None:
    text = DOC.read_text(encoding="utf-8")
    places = [text.index(f"| {n} | `{row.name}`") for n, row in enumerate(chain(), 1)]
    assert places == sorted(places)


def test_the_withdrawing_rows_come_before_any_row_that_can_say_on() -> None:
    # An off from them is final only because no row that raises is read before them.
    rows = chain()
    assert rows[: len(WITHDRAWING)] == WITHDRAWING
    assert not any(row.withdraws for row in rows[len(WITHDRAWING) :])
    assert all(row.result == "off" for row in WITHDRAWING)
