"""Rewrites the generated block between two marker lines of a checked-in file, or checks it is current.

The gateway config (``gateway``) and docs/privacy.md (``docs``) are written this way from the one
rule table; everything outside the markers is the file owner's.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable


def replace_block(current: str, begin: str, end: str, block: str) -> str:
    """`current` with the lines from `begin` to `end` (both included) replaced by `block`.

    Raises ValueError when a marker line is missing."""
    start = current.index(begin + "\n")
    stop = current.index(end + "\n", start) + len(end) + 1
    return current[:start] + block + current[stop:]


def main(argv: list[str] | None, module: str, render: Callable[[str], str]) -> int:
    """``python -m <module> [--check] FILE``: rewrite FILE's block, or exit 1 when it is stale."""
    args = list(sys.argv[1:] if argv is None else argv)
    check = "--check" in args
    paths = [arg for arg in args if arg != "--check"]
    if len(paths) != 1:
        print(f"usage: python -m {module} [--check] FILE", file=sys.stderr)
        return 2
    path = paths[0]
    with open(path, encoding="utf-8") as f:
        current = f.read()
    try:
        fresh = render(current)
    except ValueError:
        print(f"{path}: no generated block (the BEGIN/END marker lines)", file=sys.stderr)
        return 1
    if check:
        if fresh != current:
            print(f"{path} is stale: run python -m {module} {path}", file=sys.stderr)
            return 1
        return 0
    if fresh != current:
        with open(path, "w", encoding="utf-8") as f:
            f.write(fresh)
    return 0
