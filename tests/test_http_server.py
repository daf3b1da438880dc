"""The HTTP API as it runs: ``forloeb serve`` (uvicorn) started on a free
loopback port, on both backends (PostgreSQL also with two workers)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from helpers import READER, counts
from http_support import Served, bearer, serving, tokens

from forloeb import Engine

START = {"workflow": "individual_course", "subject": "sag-1", "source": "skole", "team": "familie"}


@pytest.fixture
def prepared(db_url: str) -> Iterator[tuple[Engine, dict[str, str]]]:
    engine = Engine.open(db_url, migrate=True)
    try:
        yield engine, tokens(engine)
    finally:
        engine.close()


def _race(base: str, token: str, eid: int, version: int, writers: int = 8) -> list[httpx.Response]:
    """``writers`` clients fire at once with the same If-Match."""
    barrier = threading.Barrier(writers)
    results: list[httpx.Response] = []
    lock = threading.Lock()

    def write(n: int) -> None:
        with httpx.Client(base_url=base, timeout=30) as c:
            barrier.wait()
            r = c.post(
                f"/v1/engagements/{eid}/notes",
                json={"text": f"skriver {n}"},
                headers=bearer(token, **{"If-Match": f'"{version}"'}),
            )
            with lock:
                results.append(r)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _exactly_one_wins(served: Served, engine: Engine, tok: dict[str, str]) -> None:
    with httpx.Client(base_url=served.base) as c:
        eid = c.post("/v1/engagements", json=START, headers=bearer(tok["anna"])).json()["id"]
    results = _race(served.base, tok["anna"], eid, 1)
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200] + [412] * 7, [r.text for r in results]
    for r in results:
        if r.status_code == 412:
            assert r.headers["content-type"] == "application/problem+json"
            assert r.json()["type"] == "urn:forloeb:problem:concurrency"
    assert engine.get(eid, actor=READER).version == 2
    assert [e.type for e in engine.history(eid, actor=READER)] == ["started", "note"]


def test_eight_writers_with_the_same_if_match_one_wins(
    prepared: tuple[Engine, dict[str, str]], db_url: str
) -> None:
    engine, tok = prepared
    with serving(db_url) as served:
        _exactly_one_wins(served, engine, tok)


@pytest.mark.postgresql
def test_two_workers_on_postgresql(pg_url: str) -> None:
    engine = Engine.open(pg_url, migrate=True)
    try:
        tok = tokens(engine)
        with serving(pg_url, "--workers", "2") as served:
            _exactly_one_wins(served, engine, tok)
            with httpx.Client(base_url=served.base) as c:
                for _ in range(10):  # whichever worker answers: the same data
                    assert c.get("/v1/me", headers=bearer(tok["leder"])).json()["id"] == "leder"
    finally:
        engine.close()


def test_a_session_against_the_real_server(prepared: tuple[Engine, dict[str, str]], db_url: str) -> None:
    engine, tok = prepared
    with serving(db_url) as served, httpx.Client(base_url=served.base) as c:
        anna = bearer(tok["anna"])
        started = c.post("/v1/engagements", json=START, headers={**anna, "Idempotency-Key": "k1"})
        again = c.post("/v1/engagements", json=START, headers={**anna, "Idempotency-Key": "k1"})
        assert started.status_code == again.status_code == 201 and started.json() == again.json()
        eid = started.json()["id"]
        fired = c.post(
            f"/v1/engagements/{eid}/fire",
            json={"trigger": "make_contact"},
            headers={**anna, "If-Match": '"1"'},
        )
        assert fired.status_code == 200 and fired.headers["etag"] == '"2"'
        assert c.post(
            f"/v1/engagements/{eid}/notes", json={"text": "hemmelig notetekst"}, headers=anna
        ).is_success
        assert len(c.get(f"/v1/engagements/{eid}/history", headers=anna).json()) == 3
        assert c.get("/v1/engagements", headers=anna).json()[0]["id"] == eid
        assert c.get(f"/v1/engagements/{eid}/triggers", headers=anna).status_code == 200
        assert c.get("/v1/workflows", headers=anna).status_code == 200
        assert c.get("/v1/audit/verify", headers=bearer(tok["revisor"])).json()["ok"] is True
        # Bad input over the wire: one problem, nothing written.
        before = counts(engine)
        for body, media in (
            (b"{kropsmarkor", "application/json"),
            (b"\xff\xfe", "application/json"),
            (b"x" * 2_000_000, "application/json"),
        ):
            r = c.post(f"/v1/engagements/{eid}/fire", content=body, headers={**anna, "Content-Type": media})
            assert r.status_code in (400, 413) and r.headers["content-type"] == "application/problem+json"
        assert counts(engine) == before
        denied = c.get(f"/v1/engagements/{eid}", headers=bearer(tok["carl"]))
        assert denied.status_code == 403
        assert c.get("/openapi.json").json()["openapi"].startswith("3.1")
        assert c.get("/docs").status_code == 200
    log = served.log.read_text()
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    requests = [entry for entry in lines if entry.get("event") == "http_request"]
    assert any(
        r["path"] == "/v1/engagements/{engagement_id}/fire" and r["staff_id"] == "anna" and r["status"] == 200
        for r in requests
    )
    for secret in tok.values():
        assert secret not in log and secret.split("_", 2)[2] not in log
    assert "kropsmarkor" not in log and "hemmelig notetekst" not in log  # never a body


@pytest.mark.parametrize(("proxies", "honoured"), [("127.0.0.1", True), ("10.0.0.0/8", False)])
def test_the_trusted_header_is_honoured_only_from_a_trusted_proxy(
    prepared: tuple[Engine, dict[str, str]], db_url: str, proxies: str, honoured: bool
) -> None:
    engine, _tok = prepared
    engine.staff.update(READER.__class__("tester"), "anna", login="anna@kommune.dk")
    args = ("--trusted-header", "X-Forwarded-User", "--trusted-proxy", proxies)
    with serving(db_url, *args) as served:
        r = httpx.get(f"{served.base}/v1/me", headers={"X-Forwarded-User": "anna@kommune.dk"})
    if honoured:
        assert r.status_code == 200 and r.json()["id"] == "anna"
    else:
        assert r.status_code == 401 and r.json()["reason"] == "missing"


def test_serve_refuses_a_database_without_the_schema(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from forloeb.cli import cli

    result = CliRunner().invoke(cli, ["--db", f"sqlite:///{tmp_path / 'none.db'}", "serve", "--port", "0"])
    assert result.exit_code == 1 and "forloeb init" in result.output
