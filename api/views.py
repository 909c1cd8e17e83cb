"""The one base class for REST views under ``/v1/tenants/{tenant_id}/``.

``TenantContextMiddleware`` authenticates, checks membership (404 for non-members, like an
unknown tenant) and enters ``tenant_context`` before any view runs. This base makes each view
say so itself instead of repeating it: permissions by default (authenticated + the member's role,
``read_role``/``write_role`` to tighten), the URL's tenant checked against the active one, and
handlers that never receive the ``tenant_id`` they would only ignore (services use the ambient
tenant). The check is a second lock, not a replacement: a view reached without the middleware
(a URL mounted elsewhere, a middleware order change) answers 404 instead of serving whatever
tenant happens to be active.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.http.response import HttpResponseBase
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.views import APIView

from tenants.context import current_tenant_id
from tenants.permissions import TenantRolePermission


class TenantAPIView(APIView):
    """A view of one tenant's data; its handlers take the URL's other arguments only."""

    permission_classes = [IsAuthenticated, TenantRolePermission]

    url_tenant_id: uuid.UUID | None = None

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> HttpResponseBase:
        # Consumed here: the tenant is the active context, and the handlers never see the id.
        self.url_tenant_id = kwargs.pop("tenant_id", None)
        return super().dispatch(request, *args, **kwargs)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # Before authentication and permissions: the same 404 as the middleware's for a tenant
        # that is not the active one, so no other answer can reveal anything about it.
        active = current_tenant_id()
        request_tenant = getattr(request._request, "tenant", None)
        if (
            self.url_tenant_id is None
            or active is None
            or str(self.url_tenant_id) != str(active)
            or request_tenant is None
            or str(request_tenant.pk) != str(active)
        ):
            raise NotFound("No such tenant.")
        super().initial(request, *args, **kwargs)
