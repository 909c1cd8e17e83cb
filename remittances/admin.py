"""Back office for remittance advices: the list, each advice with its lines, and the file upload.

Advices are read-only here (a payer's statement is kept as sent). "Add" is the upload of a
camt.054 or CSV advice file, through the same service and ``Idempotency-Key`` handling as the
API (the form carries a key, so a double submit replays instead of importing twice).
"""

from __future__ import annotations

import hashlib
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html

from api.uploads import upload_name
from common.finance import format_money
from tenants.admin_site import ReadOnlyTenantInline, site, username_column
from tenants.admin_upload import UploadAdminMixin

from . import services
from .models import AdviceChannel, RemittanceAdvice, RemittanceAdviceLine


class AdviceUploadForm(forms.Form):
    file = forms.FileField(
        label="Advice file",
        help_text="An ISO 20022 camt.054 notification (XML) or a CSV advice file (see the README).",
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput)


class AdviceLineInline(ReadOnlyTenantInline):
    model = RemittanceAdviceLine
    fields = ["position", "invoice_number", "amount_display", "discount_display", "invoice_link"]
    readonly_fields = fields
    verbose_name = "line"

    def get_queryset(self, request: HttpRequest) -> QuerySet[RemittanceAdviceLine]:
        return super().get_queryset(request).select_related("advice", "invoice")

    @admin.display(description="Paid")
    def amount_display(self, obj: RemittanceAdviceLine) -> str:
        return format_money(obj.amount, obj.advice.currency)

    @admin.display(description="Discount")
    def discount_display(self, obj: RemittanceAdviceLine) -> str:
        return format_money(obj.discount, obj.advice.currency) if obj.discount else "—"

    @admin.display(description="Invoice")
    def invoice_link(self, obj: RemittanceAdviceLine) -> str:
        if obj.invoice_id is None:
            return "— (found by number when a run reads the advice)"
        url = reverse("admin:invoices_invoice_change", args=[obj.invoice_id])
        return format_html('<a href="{}">{}</a>', url, obj.invoice)


@admin.register(RemittanceAdvice, site=site)
class RemittanceAdviceAdmin(UploadAdminMixin, admin.ModelAdmin):
    """Advices as payers sent them. "Add" is the file upload."""

    upload_form_class = AdviceUploadForm
    upload_template = "admin/remittances/remittanceadvice/upload.html"
    upload_button = "Upload advice file"
    upload_title = "Upload a remittance advice file"
    upload_crumb = "Upload an advice file"
    upload_submit = "Import advices"

    allow_change = allow_delete = False
    show_add_button = False  # "Upload advice file" instead
    list_display = [
        "created_at",
        "payment_reference",
        "payer_name",
        "amount_display",
        "line_count",
        "payment_date",
        "source",
        "channel",
    ]
    list_filter = ["source", "channel", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["payment_reference", "payer_name", "end_to_end_id", "lines__invoice_number"]
    date_hierarchy = "created_at"
    inlines = [AdviceLineInline]
    fields = [
        "payment_reference",
        "end_to_end_id",
        "payer_name",
        "payer_account",
        "amount_display",
        "payment_date",
        "line_count",
        "source",
        "channel",
        "file_name",
        "file_sha256",
        "created_by_name",
        "created_at",
    ]
    readonly_fields = fields

    username_fields = ("created_by",)
    created_by_name = username_column("created_by", "By")

    @admin.display(description="Amount", ordering="amount")
    def amount_display(self, obj: RemittanceAdvice) -> str:
        return format_money(obj.amount, obj.currency)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        results, _duplicates = super().get_search_results(request, queryset, search_term)
        return results.distinct(), False

    def upload(self, request: HttpRequest, form: forms.Form) -> HttpResponse | list[str]:
        upload = form.cleaned_data["file"]
        name = upload_name(request, "file", upload) or "upload"
        data = upload.read()

        def action() -> tuple[int, Any]:
            result = services.advice_file_import(
                data=data,
                file_name=name,
                channel=AdviceChannel.ADMIN,
                actor=request.user,  # type: ignore[arg-type]
            )
            return 201, result.as_response()

        outcome = self.upload_outcome(
            request,
            form,
            name=name,
            request_fields={"file_sha256": hashlib.sha256(data).hexdigest(), "file_name": name},
            action=action,
        )
        if isinstance(outcome, list):
            return outcome
        body = outcome.body
        summary = (
            f"{name} ({body['format']}): {body['received']} advice(s) read, {body['imported']} imported, "
            f"{body['duplicates']} already there."
        )
        if outcome.replayed:
            messages.info(request, f"This upload was already processed; nothing new was imported. {summary}")
        else:
            messages.success(request, f"Advice file imported. {summary}")
        if len(body["advices"]) == 1:
            return HttpResponseRedirect(
                reverse("admin:remittances_remittanceadvice_change", args=[body["advices"][0]])
            )
        return HttpResponseRedirect(reverse("admin:remittances_remittanceadvice_changelist"))
