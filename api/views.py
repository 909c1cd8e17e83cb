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
from collections.abc import Callable
from typing import Any, ClassVar

from django.http.response import HttpResponseBase
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.pagination import CursorPagination, paginated_response
from api.serializers import RowRenderer
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


class TenantListAPIView(TenantAPIView):
    """``GET``: one cursor page of what ``select`` returns for the validated query parameters.

    The one way a tenant list is served: ``filter_serializer_class`` (optional) validates the
    query string (400 naming the parameter), ``select`` is the app's selector, and the rows are
    rendered by ``rows`` (a ``RowRenderer``, the fast path) or by ``output_serializer_class``
    (``select`` calls ``selector``; override it when the URL's object must be found first).
    The OpenAPI operation is derived from the same attributes (the filters as parameters, the
    output serializer as the 200 body) plus ``list_schema`` (tags, summary, description, other
    responses), so the schema cannot drift from what the view does. A view that also writes
    defines ``post``/``patch`` with their own ``extend_schema`` as usual.
    """

    pagination_class = CursorPagination
    filter_serializer_class: type[serializers.Serializer] | None = None
    output_serializer_class: type[serializers.Serializer]
    rows: RowRenderer | None = None
    list_schema: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "get" in cls.__dict__ or "output_serializer_class" not in cls.__dict__:
            return
        schema = dict(cls.list_schema)
        if cls.filter_serializer_class is not None:
            schema["parameters"] = [cls.filter_serializer_class]
        schema["responses"] = {200: cls.output_serializer_class(many=True), **schema.get("responses", {})}
        extend_schema_view(get=extend_schema(**schema))(cls)

    selector: Callable[..., Any]

    def select(self, **arguments: Any) -> Any:
        """The queryset to page through: ``selector`` of the URL's arguments and the filters."""
        return self.selector(**arguments)

    def get(self, request: Request, **url_arguments: Any) -> Response:
        filters: dict[str, Any] = {}
        if self.filter_serializer_class is not None:
            serializer = self.filter_serializer_class(data=request.query_params)
            serializer.is_valid(raise_exception=True)
            filters = serializer.validated_data
        queryset = self.select(**url_arguments, **filters)
        return paginated_response(self, request, queryset, self.rows or self.output_serializer_class)


class TenantDetailAPIView(TenantAPIView):
    """``GET``: one object, found by ``select`` from the URL's arguments (404 when it is not the
    tenant's), rendered by ``output_serializer_class``; its OpenAPI operation is derived like
    ``TenantListAPIView``'s (``detail_schema`` adds tags, summary, other responses)."""

    output_serializer_class: type[serializers.Serializer]
    detail_schema: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "get" in cls.__dict__ or "output_serializer_class" not in cls.__dict__:
            return
        schema = dict(cls.detail_schema)
        schema["responses"] = {200: cls.output_serializer_class, **schema.get("responses", {})}
        extend_schema_view(get=extend_schema(**schema))(cls)

    selector: Callable[..., Any]

    def select(self, **url_arguments: Any) -> Any:
        """The object the URL names: ``selector`` raises NotFound for any other."""
        return self.selector(**url_arguments)

    def get(self, request: Request, **url_arguments: Any) -> Response:
        return Response(self.output_serializer_class(self.select(**url_arguments)).data)
