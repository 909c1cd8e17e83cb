"""Back office for the bank ledger: accounts, transactions, import batches and statement upload,
imported statements with their continuity checks, and internal transfers.

Transactions are read-only here: their status changes only through reconciliation matches (and
internal transfers, which a person may unpair). Statement upload goes through
``statement_import`` with the same ``Idempotency-Key`` handling as the API (the form carries a
key, so a double submit replays instead of importing twice). The dashboard shows, per account,
the statements whose balances break continuity.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from api.uploads import upload_name
from common import limits
from common.errors import DomainError
from common.finance import format_money, quantize
from jobs.admin import job_link
from tenants.admin_site import TenantAdminMixin, has_tenant_role, related_link, site, username_column
from tenants.admin_upload import UploadAdminMixin
from tenants.models import Role

from . import selectors, services, transfer_services
from .models import (
    BankAccount,
    BankStatement,
    BankTransaction,
    ImportBatch,
    ImportSource,
    InternalTransfer,
    InternalTransferStatus,
    TransactionStatus,
)
from .statements import SUPPORTED_FORMATS

FORMAT_LABELS = {"csv": "CSV", "ofx": "OFX / QFX", "camt053": "CAMT.053 (XML)", "mt940": "MT940"}


@admin.register(BankAccount, site=site)
class BankAccountAdmin(TenantAdminMixin, admin.ModelAdmin):
    """Accounts are created by imports on first sight; read-only here."""

    allow_add = allow_change = allow_delete = False
    list_display = ["identifier", "name", "currency", "transactions_link", "statements_link", "created_at"]
    search_fields = ["identifier", "name"]
    fields = ["identifier", "name", "currency", "transactions_link", "statements_link", "created_at"]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[BankAccount]:
        # Counted in subqueries, not joins: two joined counts would multiply each other.
        return (
            super()
            .get_queryset(request)
            .annotate(
                transaction_count=Count("transactions", distinct=True),
                statement_count=Count("statements", distinct=True),
                break_count=Count("statements", filter=Q(statements__has_break=True), distinct=True),
            )
        )

    @admin.display(description="Transactions", ordering="transaction_count")
    def transactions_link(self, obj: BankAccount) -> str:
        url = reverse("admin:banking_banktransaction_changelist") + f"?account__id__exact={obj.pk}"
        return format_html('<a href="{}">{} transactions</a>', url, getattr(obj, "transaction_count", "…"))

    @admin.display(description="Statements", ordering="statement_count")
    def statements_link(self, obj: BankAccount) -> str:
        url = reverse("admin:banking_bankstatement_changelist") + f"?account__id__exact={obj.pk}"
        breaks = getattr(obj, "break_count", 0)
        if breaks:
            return format_html(
                '<a href="{}">{} statements</a> · <a href="{}&has_break__exact=1" class="recon-overdue">'
                "{} with a break</a>",
                url,
                getattr(obj, "statement_count", "…"),
                url,
                breaks,
            )
        return format_html('<a href="{}">{} statements</a>', url, getattr(obj, "statement_count", "…"))


class StatementUploadForm(forms.Form):
    file = forms.FileField(
        label="Statement file",
        help_text="CSV, OFX/QFX, CAMT.053 (XML) or MT940, as downloaded from the bank.",
    )
    file_format = forms.ChoiceField(
        label="Format",
        choices=[("", "Detect automatically"), *((f, FORMAT_LABELS.get(f, f)) for f in SUPPORTED_FORMATS)],
        required=False,
    )
    account = forms.CharField(
        label="Account",
        required=False,
        max_length=limits.ACCOUNT,
        help_text="IBAN or account id when the file does not name the account (empty: default account).",
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput)


@admin.register(ImportBatch, site=site)
class ImportBatchAdmin(UploadAdminMixin, admin.ModelAdmin):
    """Imports and what they did. "Add" is the statement upload."""

    upload_form_class = StatementUploadForm
    upload_template = "admin/banking/importbatch/upload.html"
    upload_button = "Upload statement"
    upload_title = "Upload a bank statement"
    upload_crumb = "Upload a statement"
    upload_submit = "Import statement"

    allow_change = allow_delete = False
    show_add_button = False  # "Upload statement" instead
    list_display = [
        "created_at",
        "source",
        "file_name",
        "file_format",
        "received_count",
        "imported_count",
        "duplicate_count",
        "created_by_name",
        "transactions_link",
    ]
    list_filter = ["source", "file_format", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["file_name", "file_sha256"]
    date_hierarchy = "created_at"
    fields = [
        "created_at",
        "source",
        "file_name",
        "file_format",
        "file_sha256",
        "received_count",
        "imported_count",
        "duplicate_count",
        "created_by_name",
        "transactions_link",
        "statements_summary",
        "job_view",
    ]
    readonly_fields = fields

    @admin.display(description="Statements")
    def statements_summary(self, obj: ImportBatch) -> str:
        """The statements this import stored, with their continuity (as it is now)."""
        statements = list(selectors.statement_list(import_batch_id=obj.pk))
        if not statements:
            return "—"
        return format_html_join(
            "",
            '<div><a href="{}">{}</a> {}</div>',
            (
                (
                    reverse("admin:banking_bankstatement_change", args=[statement.pk]),
                    statement,
                    break_badge(statement),
                )
                for statement in statements
            ),
        )

    username_fields = ("created_by",)
    created_by_name = username_column("created_by", "By")

    @admin.display(description="Transactions")
    def transactions_link(self, obj: ImportBatch) -> str:
        url = reverse("admin:banking_banktransaction_changelist") + f"?import_batch__id__exact={obj.pk}"
        return format_html('<a href="{}">{} new</a>', url, obj.imported_count)

    @admin.display(description="Job")
    def job_view(self, obj: ImportBatch) -> str:
        return job_link("import_batch", obj.pk)

    def upload_context(self, request: HttpRequest) -> dict[str, Any]:
        return {"formats": [FORMAT_LABELS.get(f, f) for f in SUPPORTED_FORMATS]}

    def upload(self, request: HttpRequest, form: forms.Form) -> HttpResponse | list[str]:
        upload = form.cleaned_data["file"]
        file_format = form.cleaned_data["file_format"] or ""
        account = (form.cleaned_data["account"] or "").strip()
        digest = hashlib.sha256()
        for block in upload.chunks():
            digest.update(block)
        upload.seek(0)
        name = upload_name(request, "file", upload) or "upload"  # as sent: Django's may be cut

        def action() -> tuple[int, Any]:
            result = services.statement_import(
                stream=upload,
                file_name=name,
                file_format=file_format or None,
                source=ImportSource.ADMIN,
                created_by=request.user,  # type: ignore[arg-type]
                default_account=account or None,
                return_ids=False,
            )
            return 201, {
                "batch_id": str(result.batch.id),
                "file_name": name,
                "file_format": result.batch.file_format,
                "received": result.received,
                "imported": result.imported,
                "duplicates": result.duplicates,
                "statements": len(result.statements),
                "statement_breaks": sum(1 for statement in result.statements if statement.has_break),
                "internal_transfers": result.internal_transfers,
            }

        outcome = self.upload_outcome(
            request,
            form,
            name=name,
            request_fields={
                "file_sha256": digest.hexdigest(),
                "file_name": name,
                "format": file_format,
                "account": account,
            },
            action=action,
        )
        if isinstance(outcome, list):
            return outcome
        body = outcome.body
        summary = (
            f"{body['file_name']} ({FORMAT_LABELS.get(body['file_format'], body['file_format'])}): "
            f"{body['received']} transaction(s) read, {body['imported']} imported, "
            f"{body['duplicates']} duplicate(s) skipped (already imported), 0 rejected."
            f"{_statements_and_transfers(body)}"
        )
        if outcome.replayed:
            messages.info(request, f"This upload was already processed; nothing new was imported. {summary}")
        else:
            messages.success(request, f"Statement imported. {summary}")
        return HttpResponseRedirect(reverse("admin:banking_importbatch_change", args=[body["batch_id"]]))


def _statements_and_transfers(body: dict[str, Any]) -> str:
    """The upload message's word on the file's statements and the transfers it paired: a break
    does not stop an import, so the person who uploaded is told here (the batch page lists them)."""
    parts = []
    if statements := body.get("statements", 0):  # bodies stored before these counts have none
        breaks = body.get("statement_breaks", 0)
        parts.append(
            f"{statements} statement(s), {breaks} with a continuity break"
            + (" (see the statements below)" if breaks else "")
        )
    if transfers := body.get("internal_transfers", 0):
        parts.append(
            f"{transfers} internal transfer(s) between your accounts paired (never matched to invoices)"
        )
    return "".join(f" {part}." for part in parts)


class UnallocatedFilter(admin.SimpleListFilter):
    title = "direction"
    parameter_name = "direction"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("in", "Money in (credits)"), ("out", "Money out (debits)")]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[BankTransaction]
    ) -> QuerySet[BankTransaction]:
        if self.value() == "in":
            return queryset.filter(amount__gt=0)
        if self.value() == "out":
            return queryset.filter(amount__lt=0)
        return queryset


TX_STATUS_CLASSES = {
    TransactionStatus.UNMATCHED: "open",
    TransactionStatus.MATCHED: "paid",
    TransactionStatus.IGNORED: "void",
    TransactionStatus.INTERNAL: "partial",
}


@admin.register(BankTransaction, site=site)
class BankTransactionAdmin(TenantAdminMixin, admin.ModelAdmin):
    """Booked transactions (read-only: matches change their status)."""

    allow_add = allow_change = allow_delete = False
    list_display = [
        "booking_date",
        "amount_display",
        "counterparty_name",
        "short_description",
        "status_badge",
        "unallocated_display",
        "account",
    ]
    list_display_links = ["booking_date", "amount_display"]
    list_filter = [
        "status",
        UnallocatedFilter,
        "currency",
        ("booking_date", admin.DateFieldListFilter),
        "account",
        "import_batch",
    ]
    search_fields = [
        "description",
        "counterparty_name",
        "counterparty_account",
        "external_id",
        "end_to_end_id",
        "structured_reference",
    ]
    date_hierarchy = "booking_date"
    list_select_related = ["account"]
    list_per_page = 50
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "booking_date",
                    "value_date",
                    "amount_display",
                    "status_badge",
                    "unallocated_display",
                ]
            },
        ),
        ("Counterparty", {"fields": ["counterparty_name", "counterparty_account", "description"]}),
        (
            "References",
            {
                "fields": [
                    "external_id",
                    "end_to_end_id",
                    "structured_reference",
                    "return_reason",
                    "dedup_key",
                ]
            },
        ),
        (
            "Where from",
            {
                "fields": [
                    "account_link",
                    "batch_link",
                    "statement_link",
                    "internal_transfer_link",
                    "matches_link",
                    "created_at",
                ]
            },
        ),
    ]
    readonly_fields = [
        "booking_date",
        "value_date",
        "amount_display",
        "status_badge",
        "unallocated_display",
        "counterparty_name",
        "counterparty_account",
        "description",
        "external_id",
        "end_to_end_id",
        "structured_reference",
        "return_reason",
        "dedup_key",
        "account_link",
        "batch_link",
        "statement_link",
        "internal_transfer_link",
        "matches_link",
        "created_at",
    ]
    actions = ["export_csv"]
    export_filename = "unmatched-transactions"
    export_label = "Export unmatched (CSV)"

    @admin.display(description="Amount", ordering="amount")
    def amount_display(self, obj: BankTransaction) -> str:
        css = "recon-credit" if obj.amount > 0 else "recon-debit"
        return format_html('<span class="{}">{}</span>', css, format_money(obj.amount, obj.currency))

    @admin.display(description="Unallocated")
    def unallocated_display(self, obj: BankTransaction) -> str:
        return format_money(abs(obj.amount) - obj.allocated_amount, obj.currency)

    @admin.display(description="Description", ordering="description")
    def short_description(self, obj: BankTransaction) -> str:
        """The first 60 characters; the whole description in the title (and on the detail page)."""
        text = obj.description
        if len(text) <= 60:
            return text
        return format_html('<span class="recon-short" title="{}">{}…</span>', text, text[:57])

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj: BankTransaction) -> str:
        css = TX_STATUS_CLASSES.get(obj.status, "open")
        return format_html('<span class="recon-badge recon-{}">{}</span>', css, obj.get_status_display())

    account_link = related_link("account", "Account")
    batch_link = related_link("import_batch", "Import")
    statement_link = related_link("statement", "Statement")

    @admin.display(description="Internal transfer")
    def internal_transfer_link(self, obj: BankTransaction) -> str:
        transfer = selectors.internal_transfer_of(transaction_id=obj.pk)
        if transfer is None:
            return "—"
        url = reverse("admin:banking_internaltransfer_change", args=[transfer.pk])
        return format_html('<a href="{}">{}</a>', url, transfer_summary(transfer))

    @admin.display(description="Matches")
    def matches_link(self, obj: BankTransaction) -> str:
        url = (
            reverse("admin:reconciliation_match_changelist")
            + f"?allocations__transaction__id__exact={obj.pk}"
        )
        return format_html('<a href="{}">Matches with this transaction</a>', url)

    def export_queryset(self, request: HttpRequest, queryset: QuerySet[BankTransaction]) -> QuerySet:
        """The list export is the unmatched transactions (with the page's filters)."""
        return queryset.unmatched()

    def export_rows(self, queryset: QuerySet[BankTransaction]) -> tuple[list[str], Iterable[list[Any]]]:
        header = [
            "booking_date",
            "value_date",
            "currency",
            "amount",
            "unallocated",
            "counterparty",
            "counterparty_account",
            "description",
            "reference",
            "structured_reference",
            "status",
            "account",
        ]
        rows = (
            [
                t.booking_date,
                t.value_date,
                t.currency,
                quantize(t.amount, t.currency),
                quantize(abs(t.amount) - t.allocated_amount, t.currency),
                t.counterparty_name,
                t.counterparty_account,
                t.description,
                t.external_id,
                t.structured_reference,
                t.status,
                t.account.identifier,
            ]
            for t in queryset.select_related("account")
        )
        return header, rows


# --- statements ------------------------------------------------------------------------------------


def break_badge(statement: BankStatement) -> str:
    if statement.has_break:
        return format_html('<span class="recon-badge recon-partial">{}</span>', "Break")
    return format_html('<span class="recon-badge recon-paid">{}</span>', "Continuous")


def _money_or_dash(amount: Any, currency: str) -> str:
    return "—" if amount is None else format_money(amount, currency)


@admin.register(BankStatement, site=site)
class BankStatementAdmin(TenantAdminMixin, admin.ModelAdmin):
    """Imported statements, read-only: the balances the files state and the continuity checks."""

    allow_add = allow_change = allow_delete = False
    list_display = [
        "__str__",
        "account",
        "closing_date",
        "opening_display",
        "closing_display",
        "movements_display",
        "break_display",
    ]
    list_filter = [
        "has_break",
        "account",
        "file_format",
        "currency",
        ("closing_date", admin.DateFieldListFilter),
    ]
    search_fields = ["statement_id", "sequence", "account__identifier"]
    list_select_related = ["account"]
    date_hierarchy = "closing_date"
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "account_link",
                    "statement_id",
                    "sequence",
                    "file_format",
                    "period_start",
                    "period_end",
                    "currency",
                ]
            },
        ),
        (
            "Balances as the file states them",
            {
                "fields": [
                    "opening_display",
                    "opening_date",
                    "movements_display",
                    "closing_display",
                    "closing_date",
                ]
            },
        ),
        ("Continuity", {"fields": ["break_display", "checks_display", "previous_link"]}),
        ("Where from", {"fields": ["batch_link", "transactions_link", "created_at"]}),
    ]
    readonly_fields = [
        "account_link",
        "statement_id",
        "sequence",
        "file_format",
        "period_start",
        "period_end",
        "currency",
        "opening_display",
        "opening_date",
        "movements_display",
        "closing_display",
        "closing_date",
        "break_display",
        "checks_display",
        "previous_link",
        "batch_link",
        "transactions_link",
        "created_at",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[BankStatement]:
        return super().get_queryset(request).select_related("account", "previous_statement")

    @admin.display(description="Opening balance", ordering="opening_balance")
    def opening_display(self, obj: BankStatement) -> str:
        return _money_or_dash(obj.opening_balance, obj.currency)

    @admin.display(description="Closing balance", ordering="closing_balance")
    def closing_display(self, obj: BankStatement) -> str:
        return _money_or_dash(obj.closing_balance, obj.currency)

    @admin.display(description="Movements")
    def movements_display(self, obj: BankStatement) -> str:
        total = _money_or_dash(obj.movements_sum, obj.currency)
        return f"{total} ({obj.movements_count} transaction(s))"

    @admin.display(description="Continuity", ordering="has_break")
    def break_display(self, obj: BankStatement) -> str:
        return break_badge(obj)

    @admin.display(description="Checks")
    def checks_display(self, obj: BankStatement) -> str:
        return format_html_join(
            "",
            '<p><span class="recon-badge recon-{}">{}</span> {}</p>',
            (
                (
                    {"ok": "paid", "break": "partial"}.get(check.status, "void"),
                    check.status.label,
                    check.detail,
                )
                for check in selectors.statement_checks(obj)
            ),
        )

    previous_link = related_link("previous_statement", "Previous statement")
    account_link = related_link("account", "Account")
    batch_link = related_link("import_batch", "Import")

    @admin.display(description="Transactions")
    def transactions_link(self, obj: BankStatement) -> str:
        url = reverse("admin:banking_banktransaction_changelist") + f"?statement__id__exact={obj.pk}"
        return format_html('<a href="{}">Transactions first imported with this statement</a>', url)


def statement_breaks_card(request: HttpRequest) -> dict[str, Any]:
    """The dashboard's card: per account, how many statements break continuity, and the latest."""
    accounts = selectors.statement_breaks_by_account()
    return {
        "statement_break_total": sum(item.break_count for item in accounts),
        "statement_breaks": [
            {
                "account": item.account,
                "count": item.break_count,
                "latest": item.latest_break,
                "latest_detail": " ".join(
                    check.detail for check in selectors.statement_breaks(item.latest_break)
                ),
                "url": reverse("admin:banking_bankstatement_changelist")
                + f"?account__id__exact={item.account.pk}&has_break__exact=1",
            }
            for item in accounts
        ],
    }


site.register_dashboard(statement_breaks_card)


# --- internal transfers ------------------------------------------------------------------------------


def transfer_summary(transfer: InternalTransfer) -> str:
    outgoing, incoming = transfer.outgoing, transfer.incoming
    return (
        f"{format_money(-outgoing.amount, outgoing.currency)} from {outgoing.account} "
        f"({outgoing.booking_date}) to {incoming.account} ({incoming.booking_date})"
    )


@admin.register(InternalTransfer, site=site)
class InternalTransferAdmin(TenantAdminMixin, admin.ModelAdmin):
    """Transfers between own accounts paired at import; accountants unpair a wrong pairing."""

    allow_add = allow_change = allow_delete = False
    list_display = ["created_at", "summary", "days_apart", "status_badge"]
    list_filter = ["status"]
    search_fields = [
        "outgoing__account__identifier",
        "incoming__account__identifier",
        "outgoing__description",
    ]
    list_select_related = ["outgoing__account", "incoming__account"]
    fields = [
        "summary",
        "status_badge",
        "days_apart",
        "outgoing_link",
        "incoming_link",
        "unpaired",
        "created_at",
    ]
    readonly_fields = fields
    actions = ["unpair_transfers"]
    change_form_template = "admin/banking/internaltransfer/change_form.html"

    @admin.display(description="Transfer")
    def summary(self, obj: InternalTransfer) -> str:
        return transfer_summary(obj)

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj: InternalTransfer) -> str:
        css = "partial" if obj.status == InternalTransferStatus.PAIRED else "void"
        return format_html('<span class="recon-badge recon-{}">{}</span>', css, obj.get_status_display())

    def _leg_link(self, leg: BankTransaction) -> str:
        url = reverse("admin:banking_banktransaction_change", args=[leg.pk])
        return format_html('<a href="{}">{}</a> on {}', url, leg, leg.account)

    @admin.display(description="Leaving")
    def outgoing_link(self, obj: InternalTransfer) -> str:
        return self._leg_link(obj.outgoing)

    @admin.display(description="Arriving")
    def incoming_link(self, obj: InternalTransfer) -> str:
        return self._leg_link(obj.incoming)

    def get_queryset(self, request: HttpRequest) -> QuerySet[InternalTransfer]:
        # The user's name only: the runtime role reads a few columns of auth_user, not all.
        return super().get_queryset(request).annotate(unpaired_by_username=F("unpaired_by__username"))

    @admin.display(description="Unpaired")
    def unpaired(self, obj: InternalTransfer) -> str:
        if obj.unpaired_at is None:
            return "—"
        who = getattr(obj, "unpaired_by_username", None) or "someone since removed"
        return f"{obj.unpaired_at:%Y-%m-%d %H:%M} by {who}"

    def _unpair(self, request: HttpRequest, transfers: Iterable[InternalTransfer]) -> None:
        done, problems = [], []
        for transfer in transfers:
            try:
                transfer_services.internal_transfer_unpair(
                    transfer_id=transfer.pk,
                    actor=request.user,  # type: ignore[arg-type]
                )
            except DomainError as error:
                problems.append(error.detail)
                continue
            done.append(transfer_summary(transfer))
        if done:
            self.message_user(
                request,
                f"Unpaired {len(done)} transfer(s); their legs are open for reconciliation again: "
                + "; ".join(done),
                messages.SUCCESS,
            )
        if problems:
            self.message_user(
                request, f"{len(problems)} not unpaired: " + "; ".join(problems), messages.ERROR
            )

    @admin.action(
        description="Unpair selected transfers (they are not transfers between own accounts)",
        permissions=["write"],
    )
    def unpair_transfers(self, request: HttpRequest, queryset: QuerySet[InternalTransfer]) -> None:
        self._unpair(
            request, queryset.select_related("outgoing__account", "incoming__account").order_by("pk")
        )

    def get_urls(self) -> list[Any]:
        unpair = path(
            "<path:object_id>/unpair/",
            self.admin_site.admin_view(self.unpair_view),
            name="banking_internaltransfer_unpair",
        )
        return [unpair, *super().get_urls()]

    def unpair_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The change page's "Unpair" button (accountants and owners)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not has_tenant_role(request, Role.ACCOUNTANT):
            raise PermissionDenied
        try:
            transfer = selectors.internal_transfer_get(transfer_id=uuid.UUID(object_id))
        except (ValueError, DomainError) as error:
            raise Http404("No such internal transfer.") from error
        self._unpair(request, [transfer])
        return HttpResponseRedirect(reverse("admin:banking_internaltransfer_change", args=[transfer.pk]))

    def render_change_form(
        self, request: HttpRequest, context: dict[str, Any], *args: Any, **kwargs: Any
    ) -> Any:
        obj = context.get("original")
        context["can_unpair"] = (
            obj is not None
            and obj.status == InternalTransferStatus.PAIRED
            and has_tenant_role(request, Role.ACCOUNTANT)
        )
        return super().render_change_form(request, context, *args, **kwargs)
