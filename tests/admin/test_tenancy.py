"""How the back office enters tenants: memberships, the switcher, tenant_context and RLS."""

from __future__ import annotations

import pytest
from django.db import connection
from django.http import HttpResponse
from django.test import RequestFactory

from tenants.admin_site import ADMIN_TENANT_SESSION_KEY

pytestmark = pytest.mark.django_db


def test_anonymous_users_are_sent_to_the_login_page(client):
    response = client.get("/admin/invoices/invoice/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_the_login_page_works_outside_any_tenant(client, staff_a):
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": staff_a.accountant.username, "password": "pw-for-tests-only"},
    )
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_single_membership_is_chosen_automatically(login, staff_a, ledger_a, ledger_b):
    client = login(staff_a.accountant)
    response = client.get("/admin/invoices/invoice/")
    assert response.status_code == 200
    assert client.session[ADMIN_TENANT_SESSION_KEY] == str(staff_a.tenant.id)
    body = response.content.decode()
    assert "INV-A-1001" in body
    assert "INV-B-1001" not in body


def test_another_tenants_object_is_not_found(login, staff_a, ledger_a, ledger_b):
    client = login(staff_a.accountant)
    response = client.get(f"/admin/invoices/invoice/{ledger_b.invoice.pk}/change/", follow=True)
    body = response.content.decode()
    assert "INV-B-1001" not in body
    assert "doesn’t exist" in body or "does not exist" in body


def test_several_memberships_need_the_switcher(login, staff_a, staff_b, ledger_a, ledger_b):
    from tests.tenants.factories import add_member

    add_member(staff_b.tenant, staff_a.accountant, "viewer")
    client = login(staff_a.accountant)

    assert client.get("/admin/")["Location"] == "/admin/tenant/"
    assert client.get("/admin/invoices/invoice/")["Location"].startswith("/admin/tenant/?next=")
    page = client.get("/admin/tenant/").content.decode()
    assert "Acme Corp" in page and "Beta Ltd" in page

    client.post("/admin/tenant/", {"tenant_id": str(staff_b.tenant.id)})
    body = client.get("/admin/invoices/invoice/").content.decode()
    assert "INV-B-1001" in body and "INV-A-1001" not in body
    assert "Void selected invoices" not in body  # a viewer in B

    client.post("/admin/tenant/", {"tenant_id": str(staff_a.tenant.id)})
    body = client.get("/admin/invoices/invoice/").content.decode()
    assert "INV-A-1001" in body and "INV-B-1001" not in body
    assert "Void selected invoices" in body  # an accountant in A


def test_switching_to_a_tenant_without_membership_is_refused(login, staff_a, staff_b):
    client = login(staff_a.accountant)
    response = client.post("/admin/tenant/", {"tenant_id": str(staff_b.tenant.id)}, follow=True)
    assert "not a member" in response.content.decode()
    assert client.session[ADMIN_TENANT_SESSION_KEY] == str(staff_a.tenant.id)


def test_a_tampered_session_tenant_is_dropped(login, staff_a, staff_b, ledger_a, ledger_b):
    client = login(staff_a.accountant)
    session = client.session
    session[ADMIN_TENANT_SESSION_KEY] = str(staff_b.tenant.id)
    session.save()
    body = client.get("/admin/invoices/invoice/").content.decode()
    assert "INV-B-1001" not in body
    assert client.session[ADMIN_TENANT_SESSION_KEY] == str(staff_a.tenant.id)


def test_a_removed_membership_loses_access_at_once(login, staff_a, staff_b, ledger_b):
    from tenants.context import tenant_context
    from tenants.models import Membership
    from tests.tenants.factories import add_member

    add_member(staff_b.tenant, staff_a.accountant, "accountant")
    client = login(staff_a.accountant)
    client.post("/admin/tenant/", {"tenant_id": str(staff_b.tenant.id)})
    assert "INV-B-1001" in client.get("/admin/invoices/invoice/").content.decode()

    with tenant_context(staff_b.tenant.id):
        Membership.objects.filter(tenant_id=staff_b.tenant.id, user=staff_a.accountant).delete()
    body = client.get("/admin/invoices/invoice/").content.decode()
    assert "INV-B-1001" not in body


def test_admin_views_run_as_the_runtime_role_so_rls_applies(staff_a, ledger_a, ledger_b):
    """Even a queryset that forgets the tenant (``unscoped``) sees only the active tenant."""
    from django.contrib.sessions.backends.db import SessionStore

    from invoices.models import Invoice
    from tenants.admin_middleware import AdminTenantMiddleware

    seen = {}

    def view(request):
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user, current_setting('app.tenant_id', true)")
            seen["role"], seen["guc"] = cursor.fetchone()
        seen["numbers"] = sorted(Invoice.unscoped.values_list("number", flat=True))
        return HttpResponse("ok")

    request = RequestFactory().get("/admin/invoices/invoice/")
    request.user = staff_a.accountant
    request.session = SessionStore()
    AdminTenantMiddleware(view)(request)

    assert seen["role"] == "recon_tenant"
    assert seen["guc"] == str(staff_a.tenant.id)
    assert seen["numbers"] == ["INV-A-1001"]


def test_platform_pages_run_outside_any_tenant(staff_a):
    from django.contrib.sessions.backends.db import SessionStore

    from tenants.admin_middleware import AdminTenantMiddleware

    seen = {}

    def view(request):
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('app.tenant_id', true)")
            seen["guc"] = cursor.fetchone()[0]
        return HttpResponse("ok")

    for path in ("/admin/tenant/", "/admin/password_change/", "/admin/tenants/tenant/"):
        request = RequestFactory().get(path)
        request.user = staff_a.accountant
        request.session = SessionStore()
        AdminTenantMiddleware(view)(request)
        assert not seen["guc"], path


def test_tenant_pages_without_an_active_tenant_go_to_the_switcher(login, django_user_model):
    loner = django_user_model.objects.create_user("loner", password="x", is_staff=True)
    client = login(loner)
    response = client.get("/admin/reconciliation/match/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/tenant/")
    assert "not a member of any tenant" in client.get("/admin/tenant/").content.decode()


def test_superusers_reach_tenant_data_only_through_a_membership(login, django_user_model, ledger_a):
    root = django_user_model.objects.create_superuser("root", "root@example.com", "x")
    client = login(root)
    assert client.get("/admin/tenants/tenant/").status_code == 200
    assert client.get("/admin/auth/user/").status_code == 200
    response = client.get("/admin/invoices/invoice/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/tenant/")
    assert "INV-A-1001" not in client.get("/admin/", follow=True).content.decode()


def test_tenant_history_goes_to_the_audit_log_not_django_admin_log(login, staff_a, ledger_a):
    from django.contrib.admin.models import LogEntry

    from tenants.context import tenant_context
    from tenants.models import AuditEvent

    client = login(staff_a.accountant)
    url = f"/admin/invoices/invoice/{ledger_a.invoice.pk}/change/"
    page = client.get(url)
    form = page.context["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields if not form.fields[name].disabled}
    data["description"] = "Consulting Services (March)"
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]

    assert not LogEntry.objects.exists()
    with tenant_context(staff_a.tenant.id):
        # One event, written by the service (the admin writes no second one of its own).
        (event,) = AuditEvent.objects.filter(object_id=ledger_a.invoice.pk)
    assert (event.action, event.source) == ("invoice.updated", "admin")
    assert event.actor_id == staff_a.accountant.pk
    assert event.after == {"description": "Consulting Services (March)"}
    history = client.get(f"{url.replace('change/', 'history/')}", follow=True).content.decode()
    assert "invoice.updated" in history


def test_every_page_of_a_model_admin_runs_where_its_model_lives(staff_a):
    """Platform models' pages (their own extra pages too: a user's password page) run outside
    any tenant, tenant models' pages inside one. Discovered from the admin registry."""
    import re

    from tenants.admin_middleware import _model_is_tenant_scoped, view_needs_tenant
    from tenants.admin_site import site

    checked = 0
    for model, model_admin in site._registry.items():
        opts = model._meta
        for pattern in model_admin.get_urls():
            route = re.sub(r"<[^>]+>", "1", str(pattern.pattern))
            path = f"/admin/{opts.app_label}/{opts.model_name}/{route}"
            request = RequestFactory().get(path)
            assert view_needs_tenant(request) is _model_is_tenant_scoped(model_admin), path
            checked += 1
    assert checked > 50


def test_a_superuser_in_a_tenant_changes_a_password_on_the_platform_page(
    login, staff_a, ledger_a, django_user_model
):
    from tests.tenants.factories import add_member

    root = django_user_model.objects.create_superuser("root", "root@example.com", "x")
    add_member(staff_a.tenant, root, "owner")
    client = login(root)
    assert client.get("/admin/invoices/invoice/").status_code == 200  # the tenant is active
    assert client.session[ADMIN_TENANT_SESSION_KEY] == str(staff_a.tenant.id)

    url = f"/admin/auth/user/{staff_a.viewer.pk}/password/"
    assert client.get(url).status_code == 200
    new_password = "Another-long-pw-2024"
    response = client.post(
        url, {"password1": new_password, "password2": new_password, "usable_password": "true"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    staff_a.viewer.refresh_from_db()
    assert staff_a.viewer.check_password(new_password)
