"""The platform pages that write reference tables (tenants, users) save on Citus too.

On Citus ``tenants_tenant`` and ``auth_user`` are reference tables with foreign keys from the
distributed tenant tables, and a transaction that has run a multi-shard (parallel) query on a
distributed table may not modify them afterwards. The tenant page reads its members' count
across shards before its UPDATE of the tenant; these tests save the pages as a superuser does,
on plain PostgreSQL and in the Citus pass (``tests/admin/`` is in ``CITUS_PASS``).
"""

from __future__ import annotations

import pytest

from tenants.context import tenant_context
from tenants.models import AuditEvent, Membership, Role, Tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(login, django_user_model):
    return login(django_user_model.objects.create_superuser("root", "root@example.com", "x"))


def root_user(django_user_model):
    return django_user_model.objects.get(username="root")


def tenant_page_data(page, tenant, *, name: str, roles: dict[int, str]) -> dict[str, str]:
    """The POST of the tenant page as loaded, with the name and the members' roles given."""
    formset = page.context["inline_admin_formsets"][0].formset
    data = {f"{formset.prefix}-{key}": str(value) for key, value in formset.management_form.initial.items()}
    data["name"] = name
    for index, form in enumerate(formset.forms):
        row = form.instance
        data[f"{formset.prefix}-{index}-id"] = str(row.pk)
        data[f"{formset.prefix}-{index}-tenant"] = str(tenant.pk)
        data[f"{formset.prefix}-{index}-user"] = str(row.user_id)
        data[f"{formset.prefix}-{index}-role"] = roles.get(row.user_id, row.role)
    return data


def roles_of(world) -> dict[str, str]:
    with tenant_context(world.tenant.id):
        return dict(Membership.objects.values_list("user__username", "role"))


def test_the_tenant_page_saves_a_new_name_and_a_members_role(root, world_a, world_b, django_user_model):
    url = f"/admin/tenants/tenant/{world_a.tenant.pk}/change/"
    page = root.get(url)
    assert page.status_code == 200
    data = tenant_page_data(
        page, world_a.tenant, name="Renamed GmbH", roles={world_a.viewer.pk: Role.ACCOUNTANT}
    )

    response = root.post(url, data)

    assert response.status_code == 302, response.context and response.context["errors"]
    assert Tenant.objects.get(pk=world_a.tenant.pk).name == "Renamed GmbH"
    assert roles_of(world_a)[world_a.viewer.username] == Role.ACCOUNTANT
    with tenant_context(world_a.tenant.id):
        changed = AuditEvent.objects.get(action="membership.updated")
    assert (changed.actor_id, changed.source, changed.after["role"]) == (
        root_user(django_user_model).pk,
        "admin",
        "accountant",
    )
    assert Tenant.objects.get(pk=world_b.tenant.pk).name == world_b.tenant.name
    assert roles_of(world_b)[world_b.viewer.username] == Role.VIEWER


def test_the_tenant_page_refuses_to_demote_the_last_owner_and_changes_nothing(root, world_a):
    url = f"/admin/tenants/tenant/{world_a.tenant.pk}/change/"
    page = root.get(url)
    data = tenant_page_data(page, world_a.tenant, name="Renamed GmbH", roles={world_a.owner.pk: Role.VIEWER})

    response = root.post(url, data)

    assert response.status_code == 200
    assert "A tenant needs at least one owner." in response.content.decode()
    assert Tenant.objects.get(pk=world_a.tenant.pk).name == world_a.tenant.name
    assert roles_of(world_a)[world_a.owner.username] == Role.OWNER


def test_the_tenant_add_page_creates_the_tenant_with_its_owner(root, world_a, django_user_model):
    founder = django_user_model.objects.create_user("founder")

    response = root.post("/admin/tenants/tenant/add/", {"name": "Newco AG", "owner": str(founder.pk)})

    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    tenant = Tenant.objects.get(name="Newco AG")
    with tenant_context(tenant.id):
        assert list(Membership.objects.values_list("user_id", "role")) == [(founder.pk, Role.OWNER)]
    assert root.get("/admin/tenants/tenant/").status_code == 200


def test_the_user_page_saves_a_member_s_name(root, world_a, django_user_model):
    member = world_a.accountant
    url = f"/admin/auth/user/{member.pk}/change/"
    page = root.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if name in form.fields and value is not None and not isinstance(value, list | tuple)
    }
    data.update({"first_name": "Ada", "date_joined_0": "2024-01-01", "date_joined_1": "00:00:00"})

    response = root.post(url, data)

    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    assert django_user_model.objects.get(pk=member.pk).first_name == "Ada"
