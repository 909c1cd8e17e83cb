"""A progress display for long management commands (imports of large files)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """A one-line progress display on a terminal; silent when the stream is not a TTY."""

    def __init__(self, label: str, total_bytes: int | None, stream: TextIO | None = None) -> None:
        self.label = label
        self.total_bytes = total_bytes
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.started = time.monotonic()

    def update(self, rows: int, position: int | None = None) -> None:
        if not self.enabled:
            return
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = f"{rows / elapsed:,.0f} rows/s"
        if self.total_bytes and position is not None:
            fraction = min(position / self.total_bytes, 1.0)
            filled = int(fraction * 30)
            bar = "#" * filled + "-" * (30 - filled)
            self.stream.write(f"\r{self.label} [{bar}] {fraction:4.0%} {rows:,} rows {rate}")
        else:
            self.stream.write(f"\r{self.label} {rows:,} rows {rate}")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
