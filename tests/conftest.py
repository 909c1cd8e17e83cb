"""Shared fixtures: two tenants with their own users, so every test can prove isolation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from rest_framework.test import APIClient

from tenants.models import Role, Tenant
from tests.tenants.factories import UserFactory, add_member, bearer, make_tenant


@dataclass
class TenantWorld:
    tenant: Tenant
    owner: Any
    accountant: Any
    viewer: Any
    seeded: dict[str, Any] = field(default_factory=dict)


def _world(name: str) -> TenantWorld:
    slug = name.split()[0].lower()
    owner = UserFactory(username=f"{slug}-owner")
    tenant = make_tenant(name, owner=owner)
    accountant = UserFactory(username=f"{slug}-accountant")
    viewer = UserFactory(username=f"{slug}-viewer")
    add_member(tenant, accountant, Role.ACCOUNTANT)
    add_member(tenant, viewer, Role.VIEWER)
    return TenantWorld(tenant=tenant, owner=owner, accountant=accountant, viewer=viewer)


@pytest.fixture
def world_a(db) -> TenantWorld:
    return _world("Acme Corp")


@pytest.fixture
def world_b(db) -> TenantWorld:
    return _world("Beta Ltd")


@pytest.fixture
def api_client_for():
    """``api_client_for(user)`` -> an APIClient sending that user's bearer token."""

    def build(user) -> APIClient:
        client = APIClient()
        client.credentials(**bearer(user))
        return client

    return build
