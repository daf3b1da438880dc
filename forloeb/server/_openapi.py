"""The OpenAPI 3.1 document's parts that FastAPI does not derive from the routes:
the problem responses (every type, with an example each), the bearer scheme,
the ETag, If-Match and Idempotency-Key headers."""

from __future__ import annotations

from typing import Any

from ._problems import MEDIA_TYPE, ProblemType, all_types
from ._schemas import Problem

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

ENGAGEMENT_HEADERS: dict[str, Any] = {
    "ETag": {
        "description": "The engagement's version as a strong entity tag; send it back in If-Match.",
        "schema": {"type": "string", "examples": ['"3"']},
    }
}

WRITE_PARAMETERS: list[dict[str, Any]] = [
    {
        "name": "If-Match",
        "in": "header",
        "required": False,
        "description": "The ETag the change expects the engagement to be at (412 when it is not).",
        "schema": {"type": "string", "examples": ['"3"']},
    },
    {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": "Retrying with the same key writes nothing twice and returns the first response.",
        "schema": {"type": "string", "maxLength": 200},
    },
]

_DESCRIPTIONS = {
    400: "Malformed request (not JSON, not UTF-8)",
    401: "Not authenticated",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict with the engagement's state or version",
    412: "If-Match is stale or malformed",
    413: "Request body too large",
    415: "Body is not JSON",
    422: "Invalid request or data",
    500: "Internal error",
    503: "Database unavailable or busy (Retry-After)",
    507: "Storage full",
}


def _types_with(status: int) -> list[ProblemType]:
    kinds = [k for k in all_types() if k.status == status]
    if status == 412:
        kinds += [k for k in all_types() if k.slug == "concurrency"]
    return kinds


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Problem responses for ``statuses``, each with an example of every type it may carry."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        examples = {
            kind.slug: {
                "summary": kind.title,
                "value": {
                    "type": kind.uri,
                    "title": kind.title,
                    "status": status,
                    "detail": kind.description,
                },
            }
            for kind in _types_with(status)
        }
        out[str(status)] = {
            "description": _DESCRIPTIONS.get(status, "Problem"),
            "content": {MEDIA_TYPE: {"schema": PROBLEM_REF, "examples": examples}},
        }
    return out


# What any authenticated route may answer.
COMMON = problems(400, 401, 413, 415, 422, 500, 503)


def finish(document: dict[str, Any]) -> dict[str, Any]:
    """Add the Problem schema, the problem-type catalogue and the bearer scheme."""
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas["Problem"] = problem
    components["securitySchemes"] = {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "A token from `forloeb token create` (acts as its staff member).",
        }
    }
    document["security"] = [{"bearer": []}]
    for path, item in document.get("paths", {}).items():
        if path in ("/healthz", "/readyz"):
            for operation in item.values():
                operation["security"] = []
    catalogue = "\n".join(f"| `{k.uri}` | {k.status} | {k.title} | {k.description} |" for k in all_types())
    info = document.setdefault("info", {})
    info["description"] = (
        info.get("description", "")
        + "\n\n## Problem types\n\nEvery error is `application/problem+json` (RFC 9457) with one of "
        "these `type`s; the error's data are further members, `detail` is Danish or English by "
        "`Accept-Language`.\n\n| type | status | title | members |\n|---|---|---|---|\n" + catalogue
    )
    return document


__all__ = ["COMMON", "ENGAGEMENT_HEADERS", "PROBLEM_REF", "WRITE_PARAMETERS", "finish", "problems"]
