"""Writes on the bank ledger: importing transactions (API, statement files, command, admin).

Imports stream rows into a temporary staging table with ``COPY`` (PostgreSQL 15 refuses ``COPY
FROM`` into a table whose RLS applies to the current role) and move them with one ``INSERT ...
SELECT ... ON CONFLICT DO NOTHING`` inside the tenant context, where the policies check every
row and the tenant references (account, batch) check the statement's parents once. Duplicates
are decided by the database through the ``(tenant, account, dedup_key)`` unique key: ``ref:``
+ the bank's reference when there is one (``#n`` for its n-th repeat within one import), else
``fp:`` + a fingerprint of date, amount, currency, normalised description and position among
identical rows of that day.

Imported rows get time-ordered ids (UUIDv7 with a per-import counter, see
``common.ids.OrderedIds``): random UUIDs scatter every insert over both primary-key indexes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import operator
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import islice
from typing import Any, BinaryIO

from django.db import connection, transaction
from psycopg import sql

from banking.statements import (
    SUPPORTED_FORMATS,
    CsvOptions,
    ParsedStatement,
    ParsedTransaction,
    StatementParseError,
    detect_format,
    read_statement_file,
)
from common import limits
from common.errors import InvalidInput, unknown_field_errors
from common.finance import (
    AMOUNT_DECIMAL_PLACES,
    AMOUNT_LIMIT,
    AMOUNT_MAX_DIGITS,
    CURRENCY_CODES,
    CURRENCY_QUANTUM,
    compact_account,
    compact_reference,
    exact_decimal,
    find_rf_reference,
    fits_minor_units,
)
from common.ids import OrderedIds
from common.memory import cyclic_gc_paused
from events.models import EventType
from events.services import event_record
from tenants.audit import Actor, AuditAction, audit_record
from tenants.context import require_tenant_id
from tenants.selectors import tenant_default_currency
from tenants.statistics import analyze_if_stale

from .models import BankAccount, BankStatement, BankTransaction, ImportBatch, ImportSource, TransactionStatus
from .signals import transactions_imported
from .statement_services import (
    RecordedStatements,
    statement_chains_refresh,
    statement_problems,
    statements_record,
)
from .transfer_services import internal_transfers_pair

CHUNK_SIZE = 10_000
MAX_REPORTED_ERRORS = 50
# Every text a row stores (common.limits has the bounds and why); a file's row over one is
# rejected naming its line or element, like any other malformed row.
_TEXT_LIMITS = {
    "account": limits.ACCOUNT,
    "description": limits.DESCRIPTION,
    "counterparty_name": limits.NAME,
    "counterparty_account": limits.ACCOUNT,
    "external_id": limits.TRANSACTION_REFERENCE,
    "end_to_end_id": limits.TRANSACTION_REFERENCE,
    "structured_reference": limits.STRUCTURED_REFERENCE,
    "return_reason": limits.RETURN_REASON,
}
_TEXT_VALUES = operator.attrgetter(*_TEXT_LIMITS)
_TEXT_MAXIMA = tuple(_TEXT_LIMITS.values())
_STAGING_COLUMNS = (
    "seq",
    "account",
    "account_currency",
    "amount",
    "currency",
    "booking_date",
    "value_date",
    "description",
    "counterparty_name",
    "counterparty_account",
    "external_id",
    "end_to_end_id",
    "structured_reference",
    "return_reason",
    "statement_id",
)


@dataclass
class ImportResult:
    """What an import did, with the new rows' ids in input order (when asked for).

    The ids are kept as text, as PostgreSQL returns them: a response lists them as text, and
    building ``uuid.UUID`` objects only to print them again was a measurable part of a large
    import request (figure in docs/benchmarks.md).
    """

    batch: ImportBatch
    received: int
    imported: int
    duplicates: int
    transaction_id_texts: list[str] = field(default_factory=list)
    # The file's statements as stored (in file order; with their continuity after this import)
    # and the ids of those this import stored (the others were imported before).
    statements: list[BankStatement] = field(default_factory=list)
    new_statement_ids: set[uuid.UUID] = field(default_factory=set)
    internal_transfers: int = 0

    @property
    def transaction_ids(self) -> list[uuid.UUID]:
        """The new rows' ids, in input order."""
        return [uuid.UUID(text) for text in self.transaction_id_texts]

    def as_response(self) -> dict[str, Any]:
        return {
            "batch_id": str(self.batch.id),
            "imported": self.imported,
            "duplicates": self.duplicates,
            "transactions": self.transaction_id_texts,
            "internal_transfers": self.internal_transfers,
        }


class ImportRejected(InvalidInput):
    """The input has rows that cannot be imported; nothing was written."""

    code = "import-rejected"
    title = "Import rejected"


def row_errors(row: ParsedTransaction) -> list[str]:
    """Why a parsed row cannot be stored (empty list when it can)."""
    amount = row.amount
    quantum = CURRENCY_QUANTUM.get(row.currency)
    texts = _TEXT_VALUES(row)
    if (
        quantum is not None
        and amount.is_finite()
        and abs(amount) < AMOUNT_LIMIT
        and amount.quantize(quantum) == amount
        and not any(map(operator.gt, map(len, texts), _TEXT_MAXIMA))
        and "\x00" not in "".join(texts)  # PostgreSQL text cannot hold NUL
    ):
        return []  # the common case, checked in a few C calls
    return _explained_row_errors(row)


def _explained_row_errors(row: ParsedTransaction) -> list[str]:
    errors = []
    if row.currency not in CURRENCY_CODES:
        errors.append(f"currency {row.currency!r} is not an ISO 4217 code")
    elif (
        row.amount.is_finite()
        and abs(row.amount) < AMOUNT_LIMIT
        and not fits_minor_units(row.amount, row.currency)
    ):
        errors.append(f"amount {row.amount} has more decimals than {row.currency} allows")
    if not row.amount.is_finite() or abs(row.amount) >= AMOUNT_LIMIT:
        errors.append(f"amount {row.amount} is out of range")
    for name, limit in _TEXT_LIMITS.items():
        value = getattr(row, name)
        if len(value) > limit:
            errors.append(f"{name} is longer than {limit} characters")
        elif "\x00" in value:
            errors.append(f"{name} contains a NUL character")
    return errors


@dataclass
class _StagedKinds:
    """Which dedup keys the staged rows need: the move skips the window it does not need."""

    references: bool = False
    fingerprints: bool = False


def _checked_rows(
    rows: Iterable[ParsedTransaction],
    default_account: str,
    kinds: _StagedKinds,
    *,
    validated: bool = False,
    statement_of: Callable[[int], uuid.UUID | None] = lambda _seq: None,
) -> Iterator[tuple[Any, ...]]:
    """Staging tuples; collects row errors and raises ImportRejected after the last row.

    ``statement_of(seq)`` is the stored statement the file's row ``seq`` belongs to.

    ``validated`` rows already passed ``row_errors`` (``parse_api_transactions`` checks them all up
    front, so one response lists the field and the row errors together) and are not checked twice.
    """
    errors: dict[str, list[str]] = {}
    for seq, row in enumerate(rows):
        problems = [] if validated else row_errors(row)
        if problems:
            if len(errors) < MAX_REPORTED_ERRORS:
                errors[row.location or f"row {seq + 1}"] = problems
            else:
                errors.setdefault("...", ["more rows were rejected"])
            continue
        if errors:
            continue  # keep validating, but stop feeding rows that will be rolled back anyway
        if row.external_id:
            kinds.references = True
        else:
            kinds.fingerprints = True
        yield (
            seq,
            row.account or default_account,
            row.account_currency or row.currency,
            row.amount,
            row.currency,
            row.booking_date,
            row.value_date,
            row.description,
            row.counterparty_name,
            row.counterparty_account,
            row.external_id,
            row.end_to_end_id,
            row.structured_reference,
            row.return_reason,
            statement_of(seq),
        )
    if errors:
        raise ImportRejected(f"{len(errors)} row(s) cannot be imported; nothing was imported.", errors=errors)


def default_account_identifier(requested: str | None) -> str:
    """The account API imports use: the one named, else the tenant's default account."""
    identifier = (requested or "").strip() or BankAccount.DEFAULT_IDENTIFIER
    problem = limits.text_problem(identifier, limits.ACCOUNT)
    if problem is not None:
        raise InvalidInput("The account identifier cannot be used.", errors={"account": [problem]})
    return identifier


@transaction.atomic
def transactions_import(
    *,
    rows: Iterable[ParsedTransaction],
    source: str,
    created_by: Actor = None,
    default_account: str | None = None,
    file_name: str = "",
    file_format: str = "",
    file_sha256: str = "",
    return_ids: bool = True,
    progress: Callable[[int], None] | None = None,
    validated: bool = False,
    statements: list[ParsedStatement] | None = None,
) -> ImportResult:
    """Import rows for the active tenant, all or nothing; duplicates are counted, not stored.

    ``validated`` says every row already passed ``row_errors`` (as ``parse_api_transactions``
    returns them), so the staging pass does not check them again. ``statements`` are the
    file's statements (``statement_services``): stored with the rows, their continuity checked
    after them. Then transfers between the tenant's own accounts are paired
    (``transfer_services``), and last ``transactions_imported`` is sent (the automatic run).
    Requests, the admin, the command and the queue's workers (``banking/tasks.py``) all import
    through here, so statements and transfers are the same whichever ran the import.
    """
    tenant_id = require_tenant_id()
    account_identifier = default_account_identifier(default_account)
    # Stored whole or refused, never cut (the column holds limits.FILE_NAME characters).
    problem = limits.text_problem(file_name, limits.FILE_NAME)
    if problem is not None:
        raise InvalidInput("The file name cannot be stored.", errors={"file": [f"File name: {problem}"]})
    statement_errors = statement_problems(statements or [])
    if statement_errors:
        raise ImportRejected(
            f"{len(statement_errors)} statement(s) cannot be imported; nothing was imported.",
            errors=statement_errors,
        )
    batch = ImportBatch.objects.create(
        source=source,
        created_by=created_by,
        file_name=file_name,
        file_format=file_format,
        file_sha256=file_sha256,
    )
    recorded = statements_record(batch=batch, statements=statements or [], default_account=account_identifier)
    staging = sql.Identifier(f"import_staging_{batch.id.hex}")
    received = 0
    with connection.cursor() as cursor:
        # The dedup window functions sort the whole import: keep those sorts in memory.
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute(
            sql.SQL(
                "CREATE TEMPORARY TABLE {} (seq bigint, account text, account_currency text, "
                "amount numeric({}, {}), currency text, booking_date date, value_date date, "
                "description text, counterparty_name text, counterparty_account text, "
                "external_id text, end_to_end_id text, structured_reference text, return_reason text, "
                "statement_id uuid) ON COMMIT DROP"
            ).format(staging, sql.Literal(AMOUNT_MAX_DIGITS), sql.Literal(AMOUNT_DECIMAL_PLACES))
        )
        kinds = _StagedKinds()
        checked = _checked_rows(
            rows, account_identifier, kinds, validated=validated, statement_of=recorded.statement_of
        )
        copy_sql = sql.SQL("COPY {} ({}) FROM STDIN").format(
            staging, sql.SQL(", ").join(map(sql.Identifier, _STAGING_COLUMNS))
        )
        while chunk := list(islice(checked, CHUNK_SIZE)):
            # cursor.copy() bypasses Django's error wrapping: restore it, so a lost connection
            # surfaces as django.db.OperationalError (503) and the connection is discarded.
            with connection.wrap_database_errors, cursor.copy(copy_sql) as copy:
                for record in chunk:
                    copy.write_row(record)
            received += len(chunk)
            if progress is not None:
                progress(received)
        imported, ids = _move_staged_rows(cursor, staging, tenant_id, batch.id, kinds, return_ids)
        # The days the import covers: where the other legs of its transfers can be.
        cursor.execute(sql.SQL("SELECT min(booking_date), max(booking_date) FROM {}").format(staging))
        booked = cursor.fetchone()
    batch.received_count = received
    batch.imported_count = imported
    batch.duplicate_count = received - imported
    batch.save(update_fields=["received_count", "imported_count", "duplicate_count", "updated_at"])
    audit_record(
        actor=created_by,
        action=AuditAction.IMPORT_BATCH_IMPORTED,
        object_id=batch.id,
        after={
            "file_name": file_name,
            "file_format": file_format,
            "received": received,
            "imported": imported,
            "duplicates": received - imported,
        },
    )
    event_record(
        EventType.IMPORT_COMPLETED,
        {
            "kind": "bank_transactions",
            "import_batch_id": str(batch.id),
            "source": source,
            "file_name": file_name,
            "file_format": file_format,
            "received": received,
            "imported": imported,
            "duplicates": received - imported,
        },
        object_type="import_batch",
        object_id=batch.id,
    )
    analyze_if_stale(BankTransaction, rows_added=imported)
    statement_chains_refresh(statement_ids=recorded.new_ids)
    paired = (
        len(internal_transfers_pair(batch_id=batch.id, booked_from=booked[0], booked_to=booked[1]))
        if imported
        else 0
    )
    # Told once the import is complete, its transfers paired: the automatic run it queues reads
    # open transactions, and the legs paired here are no longer open.
    transactions_imported.send(sender=ImportBatch, tenant_id=tenant_id, batch_id=batch.id, added=imported)
    return ImportResult(
        batch=batch,
        received=received,
        imported=imported,
        duplicates=received - imported,
        transaction_id_texts=ids,
        statements=_stored_statements(recorded),
        new_statement_ids=set(recorded.new_ids),
        internal_transfers=paired,
    )


def _stored_statements(recorded: RecordedStatements) -> list[BankStatement]:
    """The file's stored statements, in file order (each once), as they are now."""
    ids = list(dict.fromkeys(pk for pk in recorded.statement_ids if pk is not None))
    if not ids:
        return []
    by_id = BankStatement.objects.select_related("account").in_bulk(ids)
    return [by_id[pk] for pk in ids]


# The tables and the status the statements below write, as the models name them (filled in by
# ``_move_staged_rows``): renaming either cannot leave this SQL behind (tests/test_bulk_sql_names.py).
_LEDGER_SQL_NAMES: dict[str, sql.Composable] = {
    "account_table": sql.Identifier(BankAccount._meta.db_table),
    "transaction_table": sql.Identifier(BankTransaction._meta.db_table),
    "unmatched": sql.Literal(TransactionStatus.UNMATCHED.value),
}

_CREATE_ACCOUNTS = """
INSERT INTO {account_table} (id, tenant_id, identifier, name, currency, created_at, updated_at)
SELECT gen_random_uuid(), %(tenant)s, s.account,
       CASE WHEN s.account = %(default)s THEN %(default_name)s ELSE s.account END,
       COALESCE(max(s.account_currency), ''), now(), now()
FROM {staging} s
GROUP BY s.account
ON CONFLICT (tenant_id, identifier) DO NOTHING
"""

# One sort at most: the fingerprint's position in the day. The reference's repeat number needs a
# second one only when a reference repeats inside the import (rare), and rows that all carry a
# reference need no fingerprint at all. The dedup keys are the same either way.
_NORMALIZED_DESCRIPTION = r"lower(btrim(regexp_replace(s.description, '\s+', ' ', 'g')))"
# The partition is a set of columns; the amount leads because it tells rows apart best, so the
# sort rarely has to compare the later keys (each one read out of a wide staged tuple).
_POSITION_IN_DAY = """row_number() OVER (
               PARTITION BY st.amount, st.booking_date, st.currency, st.normalized_description, st.account
               ORDER BY st.seq
           )"""
_POSITION_OF_REFERENCE = "row_number() OVER (PARTITION BY st.account, st.external_id ORDER BY st.seq)"

_REPEATED_REFERENCES = """
SELECT EXISTS (
    SELECT FROM {staging} WHERE external_id <> '' GROUP BY account, external_id HAVING count(*) > 1
)
"""

_MOVE_ROWS = """
WITH staged AS (
    SELECT s.*, {normalized_description} AS normalized_description
    FROM {staging} s
), numbered AS (
    SELECT st.*, {position_in_day} AS position_in_day, {position_of_reference} AS position_of_reference
    FROM staged st
)
INSERT INTO {transaction_table} (
    id, tenant_id, account_id, import_batch_id, amount, currency, booking_date, value_date,
    description, counterparty_name, counterparty_account, external_id, end_to_end_id,
    structured_reference, return_reason, statement_id, dedup_key, status, allocated_amount,
    created_at, updated_at
)
SELECT {ordered_id}, %(tenant)s, a.id, %(batch)s,
       n.amount, n.currency, n.booking_date,
       n.value_date, n.description, n.counterparty_name, n.counterparty_account, n.external_id,
       n.end_to_end_id, n.structured_reference, n.return_reason, n.statement_id,
       CASE WHEN n.external_id <> '' THEN 'ref:' || n.external_id
                 -- A reference repeated inside one file (a CAMT batch entry split into its
                 -- transactions shares the entry's reference) keeps every row, deterministically.
                 || CASE WHEN n.position_of_reference > 1 THEN '#' || n.position_of_reference ELSE '' END
            ELSE 'fp:' || md5(concat_ws('|', n.booking_date, n.amount, n.currency,
                                        n.normalized_description, n.position_in_day))
       END,
       {unmatched}, 0, clock_timestamp(), clock_timestamp()
FROM numbered n
JOIN {account_table} a ON a.tenant_id = %(tenant)s AND a.identifier = n.account
-- Ids grow with seq: inserting in that order appends to both primary-key indexes.
ORDER BY n.seq
ON CONFLICT ON CONSTRAINT banktransaction_no_duplicates DO NOTHING
"""


def _move_staged_rows(
    cursor: Any,
    staging: sql.Identifier,
    tenant_id: uuid.UUID,
    batch_id: uuid.UUID,
    kinds: _StagedKinds,
    return_ids: bool,
) -> tuple[int, list[str]]:
    params = {
        "tenant": tenant_id,
        "batch": batch_id,
        "default": BankAccount.DEFAULT_IDENTIFIER,
        "default_name": BankAccount.DEFAULT_NAME,
        **OrderedIds.new().params("id"),
    }
    cursor.execute(sql.SQL(_CREATE_ACCOUNTS).format(staging=staging, **_LEDGER_SQL_NAMES), params)
    repeated_references = False
    if kinds.references:
        cursor.execute(sql.SQL(_REPEATED_REFERENCES).format(staging=staging))
        repeated_references = cursor.fetchone()[0]
    statement = sql.SQL(_MOVE_ROWS).format(
        staging=staging,
        **_LEDGER_SQL_NAMES,
        ordered_id=sql.SQL(OrderedIds.sql("id", "n.seq")),
        normalized_description=sql.SQL(_NORMALIZED_DESCRIPTION if kinds.fingerprints else "NULL::text"),
        position_in_day=sql.SQL(_POSITION_IN_DAY if kinds.fingerprints else "NULL::bigint"),
        position_of_reference=sql.SQL(_POSITION_OF_REFERENCE if repeated_references else "1"),
    )
    if return_ids:
        cursor.execute(statement + sql.SQL(" RETURNING id::text"), params)
        # Ids grow with the input order (common.ids), and the canonical text of UUIDs (fixed
        # width, lowercase hex) sorts like the numbers.
        ids = sorted(row[0] for row in cursor.fetchall())
        return len(ids), ids
    # Counted by the statement: on Citus the row count of an INSERT ... SELECT ... ON CONFLICT
    # from a temporary table is the number of rows read, not written (tenants.citus).
    cursor.execute(
        sql.SQL("WITH moved AS (") + statement + sql.SQL(" RETURNING 1) SELECT count(*) FROM moved"), params
    )
    return cursor.fetchone()[0], []


# --- API payloads ------------------------------------------------------------------------------


def _parse_date(value: Any) -> dt.date:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected an ISO 8601 date or date-time, e.g. 2023-10-25T10:00:00Z")
    text = value.strip()
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text)
        return dt.datetime.fromisoformat(text).date()
    except ValueError as exc:
        raise ValueError(f"{value!r} is not an ISO 8601 date or date-time") from exc


def _parse_api_amount(value: Any) -> Decimal:
    """An item's amount, exactly as sent (the kernel's rule; its currency is checked per row)."""
    return exact_decimal(value)


def _text(item: dict[str, Any], name: str, errors: dict[str, list[str]], prefix: str) -> str:
    value = item.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        errors[f"{prefix}.{name}"] = ["expected a string"]
        return ""
    return value.strip()


def _structured_reference(given: str, description: str) -> str:
    """The item's structured reference as stored: the one given (compact, any kind: RF or a
    national scheme), else a valid RF reference found in the description.

    The statement parsers store the RF reference a line's text carries (CSV, MT940 and OFX
    have no field for it; CAMT when ``Strd`` has none), and the API does the same, so one bank
    line is stored alike whether it arrived in a file or as JSON. A reference the client gave
    is never replaced: it is the bank's structured field.
    """
    return compact_reference(given) or find_rf_reference(description)


# The keys an import item may have (REST and GraphQL); any other key is refused, naming it.
# ``booking_date`` is an alias of ``date`` (the name the output uses); giving both is refused.
API_TRANSACTION_FIELDS = frozenset(
    {
        "amount",
        "date",
        "booking_date",
        "value_date",
        "currency",
        "description",
        "external_id",
        "end_to_end_id",
        "counterparty",
        "counterparty_account",
        "structured_reference",
    }
)


def parse_api_transactions(items: Any, *, default_currency: str) -> list[ParsedTransaction]:
    """Validate the ``transactions`` of an import request (a list, or a JSON string of one).

    Raises InvalidInput with one entry per bad field (``transactions[3].amount``), unknown
    keys included (``transactions[3].iban``).
    """
    if not isinstance(items, list):
        raise InvalidInput(
            "`transactions` must be an array of transactions (or a JSON string of one).",
            errors={"transactions": ["expected an array"]},
        )
    if not items:
        raise InvalidInput(
            "`transactions` is empty.", errors={"transactions": ["expected at least one item"]}
        )
    parsed: list[ParsedTransaction] = []
    errors: dict[str, list[str]] = {}
    for index, item in enumerate(items):
        prefix = f"transactions[{index}]"
        if not isinstance(item, dict):
            errors[prefix] = ["expected an object"]
            continue
        item_errors: dict[str, list[str]] = {}
        if not item.keys() <= API_TRANSACTION_FIELDS:
            item_errors.update(unknown_field_errors(item, API_TRANSACTION_FIELDS, prefix=prefix))
        if "date" in item and "booking_date" in item:
            item_errors[f"{prefix}.booking_date"] = ["an alias of `date`: give one of them, not both"]
        currency = item.get("currency")
        if currency is None:  # absent or null: the tenant's currency, as GraphQL's null means
            currency = default_currency
        if not isinstance(currency, str):
            item_errors[f"{prefix}.currency"] = ["expected an ISO 4217 currency code as a string"]
            currency = default_currency
        elif currency.strip().upper() not in CURRENCY_CODES:
            item_errors[f"{prefix}.currency"] = [f"{currency!r} is not an ISO 4217 currency code"]
            currency = default_currency
        currency = currency.strip().upper()
        amount = Decimal(0)
        if "amount" not in item:
            item_errors[f"{prefix}.amount"] = ["this field is required"]
        else:
            try:
                amount = _parse_api_amount(item["amount"])
            except ValueError as exc:
                item_errors[f"{prefix}.amount"] = [str(exc)]
        booking_date = dt.date.min
        date_value = item.get("date", item.get("booking_date"))
        if date_value is None:
            item_errors[f"{prefix}.date"] = ["this field is required"]
        else:
            try:
                booking_date = _parse_date(date_value)
            except ValueError as exc:
                item_errors[f"{prefix}.date"] = [str(exc)]
        value_date = None
        if item.get("value_date") is not None:
            try:
                value_date = _parse_date(item["value_date"])
            except ValueError as exc:
                item_errors[f"{prefix}.value_date"] = [str(exc)]
        texts = {
            name: _text(item, name, item_errors, prefix)
            for name in (
                "description",
                "counterparty",
                "counterparty_account",
                "external_id",
                "end_to_end_id",
                "structured_reference",
            )
        }
        if item_errors:
            errors.update(item_errors)
            continue
        row = ParsedTransaction(
            amount=amount,
            currency=currency,
            booking_date=booking_date,
            value_date=value_date,
            description=texts["description"],
            counterparty_name=texts["counterparty"],
            counterparty_account=compact_account(texts["counterparty_account"]),
            external_id=texts["external_id"],
            end_to_end_id=texts["end_to_end_id"],
            structured_reference=_structured_reference(texts["structured_reference"], texts["description"]),
            location=prefix,
        )
        # Checked here, not in the staging pass, so one response lists the field errors and the
        # row errors together.
        problems = row_errors(row)
        if problems:
            errors[prefix] = problems
            continue
        parsed.append(row)
        if len(errors) >= MAX_REPORTED_ERRORS:
            break
    if errors:
        raise ImportRejected(
            f"{len(errors)} problem(s) in `transactions`; nothing was imported.", errors=errors
        )
    return parsed


def api_transactions_import(*, items: Any, created_by: Actor, default_account: str | None) -> ImportResult:
    """The API's import (REST and GraphQL): validate every item, so one response lists all the
    problems, then import them for the active tenant, all or nothing."""
    with cyclic_gc_paused():
        rows = parse_api_transactions(items, default_currency=tenant_default_currency())
        return transactions_import(
            rows=rows,
            source=ImportSource.API,
            created_by=created_by,
            default_account=default_account,
            validated=True,
        )


# --- Statement files -------------------------------------------------------------------------------


def statement_import(
    *,
    stream: BinaryIO,
    file_name: str,
    source: str = ImportSource.FILE,
    file_format: str | None = None,
    csv_options: CsvOptions | None = None,
    created_by: Actor = None,
    default_account: str | None = None,
    return_ids: bool = True,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import a bank statement file (CSV, OFX/QFX, CAMT.053, MT940), all or nothing.

    ``stream`` must be seekable (it is hashed first, then parsed). A malformed file raises
    ImportRejected naming the line or element; nothing is written.
    """
    digest = hashlib.sha256()
    while block := stream.read(1 << 20):
        digest.update(block)
    stream.seek(0)
    csv_options = csv_options or CsvOptions()
    if not csv_options.currency:
        csv_options.currency = tenant_default_currency()
    try:
        if not file_format:
            file_format = detect_format(stream.read(8192), file_name)
            stream.seek(0)
        elif file_format not in SUPPORTED_FORMATS:
            raise InvalidInput(
                f"Unknown statement format {file_format!r}.",
                errors={"format": [f"choose one of {', '.join(SUPPORTED_FORMATS)}"]},
            )
        statement_file = read_statement_file(
            stream, format=file_format, filename=file_name, csv_options=csv_options
        )
        return transactions_import(
            rows=statement_file.transactions,
            statements=statement_file.statements,
            source=source,
            created_by=created_by,
            default_account=default_account,
            file_name=file_name,
            file_format=file_format,
            file_sha256=digest.hexdigest(),
            return_ids=return_ids,
            progress=progress,
        )
    except StatementParseError as error:
        grouped: dict[str, list[str]] = {}
        for problem in error.errors[:MAX_REPORTED_ERRORS]:
            grouped.setdefault(problem.location or "file", []).append(problem.message)
        raise ImportRejected(
            f"The statement file cannot be imported: {error.message}", errors=grouped
        ) from error
