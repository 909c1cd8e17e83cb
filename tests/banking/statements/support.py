"""Paths and small helpers for the statement parser tests (no Django)."""

from __future__ import annotations

import io
from pathlib import Path

from banking.statements import CsvOptions, ParsedTransaction, iter_statement

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def fixture(name: str) -> Path:
    return FIXTURES / name


def parse_file(
    path: Path, *, format: str | None = None, csv_options: CsvOptions | None = None
) -> list[ParsedTransaction]:
    with path.open("rb") as fh:
        return list(
            iter_statement(fh, format=format, filename=path.name, csv_options=csv_options)
        )


def parse_bytes(
    data: bytes,
    *,
    format: str | None = None,
    filename: str | None = None,
    csv_options: CsvOptions | None = None,
) -> list[ParsedTransaction]:
    return list(
        iter_statement(
            io.BytesIO(data), format=format, filename=filename, csv_options=csv_options
        )
    )


class NonSeekable(io.RawIOBase):
    """A stream that can only be read forward, like an upload or a pipe."""

    def __init__(self, data: bytes) -> None:
        super().__init__()
        self._inner = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        chunk = self._inner.read(min(len(buffer), 1000))  # short reads on purpose
        buffer[: len(chunk)] = chunk
        return len(chunk)
