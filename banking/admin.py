"""Back office for the bank ledger: accounts, transactions, import batches and statement upload.

Transactions are read-only here: their status changes only through reconciliation matches.
Statement upload goes through ``statement_import`` with the same ``Idempotency-Key`` handling
as the API (the form carries a key, so a double submit replays instead of importing twice).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from common.finance import format_money, quantize
from jobs.admin import job_link
from tenants import limits
from tenants.admin_site import TenantAdminMixin, site
from tenants.errors import DomainError
from tenants.idempotency import canonical_json, request_fingerprint, run_idempotent, validate_key
from tenants.uploads import upload_name

from . import services
from .models import BankAccount, BankTransaction, ImportBatch, ImportSource, TransactionStatus
from .statements import SUPPORTED_FORMATS

FORMAT_LABELS = {"csv": "CSV", "ofx": "OFX / QFX", "camt053": "CAMT.053 (XML)", "mt940": "MT940"}


@admin.register(BankAccount, site=site)
class BankAccountAdmin(TenantAdminMixin, admin.ModelAdmin):
    """Accounts are created by imports on first sight; read-only here."""

    allow_add = allow_change = allow_delete = False
    list_display = ["identifier", "name", "currency", "transactions_link", "created_at"]
    search_fields = ["identifier", "name"]
    fields = ["identifier", "name", "currency", "transactions_link", "created_at"]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[BankAccount]:
        return super().get_queryset(request).annotate(transaction_count=Count("transactions"))

    @admin.display(description="Transactions", ordering="transaction_count")
    def transactions_link(self, obj: BankAccount) -> str:
        url = reverse("admin:banking_banktransaction_changelist") + f"?account__id__exact={obj.pk}"
        return format_html('<a href="{}">{} transactions</a>', url, getattr(obj, "transaction_count", "…"))


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


def _rejection_lines(errors: dict[str, Any] | None) -> list[str]:
    lines = []
    for location, problems in (errors or {}).items():
        for problem in problems if isinstance(problems, list) else [problems]:
            lines.append(f"{location}: {problem}")
    return lines


@admin.register(ImportBatch, site=site)
class ImportBatchAdmin(TenantAdminMixin, admin.ModelAdmin):
    """Imports and what they did. "Add" is the statement upload."""

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
        "job_view",
    ]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[ImportBatch]:
        return super().get_queryset(request).annotate(created_by_username=F("created_by__username"))

    @admin.display(description="By", ordering="created_by_username")
    def created_by_name(self, obj: ImportBatch) -> str:
        return getattr(obj, "created_by_username", None) or "—"

    @admin.display(description="Transactions")
    def transactions_link(self, obj: ImportBatch) -> str:
        url = reverse("admin:banking_banktransaction_changelist") + f"?import_batch__id__exact={obj.pk}"
        return format_html('<a href="{}">{} new</a>', url, obj.imported_count)

    @admin.display(description="Job")
    def job_view(self, obj: ImportBatch) -> str:
        return job_link("import_batch", obj.pk)

    def get_object_tools(self, request: HttpRequest) -> list[dict[str, str]]:
        tools = super().get_object_tools(request)
        if self.has_add_permission(request):
            url = reverse("admin:banking_importbatch_add")
            tools.append({"url": url, "label": "Upload statement", "method": "get", "primary": "1"})
        return tools

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> HttpResponse:
        """The statement upload: the same service, idempotency and duplicate rules as the API."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        rejected: list[str] = []
        if request.method == "POST":
            form = StatementUploadForm(request.POST, request.FILES)
            if form.is_valid():
                outcome = self._import(request, form)
                if isinstance(outcome, HttpResponse):
                    return outcome
                rejected = outcome
                # A fresh key: the corrected file is a new request.
                form = StatementUploadForm(
                    initial={**form.cleaned_data, "idempotency_key": uuid.uuid4().hex, "file": None}
                )
        else:
            form = StatementUploadForm(initial={"idempotency_key": uuid.uuid4().hex})
        context = {
            **self.admin_site.each_context(request),
            "title": "Upload a bank statement",
            "subtitle": None,
            "opts": self.opts,
            "form": form,
            "rejected": rejected,
            "formats": [FORMAT_LABELS.get(f, f) for f in SUPPORTED_FORMATS],
            "has_view_permission": self.has_view_permission(request),
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/banking/importbatch/upload.html", context)

    def _import(self, request: HttpRequest, form: StatementUploadForm) -> HttpResponse | list[str]:
        upload = form.cleaned_data["file"]
        file_format = form.cleaned_data["file_format"] or ""
        account = (form.cleaned_data["account"] or "").strip()
        digest = hashlib.sha256()
        for block in upload.chunks():
            digest.update(block)
        upload.seek(0)
        name = upload_name(request, "file", upload) or "upload"  # as sent: Django's may be cut
        fingerprint = request_fingerprint(
            "POST",
            request.path,
            canonical_json(
                {
                    "file_sha256": digest.hexdigest(),
                    "file_name": name,
                    "format": file_format,
                    "account": account,
                }
            ),
        )

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
            }

        try:
            outcome = run_idempotent(
                key=validate_key(form.cleaned_data["idempotency_key"]), fingerprint=fingerprint, action=action
            )
        except services.ImportRejected as error:
            lines = _rejection_lines(error.errors)
            messages.error(request, f"Nothing was imported from {name}. {error.detail}")
            return lines or [error.detail]
        except DomainError as error:
            messages.error(request, f"Nothing was imported from {name}. {error.detail}")
            return _rejection_lines(error.errors)
        body = outcome.body
        summary = (
            f"{body['file_name']} ({FORMAT_LABELS.get(body['file_format'], body['file_format'])}): "
            f"{body['received']} transaction(s) read, {body['imported']} imported, "
            f"{body['duplicates']} duplicate(s) skipped (already imported), 0 rejected."
        )
        if outcome.replayed:
            messages.info(request, f"This upload was already processed; nothing new was imported. {summary}")
        else:
            self._audit(request, ImportBatch.objects.get(pk=body["batch_id"]), "uploaded", [summary])
            messages.success(request, f"Statement imported. {summary}")
        return HttpResponseRedirect(reverse("admin:banking_importbatch_change", args=[body["batch_id"]]))


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
        ("Where from", {"fields": ["account_link", "batch_link", "matches_link", "created_at"]}),
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

    @admin.display(description="Account")
    def account_link(self, obj: BankTransaction) -> str:
        url = reverse("admin:banking_bankaccount_change", args=[obj.account_id])
        return format_html('<a href="{}">{}</a>', url, obj.account)

    @admin.display(description="Import")
    def batch_link(self, obj: BankTransaction) -> str:
        url = reverse("admin:banking_importbatch_change", args=[obj.import_batch_id])
        return format_html('<a href="{}">{}</a>', url, obj.import_batch)

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
