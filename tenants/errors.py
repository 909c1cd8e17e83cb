"""Domain errors raised by services and selectors, mapped to problem+json by every interface."""

from __future__ import annotations

from collections.abc import Collection, Mapping
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


def unknown_field_errors(
    data: Mapping[str, Any], accepted: Collection[str], *, prefix: str = ""
) -> dict[str, list[str]]:
    """``errors`` entries naming each key of ``data`` that is not in ``accepted`` (empty if none).

    The one rule for unknown keys, used by every request-body serializer
    (``tenants.serializers.StrictInputSerializer``) and by the bulk-validated import items:
    a misspelt or unsupported key (``descripton``, ``iban``) is refused, never dropped while the
    request succeeds without the evidence it carried. ``prefix`` locates nested items
    (``transactions[3]`` gives ``transactions[3].iban``).
    """
    unknown = [key for key in data if key not in accepted]
    if not unknown:
        return {}
    message = f"Unknown field; accepted: {', '.join(sorted(accepted))}."
    return {(f"{prefix}.{key}" if prefix else str(key)): [message] for key in unknown}
