"""``/docs``: the HTTP API's reference as a plain page rendered from the OpenAPI
document (Swagger UI came from a CDN, which the Content-Security-Policy and
the offline rule forbid); the machine-readable document stays at
``/openapi.json``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ._render import page
from ._session import lang_of

router = APIRouter(include_in_schema=False)
_METHODS = ("get", "post", "put", "patch", "delete")


@router.get("/docs")
def api_reference(request: Request) -> Response:
    document: dict[str, Any] = request.app.openapi()
    operations = [
        {
            "method": method.upper(),
            "path": path,
            "summary": op.get("summary", ""),
            "tags": ", ".join(op.get("tags", ())),
            "statuses": ", ".join(sorted(op.get("responses", {}))),
        }
        for path, item in document.get("paths", {}).items()
        for method in _METHODS
        if (op := item.get(method)) is not None
    ]
    info = document.get("info", {})
    return page(request, None, "api_docs.html", lang=lang_of(request), info=info, operations=operations)


__all__ = ["router"]
