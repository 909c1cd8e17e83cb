"""Domain errors raised by services and selectors, mapped to problem+json by every interface."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

FOREIGN_KEY_VIOLATION = "23503"
# Citus re-raises a worker's error with its message, not its diagnostic fields, and the
# message names the shard's constraint: the logical name plus "_<shard id>".
_CONSTRAINT_IN_MESSAGE = re.compile(r'constraint "([^"]+?)(?:_\d+)?"')


def is_foreign_key_violation(error: BaseException) -> bool:
    """A database error from a foreign key, e.g. a tenant's composite key (SQLSTATE 23503)."""
    return getattr(error.__cause__, "sqlstate", None) == FOREIGN_KEY_VIOLATION


def violated_constraint(error: BaseException) -> str | None:
    """The name of the constraint a database error reports, on plain PostgreSQL and on Citus.

    PostgreSQL names it in the error's diagnostics. An error Citus brings back from a worker
    has none; its message names the shard's copy (``<name>_<shard id>``), read back to ``<name>``.
    """
    cause = error.__cause__
    diag = getattr(cause, "diag", None)
    name = getattr(diag, "constraint_name", None)
    if name:
        return str(name)
    found = _CONSTRAINT_IN_MESSAGE.search(str(getattr(diag, "message_primary", None) or cause or ""))
    return found.group(1) if found else None


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
    (``api.serializers.StrictInputSerializer``) and by the bulk-validated import items:
    a misspelt or unsupported key (``descripton``, ``iban``) is refused, never dropped while the
    request succeeds without the evidence it carried. ``prefix`` locates nested items
    (``transactions[3]`` gives ``transactions[3].iban``).
    """
    unknown = [key for key in data if key not in accepted]
    if not unknown:
        return {}
    message = f"Unknown field; accepted: {', '.join(sorted(accepted))}."
    return {(f"{prefix}.{key}" if prefix else str(key)): [message] for key in unknown}
