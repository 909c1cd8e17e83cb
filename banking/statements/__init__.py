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

``read_statement_file`` also returns the file's statements (:class:`ParsedStatement`: account,
currency, period, opening and closing balances, which transactions belong to each); CSV
exports have none.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from ._text import PrefixedStream, read_all
from .camt053_format import parse_camt053_file, read_camt053_balances
from .csv_format import iter_csv
from .detect import HEAD_SIZE, detect_format
from .mt940_format import parse_mt940_file
from .ofx_format import parse_ofx_file
from .types import (
    SUPPORTED_FORMATS,
    CsvOptions,
    ParsedBalance,
    ParsedStatement,
    ParsedTransaction,
    RowError,
    StatementBalance,
    StatementFile,
    StatementParseError,
)

__all__ = [
    "SUPPORTED_FORMATS",
    "CsvOptions",
    "ParsedBalance",
    "ParsedStatement",
    "ParsedTransaction",
    "RowError",
    "StatementBalance",
    "StatementFile",
    "StatementParseError",
    "detect_format",
    "iter_statement",
    "read_camt053_balances",
    "read_statement_file",
]

_WHOLE_FILE_PARSERS = {"ofx": parse_ofx_file, "camt053": parse_camt053_file, "mt940": parse_mt940_file}


def read_statement_file(
    stream: BinaryIO,
    *,
    format: str | None = None,  # noqa: A002 - public API name
    filename: str | None = None,
    csv_options: CsvOptions | None = None,
) -> StatementFile:
    """The statements and transactions of a statement file opened in binary mode.

    ``format`` is one of ``SUPPORTED_FORMATS``; when None it is detected from the first 64 KiB
    (and ``filename``'s extension as a hint) without needing a seekable stream. OFX, CAMT.053
    and MT940 are read and checked whole here (StatementParseError now); CSV is streamed, so
    its errors arrive while iterating ``transactions``.
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
        return StatementFile(format=format, statements=[], transactions=iter_csv(stream, csv_options))
    parse = _WHOLE_FILE_PARSERS.get(format)
    if parse is None:
        raise StatementParseError(
            f"unsupported statement format {format!r}; supported formats: {', '.join(SUPPORTED_FORMATS)}"
        )
    statements, transactions = parse(read_all(stream))
    return StatementFile(format=format, statements=statements, transactions=iter(transactions))


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
    yield from read_statement_file(
        stream, format=format, filename=filename, csv_options=csv_options
    ).transactions
