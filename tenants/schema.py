"""OpenAPI (drf-spectacular) description of the bearer-token authentication."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "tenants.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "API token from create_api_token or the admin.",
        }


PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string", "description": "URI naming the kind of problem"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "object",
            "description": "Per-field messages for validation problems",
            "additionalProperties": True,
        },
    },
    "required": ["type", "title", "status"],
}

_PROBLEM_STATUSES = {
    "400": "Malformed or invalid request",
    "401": "Missing or invalid bearer token",
    "403": "Your role does not allow this",
    "404": "No such resource (or not visible to you)",
    "405": "Method not allowed",
    "406": "Not acceptable",
    "409": "Conflicts with the current state",
    "413": "Request body too large",
    "415": "Unsupported media type",
    "422": "Idempotency-Key reused with another payload",
    "429": "Too many requests",
    "503": "Database unavailable",
}


def add_problem_responses(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """drf-spectacular post-processing hook: every operation documents its problem+json errors."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    reference = {"$ref": "#/components/schemas/Problem"}
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for status, description in _PROBLEM_STATUSES.items():
                if status == "401" and not operation.get("security"):
                    continue
                responses.setdefault(
                    status,
                    {
                        "description": description,
                        "content": {"application/problem+json": {"schema": reference}},
                    },
                )
    return result
