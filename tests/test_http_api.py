"""The HTTP API through the app in-process (Starlette's TestClient), on both
backends: every resource, the JSON shapes of the CLI's ``--json``, ETags and
If-Match, idempotent retries, and who may do what with a token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from helpers import FIRST_CONTACT, PLAN, READER, ROUNDING_OFF, TEST_LOGIN, FakeClock, counts
from http_support import TestClient, bearer, client, tokens

from forloeb import Engine

START = {"workflow": "individual_course", "subject": "sag-1", "source": "skole", "team": "familie"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def eng(db_url: str, clock: FakeClock) -> Iterator[Engine]:
    engine = Engine.open(db_url, migrate=True, clock=clock)
    try:
        yield engine
    finally:
        engine.close()


@pytest.fixture
def tok(eng: Engine) -> dict[str, str]:
    return tokens(eng)


@pytest.fixture
def http(eng: Engine) -> TestClient:
    return client(eng)


def _start(http: TestClient, token: str, **body: Any) -> dict[str, Any]:
    r = http.post("/v1/engagements", json={**START, **body}, headers=bearer(token))
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


def _fire(http: TestClient, token: str, eid: int, trigger: str, data: Any = None, **headers: str) -> Any:
    r = http.post(
        f"/v1/engagements/{eid}/fire",
        json={"trigger": trigger, "data": data or {}},
        headers=bearer(token, **headers),
    )
    assert r.status_code == 200, r.text
    return r.json()


def _to_action(http: TestClient, token: str) -> int:
    eid = int(_start(http, token, assignee="anna")["id"])
    _fire(http, token, eid, "make_contact")
    _fire(http, token, eid, "agree_shared_path", FIRST_CONTACT)
    _fire(http, token, eid, "set_own_path", PLAN)
    _fire(http, token, eid, "act", PLAN)
    return eid


# -- engagements ----------------------------------------------------------------------


def test_start_get_fire_history_with_etags(http: TestClient, eng: Engine, tok: dict[str, str]) -> None:
    r = http.post("/v1/engagements", json=START, headers=bearer(tok["anna"]))
    assert r.status_code == 201
    assert r.headers["etag"] == '"1"'
    assert r.headers["location"] == f"engagements/{r.json()['id']}"
    eid = r.json()["id"]
    # The same JSON as the Python API's (and so the CLI's --json) to_dict.
    got = http.get(f"/v1/engagements/{eid}", headers=bearer(tok["anna"]))
    assert got.json() == eng.get(eid, actor=READER).to_dict()
    assert got.headers["etag"] == '"1"'
    assert (
        http.get(
            f"/v1/engagements/{eid}", headers=bearer(tok["anna"], **{"If-None-Match": '"1"'})
        ).status_code
        == 304
    )
    fired = http.post(
        f"/v1/engagements/{eid}/fire",
        json={"trigger": "make_contact", "note": "Ringede"},
        headers=bearer(tok["anna"], **{"If-Match": '"1"'}),
    )
    assert fired.status_code == 200
    assert (fired.json()["state"], fired.headers["etag"]) == ("first_contact", '"2"')
    history = http.get(f"/v1/engagements/{eid}/history", headers=bearer(tok["anna"])).json()
    assert history == [ev.to_dict() for ev in eng.history(eid, actor=READER)]
    assert [h["type"] for h in history] == ["started", "transition"]
    assert history[1]["actor"] == "anna"  # the token's staff member, not anything the request said


def test_get_shows_what_the_cli_json_shows(
    http: TestClient, eng: Engine, tok: dict[str, str], db_url: str
) -> None:
    from click.testing import CliRunner

    from forloeb.cli import cli

    eid = _start(http, tok["anna"])["id"]
    shown = CliRunner().invoke(cli, ["--db", db_url, "--as", "leder", "--json", "show", str(eid)])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output) == http.get(f"/v1/engagements/{eid}", headers=bearer(tok["leder"])).json()
    workflow = CliRunner().invoke(cli, ["--json", "workflows", "show", "individual_course"])
    api = http.get("/v1/workflows/individual_course", headers=bearer(tok["anna"])).json()
    assert json.loads(workflow.output) == api
    assert TEST_LOGIN  # the CLI acts as the test admin, impersonating leder


def test_list_filters_and_cursor_paging(http: TestClient, tok: dict[str, str]) -> None:
    for n in range(3):
        _start(http, tok["anna"], subject=f"sag-{n}")
    _start(http, tok["anna"], subject="anden", tags=["uddannelse"])
    first = http.get("/v1/engagements", params={"limit": 2}, headers=bearer(tok["leder"]))
    assert first.status_code == 200 and len(first.json()) == 2
    cursor = first.headers["forloeb-next-cursor"]
    assert 'rel="next"' in first.headers["link"]
    rest = http.get("/v1/engagements", params={"limit": 2, "cursor": cursor}, headers=bearer(tok["leder"]))
    assert [e["subject"] for e in first.json() + rest.json()] == ["sag-0", "sag-1", "sag-2", "anden"]
    assert "forloeb-next-cursor" not in rest.headers
    tagged = http.get("/v1/engagements", params={"tag": "uddannelse"}, headers=bearer(tok["leder"])).json()
    assert [e["subject"] for e in tagged] == ["anden"]
    # carl (in no team) sees none of the familie team's engagements.
    assert http.get("/v1/engagements", headers=bearer(tok["carl"])).json() == []


def test_triggers_give_reasons_in_the_callers_language(http: TestClient, tok: dict[str, str]) -> None:
    eid = _start(http, tok["anna"])["id"]
    _fire(http, tok["anna"], eid, "make_contact")
    da = http.get(f"/v1/engagements/{eid}/triggers", headers=bearer(tok["anna"])).json()
    en = http.get(
        f"/v1/engagements/{eid}/triggers",
        headers=bearer(tok["anna"], **{"Accept-Language": "en-GB, da;q=0.5"}),
    ).json()
    blocked_da = next(o for o in da if o["trigger"] == "agree_shared_path")
    blocked_en = next(o for o in en if o["trigger"] == "agree_shared_path")
    assert blocked_da["allowed"] is False and "kræver" in blocked_da["reason"]
    assert "requires" in blocked_en["reason"] or "needs" in blocked_en["reason"]
    assert blocked_da["requires"] == ["what_brings_us", "who_are_you"]


def test_notes_records_and_activities(http: TestClient, eng: Engine, tok: dict[str, str]) -> None:
    eid = int(_start(http, tok["anna"], assignee="anna")["id"])
    _fire(http, tok["anna"], eid, "make_contact")
    _fire(http, tok["anna"], eid, "agree_shared_path", FIRST_CONTACT)
    recorded = http.post(f"/v1/engagements/{eid}/records", json={"data": PLAN}, headers=bearer(tok["anna"]))
    assert recorded.status_code == 200, recorded.text
    _fire(http, tok["anna"], eid, "set_own_path")
    _fire(http, tok["anna"], eid, "act", PLAN)
    version = eng.get(eid, actor=READER).version
    noted = http.post(
        f"/v1/engagements/{eid}/notes",
        json={"text": "Talte med moren"},
        headers=bearer(tok["anna"], **{"If-Match": f'"{version}"'}),
    )
    assert noted.status_code == 200 and noted.headers["etag"] == f'"{version + 1}"'
    activity = http.post(
        f"/v1/engagements/{eid}/activities",
        json={"kind": "investigate", "description": "Undersøgte mulighederne"},
        headers=bearer(tok["anna"]),
    )
    assert activity.status_code == 200, activity.text
    level = http.post(
        f"/v1/engagements/{eid}/records", json={"self_help": "can"}, headers=bearer(tok["anna"])
    )
    assert level.status_code == 200, level.text
    types = [ev.type for ev in eng.history(eid, actor=READER)]
    assert "details" in types and types[-3:-1] == ["note", "activity"]


def test_consents_and_handover_export(http: TestClient, eng: Engine, tok: dict[str, str]) -> None:
    eid = _to_action(http, tok["anna"])
    _fire(http, tok["anna"], eid, "reach_self_help")
    _fire(http, tok["anna"], eid, "round_off", {"level": "does"})
    given = http.post(
        f"/v1/engagements/{eid}/consents",
        json={"information": "all", "to": ["jobcenter"], "purpose": "Praktikforløb"},
        headers=bearer(tok["anna"]),
    )
    assert given.status_code == 200, given.text
    listed = http.get(f"/v1/engagements/{eid}/consents", headers=bearer(tok["anna"])).json()
    assert [c["to"] for c in listed] == [["jobcenter"]] and listed[0]["current"] is True
    _fire(
        http,
        tok["anna"],
        eid,
        "hand_over",
        {**ROUNDING_OFF, "receiver": "jobcenter", "legal_basis": f"consent:{listed[0]['id']}"},
    )
    package = http.post(
        f"/v1/engagements/{eid}/handover", json={"format": "json"}, headers=bearer(tok["anna"])
    )
    assert package.status_code == 200, package.text
    assert package.headers["content-type"].startswith("application/json")
    assert package.headers["forloeb-package-sha256"]
    md = http.post(f"/v1/engagements/{eid}/handover", json={"format": "md"}, headers=bearer(tok["anna"]))
    assert md.headers["content-type"].startswith("text/markdown")
    assert md.text.startswith(f"# Overleveringspakke – forløb {eid}")
    assert [ev.type for ev in eng.history(eid, actor=READER)][-2:] == ["handover_exported"] * 2
    withdrawn = http.post(
        f"/v1/engagements/{eid}/consents/{listed[0]['id']}/withdraw",
        json={"reason": "Ombestemt"},
        headers=bearer(tok["anna"]),
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert (
        http.get(f"/v1/engagements/{eid}/consents", headers=bearer(tok["anna"])).json()[0]["current"] is False
    )


def test_idempotent_retries_return_the_first_response(
    http: TestClient, eng: Engine, tok: dict[str, str]
) -> None:
    key = {"Idempotency-Key": "opret-sag-1"}
    first = http.post("/v1/engagements", json=START, headers=bearer(tok["anna"], **key))
    again = http.post("/v1/engagements", json=START, headers=bearer(tok["anna"], **key))
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == again.json() and first.headers["etag"] == again.headers["etag"]
    assert eng.row_counts()["engagements"] == 1
    eid = first.json()["id"]
    fire_key = {"Idempotency-Key": "kontakt-1", "If-Match": '"1"'}
    one = http.post(
        f"/v1/engagements/{eid}/fire",
        json={"trigger": "make_contact"},
        headers=bearer(tok["anna"], **fire_key),
    )
    two = http.post(
        f"/v1/engagements/{eid}/fire",
        json={"trigger": "make_contact"},
        headers=bearer(tok["anna"], **fire_key),
    )
    assert one.status_code == two.status_code == 200 and one.json() == two.json()
    assert eng.get(eid, actor=READER).version == 2
    before = counts(eng)
    other = http.post(
        "/v1/engagements", json={**START, "subject": "sag-2"}, headers=bearer(tok["anna"], **key)
    )
    assert other.status_code == 422
    assert other.json()["type"] == "urn:forloeb:problem:idempotency-conflict"
    assert counts(eng) == before


# -- who may do what ------------------------------------------------------------------------


def test_a_workers_token_cannot_read_another_teams_engagement(
    http: TestClient, eng: Engine, tok: dict[str, str]
) -> None:
    eid = _start(http, tok["anna"])["id"]  # team familie: anna's, not carl's
    for path in ("", "/history", "/triggers", "/consents"):
        r = http.get(f"/v1/engagements/{eid}{path}", headers=bearer(tok["carl"]))
        assert r.status_code == 403, (path, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["type"] == "urn:forloeb:problem:permission-denied"
        assert r.json()["actor"] == "carl"
    before = counts(eng)
    r = http.post(
        f"/v1/engagements/{eid}/fire", json={"trigger": "make_contact"}, headers=bearer(tok["carl"])
    )
    assert r.status_code == 403 and counts(eng) == before


def test_an_auditors_token_cannot_write(http: TestClient, eng: Engine, tok: dict[str, str]) -> None:
    eid = _start(http, tok["anna"])["id"]
    before = counts(eng)
    for path, body in (
        ("/v1/engagements", START),
        (f"/v1/engagements/{eid}/fire", {"trigger": "make_contact"}),
        (f"/v1/engagements/{eid}/notes", {"text": "revisorens note"}),
    ):
        r = http.post(path, json=body, headers=bearer(tok["revisor"]))
        assert r.status_code == 403, (path, r.text)
        assert r.json()["type"] == "urn:forloeb:problem:permission-denied"
    assert counts(eng) == before
    # ... and reads what an auditor reads.
    assert http.get(f"/v1/engagements/{eid}", headers=bearer(tok["revisor"])).status_code == 200


def test_nothing_in_a_request_claims_a_role(http: TestClient, eng: Engine, tok: dict[str, str]) -> None:
    eid = _start(http, tok["anna"])["id"]
    # Headers and query parameters that name someone else or a role change nothing.
    r = http.get(
        "/v1/audit/verify",
        params={"role": "auditor", "actor": "revisor"},
        headers=bearer(tok["anna"], **{"X-Forloeb-Role": "auditor", "X-Forwarded-User": "revisor"}),
    )
    assert r.status_code == 403 and r.json()["actor"] == "anna"
    assert http.get("/v1/me", headers=bearer(tok["anna"])).json()["roles"] == ["worker"]
    assert eng.get(eid, actor=READER).assignee is None


def test_token_expiry_revocation_and_deactivation(
    http: TestClient, eng: Engine, tok: dict[str, str], clock: FakeClock
) -> None:
    short = eng.tokens.create(READER.__class__("tester"), "carl", name="kort", expires_in_days=1).token
    assert http.get("/v1/me", headers=bearer(short)).status_code == 200
    clock.advance(timedelta(days=1, seconds=1))
    expired = http.get("/v1/me", headers=bearer(short))
    assert expired.status_code == 401 and expired.json()["reason"] == "expired"
    assert expired.headers["www-authenticate"].startswith("Bearer")
    token_id = tok["anna"].split("_")[1]
    eng.tokens.revoke(READER.__class__("tester"), token_id)
    revoked = http.get("/v1/me", headers=bearer(tok["anna"]))
    assert revoked.status_code == 401 and revoked.json()["reason"] == "revoked"
    eng.staff.deactivate(READER.__class__("tester"), "leder")
    inactive = http.get("/v1/me", headers=bearer(tok["leder"]))
    assert inactive.status_code == 401 and inactive.json()["reason"] == "inactive"


def test_failed_authentications_are_counted_and_logged_without_the_token(
    http: TestClient, tok: dict[str, str]
) -> None:
    from helpers import capture_logs

    wrong = tok["anna"][:-4] + "AAAA"
    with capture_logs() as logs:
        cases = {
            "missing": {},
            "malformed": {"Authorization": "Basic dXNlcjpwdw=="},
            "unknown": bearer(wrong),
        }
        for reason, headers in cases.items():
            r = http.get("/v1/me", headers=headers)
            assert (r.status_code, r.json()["reason"]) == (
                401,
                "malformed" if reason == "malformed" else reason,
            )
        r = http.get("/v1/me", headers=bearer("flb_0123456789abcdef_" + "x" * 43))
        assert r.json()["reason"] == "unknown"
    failures = http.app.state.failures  # type: ignore[attr-defined]
    assert failures.total == 4
    text = json.dumps(logs, default=str)
    assert wrong not in text and wrong.split("_", 2)[2] not in text and tok["anna"] not in text
    assert sum(1 for e in logs if e.get("event") == "authentication_failed" and "client" in e) == 4


def test_the_trusted_header_only_from_a_trusted_proxy(eng: Engine) -> None:
    from forloeb.server import ServerConfig

    eng.staff.update(READER.__class__("tester"), "anna", login="anna@kommune.dk")
    config = ServerConfig(trusted_header="X-Forwarded-User", trusted_proxies=("10.0.0.0/8",))
    header = {"X-Forwarded-User": "anna@kommune.dk"}
    trusted = client(eng, config=config, client=("10.1.2.3", 5000))
    assert trusted.get("/v1/me", headers=header).json()["id"] == "anna"
    untrusted = client(eng, config=config, client=("192.168.1.9", 5000))
    r = untrusted.get("/v1/me", headers=header)
    assert r.status_code == 401 and r.json()["reason"] == "missing"
    off = client(eng, client=("10.1.2.3", 5000))  # not configured: off
    assert off.get("/v1/me", headers=header).status_code == 401
    unknown = trusted.get("/v1/me", headers={"X-Forwarded-User": "nobody"})
    assert unknown.status_code == 403 and unknown.json()["type"] == "urn:forloeb:problem:not-in-register"
    assert trusted.app.state.failures.snapshot() == {"sso_login": 1}  # type: ignore[attr-defined]


# -- reminders, audit, workflows ------------------------------------------------------------


def test_reminders_list_acknowledge_snooze(
    http: TestClient, eng: Engine, tok: dict[str, str], clock: FakeClock
) -> None:
    eid = _start(http, tok["anna"], assignee="anna", supervisor="leder")["id"]
    due = eng.get(eid, actor=READER).stage_due_at
    assert due is not None
    clock.set(due + timedelta(minutes=1))
    raised = eng.sweep()
    assert raised
    mine = http.get("/v1/reminders", headers=bearer(tok["anna"])).json()
    assert [r["engagement_id"] for r in mine] == [eid]
    assert (
        http.get("/v1/reminders", params={"assignee": "carl"}, headers=bearer(tok["anna"])).status_code == 403
    )
    assert http.get("/v1/reminders", headers=bearer(tok["carl"])).json() == []
    everyone = http.get("/v1/reminders", params={"open_only": True}, headers=bearer(tok["leder"])).json()
    rid = everyone[0]["id"]
    acked = http.post(f"/v1/reminders/{rid}/ack", headers=bearer(tok["leder"]))
    assert acked.status_code == 200 and acked.json()["acknowledged_by"] == "leder"
    until = (clock() + timedelta(days=3)).isoformat()
    snoozed = http.post(
        f"/v1/reminders/{rid}/snooze",
        json={"until": until, "reason": "Venter på svar"},
        headers=bearer(tok["leder"]),
    )
    assert snoozed.status_code == 200, snoozed.text
    assert snoozed.json()["snooze_reason"] == "Venter på svar"
    missing = http.post("/v1/reminders/999999/ack", headers=bearer(tok["leder"]))
    assert missing.status_code == 404 and missing.json()["type"] == "urn:forloeb:problem:reminder-not-found"


def test_audit_resources(http: TestClient, eng: Engine, tok: dict[str, str]) -> None:
    eid = _start(http, tok["anna"])["id"]
    _fire(http, tok["anna"], eid, "make_contact")
    page = http.get("/v1/audit/events", params={"engagement_id": eid}, headers=bearer(tok["revisor"])).json()
    assert [r["seq"] for r in page["records"]] == [1, 2] and page["next_cursor"] is None
    by_anna = http.get(
        "/v1/audit/events", params={"actor": "anna", "limit": 1}, headers=bearer(tok["revisor"])
    ).json()
    assert len(by_anna["records"]) == 1 and by_anna["next_cursor"]
    timeline = http.get(f"/v1/audit/timeline/{eid}", headers=bearer(tok["revisor"])).json()
    assert timeline["engagement"]["id"] == eid and len(timeline["events"]) == 2
    verified = http.get("/v1/audit/verify", headers=bearer(tok["revisor"])).json()
    assert verified["ok"] is True
    checkpoint = http.post("/v1/audit/checkpoint", headers=bearer(tok["revisor"])).json()
    assert (
        str(eid) in checkpoint["engagements"] or eid in checkpoint["engagements"] or checkpoint["engagements"]
    )
    access = http.get(
        "/v1/audit/access", params={"engagement_id": eid}, headers=bearer(tok["revisor"])
    ).json()
    assert {"revisor"} <= {a["actor"] for a in access}  # the timeline's read
    request = http.post(
        "/v1/audit/access-requests", json={"subject": "sag-1"}, headers=bearer(tok["revisor"])
    )
    assert request.status_code == 200, request.text
    assert [e["id"] for e in request.json()["engagements"]] == [eid]
    md = http.post(
        "/v1/audit/access-requests", json={"subject": "sag-1", "format": "md"}, headers=bearer(tok["revisor"])
    )
    assert md.headers["content-type"].startswith("text/markdown")
    # A worker may not verify or read the access log.
    assert http.get("/v1/audit/verify", headers=bearer(tok["anna"])).status_code == 403
    assert http.get("/v1/audit/access", headers=bearer(tok["anna"])).status_code == 403


def test_workflows_list_show_and_diagram(http: TestClient, tok: dict[str, str]) -> None:
    listed = http.get("/v1/workflows", headers=bearer(tok["anna"])).json()
    assert {(w["name"], w["version"]) for w in listed} >= {("individual_course", 1), ("individual_course", 2)}
    v1 = http.get(
        "/v1/workflows/individual_course", params={"version": 1}, headers=bearer(tok["anna"])
    ).json()
    assert v1["version"] == 1 and v1["stages"]
    diagram = http.get("/v1/workflows/individual_course/diagram", headers=bearer(tok["anna"]))
    assert diagram.text.startswith("stateDiagram-v2") and diagram.headers["content-type"].startswith(
        "text/plain"
    )
    english = http.get(
        "/v1/workflows/individual_course/diagram", headers=bearer(tok["anna"], **{"Accept-Language": "en"})
    )
    assert english.text != diagram.text
    unknown = http.get("/v1/workflows/nope", headers=bearer(tok["anna"]))
    assert unknown.status_code == 404 and unknown.json()["type"] == "urn:forloeb:problem:unknown-workflow"


def test_health_and_readiness(http: TestClient, eng: Engine) -> None:
    assert http.get("/healthz").json() == {"status": "ok"}
    ready = http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


def test_mounted_inside_another_asgi_app(eng: Engine, tok: dict[str, str]) -> None:
    from fastapi import FastAPI

    from forloeb.server import create_app

    outer = FastAPI()
    outer.mount("/forloeb", create_app(engine=eng))
    with TestClient(outer) as c:
        r = c.post("/forloeb/v1/engagements", json=START, headers=bearer(tok["anna"]))
        assert r.status_code == 201
        assert (
            c.get(f"/forloeb/v1/engagements/{r.json()['id']}", headers=bearer(tok["anna"])).status_code == 200
        )
        assert c.get("/forloeb/openapi.json").status_code == 200
