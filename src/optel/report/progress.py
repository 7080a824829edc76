"""A progress bar on stderr for long reads, drawn only when stderr is a terminal."""

from __future__ import annotations

import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

WIDTH = 30
INTERVAL_S = 0.2


class Progress:
    """`advanced(n)` after each n bytes read; `done()` clears the line. Silent when not a terminal."""

    def __init__(self, stream: TextIO, total_bytes: int, label: str = "reading") -> None:
        self.stream = stream
        self.total = max(total_bytes, 1)
        self.label = label
        self.read = 0
        self.shown_at = 0.0
        try:
            self.on = bool(stream.isatty())
        except (AttributeError, ValueError):
            self.on = False

    def advanced(self, n: int) -> None:
        self.read += n
        if not self.on:
            return
        now = time.monotonic()
        if now - self.shown_at >= INTERVAL_S:
            self.shown_at = now
            self._draw()

    def _draw(self) -> None:
        share = min(self.read / self.total, 1.0)
        filled = int(WIDTH * share)
        bar = "#" * filled + "-" * (WIDTH - filled)
        try:
            self.stream.write(
                f"\r{self.label} [{bar}] {share * 100:3.0f}% {self.read / 1e6:,.1f} MB"
            )
            self.stream.flush()
        except (OSError, ValueError):
            self.on = False

    def done(self) -> None:
        if self.on and self.shown_at:
            try:
                self.stream.write("\r" + " " * (len(self.label) + WIDTH + 24) + "\r")
                self.stream.flush()
            except (OSError, ValueError):
                pass
