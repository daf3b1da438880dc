"""What the routes share: the app's context, the caller's language, ETags and
If-Match, JSON responses, and problems of HTTP itself."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request
from starlette.responses import Response

from forloeb.engine import Actor, Engagement, Engine, Lang

from ._auth import Failures, authenticate
from ._config import ServerConfig
from ._problems import pick_lang

_IF_MATCH = re.compile(r'^"(\d{1,18})"$')


@dataclass
class Context:
    """One per app: what every request needs."""

    engine: Engine
    config: ServerConfig
    failures: Failures


class HttpProblem(Exception):
    """A problem of HTTP itself (not a forloeb error): slug of ``HTTP_PROBLEMS``, texts da/en."""

    def __init__(self, slug: str, da: str, en: str, **extra: Any) -> None:
        super().__init__(en)
        self.slug = slug
        self.texts = {"da": da, "en": en}
        self.extra = extra


def context(request: Request) -> Context:
    found: Context = request.app.state.forloeb
    return found


def lang_of(request: Request) -> Lang:
    return pick_lang(request.headers.get("accept-language"), context(request).config.default_lang)


class Caller:
    """Who acts: call it (``actor = caller()``) first thing in a route.

    Authenticated in the route's own worker thread: a synchronous dependency
    would cost a second hop to the thread pool on every request."""

    def __init__(self, request: Request) -> None:
        self._request = request

    def __call__(self) -> Actor:
        ctx = context(self._request)
        return authenticate(self._request, ctx.engine, ctx.config, ctx.failures)


async def _caller(request: Request) -> Caller:
    return Caller(request)


Authenticated = Depends(_caller)


def json_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """``value`` as JSON, letters kept as they are (as the CLI's --json prints them)."""
    body = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def etag(e: Engagement) -> str:
    """The engagement's version as a strong entity tag."""
    return f'"{e.version}"'


def engagement_response(e: Engagement, status: int = 200, *, location: bool = False) -> Response:
    headers = {"ETag": etag(e)}
    if location:
        headers["Location"] = f"engagements/{e.id}"
    return json_response(e.to_dict(), status, headers)


def expected_version(request: Request) -> int | None:
    """If-Match as the engine's ``expected_version``: one strong ETag, or ``*`` (any)."""
    value = request.headers.get("if-match")
    if value is None or value.strip() == "*":
        return None
    found = _IF_MATCH.match(value.strip())
    if found is None:
        raise HttpProblem(
            "precondition-failed",
            'If-Match skal være ét stærkt ETag som "3" eller *.',
            'If-Match must be one strong ETag such as "3", or *.',
        )
    return int(found[1])


def idempotency_key(request: Request) -> str | None:
    return request.headers.get("idempotency-key")


__all__ = [
    "Authenticated",
    "Caller",
    "Context",
    "HttpProblem",
    "context",
    "engagement_response",
    "etag",
    "expected_version",
    "idempotency_key",
    "json_response",
    "lang_of",
]
