"""Per-token rate limit on writes, counted in PostgreSQL so every worker shares it.

Runs in middleware before the tenant is entered (as the owner login): the counter table is a
platform table, and a refused request never touches tenant data. Over the limit: 429
problem+json with ``Retry-After``.

A write is what a request changes, whatever the interface: a REST write request counts one; a
view may say otherwise with a ``write_count(request) -> int`` attribute. The GraphQL view counts
every mutation the request runs (15 aliased ``createInvoice`` are 15 writes) and none for a
query. Counting, rather than refusing documents with several mutations, keeps what GraphQL
clients use them for: several changes committed together or not at all. A request whose writes
would go over the limit is refused whole (nothing of it runs), and its writes are still counted.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.utils import timezone
from rest_framework import exceptions

from tenants.authentication import authenticate_bearer
from tenants.middleware import tenant_id_in_path

from .problems import problem_response

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

_COUNT_SQL = """
INSERT INTO tenants_apiratewindow (token_id, window_start, count)
VALUES (%s, date_trunc('minute', now()), %s)
ON CONFLICT (token_id, window_start) DO UPDATE SET count = tenants_apiratewindow.count + EXCLUDED.count
RETURNING count, (xmax = 0) AS is_new_window
"""


def writes_of(request: HttpRequest) -> int:
    """How many writes the request makes: 1, or what its view's ``write_count`` says."""
    try:
        view = resolve(request.path_info).func
    except Resolver404:
        return 1
    write_count = getattr(view, "write_count", None)
    return 1 if write_count is None else int(write_count(request))


class WriteRateLimitMiddleware:
    """At most ``WRITE_RATE_LIMIT_PER_MINUTE`` writes per token per minute (0 disables)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.WRITE_RATE_LIMIT_PER_MINUTE
        if limit <= 0 or request.method not in WRITE_METHODS or not request.path.startswith("/v1/"):
            return self.get_response(request)
        try:
            # With the tenant of the path, so the tenant middleware's membership check reuses
            # this one query instead of running another.
            auth = authenticate_bearer(request, tenant_id=tenant_id_in_path(request.path_info))
        except exceptions.AuthenticationFailed:
            return self.get_response(request)  # answered 401 further in
        if auth is None:
            return self.get_response(request)
        _user, token = auth
        writes = writes_of(request)  # after authentication: a stranger's body is never read here
        if writes <= 0:
            return self.get_response(request)  # e.g. a GraphQL query sent with POST
        with connection.cursor() as cursor:
            cursor.execute(_COUNT_SQL, [token.pk, writes])
            count, is_new_window = cursor.fetchone()
            if is_new_window:
                cursor.execute(
                    "DELETE FROM tenants_apiratewindow "
                    "WHERE token_id = %s AND window_start < now() - interval '1 hour'",
                    [token.pk],
                )
        if count > limit:
            retry_after = 60 - timezone.now().second
            return problem_response(
                429,
                detail=f"More than {limit} writes per minute for this token; retry later."
                + (f" This request makes {writes}." if writes > 1 else ""),
                code="rate-limited",
                title="Too many requests",
                headers={"Retry-After": str(retry_after)},
                request=request,
            )
        return self.get_response(request)
