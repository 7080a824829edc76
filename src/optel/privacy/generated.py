"""Rewrites the generated block between two marker lines of a checked-in file, or checks it is current.

The gateway config (``gateway``) and docs/privacy.md (``docs``) are written this way from the one
rule table; everything outside the markers is the file owner's. A whole generated file (the data
dictionary's page) is written or checked by ``write_or_check``.
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


def write_or_check(argv: list[str] | None, module: str, render: Callable[[], str]) -> int:
    """``python -m <module> [--check] [PATH]``: write the whole of `render()` to PATH (or print
    it); ``--check``: exit 1 when PATH differs. An option is never taken for a file name (a
    stray ``--help`` file was once written and committed so): usage error, exit 2."""
    args = list(sys.argv[1:] if argv is None else argv)
    paths = [arg for arg in args if arg != "--check"]
    check = len(paths) < len(args)
    if len(paths) > 1 or (check and not paths) or any(p.startswith("-") for p in paths):
        print(f"usage: python -m {module} [--check] [PATH]", file=sys.stderr)
        return 2
    text = render()
    if not paths:
        sys.stdout.write(text)
    elif check:
        if _read(paths[0]) != text:
            print(f"{paths[0]} is stale: run python -m {module} {paths[0]}", file=sys.stderr)
            return 1
    else:
        with open(paths[0], "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
    return 0


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", newline="") as f:
            return f.read()
    except OSError:
        return None
