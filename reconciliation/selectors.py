"""Reads for reconciliation: engine inputs from the ledgers, matches, runs (active tenant only)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.db.models import F, OuterRef, Prefetch, Q, QuerySet, Subquery, TextField
from django.db.models.functions import Cast

from banking.models import BankTransaction
from invoices.models import Invoice, Vendor
from tenants.errors import NotFound
from tenants.models import TenantSettings

from . import engine
from .models import Match, MatchAllocation, MatchStatus, ReconciliationRun


def engine_settings() -> engine.EngineSettings:
    """The active tenant's reconciliation policy as engine settings."""
    row = TenantSettings.objects.first()
    if row is None:
        return engine.EngineSettings()
    return engine.EngineSettings(
        auto_confirm_threshold=row.auto_confirm_threshold,
        fee_tolerance_fixed=row.fee_tolerance_fixed,
        fee_tolerance_percent=row.fee_tolerance_percent,
        date_window_days=row.date_window_days,
    )


def _as_text(column: str) -> Cast:
    """A uuid column read as its text: psycopg's uuid.UUID objects cost ~10 µs a row to build
    and the engine wants strings anyway (about 1 s of a 100k read)."""
    return Cast(column, output_field=TextField())


_INVOICE_COLUMNS = (
    _as_text("id"),
    "number",
    "amount",
    "amount_paid",
    "currency",
    "issue_date",
    "due_date",
    _as_text("vendor_id"),
    "structured_reference",
    "kind",
)
_VENDOR_COLUMNS = ("name", "aliases", "iban", "account_reference")
_NO_VENDOR = ("", (), "", "")


def _invoice_input(row: tuple, vendor: tuple) -> engine.InvoiceInput:
    pk, number, amount, paid, currency, issued, due, vendor_id, structured_reference, kind = row
    vendor_name, aliases, iban, account_reference = vendor
    return engine.InvoiceInput(
        id=pk,
        number=number,
        amount=amount,
        outstanding=amount - paid,
        currency=currency,
        issue_date=issued,
        due_date=due,
        counterparty_id=vendor_id or None,
        counterparty_name=vendor_name or "",
        counterparty_aliases=tuple(aliases or ()),
        counterparty_account=iban or account_reference or "",
        structured_reference=structured_reference,
        direction=kind,
    )


def open_invoice_inputs(*, invoice_ids: list[uuid.UUID] | None = None) -> list[engine.InvoiceInput]:
    """Open and partially paid invoices with something outstanding, as engine inputs.

    Invoices and their vendors are read in two plain scans, not a join: right after a bulk
    import the planner's statistics may not know the tenant's rows yet, and a join planned for
    "one row" would compare every invoice with every vendor. Vendors come first, so invoices
    stream into inputs without a second copy of 100k rows in memory.
    """
    queryset = Invoice.objects.open().order_by()
    vendor_rows = Vendor.objects.order_by().values_list(_as_text("id"), *_VENDOR_COLUMNS)
    if invoice_ids is not None:
        queryset = queryset.filter(pk__in=invoice_ids)
        vendor_rows = vendor_rows.filter(pk__in=queryset.values("vendor_id"))
    vendors = {pk: tuple(rest) for pk, *rest in vendor_rows.iterator(chunk_size=10_000)}
    return [
        _invoice_input(row, vendors.get(row[7], _NO_VENDOR))
        for row in queryset.values_list(*_INVOICE_COLUMNS).iterator(chunk_size=10_000)
    ]


_TRANSACTION_COLUMNS = (
    _as_text("id"),
    "amount",
    "allocated_amount",
    "currency",
    "booking_date",
    "value_date",
    "description",
    "counterparty_name",
    "counterparty_account",
    "external_id",
    "end_to_end_id",
    "structured_reference",
)


def _transaction_input(row: tuple) -> engine.TransactionInput:
    (
        pk,
        amount,
        allocated,
        currency,
        booked,
        valued,
        description,
        counterparty_name,
        counterparty_account,
        external_id,
        end_to_end_id,
        structured_reference,
    ) = row
    return engine.TransactionInput(
        id=pk,
        amount=amount,
        currency=currency,
        booking_date=booked,
        value_date=valued,
        description=description,
        counterparty_name=counterparty_name,
        counterparty_account=counterparty_account,
        external_id=external_id,
        end_to_end_id=end_to_end_id,
        structured_reference=structured_reference,
        unallocated=abs(amount) - allocated,
    )


def open_transaction_inputs(
    *, transaction_ids: list[uuid.UUID] | None = None
) -> list[engine.TransactionInput]:
    """Unmatched transactions with an unallocated remainder, as engine inputs."""
    queryset = BankTransaction.objects.unmatched().order_by()
    if transaction_ids is not None:
        queryset = queryset.filter(pk__in=transaction_ids)
    return [
        _transaction_input(row)
        for row in queryset.values_list(*_TRANSACTION_COLUMNS).iterator(chunk_size=10_000)
    ]


def rejected_pairs() -> frozenset[tuple[str, str]]:
    """(invoice_id, transaction_id) pairs inside matches a person rejected: never proposed again."""
    rows = MatchAllocation.objects.filter(match__status=MatchStatus.REJECTED).values_list(
        "invoice_id", "transaction_id"
    )
    return frozenset((str(invoice), str(transaction)) for invoice, transaction in rows)


def _matches() -> QuerySet[Match]:
    """Matches with their allocations and the currencies their amounts are in.

    Interfaces show every amount at its currency's minor unit, so the currencies are read with
    the matches: ``currency`` on a match is its invoices' (``fee_amount`` is in it); on an
    allocation, ``currency`` is the transaction's (``amount``) and ``invoice_currency`` the
    invoice's (``invoice_amount``). Two statements whatever the page size.
    """
    allocations = MatchAllocation.objects.annotate(
        currency=F("transaction__currency"), invoice_currency=F("invoice__currency")
    )
    invoice_currency = (
        MatchAllocation.objects.filter(match_id=OuterRef("pk")).order_by().values("invoice__currency")[:1]
    )
    matches = Match.objects.prefetch_related(Prefetch("allocations", queryset=allocations))
    return matches.annotate(currency=Subquery(invoice_currency))


def match_list(
    *,
    status: str | None = None,
    invoice_id: uuid.UUID | None = None,
    transaction_id: uuid.UUID | None = None,
    run_id: uuid.UUID | None = None,
    min_confidence: Decimal | None = None,
) -> QuerySet[Match]:
    """Matches with their allocations, newest first."""
    queryset = _matches()
    if status:
        queryset = queryset.filter(status=status)
    if invoice_id:
        queryset = queryset.filter(Q(allocations__invoice_id=invoice_id)).distinct()
    if transaction_id:
        queryset = queryset.filter(Q(allocations__transaction_id=transaction_id)).distinct()
    if run_id:
        queryset = queryset.filter(run_id=run_id)
    if min_confidence is not None:
        queryset = queryset.filter(confidence__gte=min_confidence)
    return queryset


def match_get(*, match_id: uuid.UUID) -> Match:
    found = _matches().filter(pk=match_id).first()
    if found is None:
        raise NotFound("No such match.")
    return found


def run_list() -> QuerySet[ReconciliationRun]:
    return ReconciliationRun.objects.all()


def run_get(*, run_id: uuid.UUID) -> ReconciliationRun:
    found = ReconciliationRun.objects.filter(pk=run_id).first()
    if found is None:
        raise NotFound("No such reconciliation run.")
    return found


def invoice_input_get(*, invoice_id: uuid.UUID) -> engine.InvoiceInput:
    """Any invoice of the active tenant as an engine input (open or not), or NotFound."""
    row = Invoice.objects.filter(pk=invoice_id).values_list(*_INVOICE_COLUMNS).first()
    if row is None:
        raise NotFound("No such invoice.")
    vendor = Vendor.objects.filter(pk=row[7]).values_list(*_VENDOR_COLUMNS).first() if row[7] else None
    return _invoice_input(row, vendor or _NO_VENDOR)


def transaction_input_get(*, transaction_id: uuid.UUID) -> engine.TransactionInput:
    """Any bank transaction of the active tenant as an engine input, or NotFound."""
    row = BankTransaction.objects.filter(pk=transaction_id).values_list(*_TRANSACTION_COLUMNS).first()
    if row is None:
        raise NotFound("No such bank transaction.")
    return _transaction_input(row)
