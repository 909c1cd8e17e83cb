"""RFC 9457 ``application/problem+json`` responses for every error the API returns."""

from __future__ import annotations

import logging
import sys
from http import HTTPStatus
from typing import Any

import psycopg
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

from common.errors import DomainError

PROBLEM_CONTENT_TYPE = "application/problem+json"
logger = logging.getLogger(__name__)


def problem_type(code: str) -> str:
    """A stable URI naming the kind of problem (RFC 9457 ``type``)."""
    return f"urn:reconcile:problem:{code}"


def problem_body(
    status: int,
    *,
    detail: str | None = None,
    code: str | None = None,
    title: str | None = None,
    errors: Any = None,
    instance: str | None = None,
) -> dict[str, Any]:
    """The JSON members of a problem document."""
    body: dict[str, Any] = {
        "type": problem_type(code) if code else "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    return body


def problem_response(
    status: int,
    *,
    detail: str | None = None,
    code: str | None = None,
    title: str | None = None,
    errors: Any = None,
    headers: dict[str, str] | None = None,
    request: HttpRequest | None = None,
) -> JsonResponse:
    """A plain Django problem response (for middleware and URL-level handlers)."""
    body = problem_body(
        status,
        detail=detail,
        code=code,
        title=title,
        errors=errors,
        instance=request.path if request is not None else None,
    )
    response = JsonResponse(body, status=status, content_type=PROBLEM_CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _flatten_validation(detail: Any) -> Any:
    """DRF's nested ErrorDetail structure as plain lists of strings keyed by field."""
    if isinstance(detail, dict):
        return {str(key): _flatten_validation(value) for key, value in detail.items()}
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return [str(item) for item in detail]
        return [_flatten_validation(item) for item in detail]
    return [str(detail)]


_DRF_CODES: dict[type[drf_exceptions.APIException], tuple[str, str]] = {
    drf_exceptions.ParseError: ("malformed-request", "Malformed request body"),
    drf_exceptions.AuthenticationFailed: ("unauthenticated", "Authentication failed"),
    drf_exceptions.NotAuthenticated: ("unauthenticated", "Authentication required"),
    drf_exceptions.PermissionDenied: ("forbidden", "Forbidden"),
    drf_exceptions.NotFound: ("not-found", "Not found"),
    drf_exceptions.MethodNotAllowed: ("method-not-allowed", "Method not allowed"),
    drf_exceptions.NotAcceptable: ("not-acceptable", "Not acceptable"),
    drf_exceptions.UnsupportedMediaType: ("unsupported-media-type", "Unsupported media type"),
    drf_exceptions.Throttled: ("rate-limited", "Too many requests"),
}


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF exception handler: every error becomes problem+json, never a bare 500 for input."""
    request = context.get("request")
    instance = request.path if request is not None else None
    headers: dict[str, str] = {}

    if isinstance(exc, DomainError):
        body = problem_body(
            exc.status,
            detail=exc.detail,
            code=exc.code,
            title=exc.title,
            errors=exc.errors,
            instance=instance,
        )
        return Response(body, status=exc.status, content_type=PROBLEM_CONTENT_TYPE)
    if isinstance(exc, DjangoValidationError):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        body = problem_body(
            400,
            detail="The request has invalid fields.",
            code="validation",
            title="Validation failed",
            errors=errors,
            instance=instance,
        )
        return Response(body, status=400, content_type=PROBLEM_CONTENT_TYPE)
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    elif isinstance(
        exc, OperationalError | InterfaceError | psycopg.OperationalError | psycopg.InterfaceError
    ):
        logger.warning("database unavailable: %s", exc)
        body = problem_body(
            503,
            detail="The database is unavailable; retry shortly.",
            code="database-unavailable",
            title="Service unavailable",
            instance=instance,
        )
        return Response(body, status=503, content_type=PROBLEM_CONTENT_TYPE, headers={"Retry-After": "5"})
    elif isinstance(exc, DatabaseError):
        return None  # a bug, not client input: let Django log it and answer 500

    if not isinstance(exc, drf_exceptions.APIException):
        return None

    if isinstance(exc, drf_exceptions.ValidationError):
        body = problem_body(
            400,
            detail="The request has invalid fields.",
            code="validation",
            title="Validation failed",
            errors=_flatten_validation(exc.detail),
            instance=instance,
        )
    else:
        code, title = _DRF_CODES.get(type(exc), ("error", HTTPStatus(exc.status_code).phrase))
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        body = problem_body(exc.status_code, detail=str(detail), code=code, title=title, instance=instance)
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        headers["WWW-Authenticate"] = auth_header
    wait = getattr(exc, "wait", None)
    if wait:
        headers["Retry-After"] = str(int(wait))
    return Response(body, status=exc.status_code, content_type=PROBLEM_CONTENT_TYPE, headers=headers)


def _wants_problem(request: HttpRequest) -> bool:
    return request.path.startswith(("/v1", "/healthz", "/readyz"))


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """URL-level 404: problem+json for the API, Django's page elsewhere."""
    if _wants_problem(request):
        return problem_response(404, detail="No such resource.", code="not-found", request=request)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception or Http404())


def handler500(request: HttpRequest) -> HttpResponse:
    """URL-level 500: a problem document without internals for the API.

    A lost database (raised anywhere, middleware included) answers 503 instead: the request
    may be retried once the database is back, and the app reconnects by itself.
    """
    error = sys.exc_info()[1]
    if isinstance(
        error, OperationalError | InterfaceError | psycopg.OperationalError | psycopg.InterfaceError
    ):
        response = problem_response(
            503,
            detail="The database is unavailable; retry shortly.",
            code="database-unavailable",
            title="Service unavailable",
            headers={"Retry-After": "5"},
            request=request,
        )
        if not _wants_problem(request):
            response["Content-Type"] = PROBLEM_CONTENT_TYPE
        return response
    if _wants_problem(request):
        return problem_response(500, detail="An unexpected error occurred.", code="internal", request=request)
    from django.views.defaults import server_error

    return server_error(request)


def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _wants_problem(request):
        return problem_response(400, detail="Bad request.", code="bad-request", request=request)
    from django.views.defaults import bad_request

    return bad_request(request, exception or Exception())


def handler403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _wants_problem(request):
        return problem_response(403, detail="Forbidden.", code="forbidden", request=request)
    from django.views.defaults import permission_denied

    return permission_denied(request, exception or Exception())


# OpenAPI descriptions of the problem responses views document (drf-spectacular).
PROBLEM_400 = OpenApiResponse(description="Invalid fields (problem+json with per-field `errors`).")
PROBLEM_403 = OpenApiResponse(description="Your role in this tenant cannot write.")
PROBLEM_404 = OpenApiResponse(description="No such resource in this tenant.")
