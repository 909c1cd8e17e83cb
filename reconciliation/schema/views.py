"""``POST /v1/tenants/{tenant_id}/graphql``: the synchronous strawberry view.

The middleware has authenticated the bearer token, checked membership (404 otherwise) and
entered ``tenant_context``; this view runs inside that one transaction, so RLS applies to every
resolver. Only ``POST`` with ``application/json`` is served (other methods: 405, other media
types: 415, like the REST endpoints; multipart uploads are not enabled), there is no
GraphiQL (it loads from a CDN), and CSRF does not apply (bearer tokens, no cookies).

Any error in the response rolls the request's transaction back: GraphQL answers 200 with
``errors``, which the middleware (rolling back on >= 400 only) would otherwise commit.
"""

from __future__ import annotations

from typing import Any

from cross_web import HTTPException
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt
from strawberry.django.views import GraphQLView
from strawberry.http import GraphQLHTTPResponse, process_result
from strawberry.types import ExecutionResult

from tenants.context import current_tenant_id
from tenants.parsers import loads_decimal
from tenants.problems import problem_response

from .context import TenantGraphQLContext
from .schema import format_error, schema


class TenantGraphQLView(GraphQLView):
    """Strawberry's sync view, answering only inside the tenant the middleware entered."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        membership = getattr(request, "membership", None)
        tenant_id = kwargs.get("tenant_id")
        if membership is None or current_tenant_id() is None or current_tenant_id() != tenant_id:
            # Only reachable when mounted outside the tenant middleware: never run without RLS.
            return problem_response(404, detail="No such tenant.", code="not-found", request=request)
        if request.method != "POST":
            return problem_response(
                405,
                detail="Send GraphQL operations with POST and Content-Type: application/json.",
                code="method-not-allowed",
                headers={"Allow": "POST"},
                request=request,
            )
        if request.content_type != "application/json":
            # strawberry answers 400 "Unsupported content type"; the REST endpoints say 415.
            return problem_response(
                415,
                detail="Send GraphQL operations as application/json.",
                code="unsupported-media-type",
                title="Unsupported media type",
                request=request,
            )
        try:
            return self.run(request=request)
        except HTTPException as error:
            return problem_response(
                error.status_code, detail=error.reason, code="bad-request", request=request
            )

    def decode_json(self, data: str | bytes) -> object:
        """JSON numbers with a fraction become Decimal, so amounts in variables stay exact."""
        try:
            return loads_decimal(data.decode() if isinstance(data, bytes) else data)
        except (ValueError, UnicodeDecodeError) as error:
            raise HTTPException(400, f"Malformed JSON: {error}") from error

    def get_context(self, request: HttpRequest, response: HttpResponse) -> TenantGraphQLContext:  # type: ignore[override]
        return TenantGraphQLContext(
            request=request,
            response=response,
            tenant=request.tenant,  # type: ignore[attr-defined]
            membership=request.membership,  # type: ignore[attr-defined]
            user=request.user,
        )

    def process_result(self, request: HttpRequest, result: ExecutionResult) -> GraphQLHTTPResponse:
        if result.errors:
            result.errors = [format_error(error) for error in result.errors]
            if connection.in_atomic_block:
                transaction.set_rollback(True)
        return process_result(result)


# Passed to as_view: strawberry's __init__ would otherwise reset them to GraphiQL / GET allowed.
graphql_view = csrf_exempt(
    TenantGraphQLView.as_view(schema=schema, graphql_ide=None, allow_queries_via_get=False)
)
