"""The OpenAPI schema states the errors every endpoint can answer, as the API really does.

drf-spectacular documents what a view declares (its successes, a few errors); the answers that
authentication, object-level access, pagination and validation give everywhere are added here,
each with the body ``sessions.api.errors`` always sends: a readable ``detail``, and ``errors``
per field for invalid input. A response a view documents itself is left as it is.
"""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "detail": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": True},
    },
    "required": ["detail"],
}

_DESCRIPTIONS = {
    "400": "Invalid input: `detail`, and `errors` per field.",
    "401": "No valid credentials (missing, unknown or expired token).",
    "403": "Not allowed: the object may be seen but not changed, or staff without two-factor "
    "authentication where it is required.",
    "404": "Not found, or not visible to you (the same answer either way); also a page "
    "number past the end of a list.",
}


def _error(status: str) -> dict[str, Any]:
    return {
        "description": _DESCRIPTIONS[status],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def document_errors(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: add the errors each operation can answer."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            parameters = operation.get("parameters", [])
            statuses: list[str] = []
            if operation.get("requestBody") or any(
                p["in"] != "path" and p["name"] != "page" for p in parameters
            ):
                statuses.append("400")
            if any(scheme for scheme in operation.get("security", [])):  # [{}]: no login needed
                # Object-level access answers 404 for anything the caller may not see, whether
                # it is named in the path, the query or the body (a session's ``child``).
                statuses += ["401", "403", "404"]
            responses = operation.setdefault("responses", {})
            for status in statuses:
                responses.setdefault(status, _error(status))
    return result
