"""The OpenAPI document tells the truth: it is valid OpenAPI 3.1, documents every
route and problem type, and every real response of a session that calls every
route (successes and problems) matches the status, media type and schema the
document gives for it."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from helpers import FIRST_CONTACT, PLAN, ROUNDING_OFF, FakeClock
from http_support import bearer, client, tokens
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate

from forloeb import Engine
from forloeb.server import ServerConfig
from forloeb.server._problems import all_types

START = {"workflow": "individual_course", "subject": "sag-1", "source": "skole", "team": "familie"}


def _operation(document: dict[str, Any], method: str, path: str) -> tuple[str, dict[str, Any]]:
    """The documented template and operation a request path matches (literal paths first)."""
    candidates = []
    for template, item in document["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path) and method.lower() in item:
            candidates.append((template.count("{"), template, item[method.lower()]))
    assert candidates, f"{method} {path} is not documented"
    _, template, operation = min(candidates)
    return template, operation


def test_the_document_is_valid_openapi_3_1_and_names_every_problem_type(tmp_path: Any) -> None:
    engine = Engine.open(f"sqlite:///{tmp_path / 'o.db'}", migrate=True)
    try:
        document = client(engine).get("/openapi.json").json()
    finally:
        engine.close()
    assert document["openapi"].startswith("3.1")
    validate(document)
    text = str(document)
    for kind in all_types():
        assert kind.uri in text, kind.slug
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    fire = document["paths"]["/v1/engagements/{engagement_id}/fire"]["post"]
    assert {p["name"] for p in fire["parameters"]} >= {"If-Match", "Idempotency-Key", "engagement_id"}
    assert "ETag" in fire["responses"]["200"]["headers"]
    assert "application/problem+json" in fire["responses"]["412"]["content"]


def test_every_routes_real_responses_match_the_document(tmp_path: Any) -> None:
    clock = FakeClock()
    engine = Engine.open(f"sqlite:///{tmp_path / 'o.db'}", migrate=True, clock=clock)
    seen: list[tuple[str, str, int, str, Any]] = []

    def record(response: httpx.Response) -> None:
        response.read()
        media = response.headers.get("content-type", "").split(";")[0]
        body: Any = None
        if media.endswith("json"):
            body = response.json()
        elif response.status_code != 304:
            body = response.text
        seen.append((response.request.method, response.request.url.path, response.status_code, media, body))

    try:
        tok = tokens(engine)
        http = client(engine, config=ServerConfig(max_body_bytes=2048))
        http.event_hooks["response"] = [record]
        anna, leder, revisor = bearer(tok["anna"]), bearer(tok["leder"]), bearer(tok["revisor"])
        # Every route, successes first.
        http.get("/healthz")
        http.get("/readyz")
        http.get("/v1/me", headers=anna)
        http.get("/v1/workflows", headers=anna)
        http.get("/v1/workflows/individual_course", headers=anna)
        http.get("/v1/workflows/individual_course/diagram", headers=anna)
        eid = http.post(
            "/v1/engagements", json={**START, "assignee": "anna", "supervisor": "leder"}, headers=anna
        ).json()["id"]
        http.get("/v1/engagements", params={"limit": 1}, headers=anna)
        http.get(f"/v1/engagements/{eid}", headers=anna)
        http.get(f"/v1/engagements/{eid}", headers={**anna, "If-None-Match": '"1"'})
        http.get(f"/v1/engagements/{eid}/triggers", headers=anna)
        http.post(f"/v1/engagements/{eid}/fire", json={"trigger": "make_contact"}, headers=anna)
        http.post(
            f"/v1/engagements/{eid}/fire",
            json={"trigger": "agree_shared_path", "data": FIRST_CONTACT},
            headers=anna,
        )
        http.post(f"/v1/engagements/{eid}/records", json={"data": PLAN}, headers=anna)
        http.post(f"/v1/engagements/{eid}/fire", json={"trigger": "set_own_path"}, headers=anna)
        http.post(f"/v1/engagements/{eid}/fire", json={"trigger": "act", "data": PLAN}, headers=anna)
        http.post(f"/v1/engagements/{eid}/notes", json={"text": "Note"}, headers=anna)
        http.post(f"/v1/engagements/{eid}/activities", json={"kind": "investigate"}, headers=anna)
        http.post(f"/v1/engagements/{eid}/fire", json={"trigger": "reach_self_help"}, headers=anna)
        http.post(
            f"/v1/engagements/{eid}/fire",
            json={"trigger": "round_off", "data": {"level": "does"}},
            headers=anna,
        )
        http.post(
            f"/v1/engagements/{eid}/consents",
            json={"information": "all", "to": "jobcenter", "purpose": "Praktik"},
            headers=anna,
        )
        consent_id = http.get(f"/v1/engagements/{eid}/consents", headers=anna).json()[0]["id"]
        http.post(
            f"/v1/engagements/{eid}/fire",
            json={
                "trigger": "hand_over",
                "data": {**ROUNDING_OFF, "receiver": "jobcenter", "legal_basis": f"consent:{consent_id}"},
            },
            headers=anna,
        )
        http.post(f"/v1/engagements/{eid}/handover", json={"format": "json"}, headers=anna)
        http.post(f"/v1/engagements/{eid}/handover", json={"format": "md"}, headers=anna)
        http.post(f"/v1/engagements/{eid}/consents/{consent_id}/withdraw", json={}, headers=anna)
        http.get(f"/v1/engagements/{eid}/history", headers=anna)
        other = http.post("/v1/engagements", json={**START, "supervisor": "leder"}, headers=anna).json()["id"]
        clock.advance(timedelta(days=30))
        engine.sweep()
        rid = http.get("/v1/reminders", params={"engagement_id": other}, headers=leder).json()[0]["id"]
        http.post(f"/v1/reminders/{rid}/ack", headers=leder)
        until = (clock() + timedelta(days=2)).isoformat()
        http.post(f"/v1/reminders/{rid}/snooze", json={"until": until, "reason": "Ferie"}, headers=leder)
        http.get("/v1/audit/events", params={"engagement_id": eid}, headers=revisor)
        http.get(f"/v1/audit/timeline/{eid}", headers=revisor)
        http.get("/v1/audit/verify", headers=revisor)
        http.post("/v1/audit/checkpoint", headers=revisor)
        http.get("/v1/audit/access", headers=revisor)
        http.post("/v1/audit/access-requests", json={"subject": "sag-1"}, headers=revisor)
        http.post("/v1/audit/access-requests", json={"subject": "sag-1", "format": "md"}, headers=revisor)
        # ... and problems.
        http.get("/v1/me")
        http.get(f"/v1/engagements/{eid}", headers=bearer(tok["carl"]))
        http.get("/v1/engagements/999", headers=anna)
        http.post(f"/v1/engagements/{other}/fire", json={"trigger": "act"}, headers=anna)
        http.post(f"/v1/engagements/{other}/notes", json={"text": "x"}, headers={**anna, "If-Match": '"1"'})
        http.post(f"/v1/engagements/{other}/notes", json={"text": "x" * 3000}, headers=anna)
        http.post(
            f"/v1/engagements/{other}/notes", content=b"text", headers={**anna, "Content-Type": "text/plain"}
        )
        http.post(f"/v1/engagements/{other}/notes", json={"text": 5}, headers=anna)
        http.post(
            f"/v1/engagements/{other}/notes",
            content=b"{",
            headers={**anna, "Content-Type": "application/json"},
        )
        http.post("/v1/reminders/999/ack", headers=leder)
        http.get("/v1/workflows/nope", headers=anna)
        http.get("/v1/audit/verify", headers=anna)
        document = http.get("/openapi.json").json()
    finally:
        engine.close()

    handovers = [x for x in seen if x[1].endswith("/handover")]
    assert [x[2] for x in handovers] == [200, 200]
    exercised: set[tuple[str, str]] = set()
    statuses: set[int] = set()
    for method, path, status, media, body in seen:
        if path == "/openapi.json":
            continue
        template, operation = _operation(document, method, path)
        exercised.add((method.lower(), template))
        statuses.add(status)
        responses = operation["responses"]
        assert str(status) in responses, f"{method} {template} answered {status}, undocumented"
        if status == 304:
            continue
        content = responses[str(status)].get("content", {})
        assert media in content, f"{method} {template} {status}: {media} not in {list(content)}"
        schema = content[media].get("schema")
        if schema:
            wrapper = {**schema, "components": document["components"]}
            errors = [e.message for e in OAS31Validator(wrapper).iter_errors(body)]
            assert errors == [], f"{method} {template} {status}: {errors[:3]}"
    documented = {
        (method, template)
        for template, item in document["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    assert documented - exercised == set()
    assert statuses >= {200, 201, 304, 401, 403, 404, 409, 412, 413, 415, 422, 400}


@pytest.mark.parametrize("media", ["application/json", "application/problem+json"])
def test_problem_schema_allows_the_errors_members(media: str) -> None:
    from forloeb.server._schemas import Problem

    schema = Problem.model_json_schema()
    assert schema.get("additionalProperties", True) is not False
    assert {"type", "title", "status", "detail"} <= set(schema["required"])
    assert media
