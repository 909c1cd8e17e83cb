"""Back office for matches and reconciliation runs; mounts the workbench and dashboard cards.

Matches are decided only through the services (``match_confirm`` / ``match_reject`` /
``match_undo``), one by one under their row locks; each outcome is reported in plain words.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib import admin, messages
from django.db.models import F, Prefetch, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from common.errors import DomainError
from common.finance import format_money, quantize
from invoices.models import Invoice
from jobs.admin import job_link
from tenants.admin_site import (
    ReadOnlyTenantInline,
    TenantAdminMixin,
    has_tenant_role,
    related_link,
    site,
    username_column,
)
from tenants.models import Role, WriteOffReason

from . import calibration_views, workbench
from .models import (
    CONFIDENCE_BAND_FLOORS,
    ConfidenceBand,
    Match,
    MatchAllocation,
    MatchStatus,
    ReconciliationRun,
    confidence_band,
    confidence_band_filter,
    confidence_percent,
)

MATCH_STATUS_CLASSES = {
    MatchStatus.PROPOSED: "open",
    MatchStatus.CONFIRMED: "paid",
    MatchStatus.REJECTED: "void",
    MatchStatus.UNDONE: "partial",
}


def confidence_html(confidence: Any) -> str:
    percent = confidence_percent(confidence)
    level = confidence_band(confidence)
    return format_html(
        '<span class="recon-confidence recon-{}" title="{}"><span style="width:{}%"></span></span> {}%',
        level,
        f"confidence {confidence}",
        percent,
        percent,
    )


class ConfidenceFilter(admin.SimpleListFilter):
    title = "confidence"
    parameter_name = "confidence"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        (high, high_floor), (medium, medium_floor), (low, _) = CONFIDENCE_BAND_FLOORS
        high_percent, medium_percent = confidence_percent(high_floor), confidence_percent(medium_floor)
        return [
            (high, f"{high.label} ({high_percent}% and more)"),
            (medium, f"{medium.label} ({medium_percent}–{high_percent}%)"),
            (low, f"{low.label} (under {medium_percent}%)"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Match]) -> QuerySet[Match]:
        if self.value() in ConfidenceBand.values:
            return queryset.filter(confidence_band_filter(self.value()))
        return queryset


class MatchAllocationInline(ReadOnlyTenantInline):
    model = MatchAllocation
    fields = [
        "transaction_link",
        "invoice_link",
        "amount_display",
        "invoice_amount_display",
        "write_off_display",
    ]
    readonly_fields = fields
    verbose_name = "allocation"

    @admin.display(description="Amount")
    def amount_display(self, obj: MatchAllocation) -> str:
        """Taken from the transaction, in its currency."""
        return format_money(obj.amount, obj.transaction.currency)

    @admin.display(description="Settles on the invoice")
    def invoice_amount_display(self, obj: MatchAllocation) -> str:
        """What the allocation settles on the invoice (a fee included), in its currency."""
        return format_money(obj.invoice_amount, obj.invoice.currency)

    @admin.display(description="Written off")
    def write_off_display(self, obj: MatchAllocation) -> str:
        """The invoice's shortfall written off with this allocation, in its currency."""
        return format_money(obj.write_off_amount, obj.invoice.currency) if obj.write_off_amount else "—"

    def get_queryset(self, request: HttpRequest) -> QuerySet[MatchAllocation]:
        return super().get_queryset(request).select_related("transaction", "invoice", "invoice__vendor")

    transaction_link = related_link("transaction", "Transaction")

    @admin.display(description="Invoice")
    def invoice_link(self, obj: MatchAllocation) -> str:
        url = reverse("admin:invoices_invoice_change", args=[obj.invoice_id])
        invoice = obj.invoice
        return format_html('<a href="{}">{}</a> ({})', url, invoice.label, invoice.get_status_display())


@admin.register(Match, site=site)
class MatchAdmin(TenantAdminMixin, admin.ModelAdmin):
    """Proposed and decided matches; decisions through the services, never by editing rows."""

    allow_add = allow_change = allow_delete = False
    list_display = [
        "created_at",
        "status_summary",
        "confidence_bar",
        "transactions_summary",
        "invoices_summary",
        "amount_summary",
        "reasons_summary",
        "shadow_flag",
    ]
    list_display_links = ["created_at"]
    list_filter = [
        "status",
        ConfidenceFilter,
        "shape",
        "auto",
        "would_auto_confirm",
        "ambiguous",
        ("created_at", admin.DateFieldListFilter),
        ("confirmed_at", admin.DateFieldListFilter),
    ]
    search_fields = [
        "allocations__invoice__number",
        "allocations__invoice__vendor__name",
        "allocations__transaction__description",
        "allocations__transaction__counterparty_name",
    ]
    date_hierarchy = "created_at"
    list_per_page = 50
    inlines = [MatchAllocationInline]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "status_badge",
                    "confidence_bar",
                    "shape",
                    "reasons_list",
                    "fee_display",
                    "write_off",
                    "discount_display",
                    "alternatives_view",
                ]
            },
        ),
        ("Decision", {"fields": ["decided", "confirmed_at", "rejected_at", "undone_at"]}),
        (
            "Engine",
            {
                "fields": [
                    "run_link",
                    "runner_up_confidence",
                    "would_auto_confirm",
                    "engine_version",
                    "breakdown_view",
                ]
            },
        ),
    ]
    readonly_fields = [
        "status_badge",
        "confidence_bar",
        "shape",
        "reasons_list",
        "fee_display",
        "write_off",
        "discount_display",
        "alternatives_view",
        "decided",
        "confirmed_at",
        "rejected_at",
        "undone_at",
        "run_link",
        "runner_up_confidence",
        "would_auto_confirm",
        "engine_version",
        "breakdown_view",
    ]
    actions = ["confirm_matches", "reject_matches", "undo_matches", "export_csv"]
    export_filename = "matches"
    export_label = "Export list (CSV)"
    change_form_template = "admin/reconciliation/match/change_form.html"

    # Links from invoices and transactions filter by them.
    LINK_LOOKUPS = (
        "allocations__invoice__id__exact",
        "allocations__transaction__id__exact",
        "run__id__exact",
    )

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        return lookup in self.LINK_LOOKUPS or super().lookup_allowed(lookup, value, request)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Match]:
        allocations = MatchAllocation.objects.select_related("invoice", "invoice__vendor", "transaction")
        return (
            super()
            .get_queryset(request)
            .annotate(decided_by_username=F("decided_by__username"))
            .prefetch_related(Prefetch("allocations", queryset=allocations))
        )

    # Columns ------------------------------------------------------------------------------------

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj: Match) -> str:
        css = MATCH_STATUS_CLASSES.get(obj.status, "open")
        label = obj.get_status_display() + (" (auto)" if obj.auto else "")
        return format_html('<span class="recon-badge recon-{}">{}</span>', css, label)

    @admin.display(description="Shadow", boolean=True, ordering="would_auto_confirm")
    def shadow_flag(self, obj: Match) -> bool:
        """Shadow mode flagged it: the threshold would have auto-confirmed it."""
        return obj.would_auto_confirm

    @admin.display(description="Status", ordering="status")
    def status_summary(self, obj: Match) -> str:
        """The list's status column: the badge, and who decided under it (one column less)."""
        css = MATCH_STATUS_CLASSES.get(obj.status, "open")
        badge = format_html('<span class="recon-badge recon-{}">{}</span>', css, obj.get_status_display())
        if obj.status == MatchStatus.PROPOSED:
            return badge
        decider = "the engine" if obj.auto else getattr(obj, "decided_by_username", None)
        if not decider:
            return badge
        return format_html('{} <span class="recon-decider">by {}</span>', badge, decider)

    @admin.display(description="Confidence", ordering="confidence")
    def confidence_bar(self, obj: Match) -> str:
        return confidence_html(obj.confidence)

    @admin.display(description="Transactions")
    def transactions_summary(self, obj: Match) -> str:
        seen: dict[Any, Any] = {}
        for allocation in obj.allocations.all():
            seen.setdefault(allocation.transaction_id, allocation.transaction)
        return format_html_join(
            mark_safe("<br>"),  # noqa: S308 - a constant
            '<a href="{}">{} · {}</a>',
            (
                (
                    reverse("admin:banking_banktransaction_change", args=[t.pk]),
                    t.booking_date,
                    t.counterparty_name or t.description[:40],
                )
                for t in seen.values()
            ),
        )

    @admin.display(description="Invoices")
    def invoices_summary(self, obj: Match) -> str:
        seen: dict[Any, Any] = {}
        for allocation in obj.allocations.all():
            seen.setdefault(allocation.invoice_id, allocation.invoice)
        return format_html_join(
            mark_safe("<br>"),  # noqa: S308 - a constant
            '<a href="{}">{}</a> <span class="recon-muted">{}</span>',
            (
                (
                    reverse("admin:invoices_invoice_change", args=[i.pk]),
                    i.label,
                    i.vendor.name if i.vendor else "",
                )
                for i in seen.values()
            ),
        )

    @admin.display(description="Amount")
    def amount_summary(self, obj: Match) -> str:
        allocations = list(obj.allocations.all())
        if not allocations:
            return "—"
        total = sum(a.amount for a in allocations)
        return format_money(total, allocations[0].transaction.currency)

    @admin.display(description="Fee")
    def fee_display(self, obj: Match) -> str:
        """The underpayment booked as a fee, in the invoices' currency."""
        allocation = obj.allocations.select_related("invoice").first()
        if allocation is None:
            return "—"
        return format_money(obj.fee_amount, allocation.invoice.currency)

    @admin.display(description="Written off")
    def write_off(self, obj: Match) -> str:
        """What the confirmation wrote off and why, in the invoices' currency."""
        if not obj.write_off_amount:
            return "—"
        allocation = obj.allocations.select_related("invoice").first()
        currency = allocation.invoice.currency if allocation else ""
        undone = " (given back by the undo)" if obj.status == MatchStatus.UNDONE else ""
        return f"{format_money(obj.write_off_amount, currency)}: {obj.get_write_off_reason_display()}{undone}"

    @admin.display(description="Early-payment discount")
    def discount_display(self, obj: Match) -> str:
        """The discount taken with the payment, in the invoices' currency."""
        allocation = obj.allocations.select_related("invoice").first()
        if allocation is None or not obj.discount_amount:
            return "—"
        return format_money(obj.discount_amount, allocation.invoice.currency)

    @admin.display(description="Equally fitting invoices")
    def alternatives_view(self, obj: Match) -> str:
        """When several open invoices fit equally: the others (oldest first), each linked; the
        match was applied to the oldest and is never confirmed automatically."""
        if not obj.ambiguous:
            return "—"
        found = {i.pk: i for i in Invoice.objects.select_related("vendor").filter(pk__in=obj.alternatives)}
        links = format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            (
                (reverse("admin:invoices_invoice_change", args=[pk]), found[pk].label)
                for pk in obj.alternatives
                if pk in found  # an invoice deleted since is not shown
            ),
        )
        return format_html("Applied to the oldest; these fit as well: {}", links or "none left")

    @admin.display(description="Why")
    def reasons_summary(self, obj: Match) -> str:
        reasons = [r.get("message", "") for r in obj.reasons or [] if isinstance(r, dict)]
        if not reasons:
            return "—"
        if len(reasons) <= 2:
            return "; ".join(reasons)
        # The first two in the column, every reason in the title (and on the match's page).
        return format_html(
            '{} <span class="recon-short" title="{}">(+{} more)</span>',
            "; ".join(reasons[:2]),
            "\n".join(reasons),
            len(reasons) - 2,
        )

    @admin.display(description="Reasons")
    def reasons_list(self, obj: Match) -> str:
        reasons = [r.get("message", "") for r in obj.reasons or [] if isinstance(r, dict)]
        if not reasons:
            return "—"
        return format_html(
            "<ul class='recon-reasons'>{}</ul>", format_html_join("", "<li>{}</li>", ((r,) for r in reasons))
        )

    @admin.display(description="Decided by")
    def decided(self, obj: Match) -> str:
        if obj.status == MatchStatus.PROPOSED:
            return "—"
        if obj.auto:
            return "the engine (auto-confirmed)"
        return getattr(obj, "decided_by_username", None) or "—"

    run_link = related_link("run", "Run")

    @admin.display(description="Signals per pair")
    def breakdown_view(self, obj: Match) -> str:
        rows = []
        for pair in obj.breakdown or []:
            for signal in pair.get("signals", []):
                text = "; ".join(r.get("message", "") for r in signal.get("reasons", []))
                rows.append(
                    (signal.get("signal", ""), signal.get("score", ""), signal.get("weight", ""), text)
                )
        if not rows:
            return "—"
        body = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows)
        return format_html(
            "<table class='recon-breakdown'><thead><tr><th>Signal</th><th>Score</th><th>Weight</th>"
            "<th>Evidence</th></tr></thead><tbody>{}</tbody></table>",
            body,
        )

    # Change page: decision buttons -------------------------------------------------------------

    def render_change_form(
        self, request: HttpRequest, context: dict[str, Any], *args: Any, **kwargs: Any
    ) -> Any:
        obj = context.get("original")
        context["can_decide"] = has_tenant_role(request, Role.ACCOUNTANT)
        context["match_status"] = getattr(obj, "status", "")
        context["write_off_reasons"] = WriteOffReason.choices
        return super().render_change_form(request, context, *args, **kwargs)

    # Actions --------------------------------------------------------------------------------------

    def _decide(self, request: HttpRequest, queryset: QuerySet[Match], decision: str) -> None:
        service, verb = workbench.DECISIONS[decision]
        done, problems = [], []
        for match in queryset.order_by("created_at", "id"):
            try:
                service(match_id=match.pk, actor=request.user)
            except DomainError as error:
                problems.append(error.detail)
                continue
            done.append(workbench.describe_match(match.pk))
        if done:
            self.message_user(
                request, f"{verb} {len(done)} match(es): " + "; ".join(done) + ".", messages.SUCCESS
            )
        if problems:
            self.message_user(
                request,
                f"{len(problems)} match(es) not {verb.lower()}: " + "; ".join(problems),
                messages.ERROR,
            )

    @admin.action(description="Confirm selected matches", permissions=["write"])
    def confirm_matches(self, request: HttpRequest, queryset: QuerySet[Match]) -> None:
        self._decide(request, queryset, "confirm")

    @admin.action(description="Reject selected matches", permissions=["write"])
    def reject_matches(self, request: HttpRequest, queryset: QuerySet[Match]) -> None:
        self._decide(request, queryset, "reject")

    @admin.action(description="Undo selected confirmed matches", permissions=["write"])
    def undo_matches(self, request: HttpRequest, queryset: QuerySet[Match]) -> None:
        self._decide(request, queryset, "undo")

    def get_object_tools(self, request: HttpRequest) -> list[dict[str, str]]:
        tools = [
            {"url": reverse("admin:reconciliation_workbench"), "label": "Open workbench", "method": "get"}
        ]
        if has_tenant_role(request, Role.ACCOUNTANT):
            tools.append(
                {
                    "url": reverse("admin:reconciliation_run") + "?next=" + request.get_full_path(),
                    "label": "Run reconciliation",
                    "method": "post",
                }
            )
        return tools + super().get_object_tools(request)

    def export_rows(self, queryset: QuerySet[Match]) -> tuple[list[str], Iterable[list[Any]]]:
        header = [
            "created_at",
            "status",
            "auto",
            "confidence",
            "runner_up_confidence",
            "shape",
            "currency",
            "amount",
            "invoices",
            "transactions",
            "reasons",
            "write_off_amount",
            "write_off_reason",
        ]

        def row(match: Match) -> list[Any]:
            allocations = list(match.allocations.all())
            invoices = sorted({a.invoice.label for a in allocations})
            transactions = sorted(
                {
                    f"{a.transaction.booking_date} {a.transaction.counterparty_name}".strip()
                    for a in allocations
                }
            )
            reasons = [r.get("message", "") for r in match.reasons or [] if isinstance(r, dict)]
            return [
                match.created_at,
                match.status,
                match.auto,
                match.confidence,
                match.runner_up_confidence,
                match.shape,
                allocations[0].transaction.currency if allocations else "",
                quantize(sum(a.amount for a in allocations), allocations[0].transaction.currency)
                if allocations
                else "",
                "; ".join(invoices),
                "; ".join(transactions),
                "; ".join(reasons),
                quantize(match.write_off_amount, allocations[0].invoice.currency) if allocations else "",
                match.write_off_reason,
            ]

        return header, (row(match) for match in queryset)


@admin.register(ReconciliationRun, site=site)
class ReconciliationRunAdmin(TenantAdminMixin, admin.ModelAdmin):
    """What each run of the matching engine did (runs are started with the button)."""

    allow_add = allow_change = allow_delete = False
    list_display = [
        "created_at",
        "source",
        "started_by_name",
        "invoices_considered",
        "transactions_considered",
        "proposals_count",
        "auto_confirmed_count",
        "would_auto_confirm_count",
        "duration_ms",
        "matches_link",
    ]
    list_filter = ["source", ("created_at", admin.DateFieldListFilter)]
    date_hierarchy = "created_at"
    fields = [
        "created_at",
        "source",
        "started_by_name",
        "engine_version",
        "invoices_considered",
        "transactions_considered",
        "proposals_count",
        "auto_confirmed_count",
        "would_auto_confirm_count",
        "duration_ms",
        "matches_link",
        "job_view",
        "settings_view",
    ]
    readonly_fields = fields

    username_fields = ("started_by",)
    started_by_name = username_column("started_by", "Started by")

    @admin.display(description="Matches")
    def matches_link(self, obj: ReconciliationRun) -> str:
        url = reverse("admin:reconciliation_match_changelist") + f"?run__id__exact={obj.pk}"
        return format_html('<a href="{}">{} proposal(s)</a>', url, obj.proposals_count)

    @admin.display(description="Job")
    def job_view(self, obj: ReconciliationRun) -> str:
        return job_link("reconciliation_run", obj.pk)

    @admin.display(description="Settings used")
    def settings_view(self, obj: ReconciliationRun) -> str:
        rows = sorted((str(k), str(v)) for k, v in (obj.settings_used or {}).items())
        return format_html(
            "<table class='recon-breakdown'>{}</table>",
            format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows),
        )

    def get_object_tools(self, request: HttpRequest) -> list[dict[str, str]]:
        tools = super().get_object_tools(request)
        # Calibration before trust: what a threshold would have done on the decided matches.
        tools.append({"url": reverse("admin:reconciliation_backtest"), "label": "Backtest auto-confirmation"})
        if has_tenant_role(request, Role.ACCOUNTANT):
            tools.append(
                {
                    "url": reverse("admin:reconciliation_run") + "?next=" + request.get_full_path(),
                    "label": "Run reconciliation now",
                    "method": "post",
                    "primary": "1",
                }
            )
        return tools


workbench.register(site)
calibration_views.register(site)
