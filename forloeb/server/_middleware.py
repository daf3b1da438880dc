"""The HTTP layer's own work around every request, as plain ASGI middleware
(Starlette's ``BaseHTTPMiddleware`` costs a task and a copy per request).

* a request id (the client's ``X-Request-Id`` if it is short and plain, else
  a new one), echoed in the response;
* the request body: refused with 413 above the configured size (by
  ``Content-Length`` before reading, and by counting while reading), with 415
  when a body is not JSON, and with 400 when it is not UTF-8; the body read
  is handed on unchanged;
* the browser-side safety headers on every response, API and console alike:
  a Content-Security-Policy allowing no inline script and no other origin,
  no framing, ``Referrer-Policy: same-origin``, ``nosniff``;
* one structured line per request on the "forloeb" logger: method, path
  template (``/v1/engagements/{engagement_id}``, never the ids in the path),
  status, duration, staff id, request id. Never a body, a query string or a
  header (the bearer token is in one).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from forloeb.engine import get_logger

from ._config import ServerConfig
from ._problems import HTTP_PROBLEMS, MEDIA_TYPE, pick_lang, problem_body

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_JSON_TYPE = re.compile(r"^application/([a-z0-9.+-]*\+)?json$")

_log = get_logger("forloeb.http")

# Nothing from another origin, no inline script or style, no plugin, no framing
# (issue 15). A response may set its own (the console's SVG charts do).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"x-content-type-options", b"nosniff"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
_CSP = b"content-security-policy"
# Bodies that may be larger than the configured limit: the console's upload of a
# checkpoint to verify against (a head per engagement: some MB on a large
# database; the page itself refuses more than this).
UPLOAD_LIMITS: dict[str, int] = {"/audit/verify": 64 * 1024 * 1024}

_TEXTS = {
    "payload-too-large": (
        "Anmodningens indhold er større end {limit} byte.",
        "The request body is larger than {limit} bytes.",
    ),
    "unsupported-media-type": (
        "Indholdet skal være JSON (Content-Type: application/json).",
        "The body must be JSON (Content-Type: application/json).",
    ),
    "malformed-request": ("Indholdet er ikke UTF-8-tekst.", "The body is not UTF-8 text."),
}


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


async def send_problem(
    send: Send,
    status: int,
    body: dict[str, Any],
    headers: list[tuple[bytes, bytes]] = [],  # noqa: B006
) -> None:
    data = json.dumps(body, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", MEDIA_TYPE.encode()),
                (b"content-length", str(len(data)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


class RequestContext:
    """Request id, body checks and the request log (see the module's text)."""

    def __init__(self, app: ASGIApp, config: ServerConfig) -> None:
        self.app = app
        self.config = config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        given = _header(scope, b"x-request-id")
        request_id = given if given is not None and _REQUEST_ID.match(given) else uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500
        id_header = (b"x-request-id", request_id.encode())

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [*message.get("headers", ()), id_header, *SECURITY_HEADERS]
                if not any(bytes(k).lower() == _CSP for k, _ in headers):
                    headers.append((_CSP, CONTENT_SECURITY_POLICY.encode()))
                message["headers"] = headers
            await send(message)

        try:
            if scope["method"] in _BODY_METHODS:
                # The console's forms are not JSON: only the API's bodies must be.
                refused = await self._read_body(scope, receive, json_only=scope["path"].startswith("/v1/"))
                if isinstance(refused, tuple):
                    kind, extra = refused
                    lang = pick_lang(_header(scope, b"accept-language"), self.config.default_lang)
                    da, en = _TEXTS[kind]
                    detail = (da if lang == "da" else en).format(**extra)
                    problem = HTTP_PROBLEMS[kind]
                    await send_problem(send_with_id, problem.status, problem_body(problem, detail, **extra))
                    return
                body = refused
                sent = False

                async def replay() -> Message:
                    nonlocal sent
                    if not sent:
                        sent = True
                        return {"type": "http.request", "body": body, "more_body": False}
                    return await receive()

                await self.app(scope, replay, send_with_id)
            else:
                await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            _log.info(
                "http_request",
                method=scope["method"],
                path=getattr(route, "path", None) or "-",
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
                staff_id=state.get("staff_id"),
                request_id=request_id,
            )

    async def _read_body(
        self, scope: Scope, receive: Receive, *, json_only: bool
    ) -> bytes | tuple[str, dict[str, Any]]:
        limit = max(self.config.max_body_bytes, UPLOAD_LIMITS.get(scope["path"], 0))
        length = _header(scope, b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            return "payload-too-large", {"limit": limit}
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return "payload-too-large", {"limit": limit}
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body and json_only:
            content_type = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
            if not _JSON_TYPE.match(content_type):
                return "unsupported-media-type", {}
            try:
                body.decode("utf-8")
            except UnicodeDecodeError:
                return "malformed-request", {}
        return body


__all__ = ["CONTENT_SECURITY_POLICY", "SECURITY_HEADERS", "UPLOAD_LIMITS", "RequestContext", "send_problem"]
