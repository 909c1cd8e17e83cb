"""The reconciliation workbench and the tenant dashboard, pages of the back office.

Every view here runs inside the active tenant's ``tenant_context`` (entered by
``tenants.admin_middleware``); the site refuses them without an active tenant. The views are thin:
reads are the selectors' (``reconciliation.selectors.workbench_*``, ``proposal_allocations``, the
ledgers' ``invoices_by_id`` and ``last_import``), writes the same services as the API
(``match_confirm``, ``match_reject``, ``match_undo``, ``reconcile``); this module formats money,
labels and links for people.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings as django_settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from banking import selectors as banking_selectors
from banking.models import BankTransaction
from common.errors import DomainError
from common.finance import format_money
from invoices import selectors as invoice_selectors
from invoices.models import Invoice
from jobs.errors import JobFailed
from jobs.models import ACTIVE_STATUSES, JobStatus
from reconciliation.tasks import reconcile_and_wait
from tenants.admin_site import TenantAdminSite, has_tenant_role, safe_next_url
from tenants.models import Role

from . import selectors, services
from .forms import WorkbenchFilterForm
from .models import Match, confidence_band, confidence_percent

TRANSACTIONS_PER_PAGE = 20
INVOICES_PER_PAGE = 25


def _tenant_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Mark a view as tenant data: the site redirects to the switcher without a tenant."""
    view.tenant_scoped = True  # type: ignore[attr-defined]
    return view


def money(amount: Decimal | None, currency: str) -> str:
    """Money for people, the kernel's one format (an absent total is zero)."""
    return format_money(amount or Decimal(0), currency)


def _totals(totals: list[tuple[str, Decimal]]) -> list[str]:
    """(currency, amount) pairs as "1,234.00 USD" strings, in their order (largest first)."""
    return [money(total, currency) for currency, total in totals]


def summary() -> dict[str, Any]:
    """Figures for the top of the workbench and the dashboard (active tenant), totals for people."""
    figures = selectors.workbench_figures()
    return {
        **figures,
        "unmatched_totals": _totals(figures["unmatched_totals"]),
        "outstanding_totals": _totals(figures["outstanding_totals"]),
    }


@dataclass
class ProposalView:
    """One proposed match as the workbench shows it."""

    match: Match
    invoices: list[dict[str, Any]]
    other_transactions: list[BankTransaction]
    amount: str
    reasons: list[str]
    fee: str = ""  # the fee booked on the invoices, in their currency
    discount: str = ""  # the early-payment discount taken, in the invoices' currency
    # When several open invoices fit equally: the others (label, url), oldest first.
    alternatives: list[dict[str, Any]] = field(default_factory=list)

    @property
    def percent(self) -> int:
        return confidence_percent(self.match.confidence)

    @property
    def level(self) -> str:
        return confidence_band(self.match.confidence)

    @property
    def runner_up_percent(self) -> int | None:
        runner_up = self.match.runner_up_confidence
        return None if runner_up is None else confidence_percent(runner_up)

    @property
    def invoice_ids(self) -> str:
        return " ".join(str(item["id"]) for item in self.invoices)


@dataclass
class InvoiceRow:
    """An open invoice in the workbench's right-hand list, with the name it is shown by."""

    invoice: Invoice
    label: str


@dataclass
class TransactionRow:
    transaction: BankTransaction
    proposals: list[ProposalView] = field(default_factory=list)

    @property
    def unallocated(self) -> str:
        tx = self.transaction
        return money(abs(tx.amount) - tx.allocated_amount, tx.currency)


def _alternatives(matches: dict[uuid.UUID, Match]) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """The equally fitting invoices of the ambiguous matches shown (one query for the page),
    oldest first as the engine listed them; an invoice deleted since is left out."""
    wanted = {pk for match in matches.values() if match.ambiguous for pk in match.alternatives}
    if not wanted:
        return {}
    found = invoice_selectors.invoices_by_id(wanted)
    return {
        match.pk: [
            {"label": found[pk].label, "url": reverse("admin:invoices_invoice_change", args=[pk])}
            for pk in match.alternatives
            if pk in found
        ]
        for match in matches.values()
        if match.ambiguous
    }


def _proposals_by_transaction(transaction_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[ProposalView]]:
    by_match = selectors.proposal_allocations(transaction_ids)
    alternatives = _alternatives({rows[0].match.pk: rows[0].match for rows in by_match.values()})
    result: dict[uuid.UUID, list[ProposalView]] = defaultdict(list)
    for rows in by_match.values():
        match = rows[0].match
        invoices: dict[uuid.UUID, dict[str, Any]] = {}
        for allocation in rows:
            invoice = allocation.invoice
            invoices.setdefault(
                invoice.pk,
                {
                    "id": invoice.pk,
                    "label": invoice.label,
                    "vendor": invoice.vendor.name if invoice.vendor else "",
                    "outstanding": money(invoice.outstanding, invoice.currency),
                    "due_date": invoice.due_date,
                    "url": reverse("admin:invoices_invoice_change", args=[invoice.pk]),
                },
            )
        currency = rows[0].transaction.currency
        fee = money(match.fee_amount, rows[0].invoice.currency) if match.fee_amount else ""
        discount = money(match.discount_amount, rows[0].invoice.currency) if match.discount_amount else ""
        total = sum((a.amount for a in rows), Decimal(0))
        reasons = [reason.get("message", "") for reason in (match.reasons or []) if isinstance(reason, dict)]
        for transaction_id in {a.transaction_id for a in rows}:
            if transaction_id not in transaction_ids:
                continue
            result[transaction_id].append(
                ProposalView(
                    match=match,
                    invoices=list(invoices.values()),
                    other_transactions=[a.transaction for a in rows if a.transaction_id != transaction_id],
                    amount=money(total, currency),
                    reasons=reasons,
                    fee=fee,
                    discount=discount,
                    alternatives=alternatives.get(match.pk, []),
                )
            )
    for proposals in result.values():
        proposals.sort(key=lambda proposal: proposal.match.confidence, reverse=True)
    return result


def workbench_data(filters: dict[str, Any], *, page: Any, invoice_page: Any) -> dict[str, Any]:
    """Both sides of the workbench, filtered and paginated, with ranked proposals."""
    transactions = selectors.workbench_transactions(filters)
    invoices = selectors.workbench_invoices(filters)
    transaction_page = Paginator(transactions, TRANSACTIONS_PER_PAGE).get_page(page)
    invoice_page_obj = Paginator(invoices, INVOICES_PER_PAGE).get_page(invoice_page)
    page_transactions = list(transaction_page.object_list)
    proposals = _proposals_by_transaction([tx.pk for tx in page_transactions])
    rows = [TransactionRow(transaction=tx, proposals=proposals.get(tx.pk, [])) for tx in page_transactions]
    return {
        "rows": rows,
        "transaction_page": transaction_page,
        "invoice_page": invoice_page_obj,
        "invoices": [InvoiceRow(inv, inv.label) for inv in invoice_page_obj.object_list],
    }


# --- views ---------------------------------------------------------------------------------------------


@_tenant_view
def workbench_view(request: HttpRequest) -> HttpResponse:
    """Unmatched transactions with their ranked proposals beside the open invoices.

    Filters that are not valid (``min_amount=1e2``, a confidence over 100) answer 400 with the
    errors on the form and no lists: showing the unfiltered lists under filters that look
    applied would mislead, as the admin lists' 400 explains (``tenants.admin_params``).
    """
    from tenants.admin_site import site

    form = WorkbenchFilterForm(request.GET or None)
    invalid = form.is_bound and not form.is_valid()
    filters = form.cleaned_data if form.is_bound and not invalid else {}
    if invalid:
        data: dict[str, Any] = {"rows": [], "transaction_page": None, "invoice_page": None, "invoices": []}
    else:
        data = workbench_data(filters, page=request.GET.get("page"), invoice_page=request.GET.get("ipage"))
    query = request.GET.copy()
    for key in ("page", "ipage"):
        query.pop(key, None)
    context = {
        **site.each_context(request),
        "title": "Reconciliation workbench",
        "subtitle": None,
        "form": form,
        "summary": summary(),
        "filter_query": query.urlencode(),
        "filters_active": invalid or bool(filters and any(v not in (None, "") for v in filters.values())),
        "filters_invalid": invalid,
        "can_decide": has_tenant_role(request, Role.ACCOUNTANT),
        "current_url": request.get_full_path(),
        "today": timezone.localdate(),
        **data,
    }
    request.current_app = site.name
    return TemplateResponse(
        request, "reconciliation/workbench.html", context, status=400 if invalid else 200
    )


def _require_accountant(request: HttpRequest) -> None:
    if request.method != "POST":
        raise PermissionDenied("Use the buttons (POST).")
    if not has_tenant_role(request, Role.ACCOUNTANT):
        raise PermissionDenied("Your role in this tenant does not allow this action.")


def describe_match(match_id: uuid.UUID) -> str:
    """ "1,250.00 USD from NORTHWIND → INV-0101 (now Paid)" in plain words."""
    allocations = selectors.match_allocations(match_id=match_id)
    if not allocations:
        return "the match"
    transactions = {a.transaction_id: a.transaction for a in allocations}
    invoices = {a.invoice_id: a.invoice for a in allocations}
    currency = allocations[0].transaction.currency
    total = sum((a.amount for a in allocations), Decimal(0))
    payers = ", ".join(
        sorted({t.counterparty_name or t.description[:30] or "?" for t in transactions.values()})
    )
    targets = ", ".join(
        f"{inv.label} (now {inv.get_status_display()})" for inv in invoices.values()
    )
    return f"{money(total, currency)} from {payers} → {targets}"


DECISIONS: dict[str, tuple[Callable[..., Match], str]] = {
    "confirm": (services.match_confirm, "Confirmed"),
    "reject": (services.match_reject, "Rejected"),
    "undo": (services.match_undo, "Undone"),
}


@_tenant_view
def match_decide_view(request: HttpRequest, match_id: uuid.UUID, decision: str) -> HttpResponse:
    """Confirm, reject or undo one match (accountants and owners), then go back."""
    _require_accountant(request)
    fallback = reverse("admin:reconciliation_workbench")
    if decision not in DECISIONS:
        return HttpResponseNotAllowed(["POST"])
    service, verb = DECISIONS[decision]
    extra: dict[str, Any] = {}
    if decision == "confirm" and request.POST.get("write_off_reason"):
        # The match page's "Confirm with write-off": the service checks the reason and the policy.
        extra["write_off_reason"] = request.POST["write_off_reason"][:32]
    try:
        service(match_id=match_id, actor=request.user, **extra)
    except DomainError as error:
        messages.error(request, f"Not {verb.lower()}: {error.detail}")
    else:
        messages.success(request, f"{verb}: {describe_match(match_id)}.")
    return HttpResponseRedirect(safe_next_url(request, fallback))


def run_message(summary: services.ReconcileSummary) -> str:
    proposals = summary.proposals_total
    return (
        f"Reconciliation finished: {proposals} proposal(s), {summary.auto_confirmed} confirmed "
        f"automatically, {proposals - summary.auto_confirmed} waiting for review."
    )


@_tenant_view
def run_reconciliation_view(request: HttpRequest) -> HttpResponse:
    """Run the matching engine now for the active tenant (accountants and owners).

    The run is a job on a worker (reconciliation.tasks); the page waits a few seconds for it
    (JOBS_DEFAULT_WAIT_SECONDS) and otherwise says where to follow it (the Jobs page).
    """
    _require_accountant(request)
    job = reconcile_and_wait(
        dry_run=False, actor=request.user, source="admin", seconds=django_settings.JOBS_DEFAULT_WAIT_SECONDS
    )
    if job.status == JobStatus.SUCCEEDED:
        messages.success(request, run_message(services.ReconcileSummary.from_json(job.result or {})))
    elif job.status in ACTIVE_STATUSES:
        jobs_page = reverse("admin:jobs_job_change", args=[job.id])
        messages.info(
            request,
            format_html('Reconciliation runs in the background: <a href="{}">its progress</a>.', jobs_page),
        )
    else:
        messages.error(request, f"Reconciliation did not run: {JobFailed(job).detail}")
    return HttpResponseRedirect(safe_next_url(request, reverse("admin:reconciliation_workbench")))


# --- dashboard -------------------------------------------------------------------------------------------


def dashboard_context(request: HttpRequest) -> dict[str, Any]:
    """Cards of the admin index for the active tenant."""
    figures = summary()
    return {
        **figures,
        "last_import": banking_selectors.last_import(),
        "last_run": selectors.last_run(),
        "today": timezone.localdate(),
        "week_ago": timezone.localdate() - dt.timedelta(days=7),
    }


def register(site: TenantAdminSite) -> None:
    """Mount the workbench pages and the dashboard cards on the back office."""
    site.register_view("reconciliation/workbench/", workbench_view, "reconciliation_workbench")
    site.register_view(
        "reconciliation/workbench/match/<uuid:match_id>/<str:decision>/",
        match_decide_view,
        "reconciliation_match_decide",
    )
    site.register_view("reconciliation/run/", run_reconciliation_view, "reconciliation_run")
    site.register_dashboard(dashboard_context)
