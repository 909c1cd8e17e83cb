"""Liveness and readiness probes (no authentication, no tenant)."""

from __future__ import annotations

from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse

from api.problems import problem_response


def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """The database answers; 503 problem+json when it does not."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        # A broken connection must not stick: drop it so the next probe reconnects.
        connection.close_if_unusable_or_obsolete()
        return problem_response(
            503,
            detail="The database is not reachable.",
            code="database-unavailable",
            title="Service unavailable",
            headers={"Retry-After": "5"},
            request=request,
        )
    return JsonResponse({"status": "ready", "database": "ok"})
