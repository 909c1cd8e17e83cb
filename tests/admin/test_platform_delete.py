"""Platform pages refuse to delete a user or tenant that tenant rows still refer to, and say why
(Django's collector cannot see those rows under RLS; the database refuses, the admin explains)."""

from __future__ import annotations

import uuid

import pytest

from tenants.audit import AuditAction, audit_record
from tenants.context import tenant_context

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(login, django_user_model):
    return login(django_user_model.objects.create_superuser("root", "root@example.com", "x"))


def delete(client, path: str):
    return client.post(path, {"post": "yes"}, follow=True)


def leave_tenant(world, user) -> None:
    """Members cannot be deleted from the platform pages at all (their memberships are tenant
    rows the superuser may not delete there: 403); a former member can."""
    from tenants.models import Membership

    with tenant_context(world.tenant.id):
        Membership.objects.filter(user=user).delete()


def test_a_user_who_acted_in_a_tenant_is_kept_and_the_page_says_so(root, world_a, django_user_model):
    with tenant_context(world_a.tenant.id):
        audit_record(actor=world_a.accountant, action=AuditAction.INVOICE_UPDATED, object_id=uuid.uuid4())
    leave_tenant(world_a, world_a.accountant)
    response = delete(root, f"/admin/auth/user/{world_a.accountant.pk}/delete/")
    assert response.status_code == 200
    assert "was not deleted" in response.content.decode()
    assert "Active" in response.content.decode()
    assert django_user_model.objects.filter(pk=world_a.accountant.pk).exists()


def test_a_user_who_never_acted_is_deleted(root, django_user_model):
    bystander = django_user_model.objects.create_user("bystander")
    response = delete(root, f"/admin/auth/user/{bystander.pk}/delete/")
    assert response.status_code == 200
    assert "was deleted successfully" in response.content.decode()
    assert not django_user_model.objects.filter(pk=bystander.pk).exists()


def test_a_tenant_with_data_is_kept(root, world_a):
    from tenants.models import Tenant

    for user in (world_a.owner, world_a.accountant, world_a.viewer):
        leave_tenant(world_a, user)
    response = delete(root, f"/admin/tenants/tenant/{world_a.tenant.pk}/delete/")
    assert "was not deleted" in response.content.decode()
    assert Tenant.objects.filter(pk=world_a.tenant.pk).exists()


def test_platform_lists_offer_no_bulk_delete(root):
    for path in ("/admin/auth/user/", "/admin/tenants/tenant/"):
        assert "delete_selected" not in root.get(path).content.decode()
