"""Writing docs/consent.md's table of consent rows from the chain itself, between two markers.

``python -m optel.consent.table docs/consent.md`` rewrites the part between ``BEGIN`` and ``END``
and leaves the prose around it; ``--check`` exits 1 when the file is stale (a test runs it).
"""

from __future__ import annotations

import sys

from optel.consent.decision import chain
from optel.consent.facts import LIMITS
from optel.consent.rowkit import DECIDED_BY, STALE, STALE_NOT_LIVE, STALE_UNASKED, UNASKED

BEGIN = (
    "<!-- BEGIN consent rows: generated from src/optel/consent/ by "
    "`python -m optel.consent.table docs/consent.md`. Do not edit by hand. -->"
)
END = "<!-- END consent rows -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    # A template that quotes a command in backticks needs a longer fence.
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def render() -> str:
    """The generated part, markers included."""
    lines = [
        BEGIN,
        "",
        "| # | row | when | result | source | reason (`optel status` shows it) |",
        "|---|---|---|---|---|---|",
    ]
    for number, each in enumerate(chain(), 1):
        reason = _code(each.reason) + (" (in the *unasked* sentence)" if each.unasked else "")
        name = f"`{each.name}`" + (" (withdraws)" if each.withdraws else "")
        cells = (str(number), name, each.condition, each.result, f"`{each.source}`", reason)
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    lines += [
        "",
        "The *unasked* sentence: " + _code(UNASKED) + "; when a choice made for an older",
        "`consent_version` is stored: " + _code(STALE_UNASKED) + ", where `{stale}` is",
        _code(STALE) + ". Row `not_live` then says " + _code(STALE_NOT_LIVE) + "; the other off",
        "reasons of an install without a current choice start with `{stale}, and `.",
        "",
        "What an *on* answer's reason gains when it is limited or not sampled:",
        "",
    ]
    lines += [f"- {what}: {_code(text)}" for what, text in LIMITS.items()]
    lines += ["", "How a stored or answered choice came about (`decided_by` in the user file):", ""]
    lines += [f"- `{how}`: {_code(text)}" for how, text in DECIDED_BY.items()]
    lines += ["", END]
    return "\n".join(lines) + "\n"


def updated(text: str) -> str:
    """``text`` with the part between the markers replaced by ``render()``."""
    start = text.index(BEGIN.split(":")[0])
    end = text.index(END, start) + len(END) + 1
    return text[:start] + render() + text[end:]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    check = "--check" in args
    paths = [a for a in args if a != "--check"]
    if len(paths) != 1:
        print("usage: python -m optel.consent.table [--check] docs/consent.md", file=sys.stderr)
        return 2
    with open(paths[0], encoding="utf-8") as f:
        text = f.read()
    new = updated(text)
    if check:
        if new != text:
            print(f"{paths[0]} is stale: run python -m optel.consent.table {paths[0]}")
            return 1
        return 0
    if new != text:
        with open(paths[0], "w", encoding="utf-8", newline="\n") as f:
            f.write(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
