"""Back office for vendors and invoices of the active tenant (writes through the services)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.postgres.forms import SimpleArrayField
from django.db.models import Count, F, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from common.errors import DomainError
from common.finance import format_money, quantize
from common.finance.terms import PAYMENT_TERMS_MAX_CHARS, TermsError, check_terms, parse_payment_terms
from tenants.admin_site import ReadOnlyTenantInline, TenantAdminMixin, adopt, has_tenant_role, site
from tenants.models import Role

from . import services
from .models import Invoice, InvoiceStatus, Vendor, VendorLearnedEvidence

_SERVICE_FIELD_NAMES = {"vendor_id": "vendor", "vendor_name": "vendor"}


def add_service_errors(form: forms.BaseForm, error: DomainError) -> None:
    """A service's per-field errors on the form's fields; the rest at the top of the form."""
    if not error.errors:
        form.add_error(None, error.detail)
        return
    for key, problems in error.errors.items():
        field = _SERVICE_FIELD_NAMES.get(key, key)
        target = field if field in form.fields else None
        for problem in problems if isinstance(problems, list) else [problems]:
            form.add_error(target, problem if target else f"{key}: {problem}")


class ServiceModelForm(forms.ModelForm):
    """A ModelForm whose save is a service call, made once the form itself is valid.

    The service validates again and writes in its own savepoint; its errors are shown on the
    form (the page answers 200 and nothing was written). ``service_result`` holds the row. The
    service audits the change as ``actor``'s (set by ``ServiceFormAdminMixin``).
    """

    service_result: Any = None
    actor: Any = None

    def _post_clean(self) -> None:
        super()._post_clean()
        if self.errors:
            return
        try:
            self.service_result = self.call_service()
        except DomainError as error:
            add_service_errors(self, error)

    def call_service(self) -> Any:
        raise NotImplementedError

    def changed_values(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in self.changed_data}


class ServiceFormAdminMixin:
    """Hands the request's user to the ``ServiceModelForm`` (the services audit as them)."""

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)  # type: ignore[misc]
        return type(form.__name__, (form,), {"actor": request.user})


# --- vendors -------------------------------------------------------------------------------------


class LinesField(SimpleArrayField):
    """One value per line; blank lines are ignored."""

    def to_python(self, value: Any) -> list[Any]:
        if isinstance(value, str):
            value = "\n".join(line.strip() for line in value.splitlines() if line.strip())
        return super().to_python(value)


class VendorForm(ServiceModelForm):
    aliases = LinesField(
        forms.CharField(max_length=200),
        required=False,
        delimiter="\n",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Other names it appears under on bank statements, one per line.",
    )

    class Meta:
        model = Vendor
        fields = ["name", "iban", "account_reference", "aliases"]

    def call_service(self) -> Vendor:
        if self.instance.pk is None or self.instance._state.adding:
            return services.vendor_create(
                name=self.cleaned_data["name"],
                iban=self.cleaned_data.get("iban") or "",
                account_reference=self.cleaned_data.get("account_reference") or "",
                aliases=self.cleaned_data.get("aliases") or [],
                actor=self.actor,
            )
        changes = self.changed_values()
        return services.vendor_update(vendor_id=self.instance.pk, data=changes, actor=self.actor)


class LearnedEvidenceInline(ReadOnlyTenantInline):
    """What the team taught the engine for this vendor; accountants may remove an entry (ticking
    "Delete" and saving), which goes through the service (audited), never a plain row delete."""

    model = VendorLearnedEvidence
    fields = ["kind", "value", "taught_by_count", "learned_from", "created_at"]
    readonly_fields = fields
    verbose_name = "learned payer name or account"
    verbose_name_plural = "Learned from confirmed matches (counted like the aliases and IBAN above)"
    can_delete = True

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return has_tenant_role(request, Role.ACCOUNTANT)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Every field is read-only; the permission only lets the formset carry the deletions.
        return has_tenant_role(request, Role.ACCOUNTANT)

    def get_queryset(self, request: HttpRequest) -> QuerySet[VendorLearnedEvidence]:
        # The runtime role reads users' names only (tenants migrations): annotate, never join rows.
        return super().get_queryset(request).annotate(created_by_username=F("created_by__username"))

    @admin.display(description="Confirmed by")
    def learned_from(self, obj: VendorLearnedEvidence) -> str:
        return getattr(obj, "created_by_username", None) or "—"

    @admin.display(description="Taught by")
    def taught_by_count(self, obj: VendorLearnedEvidence) -> str:
        count = len(obj.taught_by)
        return f"{count} confirmed match{'' if count == 1 else 'es'}"


@admin.register(Vendor, site=site)
class VendorAdmin(ServiceFormAdminMixin, TenantAdminMixin, admin.ModelAdmin):
    form = VendorForm
    inlines = [LearnedEvidenceInline]
    list_display = ["name", "iban", "account_reference", "alias_list", "invoices_link"]
    search_fields = ["name", "iban", "account_reference"]
    readonly_fields = ["invoices_link", "created_at", "updated_at"]
    fields = ["name", "iban", "account_reference", "aliases", "invoices_link", "created_at", "updated_at"]
    ordering = ["name"]
    export_filename = "vendors"

    actions = ["export_csv"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Vendor]:
        return super().get_queryset(request).annotate(invoice_count=Count("invoices"))

    @admin.display(description="Aliases")
    def alias_list(self, obj: Vendor) -> str:
        return ", ".join(obj.aliases)

    @admin.display(description="Invoices", ordering="invoice_count")
    def invoices_link(self, obj: Vendor) -> str:
        if obj.pk is None:
            return "—"
        count = getattr(obj, "invoice_count", None)
        if count is None:
            count = Invoice.objects.filter(vendor_id=obj.pk).count()
        url = reverse("admin:invoices_invoice_changelist") + f"?vendor__id__exact={obj.pk}"
        return format_html('<a href="{}">{} invoice{}</a>', url, count, "" if count == 1 else "s")

    def save_model(self, request: HttpRequest, obj: Vendor, form: Any, change: bool) -> None:
        adopt(obj, form.service_result)

    def perform_delete(self, request: HttpRequest, obj: Vendor) -> None:
        services.vendor_delete(vendor_id=obj.pk, actor=request.user)  # type: ignore[arg-type]

    def get_inlines(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        """A vendor being added has learned nothing yet: its page shows no inline."""
        return list(self.inlines) if obj is not None else []

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        """Learned evidence is only ever removed, through the service (audited, source admin)."""
        if formset.model is not VendorLearnedEvidence:
            super().save_formset(request, form, formset, change)
            return
        # What ModelFormSet.save() would have set (the admin's change message reads them).
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for deleted in formset.deleted_forms:
            evidence = deleted.instance
            if evidence.pk is not None:
                services.vendor_evidence_delete(
                    vendor_id=evidence.vendor_id, evidence_id=evidence.pk, actor=request.user
                )
                formset.deleted_objects.append(evidence)

    def export_rows(self, queryset: QuerySet[Vendor]) -> tuple[list[str], Iterable[list[Any]]]:
        header = ["name", "iban", "account_reference", "aliases", "invoices"]
        rows = (
            [v.name, v.iban, v.account_reference, "; ".join(v.aliases), getattr(v, "invoice_count", "")]
            for v in queryset
        )
        return header, rows


# --- invoices --------------------------------------------------------------------------------------


class InvoiceForm(ServiceModelForm):
    payment_terms = forms.CharField(
        required=False,
        max_length=PAYMENT_TERMS_MAX_CHARS,
        help_text="Or the terms as printed: '2/10 net 30', '2 % Skonto within 14 days, net 30', 'net 30' "
        "(replaces the three fields above).",
    )

    class Meta:
        model = Invoice
        fields = [
            "number",
            "vendor",
            "kind",
            "amount",
            "currency",
            "description",
            "issue_date",
            "due_date",
            "structured_reference",
            "discount_percent",
            "discount_days",
            "net_days",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def clean(self) -> dict[str, Any]:
        """Payment terms by the kernel's rules (one reader, one check), so the fields the
        model then validates are already the canonical ones; the service checks them again."""
        data = super().clean()
        text = (data.get("payment_terms") or "").strip()
        try:
            if text:
                terms = parse_payment_terms(text)
            elif not any(name in self.errors for name in services.TERMS_FIELDS):
                terms = check_terms(*(data.get(name) for name in services.TERMS_FIELDS))
            else:
                return data
        except TermsError as error:
            self.add_error("payment_terms" if text else "discount_percent", str(error))
            return data
        canonical = (terms.discount_percent, terms.discount_days, terms.net_days)
        data.update(zip(services.TERMS_FIELDS, canonical, strict=True))
        return data

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "currency" in self.fields:
            self.fields["currency"].required = False
            self.fields["currency"].help_text = "ISO 4217 code; empty: the tenant's default currency."
            if self.instance._state.adding and not self.initial.get("currency"):
                self.initial["currency"] = services.tenant_default_currency()
        if not self.instance._state.adding and "kind" in self.fields:
            self.fields["kind"].disabled = True
            self.fields["kind"].help_text = "Fixed once the invoice exists."

    def call_service(self) -> Invoice:
        data = self.cleaned_data
        if self.instance._state.adding:
            vendor = data.get("vendor")
            return services.invoice_create(
                amount=data["amount"],
                description=data.get("description") or "",
                number=data.get("number") or "",
                currency=(data.get("currency") or None),
                vendor_id=vendor.pk if vendor else None,
                issue_date=data.get("issue_date"),
                due_date=data.get("due_date"),
                kind=data["kind"],
                structured_reference=data.get("structured_reference") or "",
                discount_percent=data.get("discount_percent"),
                discount_days=data.get("discount_days"),
                net_days=data.get("net_days"),
                actor=self.actor,
            )
        changes = self.changed_values()
        changes.pop("payment_terms", None)
        if (data.get("payment_terms") or "").strip():  # the text replaced the three fields
            changes.update({name: data.get(name) for name in services.TERMS_FIELDS})
        changes.pop("kind", None)
        if "vendor" in changes:
            vendor = changes.pop("vendor")
            changes["vendor_id"] = vendor.pk if vendor else None
        if "currency" in changes and not changes["currency"]:
            changes.pop("currency")
        return services.invoice_update(invoice_id=self.instance.pk, data=changes, actor=self.actor)


class OutstandingFilter(admin.SimpleListFilter):
    title = "payment"
    parameter_name = "payment"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("open", "Something outstanding"), ("overdue", "Overdue"), ("settled", "Nothing outstanding")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> QuerySet[Invoice]:
        from django.utils import timezone

        if self.value() == "open":
            return queryset.open()
        if self.value() == "overdue":
            return queryset.open().filter(due_date__lt=timezone.localdate())
        if self.value() == "settled":
            return queryset.not_open()
        return queryset


STATUS_CLASSES = {
    InvoiceStatus.OPEN: "open",
    InvoiceStatus.PARTIALLY_PAID: "partial",
    InvoiceStatus.PAID: "paid",
    InvoiceStatus.VOID: "void",
}


def money(amount: Any, currency: str) -> str:
    """Money for people (the kernel's one format); "—" on a blank form."""
    return format_money(amount, currency) if amount is not None else "—"


@admin.register(Invoice, site=site)
class InvoiceAdmin(ServiceFormAdminMixin, TenantAdminMixin, admin.ModelAdmin):
    form = InvoiceForm
    list_display = [
        "number_display",
        "vendor_link",
        "kind_short",
        "amount_display",
        "outstanding_display",
        "status_badge",
        "issue_date",
        "due_date",
    ]
    list_display_links = ["number_display"]
    list_filter = [
        "status",
        OutstandingFilter,
        "currency",
        "kind",
        ("issue_date", admin.DateFieldListFilter),
        ("due_date", admin.DateFieldListFilter),
        "vendor",
    ]
    search_fields = ["number", "description", "vendor__name", "structured_reference"]
    date_hierarchy = "issue_date"
    list_select_related = ["vendor"]
    list_per_page = 50
    readonly_fields = [
        "status_badge",
        "amount_paid_display",
        "written_off_display",
        "outstanding_display",
        "matches_link",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["number", "vendor", "kind", "description"]}),
        (
            "Amount",
            {
                "fields": [
                    "amount",
                    "currency",
                    "amount_paid_display",
                    "written_off_display",
                    "outstanding_display",
                    "status_badge",
                ]
            },
        ),
        ("Dates and reference", {"fields": ["issue_date", "due_date", "structured_reference"]}),
        (
            "Payment terms",
            {
                "fields": ["discount_percent", "discount_days", "net_days", "payment_terms"],
                "description": "Early-payment discount (percent within days of the issue date) and net days.",
            },
        ),
        ("Reconciliation", {"fields": ["matches_link", "created_at", "updated_at"]}),
    ]
    actions = ["void_invoices", "export_csv"]
    export_filename = "open-items"
    export_label = "Export open items (CSV)"

    @admin.display(description="Number", ordering="number")
    def number_display(self, obj: Invoice) -> str:
        """On one line; a number too long for the column ends in "…" and is whole in its title."""
        if not obj.number:
            return "(no number)"
        return format_html('<span class="recon-ellipsis" title="{}">{}</span>', obj.number, obj.number)

    @admin.display(description="Vendor", ordering="vendor__name")
    def vendor_link(self, obj: Invoice) -> str:
        if obj.vendor_id is None or obj.vendor is None:
            return "—"
        url = reverse("admin:invoices_vendor_change", args=[obj.vendor_id])
        return format_html('<a href="{}">{}</a>', url, obj.vendor.name)

    @admin.display(description="Kind", ordering="kind")
    def kind_short(self, obj: Invoice) -> str:
        """Receivable or payable in the list; which way the money goes in the title."""
        label = obj.get_kind_display()
        return format_html('<span title="{}">{}</span>', label, label.split(" (", 1)[0])

    @admin.display(description="Amount", ordering="amount")
    def amount_display(self, obj: Invoice) -> str:
        return money(obj.amount, obj.currency)

    @admin.display(description="Amount paid")
    def amount_paid_display(self, obj: Invoice) -> str:
        if obj.pk is None:
            return "—"
        return money(obj.amount_paid, obj.currency)

    @admin.display(description="Of which written off")
    def written_off_display(self, obj: Invoice) -> str:
        """The part of the amount paid that confirmations wrote off (tenant policy)."""
        if obj.pk is None:
            return "—"
        return money(obj.amount_written_off, obj.currency)

    @admin.display(description="Outstanding", ordering="outstanding_amount")
    def outstanding_display(self, obj: Invoice) -> str:
        if obj.pk is None:
            return "—"
        return money(obj.outstanding, obj.currency)

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj: Invoice) -> str:
        if obj.pk is None:
            return "—"
        css = STATUS_CLASSES.get(obj.status, "open")
        return format_html('<span class="recon-badge recon-{}">{}</span>', css, obj.get_status_display())

    @admin.display(description="Matches")
    def matches_link(self, obj: Invoice) -> str:
        if obj.pk is None:
            return "—"
        url = reverse("admin:reconciliation_match_changelist") + f"?allocations__invoice__id__exact={obj.pk}"
        return format_html('<a href="{}">Matches with this invoice</a>', url)

    def save_model(self, request: HttpRequest, obj: Invoice, form: Any, change: bool) -> None:
        adopt(obj, form.service_result)

    def perform_delete(self, request: HttpRequest, obj: Invoice) -> None:
        services.invoice_delete(invoice_id=obj.pk, actor=request.user)  # type: ignore[arg-type]

    @admin.action(description="Void selected invoices", permissions=["write"])
    def void_invoices(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        voided, problems = [], []
        for invoice in queryset:
            try:
                updated = services.invoice_void(invoice_id=invoice.pk, actor=request.user)  # type: ignore[arg-type]
            except DomainError as error:
                problems.append(f"{invoice}: {error.detail}")
                continue
            voided.append(str(updated))
        if voided:
            self.message_user(
                request, f"Voided {len(voided)} invoice(s): {', '.join(voided)}.", messages.SUCCESS
            )
        if problems:
            self.message_user(request, "Not voided: " + "; ".join(problems), messages.ERROR)

    def export_queryset(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> QuerySet[Invoice]:
        """The list export is the open items: something still outstanding."""
        return queryset.open()

    def export_rows(self, queryset: QuerySet[Invoice]) -> tuple[list[str], Iterable[list[Any]]]:
        header = [
            "number",
            "vendor",
            "kind",
            "issue_date",
            "due_date",
            "currency",
            "amount",
            "amount_paid",
            "amount_written_off",
            "outstanding",
            "status",
            "description",
        ]
        rows = (
            [
                i.number,
                i.vendor.name if i.vendor else "",
                i.kind,
                i.issue_date,
                i.due_date,
                i.currency,
                quantize(i.amount, i.currency),
                quantize(i.amount_paid, i.currency),
                quantize(i.amount_written_off, i.currency),
                i.outstanding,
                i.status,
                i.description,
            ]
            for i in queryset.select_related("vendor")
        )
        return header, rows
