"""Domain errors raised by services and selectors, mapped to problem+json by every interface."""

from __future__ import annotations

from typing import Any

FOREIGN_KEY_VIOLATION = "23503"


def is_foreign_key_violation(error: BaseException) -> bool:
    """A database error from a foreign key, tenant reference or tenant key (SQLSTATE 23503)."""
    return getattr(error.__cause__, "sqlstate", None) == FOREIGN_KEY_VIOLATION


class DomainError(Exception):
    """Base for errors a client can cause; carries the HTTP status the API answers with."""

    status = 400
    code = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, *, errors: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors


class InvalidInput(DomainError):
    status = 400
    code = "invalid-input"
    title = "Invalid input"


class PermissionDenied(DomainError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class NotFound(DomainError):
    status = 404
    code = "not-found"
    title = "Not found"


class Conflict(DomainError):
    status = 409
    code = "conflict"
    title = "Conflict"


class Unprocessable(DomainError):
    status = 422
    code = "unprocessable"
    title = "Unprocessable request"
