"""Factories for platform objects. Tenants are made through the service, as the API does."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from tenants.context import tenant_context
from tenants.models import Role, Tenant
from tenants.services import api_token_create, membership_add, tenant_create


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")


def make_tenant(name: str = "Acme Corp", *, owner=None) -> Tenant:
    """A tenant created by the service (with its settings row) and its owner."""
    owner = owner or UserFactory()
    return tenant_create(name=name, owner=owner)


def add_member(tenant: Tenant, user, role: str = Role.VIEWER) -> None:
    with tenant_context(tenant.id):
        membership_add(tenant_id=tenant.id, username=user.username, role=role)


def bearer(user, name: str = "test") -> dict[str, str]:
    """Headers authenticating ``user`` with a fresh API token."""
    _token, raw = api_token_create(user=user, name=name)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
