"""The tenant API base view (api.views.TenantAPIView): every tenant route uses it, and it serves
only the tenant that is both in the URL and active, whatever reached it."""

from __future__ import annotations

import inspect
import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIRequestFactory, force_authenticate

from api.views import TenantAPIView
from invoices.apis import InvoiceListCreateApi
from tenants.context import tenant_context
from tenants.models import Membership
from tests.invoices.factories import make_invoice

TENANT_PREFIX = "v1/tenants/<uuid:tenant_id>/"
FUNCTION_VIEWS = {"v1/tenants/<uuid:tenant_id>/graphql": "GraphQL has its own view and attack suite"}


def _tenant_routes() -> list[tuple[str, object]]:
    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                route = prefix + str(pattern.pattern)
                if route.startswith(TENANT_PREFIX) or route == TENANT_PREFIX.rstrip("/"):
                    yield route, pattern.callback

    return sorted(walk(get_resolver().url_patterns), key=lambda item: item[0])


def test_every_tenant_route_is_a_tenant_api_view() -> None:
    routes = _tenant_routes()
    assert len(routes) > 30  # the walk found the API, not nothing
    plain = [
        route
        for route, callback in routes
        if route not in FUNCTION_VIEWS
        and not issubclass(getattr(callback, "view_class", object), TenantAPIView)
    ]
    assert plain == []


def test_handlers_take_no_tenant_id() -> None:
    for route, callback in _tenant_routes():
        view_class = getattr(callback, "view_class", None)
        for method in ("get", "post", "patch", "put", "delete"):
            handler = getattr(view_class, method, None)
            if handler is not None:
                assert "tenant_id" not in inspect.signature(handler).parameters, (route, method)


def _list_invoices(world, *, url_tenant_id: uuid.UUID, active: uuid.UUID | None):
    """Call the view directly, past the middleware, as a member of ``world`` would reach it."""
    request = APIRequestFactory().get(f"/v1/tenants/{url_tenant_id}/invoices")
    force_authenticate(request, user=world.accountant)
    with tenant_context(world.tenant.id):
        request.membership = Membership.objects.get(user=world.accountant)  # type: ignore[attr-defined]
    request.tenant = world.tenant  # type: ignore[attr-defined]
    view = InvoiceListCreateApi.as_view()
    if active is None:
        return view(request, tenant_id=url_tenant_id)
    with tenant_context(active):
        response = view(request, tenant_id=url_tenant_id)
        response.render()
        return response


@pytest.mark.django_db
def test_url_tenant_other_than_the_active_one_is_404_not_the_active_tenants_data(world_a, world_b):
    make_invoice(world_a.tenant, number="A-ONLY")
    response = _list_invoices(world_a, url_tenant_id=world_b.tenant.id, active=world_a.tenant.id)
    assert response.status_code == 404
    assert "A-ONLY" not in response.content.decode()
    assert response["Content-Type"].startswith("application/problem+json")


@pytest.mark.django_db
def test_no_active_tenant_is_404(world_a):
    response = _list_invoices(world_a, url_tenant_id=world_a.tenant.id, active=None)
    assert response.status_code == 404


@pytest.mark.django_db
def test_url_tenant_equal_to_the_active_one_is_served(world_a):
    make_invoice(world_a.tenant, number="A-ONLY")
    response = _list_invoices(world_a, url_tenant_id=world_a.tenant.id, active=world_a.tenant.id)
    assert response.status_code == 200
    assert "A-ONLY" in response.content.decode()
