"""``POST /v1/tenants/{tenant_id}/graphql``: the synchronous strawberry view.

The middleware has authenticated the bearer token, checked membership (404 otherwise) and
entered ``tenant_context``; this view runs inside that one transaction, so RLS applies to every
resolver. Only ``POST`` with ``application/json`` is served (other methods: 405, other media
types: 415, like the REST endpoints; multipart uploads are not enabled), there is no
GraphiQL (it loads from a CDN), and CSRF does not apply (bearer tokens, no cookies).

Any error in the response rolls the request's transaction back: GraphQL answers 200 with
``errors``, which the middleware (rolling back on >= 400 only) would otherwise commit.

The body must be one JSON object in UTF-8, nested at most ``api.parsers.MAX_JSON_DEPTH``
levels; anything else is a 400 problem before GraphQL runs. What the document may ask for is
decided by ``limits.DocumentLimits``; ``graphql_view.write_count`` tells the write rate limiter
how many mutations a request runs.
"""

from __future__ import annotations

import json
from typing import Any

from cross_web import DjangoHTTPRequestAdapter, HTTPException
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt
from strawberry.django.views import GraphQLView
from strawberry.http import GraphQLHTTPResponse, process_result
from strawberry.types import ExecutionResult

from api.parsers import loads_decimal
from api.problems import problem_response
from tenants.audit import AuditSource, audit_source
from tenants.context import current_tenant_id

from .context import TenantGraphQLContext
from .limits import mutation_count
from .schema import format_error, schema

_PAYLOAD = "_graphql_payload"


def request_payload(request: HttpRequest) -> dict[str, Any]:
    """The request's JSON body as an object, decoded once (the rate limiter reads it first).

    ValueError (with the reason) when it is not UTF-8, not JSON, nested too deep or no object.
    """
    payload = getattr(request, _PAYLOAD, None)
    if payload is None:
        payload = loads_decimal(request.body)
        if not isinstance(payload, dict):
            raise ValueError("the body must be a JSON object with a `query` (batches are not supported)")
        setattr(request, _PAYLOAD, payload)
    return payload


def request_mutation_count(request: HttpRequest) -> int:
    """Writes a GraphQL request makes, for ``api.ratelimit``: one per mutation it runs."""
    try:
        payload = request_payload(request)
    except ValueError:
        return 1  # refused further in: counted like any refused write
    return mutation_count(payload.get("query"), payload.get("operationName"))


class _RawBodyAdapter(DjangoHTTPRequestAdapter):
    """Hands the body over as bytes: cross-web's adapter decodes it and lets a non-UTF-8 body
    escape as a UnicodeDecodeError (a 500)."""

    @property
    def body(self) -> bytes:
        return self.request.body


class TenantGraphQLView(GraphQLView):
    """Strawberry's sync view, answering only inside the tenant the middleware entered."""

    request_adapter_class = _RawBodyAdapter

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
            with audit_source(AuditSource.GRAPHQL):
                return self.run(request=request)
        except HTTPException as error:
            return problem_response(
                error.status_code, detail=error.reason, code="bad-request", request=request
            )

    def decode_json(self, data: str | bytes) -> object:
        """JSON numbers with a fraction become Decimal, so amounts in variables stay exact."""
        try:
            if isinstance(data, bytes) and data is self.request.body:
                return request_payload(self.request)
            return loads_decimal(data)
        except ValueError as error:  # UnicodeDecodeError and JSONTooDeep included
            raise HTTPException(400, f"Malformed JSON: {error}") from error

    def encode_json(self, data: object) -> str:
        """UTF-8 rather than ``\\u`` escapes: at most 4 bytes per character instead of 12."""
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False)

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
graphql_view.write_count = request_mutation_count  # type: ignore[attr-defined]
