"""OpenAPI (drf-spectacular): bearer authentication, strict request bodies, problem+json errors.

The schema is what client generators read (``tests/test_generated_client.py`` generates a
Python client from it and drives the API through that client), so it states what the server
does: every error has the problem body, request objects refuse undeclared keys, and bounds
(page size, ``Idempotency-Key``) are declared, not only enforced.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerExtension

from .idempotency import HEADER
from .serializers import StrictFieldsMixin


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "tenants.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "API token from create_api_token or the admin.",
        }


class StrictRequestSchema(OpenApiSerializerExtension):
    """Request bodies of strict serializers declare ``additionalProperties: false``.

    The server refuses undeclared keys (``StrictFieldsMixin``); saying so lets generated
    clients and validators refuse them too. Responses stay open, so adding an output field is
    not a breaking change.
    """

    target_class = StrictFieldsMixin
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        if direction == "request":
            schema["additionalProperties"] = False
        return schema


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
            "description": "Per-field messages for validation problems, keyed by field "
            "(`transactions[3].amount` inside lists)",
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
    "415": "Unsupported media type (JSON bodies take application/json only)",
    "422": "Idempotency-Key reused with another payload",
    "429": "Too many requests",
    "503": "Database unavailable",
}
_WRITE_METHODS = {"post", "put", "patch"}


def _applies(status: str, method: str, operation: dict[str, Any]) -> bool:
    """Whether ``operation`` can answer ``status`` (a status it cannot answer is noise to a client)."""
    if status == "401":
        return bool(operation.get("security"))
    if status == "415":
        return method in _WRITE_METHODS
    if status == "422":
        return any(parameter.get("name") == HEADER for parameter in operation.get("parameters", []))
    return True


#: ``extend_schema(extensions={OPTIONAL_BODY: True})``: the operation's body may be left out.
OPTIONAL_BODY = "x-body-optional"


def add_problem_responses(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """drf-spectacular post-processing hook: every operation documents its problem+json errors.

    Each error response gets the ``Problem`` body, including those a view declared with a
    description only (they had no body, so generated clients returned nothing instead of the
    problem).
    """
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    content = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            optional_body = operation.pop(OPTIONAL_BODY, False)
            if "requestBody" in operation:
                # Every body is required: an empty one is 400 (api.parsers.json_object_body),
                # even where all fields are optional (`{}` asks for the defaults). Except where a
                # view says so (OPTIONAL_BODY): confirming a match took no body before it took one.
                operation["requestBody"]["required"] = not optional_body
            responses = operation["responses"]
            for status, description in _PROBLEM_STATUSES.items():
                if _applies(status, method, operation):
                    responses.setdefault(status, {"description": description})
            for status, response in responses.items():
                if int(status) >= 400:
                    response["content"] = content
    return result
