"""Request middleware: body size limit, and entering the tenant for ``/v1/tenants/{id}/...``
(every ``/v1/`` request is audited as source ``api``; the GraphQL view narrows that to ``graphql``)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from rest_framework import exceptions

from api.problems import problem_response

from .audit import AuditSource, audit_source
from .authentication import authenticate_bearer, bearer_membership
from .context import tenant_context

if TYPE_CHECKING:
    from .models import Tenant

API_PREFIX = "/v1/"
TENANT_PATH = re.compile(r"^/v1/tenants/(?P<tenant_id>[^/]+)(?:/|$)")


def tenant_id_in_path(path_info: str) -> uuid.UUID | None:
    """The tenant id of a ``/v1/tenants/{tenant_id}/...`` path; None if absent or malformed."""
    match = TENANT_PATH.match(path_info)
    if match is None:
        return None
    try:
        return uuid.UUID(match["tenant_id"])
    except ValueError:
        return None


def request_tenant(request: Any) -> Tenant:
    """The tenant :class:`TenantContextMiddleware` resolved for ``request`` (Django's or DRF's)."""
    tenant: Tenant = getattr(request, "_request", request).tenant
    return tenant


class RequestBodyLimitMiddleware:
    """Answer 413 problem+json for bodies above ``REQUEST_BODY_MAX_BYTES`` before reading them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        length = request.META.get("CONTENT_LENGTH") or "0"
        try:
            size = int(length)
        except ValueError:
            return problem_response(
                400, detail="Invalid Content-Length.", code="bad-request", request=request
            )
        limit = settings.REQUEST_BODY_MAX_BYTES
        if size > limit:
            return problem_response(
                413,
                detail=f"The request body exceeds the limit of {limit} bytes.",
                code="payload-too-large",
                request=request,
            )
        return self.get_response(request)


class TenantContextMiddleware:
    """Authenticate, check membership and run the request inside ``tenant_context``.

    A tenant the caller is not a member of answers 404 exactly like one that does not exist,
    so ids cannot be probed. Any response of 400 or more rolls the transaction back, so a view
    that fails half-way never leaves partial writes.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith(API_PREFIX):
            return self.get_response(request)
        with audit_source(AuditSource.API):
            if TENANT_PATH.match(request.path_info) is None:
                return self.get_response(request)
            return self._in_tenant(request)

    def _in_tenant(self, request: HttpRequest) -> HttpResponse:
        unauthorized = {"WWW-Authenticate": 'Bearer realm="api"'}
        tenant_id = tenant_id_in_path(request.path_info)
        try:
            auth = authenticate_bearer(request, tenant_id=tenant_id)  # reads the membership too
        except exceptions.AuthenticationFailed as error:
            return problem_response(
                401,
                detail=str(error.detail),
                code="unauthenticated",
                title="Authentication failed",
                headers=unauthorized,
                request=request,
            )
        if auth is None:
            return problem_response(
                401,
                detail="Send Authorization: Bearer <token>.",
                code="unauthenticated",
                title="Authentication required",
                headers=unauthorized,
                request=request,
            )
        user, _token = auth
        membership = bearer_membership(request, tenant_id) if tenant_id is not None else None
        if tenant_id is None or membership is None:
            # Malformed, unknown and not-a-member all answer the same: no existence oracle.
            return problem_response(404, detail="No such tenant.", code="not-found", request=request)
        request.user = user
        request.tenant = membership.tenant  # type: ignore[attr-defined]
        request.membership = membership  # type: ignore[attr-defined]
        with tenant_context(tenant_id):
            response = self.get_response(request)
            if response.status_code >= 400:
                transaction.set_rollback(True)
        return response
