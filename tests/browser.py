"""Headless Chromium (Debian's package) for tests that must see a page drawn, and a tiny PNG decoder.

CI installs Chromium (.ci/run); a machine without it fails these tests with the command that
installs it, rather than skipping them.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

import pytest

FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
)  # fmt: skip


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(
        "chromium is not installed: `apt-get install -y chromium` (.ci/run installs it for CI)"
    )


def _run(page: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        done = subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={profile}", *extra, page.resolve().as_uri()],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def dump_dom(page: Path) -> str:
    """The DOM after the page's scripts ran, serialised."""
    return _run(page, "--virtual-time-budget=5000", "--dump-dom").stdout


def screenshot(page: Path, png: Path, width: int = 1000, height: int = 2800) -> Path:
    _run(page, f"--window-size={width},{height}", f"--screenshot={png}")
    assert png.is_file() and png.stat().st_size > 0, "chromium wrote no screenshot"
    return png


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGB(A) bytes) of an 8-bit, non-interlaced RGB or RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
    size = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * size
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        _unfilter(kind, line, previous, size)
        rows.append(bytes(line))
        previous = line
    return width, height, rows


def _unfilter(kind: int, line: bytearray, up: bytearray, size: int) -> None:
    if kind == 0:
        return
    if kind == 2:
        line[:] = bytes((x + y) & 0xFF for x, y in zip(line, up))
        return
    for i in range(len(line)):
        a = line[i - size] if i >= size else 0
        b = up[i]
        c = up[i - size] if i >= size else 0
        if kind == 1:
            line[i] = (line[i] + a) & 0xFF
        elif kind == 2:
            line[i] = (line[i] + b) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + (a + b) // 2) & 0xFF
        elif kind == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF


def colours(png: Path) -> dict[str, int]:
    """How many pixels have each colour (`#rrggbb`) in the image."""
    width, _, rows = png_pixels(png.read_bytes())
    size = len(rows[0]) // width
    counts: dict[str, int] = {}
    for row in rows:
        for x in range(0, len(row), size):
            key = "#" + row[x : x + 3].hex()
            counts[key] = counts.get(key, 0) + 1
    return counts
