"""GraphQL of the invoice ledger: invoices with their payment terms, vendors and what the engine
learned about them. ``reconciliation.schema`` composes ``InvoicesQuery`` and ``InvoicesMutation``
into the one tenant schema; the resolvers are thin faces of ``invoices.selectors`` and
``invoices.services`` (the REST API's too).
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from decimal import Decimal

import strawberry
import strawberry_django
from strawberry.types import Info

from api.graphql import money
from api.graphql.fields import DeleteResult, currency_argument, read_field, search_argument, write_mutation
from api.graphql.pagination import DEFAULT_PAGE_SIZE, Page, PageSize, paginate

from . import selectors as invoice_selectors
from . import services as invoice_services
from .models import EvidenceKind, Invoice, InvoiceKind, InvoiceStatus, Vendor, VendorLearnedEvidence

# --- Enums (values are the models' choices; a test keeps them in step) ---------------------------


@strawberry.enum(name="InvoiceStatus")
class InvoiceStatusEnum(enum.Enum):
    OPEN = InvoiceStatus.OPEN.value
    PARTIALLY_PAID = InvoiceStatus.PARTIALLY_PAID.value
    PAID = InvoiceStatus.PAID.value
    VOID = InvoiceStatus.VOID.value


@strawberry.enum(name="InvoiceKind")
class InvoiceKindEnum(enum.Enum):
    RECEIVABLE = InvoiceKind.RECEIVABLE.value
    PAYABLE = InvoiceKind.PAYABLE.value


@strawberry.enum(name="LearnedEvidenceKind")
class LearnedEvidenceKindEnum(enum.Enum):
    ALIAS = EvidenceKind.ALIAS.value
    ACCOUNT = EvidenceKind.ACCOUNT.value


@strawberry_django.type(
    VendorLearnedEvidence,
    name="LearnedEvidence",
    description="A payer name or account the team taught the engine for a vendor by confirming a match.",
)
class LearnedEvidenceType:
    id: strawberry.auto
    vendor_id: uuid.UUID
    value: strawberry.auto = strawberry_django.field(description="As the bank statement showed it.")
    normalized_value: strawberry.auto = strawberry_django.field(description="What the engine compares.")
    taught_by: list[uuid.UUID] = strawberry_django.field(
        description="The confirmed matches that taught it (it goes when all are undone)."
    )
    created_by_id: int | None
    created_at: strawberry.auto

    @strawberry.field
    def kind(self, root: VendorLearnedEvidence) -> LearnedEvidenceKindEnum:
        return LearnedEvidenceKindEnum(root.kind)


@strawberry_django.type(Vendor, name="Vendor")
class VendorType:
    id: strawberry.auto
    name: strawberry.auto
    iban: strawberry.auto
    account_reference: strawberry.auto
    aliases: strawberry.auto
    created_at: strawberry.auto
    updated_at: strawberry.auto

    @strawberry.field(
        description="Payer names and accounts learned from confirmed matches; they count like aliases, iban."
    )
    def learned_evidence(self, root: Vendor) -> list[LearnedEvidenceType]:
        return list(root.learned_evidence.order_by("-created_at", "-id"))  # type: ignore[arg-type]


@strawberry_django.type(Invoice, name="Invoice")
class InvoiceType:
    id: strawberry.auto
    number: strawberry.auto
    vendor_id: uuid.UUID | None
    vendor: VendorType | None
    currency: strawberry.auto
    description: strawberry.auto
    issue_date: strawberry.auto
    due_date: strawberry.auto
    structured_reference: strawberry.auto
    discount_percent: Decimal | None = strawberry_django.field(description="Early-payment discount (%).")
    discount_days: int | None = strawberry_django.field(description="Days from issue for the discount.")
    net_days: int | None = strawberry_django.field(description="Days from issue for the full amount.")
    created_at: strawberry.auto
    updated_at: strawberry.auto

    @strawberry.field(description='The payment terms as text ("2/10 net 30"), "" for none.')
    def payment_terms(self, root: Invoice) -> str:
        return root.payment_terms

    @strawberry.field
    def kind(self, root: Invoice) -> InvoiceKindEnum:
        return InvoiceKindEnum(root.kind)

    @strawberry.field
    def status(self, root: Invoice) -> InvoiceStatusEnum:
        return InvoiceStatusEnum(root.status)

    amount: Decimal = money("amount", description="At the currency's minor unit.")
    amount_paid: Decimal = money(
        "amount_paid", description="Settled by confirmed matches: payments, absorbed fees and write-offs."
    )
    outstanding_amount: Decimal = money("outstanding", description="amount - amountPaid")
    amount_written_off: Decimal = money(
        "amount_written_off", description="The part of amountPaid written off at confirmations."
    )


@strawberry.input(description="Filters of `invoices` (all optional, combined with AND).")
class InvoiceFilter:
    status: list[InvoiceStatusEnum] | None = None
    vendor_id: uuid.UUID | None = None
    currency: str | None = strawberry.field(default=None, description="ISO 4217 code.")
    min_amount: Decimal | None = strawberry.field(default=None, description="Inclusive.")
    max_amount: Decimal | None = strawberry.field(default=None, description="Inclusive.")
    issued_after: dt.date | None = strawberry.field(default=None, description="Issue date on or after.")
    issued_before: dt.date | None = strawberry.field(default=None, description="Issue date on or before.")
    q: str | None = strawberry.field(default=None, description="Part of the number or description.")


@strawberry.input
class VendorFilter:
    q: str | None = strawberry.field(default=None, description="Part of the name or an alias.")


@strawberry.input
class CreateInvoiceInput:
    amount: Decimal = strawberry.field(description="At most the currency's minor unit of decimals.")
    description: str
    number: str | None = None
    currency: str | None = strawberry.field(default=None, description="Default: the tenant's currency.")
    vendor_id: uuid.UUID | None = None
    vendor_name: str | None = strawberry.field(
        default=None, description="An existing vendor's name, or a new vendor."
    )
    issue_date: dt.date | None = None
    due_date: dt.date | None = None
    kind: InvoiceKindEnum | None = None
    structured_reference: str | None = None
    discount_percent: Decimal | None = strawberry.field(
        default=None, description="Early-payment discount, percent (with discountDays)."
    )
    discount_days: int | None = None
    net_days: int | None = None
    payment_terms: str | None = strawberry.field(
        default=None, description="The terms as printed instead: '2/10 net 30', 'net 30'; others are refused."
    )


@strawberry.type
class InvoicesQuery:
    @read_field(description="The tenant's invoices, newest first.")
    def invoices(
        self,
        filter: InvoiceFilter | None = None,
        first: PageSize = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[InvoiceType]:
        given = filter or InvoiceFilter()
        queryset = invoice_selectors.invoice_list(
            statuses=[status.value for status in given.status] if given.status else None,
            vendor_id=given.vendor_id,
            currency=currency_argument(given.currency),
            min_amount=given.min_amount,
            max_amount=given.max_amount,
            issued_after=given.issued_after,
            issued_before=given.issued_before,
            q=search_argument(given.q),
        )
        return paginate(queryset, first=first, after=after)

    @read_field()
    def invoice(self, id: uuid.UUID) -> InvoiceType:
        return invoice_selectors.invoice_get(invoice_id=id)  # type: ignore[return-value]

    @read_field(description="The tenant's vendors, newest first.")
    def vendors(
        self,
        filter: VendorFilter | None = None,
        first: PageSize = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[VendorType]:
        given = filter or VendorFilter()
        return paginate(invoice_selectors.vendor_list(q=search_argument(given.q)), first=first, after=after)

    @read_field()
    def vendor(self, id: uuid.UUID) -> VendorType:
        return invoice_selectors.vendor_get(vendor_id=id)  # type: ignore[return-value]


@strawberry.type
class InvoicesMutation:
    @write_mutation(description="Create an invoice; an unknown vendorName creates that vendor.")
    def create_invoice(self, info: Info, input: CreateInvoiceInput) -> InvoiceType:
        invoice = invoice_services.invoice_create(
            amount=input.amount,
            description=input.description,
            number=input.number or "",
            currency=input.currency,
            vendor_id=input.vendor_id,
            vendor_name=input.vendor_name,
            issue_date=input.issue_date,
            due_date=input.due_date,
            kind=input.kind.value if input.kind is not None else InvoiceKind.RECEIVABLE,
            structured_reference=input.structured_reference or "",
            discount_percent=input.discount_percent,
            discount_days=input.discount_days,
            net_days=input.net_days,
            payment_terms=input.payment_terms,
            actor=info.context.user,
        )
        return invoice  # type: ignore[return-value]

    @write_mutation(
        description="Remove a payer name or account the engine learned for a vendor (the next run no longer "
        "counts it)."
    )
    def delete_learned_evidence(self, info: Info, vendor_id: uuid.UUID, id: uuid.UUID) -> DeleteResult:
        invoice_services.vendor_evidence_delete(
            vendor_id=vendor_id, evidence_id=id, actor=info.context.user
        )
        return DeleteResult(id=id, deleted=True)

    @write_mutation(description="Delete an unpaid, unmatched invoice (others must be voided).")
    def delete_invoice(self, info: Info, id: uuid.UUID) -> DeleteResult:
        invoice_services.invoice_delete(invoice_id=id, actor=info.context.user)
        return DeleteResult(id=id, deleted=True)
