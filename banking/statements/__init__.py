"""Bank statement parsing (CSV, OFX/QFX, CAMT.053, MT940) without Django.

Usage::

    with open(path, "rb") as fh:
        for tx in iter_statement(fh, filename=path):
            ...

Every parser yields :class:`ParsedTransaction` objects and reports problems
as one :class:`StatementParseError` carrying a list of :class:`RowError`.
CSV is streamed row by row, so the error may arrive after transactions were
yielded: a caller must treat any error as "import nothing". OFX, CAMT.053
and MT940 files are validated completely before the first transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from ._text import PrefixedStream
from .camt053_format import iter_camt053, read_camt053_balances
from .csv_format import iter_csv
from .detect import HEAD_SIZE, detect_format
from .mt940_format import iter_mt940
from .ofx_format import iter_ofx
from .types import (
    SUPPORTED_FORMATS,
    CsvOptions,
    ParsedTransaction,
    RowError,
    StatementBalance,
    StatementParseError,
)

__all__ = [
    "SUPPORTED_FORMATS",
    "CsvOptions",
    "ParsedTransaction",
    "RowError",
    "StatementBalance",
    "StatementParseError",
    "detect_format",
    "iter_statement",
    "read_camt053_balances",
]


def iter_statement(
    stream: BinaryIO,
    *,
    format: str | None = None,  # noqa: A002 - public API name
    filename: str | None = None,
    csv_options: CsvOptions | None = None,
) -> Iterator[ParsedTransaction]:
    """Yield the transactions of a statement file opened in binary mode.

    ``format`` is one of ``SUPPORTED_FORMATS``; when None it is detected
    from the first 64 KiB (and ``filename``'s extension as a hint) without
    needing a seekable stream. ``csv_options`` only applies to CSV.
    Raises StatementParseError (on iteration) for unknown formats and
    malformed files.
    """
    if filename is None:
        name = getattr(stream, "name", None)
        filename = name if isinstance(name, str) else None
    if format is None:
        head = stream.read(HEAD_SIZE)
        if isinstance(head, str):
            head = head.encode("utf-8")
        format = detect_format(head, filename)  # noqa: A001
        stream = PrefixedStream(head, stream)  # type: ignore[assignment]  # replays head
    if format == "csv":
        yield from iter_csv(stream, csv_options)
    elif format == "ofx":
        yield from iter_ofx(stream)
    elif format == "camt053":
        yield from iter_camt053(stream)
    elif format == "mt940":
        yield from iter_mt940(stream)
    else:
        raise StatementParseError(
            f"unsupported statement format {format!r}; supported formats: {', '.join(SUPPORTED_FORMATS)}"
        )
