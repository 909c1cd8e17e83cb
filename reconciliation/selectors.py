"""Reads for reconciliation: engine inputs from the ledgers, matches, runs, and the workbench's lists
and figures (active tenant only)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from decimal import Decimal
from typing import Any, cast

from django.db.models import Count, F, Max, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum, TextField
from django.db.models.functions import Abs, Cast, Coalesce
from django.utils import timezone

from banking.models import BankTransaction
from common.errors import NotFound
from invoices.models import EvidenceKind, Invoice, Vendor, VendorLearnedEvidence
from tenants.models import TenantSettings

from . import engine
from .engine.core import MAX_ROUNDS
from .engine.payers import party_keys
from .engine.payers import payer_keys as engine_payer_keys
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
        processor_fee_percent=row.processor_fee_percent,
        processor_fee_fixed=row.processor_fee_fixed,
    )


def auto_confirm_shadow() -> bool:
    """Is the active tenant's auto-confirmation in shadow mode (measured, not applied)?

    Kept apart from ``engine_settings``: the engine always says what it would confirm; whether
    a run confirms it or only flags it (``Match.would_auto_confirm``) is the run's business.
    """
    return bool(TenantSettings.objects.filter(auto_confirm_shadow=True).exists())


def _as_text(column: str) -> Cast:
    """A uuid column read as its text: psycopg's uuid.UUID objects are costly to build per row
    and the engine wants strings anyway (figures in docs/benchmarks.md)."""
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
    "discount_percent",
    "discount_days",
)
_VENDOR_COLUMNS = ("name", "aliases", "iban", "account_reference")
_NO_VENDOR = ("", (), "", "")
_NOTHING_LEARNED: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())


def learned_evidence(
    vendor_ids: QuerySet[Any] | list[uuid.UUID] | None = None,
) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """Per vendor id (text), the payer names and accounts the team taught the engine
    (``VendorLearnedEvidence``): fed to it beside the registered ones, so they count the same."""
    rows = VendorLearnedEvidence.objects.order_by("created_at", "id")
    if vendor_ids is not None:
        rows = rows.filter(vendor_id__in=vendor_ids)
    aliases: dict[str, list[str]] = {}
    accounts: dict[str, list[str]] = {}
    for vendor_id, kind, value in rows.values_list(_as_text("vendor_id"), "kind", "value").iterator(
        chunk_size=10_000
    ):
        (aliases if kind == EvidenceKind.ALIAS else accounts).setdefault(vendor_id, []).append(value)
    return {
        vendor_id: (tuple(aliases.get(vendor_id, ())), tuple(accounts.get(vendor_id, ())))
        for vendor_id in aliases.keys() | accounts.keys()
    }


def _invoice_input(
    row: tuple, vendor: tuple, learned: tuple[tuple[str, ...], tuple[str, ...]] = _NOTHING_LEARNED
) -> engine.InvoiceInput:
    pk, number, amount, paid, currency, issued, due, vendor_id, reference, kind, percent, days = row
    vendor_name, aliases, iban, account_reference = vendor
    learned_aliases, learned_accounts = learned
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
        counterparty_aliases=tuple(aliases or ()) + learned_aliases,
        counterparty_account=iban or account_reference or "",
        structured_reference=reference,
        direction=kind,
        counterparty_accounts=learned_accounts,
        discount_percent=percent,
        discount_days=days,
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
    learned = learned_evidence(None if invoice_ids is None else queryset.values("vendor_id"))
    return [
        _invoice_input(row, vendors.get(row[7], _NO_VENDOR), learned.get(row[7], _NOTHING_LEARNED))
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


def rejected_payers() -> frozenset[tuple[str, str]]:
    """``(vendor_id, payer key)`` of customers people rejected for a payer at least the
    tenant's ``rejection_memory`` times (distinct rejected matches): never proposed for that
    payer again (``engine.payers``).

    A payer the customer is known by (its name, a registered or learned alias or account) is
    left out: rejecting that customer's invoices for its own account said "wrong invoice", not
    "wrong customer", and adding a payer as an alias is how a person lifts the memory.
    """
    row = TenantSettings.objects.first()
    threshold = row.rejection_memory if row is not None else 3
    if not threshold:
        return frozenset()
    rejected = (
        MatchAllocation.objects.filter(match__status=MatchStatus.REJECTED, invoice__vendor__isnull=False)
        .values_list(
            "match_id",
            _as_text("invoice__vendor_id"),
            "transaction__counterparty_name",
            "transaction__counterparty_account",
        )
        .distinct()
    )
    matches_by_key: dict[tuple[str, str], set[uuid.UUID]] = {}
    for match_id, vendor_id, name, account in rejected.iterator(chunk_size=10_000):
        for key in engine_payer_keys(name, account):
            matches_by_key.setdefault((vendor_id, key), set()).add(match_id)
    blocked = {pair for pair, matches in matches_by_key.items() if len(matches) >= threshold}
    if not blocked:
        return frozenset()
    vendor_ids = sorted({vendor_id for vendor_id, _ in blocked})
    learned = learned_evidence([uuid.UUID(pk) for pk in vendor_ids])
    known: dict[str, frozenset[str]] = {}
    for pk, name, aliases, iban, account_reference in Vendor.objects.filter(pk__in=vendor_ids).values_list(
        _as_text("id"), *_VENDOR_COLUMNS
    ):
        learned_aliases, learned_accounts = learned.get(pk, _NOTHING_LEARNED)
        known[pk] = party_keys(
            name, (*(aliases or ()), *learned_aliases), (iban, account_reference, *learned_accounts)
        )
    return frozenset(
        (vendor_id, key) for vendor_id, key in blocked if key not in known.get(vendor_id, frozenset())
    )


#: Allocations a match carries inline where matches are listed (a page of ``GET matches``,
#: GraphQL ``Match.allocations``, a run's proposals). Every shape the engine finds by itself
#: fits: a 1:N group of at most ``max_subset_candidates`` (25) quoted invoices, an N:1 of at most
#: ``MAX_ROUNDS`` payments. A remittance advice's match may hold up to 1,000 (the importer's
#: ``MAX_LINES_PER_ADVICE``): inline it would make one page of 500 matches half a million rows,
#: so beyond this bound its allocations are read page by page (``match_allocation_list``).
EMBEDDED_ALLOCATIONS = max(engine.EngineSettings().max_subset_candidates, MAX_ROUNDS)


def _allocations() -> QuerySet[MatchAllocation]:
    """Allocations with their currencies, in the order the run wrote them (an advice's order)."""
    allocations = MatchAllocation.objects.annotate(
        currency=F("transaction__currency"), invoice_currency=F("invoice__currency")
    )
    return cast("QuerySet[MatchAllocation]", allocations.order_by("created_at", "id"))


def _matches(*, every_allocation: bool = False) -> QuerySet[Match]:
    """Matches with their allocations and the currencies their amounts are in.

    Interfaces show every amount at its currency's minor unit, so the currencies are read with
    the matches: ``currency`` on a match is its invoices' (``fee_amount`` is in it); on an
    allocation, ``currency`` is the transaction's (``amount``) and ``invoice_currency`` the
    invoice's (``invoice_amount``). Two statements whatever the page size.

    ``allocation_count`` is how many the match has; ``listed_allocations`` (a list) holds the
    first ``EMBEDDED_ALLOCATIONS`` + 1 (the one more tells a reader the list goes on), or with
    ``every_allocation`` all of them (one match: at most an advice's 1,000). A sliced prefetch
    needs ``to_attr``: Django filters a related manager's queryset per row otherwise.
    """
    allocations = _allocations()
    if not every_allocation:
        allocations = allocations[: EMBEDDED_ALLOCATIONS + 1]
    invoice_currency = (
        MatchAllocation.objects.filter(match_id=OuterRef("pk")).order_by().values("invoice__currency")[:1]
    )
    allocation_count = (
        MatchAllocation.objects.filter(match_id=OuterRef("pk"))
        .order_by()
        .values("match_id")
        .annotate(count=Count("*"))
        .values("count")
    )
    matches = Match.objects.prefetch_related(
        Prefetch("allocations", queryset=allocations, to_attr="listed_allocations")
    )
    return matches.annotate(
        currency=Subquery(invoice_currency), allocation_count=Coalesce(Subquery(allocation_count), 0)
    )


def match_allocation_list(*, match_id: uuid.UUID) -> QuerySet[MatchAllocation]:
    """One match's allocations with their currencies, to be read page by page (NotFound: no match)."""
    if not Match.objects.filter(pk=match_id).exists():
        raise NotFound("No such match.")
    return _allocations().filter(match_id=match_id)


def match_list(
    *,
    status: str | None = None,
    invoice_id: uuid.UUID | None = None,
    transaction_id: uuid.UUID | None = None,
    run_id: uuid.UUID | None = None,
    min_confidence: Decimal | None = None,
    would_auto_confirm: bool | None = None,
    ambiguous: bool | None = None,
) -> QuerySet[Match]:
    """Matches with their allocations, newest first (``would_auto_confirm``: shadow mode's flag;
    ``ambiguous``: only those where several open invoices fit equally (True) or only the others
    (False))."""
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
    if would_auto_confirm is not None:
        queryset = queryset.filter(would_auto_confirm=would_auto_confirm)
    if ambiguous is not None:
        queryset = queryset.filter(ambiguous=ambiguous)
    return queryset


def match_get(*, match_id: uuid.UUID, every_allocation: bool = False) -> Match:
    """One match (NotFound); its first allocations, or with ``every_allocation`` all of them."""
    found = _matches(every_allocation=every_allocation).filter(pk=match_id).first()
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
    learned = (
        learned_evidence([uuid.UUID(row[7])]).get(row[7], _NOTHING_LEARNED) if row[7] else _NOTHING_LEARNED
    )
    return _invoice_input(row, vendor or _NO_VENDOR, learned)


def transaction_input_get(*, transaction_id: uuid.UUID) -> engine.TransactionInput:
    """Any bank transaction of the active tenant as an engine input, or NotFound."""
    row = BankTransaction.objects.filter(pk=transaction_id).values_list(*_TRANSACTION_COLUMNS).first()
    if row is None:
        raise NotFound("No such bank transaction.")
    return _transaction_input(row)


# --- Workbench (the back office's page; it formats and links, these read) ----------------------------


def _largest_first(rows: QuerySet[Any]) -> list[tuple[str, Decimal]]:
    """``values("currency").annotate(total=...)`` rows as (currency, total), largest total first."""
    ordered = sorted(rows, key=lambda row: -(row["total"] or 0))
    return [(row["currency"], row["total"] or Decimal(0)) for row in ordered]


def workbench_figures() -> dict[str, Any]:
    """Counts and per-currency totals for the top of the workbench and the dashboard.

    Totals are ``[(currency, amount)]``, largest first: money left to allocate on the unmatched
    transactions, outstanding on the open invoices (the ledgers' own definitions of both sets).
    """
    today = timezone.localdate()
    unmatched = BankTransaction.objects.unmatched()
    invoices = Invoice.objects.open()
    decided_today = Match.objects.filter(status=MatchStatus.CONFIRMED, confirmed_at__date=today)
    return {
        "unmatched_count": unmatched.count(),
        "unmatched_totals": _largest_first(
            unmatched.values("currency").annotate(total=Sum(Abs("amount") - F("allocated_amount")))
        ),
        "proposed_count": Match.objects.filter(status=MatchStatus.PROPOSED).count(),
        "auto_confirmed_today": decided_today.filter(auto=True).count(),
        "confirmed_today": decided_today.filter(auto=False).count(),
        "open_invoice_count": invoices.count(),
        "overdue_count": invoices.filter(due_date__lt=today).count(),
        "outstanding_totals": _largest_first(
            invoices.values("currency").annotate(total=Sum("outstanding_amount"))
        ),
    }


def workbench_transactions(filters: dict[str, Any]) -> QuerySet[BankTransaction]:
    """The workbench's left side: unmatched transactions narrowed by its (validated) filters,
    those with the most confident proposal first (``best_confidence``, ``abs_amount`` annotated).

    ``filters`` are ``WorkbenchFilterForm``'s cleaned data: dates, amounts (absolute), the
    minimum confidence in percent and a search text (also in the numbers of the invoices the
    transaction is allocated to).
    """
    transactions = (
        BankTransaction.objects.unmatched()
        .select_related("account")
        .annotate(
            abs_amount=Abs("amount"),
            best_confidence=Max(
                "allocations__match__confidence", filter=Q(allocations__match__status=MatchStatus.PROPOSED)
            ),
        )
    )
    if filters.get("date_from"):
        transactions = transactions.filter(booking_date__gte=filters["date_from"])
    if filters.get("date_to"):
        transactions = transactions.filter(booking_date__lte=filters["date_to"])
    if filters.get("min_amount") is not None:
        transactions = transactions.filter(abs_amount__gte=filters["min_amount"])
    if filters.get("max_amount") is not None:
        transactions = transactions.filter(abs_amount__lte=filters["max_amount"])
    if filters.get("min_confidence") is not None:
        threshold = Decimal(filters["min_confidence"]) / 100
        transactions = transactions.filter(best_confidence__gte=threshold)
    if filters.get("q"):
        text = filters["q"]
        transactions = transactions.filter(
            Q(description__icontains=text)
            | Q(counterparty_name__icontains=text)
            | Q(external_id__icontains=text)
            | Q(structured_reference__icontains=text)
            | Q(allocations__invoice__number__icontains=text)
        ).distinct()
    return transactions.order_by(
        F("best_confidence").desc(nulls_last=True), "-booking_date", "-created_at", "id"
    )


def workbench_invoices(filters: dict[str, Any]) -> QuerySet[Invoice]:
    """The workbench's right side: open invoices narrowed by the same filters (an invoice without
    issue date passes the date filters; amounts compare the outstanding amount), due first
    (``proposed_count`` annotated)."""
    invoices = (
        Invoice.objects.open()
        .select_related("vendor")
        .annotate(
            proposed_count=Count(
                "allocations", filter=Q(allocations__match__status=MatchStatus.PROPOSED), distinct=True
            )
        )
    )
    if filters.get("date_from"):
        invoices = invoices.filter(Q(issue_date__isnull=True) | Q(issue_date__gte=filters["date_from"]))
    if filters.get("date_to"):
        invoices = invoices.filter(Q(issue_date__isnull=True) | Q(issue_date__lte=filters["date_to"]))
    if filters.get("min_amount") is not None:
        invoices = invoices.filter(outstanding_amount__gte=filters["min_amount"])
    if filters.get("max_amount") is not None:
        invoices = invoices.filter(outstanding_amount__lte=filters["max_amount"])
    if filters.get("q"):
        text = filters["q"]
        invoices = invoices.filter(
            Q(number__icontains=text) | Q(description__icontains=text) | Q(vendor__name__icontains=text)
        )
    return invoices.order_by(F("due_date").asc(nulls_last=True), "number", "id")


def proposal_allocations(transaction_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[MatchAllocation]]:
    """The proposals (matches not yet decided) touching these transactions, each with all its
    allocations (its other transactions too), by match id; every allocation carries its match,
    invoice, vendor and transaction, by invoice number. Two statements whatever the page."""
    match_ids = set(
        MatchAllocation.objects.filter(
            transaction_id__in=transaction_ids, match__status=MatchStatus.PROPOSED
        ).values_list("match_id", flat=True)
    )
    allocations = (
        MatchAllocation.objects.filter(match_id__in=match_ids)
        .select_related("match", "invoice", "invoice__vendor", "transaction")
        .order_by("match_id", "invoice__number")
    )
    by_match: dict[uuid.UUID, list[MatchAllocation]] = defaultdict(list)
    for allocation in allocations:
        by_match[allocation.match_id].append(allocation)
    return dict(by_match)


def match_allocations(*, match_id: uuid.UUID) -> list[MatchAllocation]:
    """One match's allocations with their invoices (and vendors) and transactions."""
    return list(
        MatchAllocation.objects.filter(match_id=match_id).select_related(
            "invoice", "invoice__vendor", "transaction"
        )
    )


def last_run() -> ReconciliationRun | None:
    """The tenant's latest run, with ``by``: who started it (its username; null for workers)."""
    return ReconciliationRun.objects.annotate(by=F("started_by__username")).first()
