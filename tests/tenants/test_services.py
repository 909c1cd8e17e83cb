"""The tenancy services, called directly: a tenant is born with its owner and settings, members
are added once with a known role, and API tokens are shown once and stored hashed."""

from __future__ import annotations

import pytest

from common.errors import Conflict, InvalidInput
from tenants.authentication import hash_token
from tenants.context import tenant_context
from tenants.models import ApiToken, Membership, Role, TenantSettings
from tenants.services import api_token_create, api_token_revoke, membership_add, tenant_create
from tests.tenants.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_tenant_is_born_with_its_owner_and_settings():
    owner = UserFactory()
    tenant = tenant_create(name="  Globex  ", owner=owner, default_currency="EUR")
    assert tenant.name == "Globex"
    with tenant_context(tenant.id):
        assert list(Membership.objects.filter(tenant=tenant).values_list("user_id", "role")) == [
            (owner.pk, Role.OWNER)
        ]
        assert TenantSettings.objects.get(tenant=tenant).default_currency == "EUR"


@pytest.mark.parametrize("name", ["", "   ", "x" * 1000])
def test_a_tenant_name_that_cannot_be_used_is_refused(name):
    with pytest.raises(InvalidInput) as refused:
        tenant_create(name=name, owner=UserFactory())
    assert set(refused.value.errors) == {"name"}


def test_a_member_is_added_once_with_a_known_role(world_a):
    newcomer = UserFactory()
    with tenant_context(world_a.tenant.id):
        with pytest.raises(InvalidInput):
            membership_add(tenant_id=world_a.tenant.id, username=newcomer.username, role="admin")
        with pytest.raises(InvalidInput):
            membership_add(tenant_id=world_a.tenant.id, username="nobody-here", role=Role.VIEWER)
        membership = membership_add(tenant_id=world_a.tenant.id, username=newcomer.username, role=Role.VIEWER)
        with pytest.raises(Conflict):
            membership_add(tenant_id=world_a.tenant.id, username=newcomer.username, role=Role.OWNER)
        assert Membership.objects.get(user=newcomer).role == Role.VIEWER == membership.role


def test_a_token_is_stored_hashed_and_revoked_at_once():
    user = UserFactory()
    token, raw = api_token_create(user=user, name="  ")
    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.name == "token" and stored.prefix == raw[:10]
    assert stored.token_hash == hash_token(raw) and raw not in stored.token_hash
    revoked = api_token_revoke(token=stored)
    first_revocation = revoked.revoked_at
    assert first_revocation is not None
    assert api_token_revoke(token=revoked).revoked_at == first_revocation
