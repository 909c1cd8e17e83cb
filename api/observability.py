"""Request ids, structured JSON logs and an access log line per request.

Log records carry the request id and the tenant id (from context variables), never tokens,
passwords or request bodies.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject, empty

from tenants.context import current_tenant_id

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_request_tenant: ContextVar[str | None] = ContextVar("request_tenant", default=None)
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
access_logger = logging.getLogger("reconcile.access")


def current_request_id() -> str | None:
    return _request_id.get()


class RequestIdMiddleware:
    """Take a sane ``X-Request-ID`` from the client or make one; echo it; log the request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = _request_id.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response["X-Request-ID"] = request_id
        if request.path.startswith("/v1/"):
            # Financial data: never let a shared cache keep it.
            response.setdefault("Cache-Control", "no-store")
        tenant = getattr(request, "tenant", None)
        access_logger.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "request_id": request_id,
                "tenant_id": str(tenant.pk) if tenant is not None else None,
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                "user_id": _resolved_user_id(request),
            },
        )
        return response


def _resolved_user_id(request: HttpRequest) -> object:
    """The user's id if authentication already ran; never triggers a session lookup."""
    user = request.__dict__.get("user")
    if isinstance(user, SimpleLazyObject) and user._wrapped is empty:
        return None
    return getattr(user, "pk", None)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request and tenant ids, extras."""

    _EXTRA_FIELDS = ("method", "path", "status", "duration_ms", "user_id")

    def format(self, record: logging.LogRecord) -> str:
        tenant = getattr(record, "tenant_id", None) or current_tenant_id()
        payload = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or current_request_id(),
            "tenant_id": str(tenant) if tenant else None,
        }
        for name in self._EXTRA_FIELDS:
            if hasattr(record, name):
                payload[name] = getattr(record, name)
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)
