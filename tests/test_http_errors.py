"""Every error of the HTTP API is one application/problem+json (RFC 9457) with
a stable type per forloeb error class, the error's data as members, and
``detail`` in the language of Accept-Language; bad input writes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from helpers import READER, counts
from http_support import TestClient, bearer, client, tokens

import forloeb.engine as engine_api
from forloeb import Engine
from forloeb.engine import DatabaseBusy, DatabaseUnavailable, ForloebError, StorageFull
from forloeb.server import ServerConfig
from forloeb.server._problems import HTTP_PROBLEMS, PROBLEMS, pick_lang

START = {"workflow": "individual_course", "subject": "sag-1", "source": "skole", "team": "familie"}
PROBLEM = "application/problem+json"


@pytest.fixture
def eng(db_url: str) -> Iterator[Engine]:
    engine = Engine.open(db_url, migrate=True)
    try:
        yield engine
    finally:
        engine.close()


@pytest.fixture
def tok(eng: Engine) -> dict[str, str]:
    return tokens(eng)


@pytest.fixture
def http(eng: Engine) -> TestClient:
    return client(eng, config=ServerConfig(max_body_bytes=4096))


@pytest.fixture
def eid(http: TestClient, tok: dict[str, str]) -> int:
    r = http.post("/v1/engagements", json=START, headers=bearer(tok["anna"]))
    assert r.status_code == 201
    return int(r.json()["id"])


def _problem(r: Any, status: int, slug: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body: dict[str, Any] = r.json()
    assert body["type"] == f"urn:forloeb:problem:{slug}"
    assert body["status"] == status
    assert body["title"] and body["detail"]
    return body


def test_every_forloeb_error_class_has_a_problem_type() -> None:
    for name in engine_api.__all__:
        getattr(engine_api, name)  # import every module with errors

    def walk(cls: type[ForloebError]) -> Iterator[type[ForloebError]]:
        for sub in cls.__subclasses__():
            yield sub
            yield from walk(sub)

    missing = sorted(
        c.__name__ for c in walk(ForloebError) if c not in PROBLEMS and c.__module__.startswith("forloeb")
    )
    assert missing == []
    slugs = [p.slug for p in PROBLEMS.values()] + list(HTTP_PROBLEMS)
    assert len(slugs) == len(set(slugs))  # one type per class


def test_engine_errors_as_problems(http: TestClient, eng: Engine, tok: dict[str, str], eid: int) -> None:
    anna = tok["anna"]
    body = _problem(http.get("/v1/engagements/424242", headers=bearer(anna)), 404, "engagement-not-found")
    assert body["engagement_id"] == 424242 and body["code"] == "engagement_not_found"
    body = _problem(
        http.post("/v1/engagements", json={**START, "workflow": "nope"}, headers=bearer(anna)),
        404,
        "unknown-workflow",
    )
    assert body["workflow"] == "nope" and "individual_course" in body["known"]
    body = _problem(
        http.post(f"/v1/engagements/{eid}/fire", json={"trigger": "fly"}, headers=bearer(anna)),
        422,
        "unknown-trigger",
    )
    assert body["trigger"] == "fly"
    body = _problem(
        http.post(f"/v1/engagements/{eid}/fire", json={"trigger": "act"}, headers=bearer(anna)),
        409,
        "transition-not-allowed",
    )
    assert (body["engagement_id"], body["state"], body["trigger"]) == (eid, "referral", "act")
    http.post(f"/v1/engagements/{eid}/fire", json={"trigger": "make_contact"}, headers=bearer(anna))
    body = _problem(
        http.post(f"/v1/engagements/{eid}/fire", json={"trigger": "agree_shared_path"}, headers=bearer(anna)),
        422,
        "guard-failed",
    )
    assert body["missing"] == ["what_brings_us", "who_are_you"] and body["state"] == "first_contact"
    body = _problem(
        http.post(
            f"/v1/engagements/{eid}/notes", json={"text": "x"}, headers=bearer(anna, **{"If-Match": '"1"'})
        ),
        412,
        "concurrency",
    )
    assert (body["engagement_id"], body["expected"], body["actual"]) == (eid, 1, 2)
    _problem(
        http.post(
            f"/v1/engagements/{eid}/notes", json={"text": "x"}, headers=bearer(anna, **{"If-Match": 'W/"2"'})
        ),
        412,
        "precondition-failed",
    )
    body = _problem(
        http.post("/v1/engagements", json={**START, "team": "a\nb"}, headers=bearer(anna)),
        422,
        "invalid-data",
    )
    body = _problem(http.get("/v1/audit/verify", headers=bearer(anna)), 403, "permission-denied")
    assert body["actor"] == "anna" and body["required"] == ["auditor", "supervisor"]
    _problem(http.get("/v1/me"), 401, "authentication-failed")
    _problem(http.get("/v1/nowhere", headers=bearer(anna)), 404, "not-found")
    _problem(http.delete(f"/v1/engagements/{eid}", headers=bearer(anna)), 405, "method-not-allowed")


def test_detail_follows_accept_language(http: TestClient, tok: dict[str, str]) -> None:
    da = http.get("/v1/engagements/99", headers=bearer(tok["anna"])).json()
    en = http.get(
        "/v1/engagements/99", headers=bearer(tok["anna"], **{"Accept-Language": "en-US,en;q=0.9"})
    ).json()
    also_da = http.get(
        "/v1/engagements/99", headers=bearer(tok["anna"], **{"Accept-Language": "en;q=0.3, da"})
    ).json()
    assert da["detail"] != en["detail"] and da["detail"] == also_da["detail"]
    assert "Forløb" in da["detail"] or "forløb" in da["detail"]
    assert "ngagement" in en["detail"]
    assert da["type"] == en["type"]
    assert pick_lang("fr, en;q=0.1") == "en" and pick_lang("fr") == "da" and pick_lang(None, "en") == "en"


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (DatabaseUnavailable("sqlite:///x.db", "unable to open database file"), 503),
        (DatabaseBusy("postgresql://u:hemmelig@db/x", "canceling statement due to lock timeout"), 503),
        (StorageFull("sqlite:///x.db", "database or disk is full"), 507),
    ],
)
def test_database_errors_say_retry_after_and_hide_the_database(
    http: TestClient,
    eng: Engine,
    tok: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    status: int,
) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(eng, "get", fail)
    r = http.get("/v1/engagements/1", headers=bearer(tok["anna"]))
    assert r.status_code == status and r.headers["content-type"] == PROBLEM
    assert (r.headers.get("retry-after") == "5") == (status == 503)
    text = r.text
    assert "hemmelig" not in text and "x.db" not in text and "lock timeout" not in text


def test_readiness_fails_when_the_schema_is_not_current(http: TestClient, eng: Engine) -> None:
    with eng.store._engine.begin() as conn:  # type: ignore[attr-defined]
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0001'")
    try:
        r = http.get("/readyz")
        body = _problem(r, 503, "schema-out-of-date")
        assert body["current"] == "0001" and r.headers["retry-after"]
        assert http.get("/healthz").status_code == 200  # the process is fine
    finally:
        from forloeb.persistence import SCHEMA_HEAD

        with eng.store._engine.begin() as conn:  # type: ignore[attr-defined]
            conn.exec_driver_sql(f"UPDATE alembic_version SET version_num = '{SCHEMA_HEAD}'")


# -- bad input: one problem each, nothing written ------------------------------------------


BAD: list[tuple[str, bytes, str, int, str]] = [
    ("malformed JSON", b'{"trigger": "make_contact"', "application/json", 400, "malformed-request"),
    (
        "not UTF-8",
        b'{"trigger": "make_contact", "note": "\xe6\xf8\xe5"}',
        "application/json",
        400,
        "malformed-request",
    ),
    ("wrong type", b'{"trigger": 17}', "application/json", 422, "request-validation"),
    (
        "data not an object",
        b'{"trigger": "make_contact", "data": [1, 2]}',
        "application/json",
        422,
        "request-validation",
    ),
    (
        "unknown field",
        b'{"trigger": "make_contact", "role": "supervisor"}',
        "application/json",
        422,
        "request-validation",
    ),
    ("missing field", b"{}", "application/json", 422, "request-validation"),
    ("not an object", b'["make_contact"]', "application/json", 422, "request-validation"),
    (
        "too deep",
        b'{"trigger": "make_contact", "data": {"a": ' + b"[" * 5000 + b"]" * 5000 + b"}}",
        "application/json",
        413,
        "payload-too-large",
    ),
    (
        "oversized",
        b'{"trigger": "make_contact", "note": "' + b"x" * 5000 + b'"}',
        "application/json",
        413,
        "payload-too-large",
    ),
    (
        "not JSON at all",
        b"trigger=make_contact",
        "application/x-www-form-urlencoded",
        415,
        "unsupported-media-type",
    ),
    (
        "NUL in text",
        b'{"trigger": "make_contact", "note": "a\\u0000b"}',
        "application/json",
        422,
        "invalid-data",
    ),
]


@pytest.mark.parametrize(("case", "body", "media", "status", "slug"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_one_problem_and_writes_nothing(
    http: TestClient,
    eng: Engine,
    tok: dict[str, str],
    eid: int,
    case: str,
    body: bytes,
    media: str,
    status: int,
    slug: str,
) -> None:
    before = counts(eng)
    r = http.post(
        f"/v1/engagements/{eid}/fire", content=body, headers=bearer(tok["anna"], **{"Content-Type": media})
    )
    _problem(r, status, slug)
    assert counts(eng) == before
    assert eng.get(eid, actor=READER).state == "referral"


def test_a_body_larger_than_its_content_length_says_is_refused_too(
    http: TestClient, eng: Engine, tok: dict[str, str]
) -> None:
    before = counts(eng)

    def chunks() -> Iterator[bytes]:
        yield b'{"workflow": "individual_course", "subject": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}'

    r = http.post(
        "/v1/engagements",
        content=chunks(),
        headers=bearer(tok["anna"], **{"Content-Type": "application/json"}),
    )
    _problem(r, 413, "payload-too-large")
    assert counts(eng) == before


def test_validation_problem_names_the_fields(http: TestClient, tok: dict[str, str], eid: int) -> None:
    r = http.post(
        f"/v1/engagements/{eid}/fire", json={"trigger": "x", "bogus": 1}, headers=bearer(tok["anna"])
    )
    body = _problem(r, 422, "request-validation")
    assert body["errors"] == [{"location": ["body", "bogus"], "message": "Extra inputs are not permitted"}]
