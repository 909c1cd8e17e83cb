"""Roles from the membership: viewers look, accountants work, owners administer."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tenants.context import tenant_context

pytestmark = pytest.mark.django_db


def _match_status(tenant, match_id):
    from reconciliation.models import Match

    with tenant_context(tenant.id):
        return Match.objects.get(pk=match_id).status


def test_viewer_sees_but_cannot_change(login, staff_a, ledger_a, proposal_a):
    client = login(staff_a.viewer)
    assert client.get("/admin/invoices/invoice/").status_code == 200
    page = client.get(f"/admin/invoices/invoice/{ledger_a.invoice.pk}/change/").content.decode()
    assert 'name="_save"' not in page  # read-only form
    assert client.get("/admin/invoices/invoice/add/").status_code == 403
    assert client.get("/admin/banking/importbatch/add/").status_code == 403
    assert client.get("/admin/tenants/membership/add/").status_code == 403

    workbench = client.get("/admin/reconciliation/workbench/").content.decode()
    assert "INV-A-1001" in workbench
    assert "cannot confirm or reject" in workbench
    assert 'data-action="confirm"' not in workbench

    response = client.post(f"/admin/reconciliation/workbench/match/{proposal_a}/confirm/")
    assert response.status_code == 403
    assert client.post("/admin/reconciliation/run/").status_code == 403
    # An action a viewer is not offered is refused as well.
    client.post(
        "/admin/reconciliation/match/",
        {"action": "confirm_matches", "_selected_action": [str(proposal_a)]},
    )
    assert _match_status(staff_a.tenant, proposal_a) == "proposed"


def test_accountant_confirms_in_the_workbench_and_the_invoice_is_paid(login, staff_a, ledger_a, proposal_a):
    from invoices.models import Invoice

    client = login(staff_a.accountant)
    response = client.post(
        f"/admin/reconciliation/workbench/match/{proposal_a}/confirm/",
        {"next": "/admin/reconciliation/workbench/"},
        follow=True,
    )
    body = response.content.decode()
    assert "Confirmed: 150.00 USD from A Client GmbH → INV-A-1001 (now Paid)" in body
    assert _match_status(staff_a.tenant, proposal_a) == "confirmed"
    with tenant_context(staff_a.tenant.id):
        assert Invoice.objects.get(pk=ledger_a.invoice.pk).status == "paid"


def test_accountant_rejects_and_undoes_with_admin_actions(login, staff_a, ledger_a, proposal_a):
    client = login(staff_a.accountant)
    changelist = "/admin/reconciliation/match/"
    response = client.post(
        changelist, {"action": "confirm_matches", "_selected_action": [str(proposal_a)]}, follow=True
    )
    assert "Confirmed 1 match(es)" in response.content.decode()
    response = client.post(
        changelist, {"action": "undo_matches", "_selected_action": [str(proposal_a)]}, follow=True
    )
    assert "Undone 1 match(es)" in response.content.decode()
    assert _match_status(staff_a.tenant, proposal_a) == "undone"
    response = client.post(
        changelist, {"action": "reject_matches", "_selected_action": [str(proposal_a)]}, follow=True
    )
    assert "not rejected: Only proposed matches can be rejected" in response.content.decode()


def test_decisions_on_another_tenants_match_are_not_found(login, staff_a, staff_b, proposal_a, proposal_b):
    client = login(staff_a.accountant)
    response = client.post(f"/admin/reconciliation/workbench/match/{proposal_b}/confirm/", follow=True)
    assert "Not confirmed: No such match." in response.content.decode()
    assert _match_status(staff_b.tenant, proposal_b) == "proposed"


def test_accountant_runs_reconciliation(login, staff_a, ledger_a):
    from reconciliation.models import ReconciliationRun

    client = login(staff_a.accountant)
    response = client.post("/admin/reconciliation/run/", {"next": "/admin/"}, follow=True)
    assert "Reconciliation finished: 1 proposal(s), 0 confirmed automatically, 1 waiting" in (
        response.content.decode()
    )
    with tenant_context(staff_a.tenant.id):
        run = ReconciliationRun.objects.get()
    assert run.source == "admin" and run.started_by_id == staff_a.accountant.pk


def test_accountant_voids_invoices(login, staff_a, ledger_a):
    from invoices.models import Invoice

    client = login(staff_a.accountant)
    response = client.post(
        "/admin/invoices/invoice/",
        {"action": "void_invoices", "_selected_action": [str(ledger_a.invoice.pk)]},
        follow=True,
    )
    assert "Voided 1 invoice(s): INV-A-1001." in response.content.decode()
    with tenant_context(staff_a.tenant.id):
        assert Invoice.objects.get(pk=ledger_a.invoice.pk).status == "void"
    response = client.post(
        "/admin/invoices/invoice/",
        {"action": "void_invoices", "_selected_action": [str(ledger_a.invoice.pk)]},
        follow=True,
    )
    assert "Not voided: INV-A-1001: The invoice is already void." in response.content.decode()


def test_accountant_edits_invoices_through_the_service(login, staff_a, ledger_a):
    from invoices.models import Invoice

    client = login(staff_a.accountant)
    response = client.post(
        "/admin/invoices/invoice/add/",
        {"number": "INV-A-1001", "kind": "receivable", "amount": "10.00", "currency": "USD"},
    )
    assert response.status_code == 200
    assert "already exists" in response.content.decode()

    response = client.post(
        "/admin/invoices/invoice/add/",
        {"number": "INV-A-1002", "kind": "receivable", "amount": "10.005", "currency": "USD"},
    )
    assert "decimal" in response.content.decode().lower()

    response = client.post(
        "/admin/invoices/invoice/add/",
        {"number": "INV-A-1002", "kind": "receivable", "amount": "10.50", "currency": "", "vendor": ""},
    )
    assert response.status_code == 302
    with tenant_context(staff_a.tenant.id):
        created = Invoice.objects.get(number="INV-A-1002")
    assert created.currency == "USD" and created.amount == Decimal("10.50")


def test_only_owners_change_settings_and_members(login, staff_a, django_user_model):
    from tenants.models import AuditEvent, Invitation, Membership, TenantSettings

    with tenant_context(staff_a.tenant.id):
        settings_row = TenantSettings.objects.get()
    url = f"/admin/tenants/tenantsettings/{settings_row.pk}/change/"
    data = {
        "default_currency": "eur",
        "auto_confirm_threshold": "0.9",
        "fee_tolerance_fixed": "2.50",
        "fee_tolerance_percent": "1",
        "date_window_days": "90",
        # What the browser posts for the write-off policy and rejection memory (issue 17).
        "write_off_max_amount": "0",
        "write_off_max_percent": "0",
        "write_off_reasons": ["rounding"],
        "rejection_memory": "3",
        "internal_transfer_days": "4",
        "processor_fee_percent": "3.5",
        "processor_fee_fixed": "0.35",
    }
    assert login(staff_a.accountant).post(url, data).status_code == 403

    owner = login(staff_a.owner)
    assert owner.get("/admin/tenants/tenantsettings/").status_code == 302
    response = owner.post(url, data)
    assert response.status_code == 302
    with tenant_context(staff_a.tenant.id):
        settings_row.refresh_from_db()
        assert settings_row.default_currency == "EUR"
        assert str(settings_row.fee_tolerance_fixed) == "2.50"
        event = AuditEvent.objects.get(action="tenant_settings.updated")
        assert event.before["default_currency"] == "USD" and event.after["default_currency"] == "EUR"
        assert event.source == "admin"

    # Members join by invitation (tests/admin/test_invitations_admin.py); one accepted here.
    from tenants.services import invitation_accept

    newcomer = django_user_model.objects.create_user("newcomer")
    response = owner.post("/admin/tenants/invitation/add/", {"invitee": "newcomer", "role": "viewer"})
    assert response.status_code == 302
    with tenant_context(staff_a.tenant.id):
        invitation = Invitation.objects.get(invitee="newcomer")
    invitation_accept(invitation_id=invitation.pk, user=newcomer)
    with tenant_context(staff_a.tenant.id):
        member = Membership.objects.get(user__username="newcomer")
    members_page = owner.get("/admin/tenants/membership/").content.decode()
    assert "newcomer" in members_page

    owner_membership = None
    with tenant_context(staff_a.tenant.id):
        owner_membership = Membership.objects.get(user=staff_a.owner)
    response = owner.post(
        f"/admin/tenants/membership/{owner_membership.pk}/delete/", {"post": "yes"}, follow=True
    )
    assert "The last owner of a tenant cannot be removed." in response.content.decode()

    accountant = login(staff_a.accountant)
    assert (
        accountant.post(f"/admin/tenants/membership/{member.pk}/delete/", {"post": "yes"}).status_code == 403
    )


def test_tokens_are_each_users_own(login, staff_a, django_user_model):
    from tenants.models import ApiToken
    from tenants.services import api_token_create

    api_token_create(user=staff_a.owner, name="owner token")
    client = login(staff_a.accountant)
    response = client.post("/admin/tenants/apitoken/add/", {"name": "my laptop"}, follow=True)
    body = response.content.decode()
    assert "shown only now" in body
    assert "owner token" not in client.get("/admin/tenants/apitoken/").content.decode()
    assert ApiToken.objects.get(name="my laptop").user_id == staff_a.accountant.pk
    assert client.get("/admin/tenants/tenant/").status_code == 403
    assert client.get("/admin/auth/user/").status_code == 403


def test_vendors_are_written_through_the_service(login, staff_a):
    from invoices.models import Vendor

    client = login(staff_a.accountant)
    response = client.post(
        "/admin/invoices/vendor/add/",
        {"name": "Contoso", "iban": "DE00 1234", "account_reference": "", "aliases": ""},
    )
    assert "IBAN" in response.content.decode()
    response = client.post(
        "/admin/invoices/vendor/add/",
        {
            "name": "Contoso",
            "iban": "de89 3704 0044 0532 0130 00",
            "account_reference": "",
            "aliases": "CONTOSO CONS LTD\r\n\r\nContoso Ltd\r\n",
        },
    )
    assert response.status_code == 302
    with tenant_context(staff_a.tenant.id):
        vendor = Vendor.objects.get(name="Contoso")
    assert vendor.iban == "DE89370400440532013000"
    assert vendor.aliases == ["CONTOSO CONS LTD", "Contoso Ltd"]
