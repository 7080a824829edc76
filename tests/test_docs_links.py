"""Every docs/ page and section that the code and the docs cite exists, and no comment cites SPEC.

The project's contract lives in docs/ (docs/contract.md lists where each part of it is): a
comment or a page that cites `docs/<page>.md#<anchor>` must name a page that exists and a heading
whose anchor, by GitHub's rules, is that one. A citation of the founding SPEC.md, which is not in
the repository, is an error: /work/notes/spec-map.txt says which docs section replaces each one.
"""

from __future__ import annotations

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SRC = ROOT / "src"

# `docs/guide.md#where-the-data-goes` in a comment, a docstring or a page's prose.
CITED = re.compile(r"\bdocs/([\w.-]+\.md)(?:#([\w-]+))?")
# A Markdown link to a file of the repository: [text](privacy.md#anchor), [text](../collector/README.md)
LINK = re.compile(r"\]\(([^)\s#]*)(?:#([^)\s]*))?\)")
# "SPEC §3", "SPEC section 5", "the SPEC's order": the founding contract, outside the repository.
FOUNDING_SPEC = re.compile(r"\bSPEC(?:'s)?\b")
FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading's text: lower case, punctuation removed, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading keeps its text
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


def anchors(page: pathlib.Path) -> set[str]:
    """Every heading anchor of a Markdown page; headings inside code fences are not headings."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    fenced = False
    for line in page.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        match = None if fenced else HEADING.match(line)
        if match:
            base = anchor(match.group(2))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def _markdown_pages() -> list[pathlib.Path]:
    return [*sorted(DOCS.glob("*.md")), ROOT / "README.md"]


def _code() -> list[pathlib.Path]:
    return sorted(SRC.rglob("*.py")) + sorted((ROOT / "tests").glob("*.py"))


def _citations() -> list[tuple[str, pathlib.Path, str | None]]:
    """(where, target file, anchor or None) for every citation in src/, tests/, docs/, README.md."""
    cites: list[tuple[str, pathlib.Path, str | None]] = []
    for path in _code() + _markdown_pages():
        where = path.relative_to(ROOT).as_posix()
        text = path.read_text(encoding="utf-8")
        for match in CITED.finditer(text):
            cites.append((where, DOCS / match.group(1), match.group(2)))
        if path.suffix != ".md":
            continue
        for match in LINK.finditer(text):
            target, fragment = match.group(1), match.group(2)
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):
                continue  # https:, mailto:: not a file of the repository
            file = (path.parent / target).resolve() if target else path
            cites.append((where, file, fragment or None))
    return cites


def test_anchor_follows_githubs_rules():
    assert anchor("Where the data goes") == "where-the-data-goes"
    assert anchor("The `optel` command") == "the-optel-command"
    assert anchor("Every `OTEL_*` variable") == "every-otel_-variable"
    assert anchor("Consent: what each policy means for your users") == (
        "consent-what-each-policy-means-for-your-users"
    )
    assert anchor("Delivery (`optel.spool`, host side)") == "delivery-optelspool-host-side"


def test_anchors_skip_code_fences_and_number_duplicates(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("# Top\n```python\n# not a heading\n```\n## Top\n## Top\n", encoding="utf-8")
    assert anchors(page) == {"top", "top-1", "top-2"}


def test_every_cited_page_and_section_exists():
    broken = []
    for where, file, fragment in dict.fromkeys(_citations()):
        if not file.exists():
            broken.append(f"{where}: {file.relative_to(ROOT)} does not exist")
        elif fragment and file.suffix == ".md" and fragment not in anchors(file):
            broken.append(f"{where}: {file.relative_to(ROOT)} has no heading #{fragment}")
    assert broken == []


def test_docs_are_cited_by_anchor_not_by_section_number():
    # A section number ("internals.md §5") breaks silently when sections move; anchors are checked.
    numbered = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in _code() + _markdown_pages()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"docs/[\w.-]+\.md,? §\d", line)
    ]
    assert numbered == [], "cite docs/<page>.md#<anchor> (see /work/notes/spec-map.txt)"


@pytest.mark.parametrize("tree", ["src", "docs"])
def test_nothing_cites_the_founding_spec(tree):
    # SPEC.md is not part of the repository: docs/ carries the contract (docs/contract.md).
    paths = sorted(SRC.rglob("*.py")) if tree == "src" else _markdown_pages()
    cites = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in paths
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if FOUNDING_SPEC.search(line)
    ]
    assert cites == [], "replace each with its docs/ section (/work/notes/spec-map.txt)"
