"""The console's auditor pages and the report and caseload pages (issue 15), through
the real application (``create_app``) on both backends: logged in through the
login form, as a browser would."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from helpers import drive
from http_support import ADMIN, TestClient, client
from sqlalchemy import func, select, text

from forloeb import Actor, Engine
from forloeb.persistence import SqlStore
from forloeb.persistence._tables import access_log
from forloeb.reporting.exports import AUDIT_CSV_COLUMNS
from forloeb.server.console._reports import SVG_POLICY

PASSWORD = "en-lang-adgangskode-42"
ANNA = Actor("anna", ["worker"])
AUDITOR = Actor("revisor", ["auditor"])
SUPERVISOR = Actor("leder", ["supervisor"])
# What a page's data may never bring in: no console page has a script of its own.
RAW_SCRIPT = "<script"


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "no csrf field on the page"
    return found.group(1)


def login(c: TestClient, engine: Engine, who: str) -> str:
    """Log ``who`` in through the form (GET /login for its token, POST it); the session's csrf."""
    engine.logins.set_password(ADMIN, who, PASSWORD)
    form = c.get("/login")
    assert form.status_code == 200
    done = c.post(
        "/login",
        data={"username": who, "password": PASSWORD, "csrf": _csrf(form.text), "next": "/"},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    home = c.get("/")
    assert home.status_code == 200, home.text
    return _csrf(home.text)  # the logout form carries the session's token


def _sa(engine: Engine):  # type: ignore[no-untyped-def]
    assert isinstance(engine.store, SqlStore)
    return engine.store.sa_engine


def _access_rows(engine: Engine) -> int:
    with _sa(engine).connect() as conn:
        return int(conn.execute(select(func.count()).select_from(access_log)).scalar_one())


@pytest.fixture
def app(engine: Engine) -> Iterator[TestClient]:
    with client(engine) as c:
        yield c


@pytest.fixture
def auditor_client(engine: Engine, app: TestClient) -> TestClient:
    login(app, engine, "revisor")
    return app


# -- the event log -------------------------------------------------------------------


def test_the_audit_page_lists_events_and_escapes_what_people_wrote(
    engine: Engine, auditor_client: TestClient
) -> None:
    e = drive(engine, ANNA, "own_path", subject="sag-xss")
    engine.add_note(e.id, "<script>alert(1)</script>", actor=ANNA)
    page = auditor_client.get("/audit")
    assert page.status_code == 200
    body = page.text
    assert "Notat: &lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert RAW_SCRIPT not in body.lower()
    assert f'<a href="/engagements/{e.id}">{e.id}</a>' in body
    assert "sag-xss" in body and "Startet" in body
    # Newest first: the note above the start.
    assert body.index("alert(1)") < body.index("Startet")
    # The page is a search in the access log, by the auditor, with the console's purpose.
    searches = [a for a in engine.audit.access(AUDITOR, actor="revisor") if a.action == "search"]
    assert searches and searches[-1].purpose == "webkonsol: revision"


def test_the_audit_page_filters_and_pages_with_a_cursor(engine: Engine, auditor_client: TestClient) -> None:
    e = drive(engine, ANNA, "own_path", subject="sag-mange")
    for i in range(105):
        engine.add_note(e.id, f"notat nr. {i}", actor=ANNA)
    other = drive(engine, ANNA, "first_contact", subject="sag-anden")
    first = auditor_client.get(f"/audit?engagement={e.id}&type=note")
    assert first.status_code == 200
    assert "notat nr. 104" in first.text and "sag-anden" not in first.text
    assert first.text.count("<tr>") == 100 + 1  # a page of 100, and the heading
    link = re.search(r'<a href="(/audit\?[^"]+)">Næste side</a>', first.text)
    assert link is not None
    second = auditor_client.get(html.unescape(link.group(1)))
    assert second.status_code == 200
    assert "notat nr. 0<" in second.text and "notat nr. 104" not in second.text
    assert "Næste side" not in second.text
    assert other.id != e.id
    bad = auditor_client.get("/audit?engagement=abc")
    assert bad.status_code == 422 and "forløb skal være et tal" in bad.text


def test_the_csv_export_is_the_clis_and_keeps_a_formula_as_text(
    engine: Engine, auditor_client: TestClient
) -> None:
    e = drive(engine, ANNA, "first_contact", subject='=HYPERLINK("http://x")')
    engine.add_note(e.id, "=1+2 er ikke en formel", actor=ANNA)
    before = [a for a in engine.audit.access(AUDITOR, actor="revisor") if a.action == "export"]
    response = auditor_client.get(f"/audit/export.csv?engagement={e.id}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    today = datetime.now(UTC).strftime("%Y%m")
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="forloeb-audit-' + today)
    assert disposition.endswith('.csv"')
    assert response.headers["cache-control"] == "no-store"
    rows = list(csv.reader(io.StringIO(response.text)))
    assert tuple(rows[0]) == AUDIT_CSV_COLUMNS
    subject = AUDIT_CSV_COLUMNS.index("subject")
    assert {r[subject] for r in rows[1:]} == {'\'=HYPERLINK("http://x")'}
    # Oldest first, the note last, its text inside the payload's JSON.
    data = AUDIT_CSV_COLUMNS.index("data")
    assert json.loads(rows[-1][data]) == {"text": "=1+2 er ikke en formel"}
    assert [int(r[1]) for r in rows[1:]] == list(range(1, len(rows)))
    # The export is an "export" in the access log, naming the format and the engagement.
    after = [a for a in engine.audit.access(AUDITOR, actor="revisor") if a.action == "export"]
    assert len(after) == len(before) + 1
    entry = after[-1]
    assert entry.criteria is not None and entry.criteria["format"] == "csv"
    assert entry.engagement_id == e.id and entry.role == "auditor"


def test_the_jsonl_export_has_one_record_per_line(engine: Engine, auditor_client: TestClient) -> None:
    e = drive(engine, ANNA, "first_contact", subject="sag-jsonl")
    response = auditor_client.get(f"/audit/export.jsonl?engagement={e.id}")
    assert response.status_code == 200
    assert response.headers["content-disposition"].endswith('.jsonl"')
    records = [json.loads(line) for line in response.text.splitlines()]
    assert [r["seq"] for r in records] == [1, 2]
    assert {r["subject"] for r in records} == {"sag-jsonl"}
    formats = [
        (a.criteria or {}).get("format")
        for a in engine.audit.access(AUDITOR, actor="revisor")
        if a.action == "export"
    ]
    assert formats[-1] == "jsonl"


# -- verify and checkpoints -----------------------------------------------------------------


def test_verify_says_the_log_is_intact_and_then_names_the_break(
    engine: Engine, auditor_client: TestClient
) -> None:
    e = drive(engine, ANNA, "own_path", subject="sag-kaede")
    idle = auditor_client.get("/audit/verify")
    assert idle.status_code == 200 and "Loggen er hel" not in idle.text
    ok = auditor_client.get("/audit/verify?run=1")
    assert ok.status_code == 200
    assert "Loggen er hel: 4 hændelser i 1 kæder" in ok.text
    with _sa(engine).begin() as conn:
        conn.execute(text("UPDATE events SET actor = 'bo' WHERE engagement_id = :e AND seq = 2"), {"e": e.id})
    broken = auditor_client.get("/audit/verify?run=1")
    assert broken.status_code == 200
    assert "Loggen har 1 brud" in broken.text
    assert f"forløb {e.id}, nr. 2: hash: gemt hash" in broken.text
    english = auditor_client.get("/lang?to=en&next=/audit/verify?run=1")
    assert f"engagement {e.id}, seq 2: hash: stored hash" in english.text


def test_a_checkpoint_needs_the_csrf_token_and_verifies_when_uploaded(
    engine: Engine, app: TestClient
) -> None:
    drive(engine, ANNA, "own_path", subject="sag-punkt")
    csrf = login(app, engine, "revisor")
    rows = _access_rows(engine)
    for form in ({}, {"csrf": "forkert"}):
        refused = app.post("/audit/checkpoint", data=form)
        assert refused.status_code == 403
        assert "content-disposition" not in refused.headers
        assert "Formularen blev afvist" in refused.text
    assert _access_rows(engine) == rows  # nothing written
    taken = app.post("/audit/checkpoint", data={"csrf": csrf})
    assert taken.status_code == 200
    assert taken.headers["content-type"].startswith("application/json")
    assert re.fullmatch(
        r'attachment; filename="forloeb-checkpoint-\d{8}-\d{4}\.json"', taken.headers["content-disposition"]
    )
    checkpoint = taken.json()
    assert checkpoint["engagements"]
    # The checkpoint back, as a file: verified against it.
    files = {"checkpoint": ("cp.json", taken.content, "application/json")}
    against = app.post("/audit/verify", data={"csrf": csrf}, files=files)
    assert against.status_code == 200
    assert "Sammenlignet med kontrolpunktet" in against.text and "Loggen er hel" in against.text
    no_token = app.post("/audit/verify", files=files)
    assert no_token.status_code == 403
    junk = app.post(
        "/audit/verify", data={"csrf": csrf}, files={"checkpoint": ("x.json", b"{nej", "text/plain")}
    )
    assert junk.status_code == 422 and "Loggen er hel" not in junk.text


# -- the access log and the access request ----------------------------------------------------


def test_the_access_log_page_lists_entries_and_pages_on(engine: Engine, auditor_client: TestClient) -> None:
    e = drive(engine, ANNA, "first_contact", subject="sag-adgang")
    for _ in range(3):
        engine.get(e.id, actor=SUPERVISOR, purpose="<b>opfølgning</b>")
    page = auditor_client.get(f"/audit/access?engagement={e.id}")
    assert page.status_code == 200
    assert "&lt;b&gt;opfølgning&lt;/b&gt;" in page.text and "<b>opfølgning" not in page.text
    assert f'<a href="/engagements/{e.id}">{e.id}</a> (sag-adgang)' in page.text
    # More than a page: the next page continues after the last entry shown, none twice.
    for i in range(110):
        engine.get(e.id, actor=SUPERVISOR, purpose=f"læst {i:03d}")
    seen: list[str] = []
    url: str | None = f"/audit/access?engagement={e.id}&actor=leder"
    while url is not None:
        shown = auditor_client.get(url)
        assert shown.status_code == 200
        seen += re.findall(r"læst (\d{3})", shown.text)
        link = re.search(r'<a href="(/audit/access\?[^"]+)">Næste side</a>', shown.text)
        url = html.unescape(link.group(1)) if link else None
    assert seen == [f"{i:03d}" for i in range(110)]


def test_an_access_request_is_a_download_with_the_csrf_token(engine: Engine, app: TestClient) -> None:
    drive(engine, ANNA, "first_contact", subject="sag-indsigt")
    csrf = login(app, engine, "revisor")
    form = app.get("/audit/access-request")
    assert form.status_code == 200 and 'action="/audit/access-request"' in form.text
    refused = app.post("/audit/access-request", data={"subject": "sag-indsigt"})
    assert refused.status_code == 403 and "content-disposition" not in refused.headers
    package = app.post(
        "/audit/access-request",
        data={"csrf": csrf, "subject": "sag-indsigt", "format": "json", "redact_staff": "1"},
    )
    assert package.status_code == 200
    assert package.headers["content-disposition"].startswith('attachment; filename="forloeb-indsigt-')
    content = package.json()
    assert content["subject"] == "sag-indsigt" and len(content["engagements"]) == 1
    assert "anna" not in package.text  # staff left out
    exports = [a for a in engine.audit.access(AUDITOR, subject="sag-indsigt") if a.action == "export"]
    assert exports and exports[-1].criteria and exports[-1].criteria["access_request"] == "sag-indsigt"
    markdown = app.post(
        "/audit/access-request", data={"csrf": csrf, "subject": "sag-indsigt", "format": "md"}
    )
    assert markdown.status_code == 200 and markdown.headers["content-type"].startswith("text/markdown")
    blank = app.post("/audit/access-request", data={"csrf": csrf, "subject": " "})
    assert blank.status_code == 422 and "borgerreference" in blank.text


# -- who may -----------------------------------------------------------------------------------


def test_a_worker_is_refused_the_audit_pages(engine: Engine, app: TestClient) -> None:
    csrf = login(app, engine, "anna")
    rows = _access_rows(engine)
    for path in (
        "/audit",
        "/audit/export.csv",
        "/audit/verify?run=1",
        "/audit/access",
        "/audit/access-request",
    ):
        refused = app.get(path)
        assert refused.status_code == 403, path
        assert "Ingen adgang" in refused.text and "content-disposition" not in refused.headers
    assert app.post("/audit/checkpoint", data={"csrf": csrf}).status_code == 403
    assert app.get("/reports").status_code == 403 and app.get("/caseload").status_code == 403
    assert _access_rows(engine) == rows  # no search, no export was made


def test_not_logged_in_is_sent_to_the_login_page(app: TestClient) -> None:
    for path in ("/audit", "/audit/export.csv", "/reports/chart.svg?section=0"):
        response = app.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")


def test_the_auditors_pages_post_only_logout_checkpoint_verify_and_access_request(
    engine: Engine, auditor_client: TestClient
) -> None:
    drive(engine, ANNA, "first_contact", subject="sag-formularer")
    allowed = {"/logout", "/audit/checkpoint", "/audit/verify", "/audit/access-request"}
    for path in (
        "/audit",
        "/audit/verify?run=1",
        "/audit/access",
        "/audit/access-request",
        "/reports",
        "/caseload",
    ):
        page = auditor_client.get(path)
        assert page.status_code == 200, path
        forms = re.findall(r"<form\b[^>]*>", page.text)
        posting = [f for f in forms if re.search(r'method="post"', f, re.IGNORECASE)]
        actions = {re.search(r'action="([^"]+)"', f).group(1) for f in posting}  # type: ignore[union-attr]
        assert actions <= allowed, (path, actions)
        assert all(re.search(r'method="(get|post)"', f, re.IGNORECASE) for f in forms), path


# -- reports and caseload ------------------------------------------------------------------------


def test_the_report_page_shows_tables_and_its_charts_are_svg_with_their_own_policy(
    engine: Engine, app: TestClient
) -> None:
    pytest.importorskip("matplotlib")
    drive(engine, ANNA, "own_path", subject="sag-rapport")
    drive(engine, ANNA, "first_contact", subject="sag-rapport-2")
    login(app, engine, "leder")
    year = datetime.now(UTC).year
    page = app.get("/reports")
    assert page.status_code == 200
    assert f'value="{year}-01-01"' in page.text  # this calendar year by default
    assert "<table>" in page.text and "Nye henvendelser" in page.text
    charts = [html.unescape(src) for src in re.findall(r'<img src="(/reports/chart\.svg\?[^"]+)"', page.text)]
    assert charts and all(f"start={year}-01-01" in c for c in charts)
    assert re.search(r'<img src="/reports/chart\.svg[^"]*" alt="Diagram: [^"]+"', page.text)
    reports = [a for a in engine.audit.access(AUDITOR, actor="leder") if a.action == "report"]
    chart = app.get(charts[0])
    assert chart.status_code == 200
    assert chart.headers["content-type"].startswith("image/svg+xml")
    assert chart.headers["content-security-policy"] == SVG_POLICY
    assert chart.text.startswith("<svg") and "<script" not in chart.text
    # The page's report drew its charts: no second run, no second access-log entry.
    again = [a for a in engine.audit.access(AUDITOR, actor="leder") if a.action == "report"]
    assert len(again) == len(reports)
    assert app.get("/reports/chart.svg?section=999").status_code == 404
    bad = app.get("/reports?start=2026-05-01&end=2026-01-01")
    assert bad.status_code == 422 and "ligger før" in bad.text


def test_without_matplotlib_the_report_is_its_tables_and_a_note(
    engine: Engine, app: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    drive(engine, ANNA, "own_path", subject="sag-uden-diagram")
    login(app, engine, "leder")
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if the [reports] extra were not installed
    page = app.get("/reports")
    assert page.status_code == 200
    assert "<table>" in page.text and "Nye henvendelser" in page.text
    assert "kræver matplotlib" in page.text and "<img" not in page.text
    assert app.get("/reports/chart.svg?section=0").status_code == 404


def test_the_report_escapes_what_people_typed_into_its_filters(engine: Engine, app: TestClient) -> None:
    login(app, engine, "leder")
    page = app.get("/reports?team=%3Cscript%3Ex%3C%2Fscript%3E")
    assert page.status_code == 200
    assert "&lt;script&gt;x&lt;/script&gt;" in page.text
    assert RAW_SCRIPT not in page.text.lower()


def test_the_caseload_page_shows_the_overview(engine: Engine, app: TestClient) -> None:
    first = drive(engine, ANNA, "first_contact", subject="sag-byrde-1")
    drive(engine, ANNA, "first_contact", subject="sag-byrde-2")
    engine.caseload.reassign(first.id, actor=SUPERVISOR, reason="fordeling", assignee="anna", team="familie")
    login(app, engine, "revisor")
    page = app.get("/caseload")
    assert page.status_code == 200
    overview = engine.caseload.overview(actor=AUDITOR)
    assert overview
    for row in overview:
        who = row["assignee"] or "(indtag, ingen medarbejder)"
        cells = (
            re.escape(f'<th scope="row">{who}</th>') + r"\s*" + re.escape(f"<td>{row['team'] or '–'}</td>")
        )
        cells += r"\s*" + re.escape(f'<td class="num">{row["open"]}</td>')
        cells += r"\s*" + re.escape(f'<td class="num">{row["overdue"]}</td>')
        assert re.search(cells, page.text), row
    total = sum(r["open"] for r in overview)
    assert re.search(r"I alt</th><td></td>\s*" + re.escape(f'<td class="num">{total}</td>'), page.text)
