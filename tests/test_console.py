"""The web console in-process (issue 15), on both backends: login, sessions,
CSRF, lockout, the browser-side safety headers, escaping, the engagement
page's forms (required answers, stale versions), who may see and change what,
and the access log. The same pages in a real browser: test_console_browser.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from console_support import PASSWORD, browser, csrf, log_in, logged_in, text_of, version
from helpers import FIRST_CONTACT, READER, ROUNDING_OFF, FakeClock, counts, drive, start

from forloeb import Actor, Engine
from forloeb.server import ServerConfig

ANNA = Actor("anna", ["worker"])


@pytest.fixture
def eng(db_url: str, clock: FakeClock) -> Iterator[Engine]:
    engine = Engine.open(db_url, migrate=True, clock=clock)
    try:
        yield engine
    finally:
        engine.close()


def _engagement(eng: Engine, stage: str = "first_contact", **kwargs: Any) -> int:
    """anna's engagement (``kwargs``: team, supervisor … of its start) driven to ``stage``."""
    e = drive(eng, ANNA, stage, engagement=start(eng, ANNA, subject="sag-konsol-1", **kwargs))
    return e.id


# -- login and the session cookie ------------------------------------------------------------


def test_logging_in_sets_a_session_cookie_scripts_cannot_read(eng: Engine) -> None:
    client = browser(eng)
    r = log_in(client, "anna", next="/mine")
    assert r.status_code == 303 and r.headers["location"] == "/mine"
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("forloeb_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http on localhost: a Secure cookie would never come back
    assert PASSWORD not in r.text and PASSWORD not in cookie
    assert client.get("/mine").status_code == 200


def test_over_https_the_cookie_is_secure(eng: Engine) -> None:
    client = browser(eng, base_url="https://forloeb.example")
    r = log_in(client, "anna")
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("forloeb_session="))
    assert "Secure" in cookie


def test_a_wrong_password_and_an_unknown_name_read_the_same(eng: Engine) -> None:
    client = browser(eng)
    wrong = log_in(client, "anna", "forkert-adgangskode-1")
    unknown = log_in(client, "ingen-saadan", "forkert-adgangskode-1")
    assert wrong.status_code == unknown.status_code == 401
    message = re.search(r'role="alert"><p>([^<]+)', wrong.text)
    assert message is not None and message.group(1) in unknown.text
    assert "forloeb_session=" not in wrong.headers.get("set-cookie", "")


def test_five_wrong_passwords_lock_the_login_and_say_until_when(eng: Engine) -> None:
    client = browser(eng)
    for _ in range(5):
        assert log_in(client, "anna", "forkert-adgangskode-1").status_code == 401
    locked = log_in(client, "anna")  # the right password, now refused
    assert locked.status_code == 401
    assert "forloeb_session=" not in locked.headers.get("set-cookie", "")
    assert re.search(r"\d{2}[:.]\d{2}", text_of(locked.text))  # the time it opens again


def test_the_login_form_needs_its_own_token(eng: Engine) -> None:
    client = browser(eng)
    client.get("/login")
    r = client.post("/login", data={"csrf": "gættet", "username": "anna", "password": PASSWORD})
    assert r.status_code == 403
    assert "forloeb_session=" not in r.headers.get("set-cookie", "")


def test_after_logout_the_old_cookie_opens_nothing(eng: Engine) -> None:
    client = logged_in(eng, "anna")
    token = client.cookies.get("forloeb_session")
    page = client.get("/mine")
    assert client.post("/logout", data={"csrf": csrf(page.text)}).status_code == 303
    again = browser(eng)
    again.cookies.set("forloeb_session", token or "")
    r = again.get("/mine")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_a_page_without_a_session_sends_to_login_and_back(eng: Engine) -> None:
    r = browser(eng).get("/engagements/1?x=1")
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=%2Fengagements%2F1%3Fx%3D1"


def test_after_login_the_way_back_is_never_another_site(eng: Engine) -> None:
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        r = log_in(browser(eng), "anna", next=target)
        assert r.status_code == 303 and r.headers["location"] == "/", target


# -- headers on every response -----------------------------------------------------------------


def test_every_response_forbids_inline_script_other_origins_and_framing(eng: Engine) -> None:
    client = logged_in(eng, "anna")
    eid = _engagement(eng)
    for path in (
        "/login",
        "/mine",
        f"/engagements/{eid}",
        "/static/console.css",
        "/docs",
        "/healthz",
        "/nope",
    ):
        r = client.get(path)
        policy = r.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy, path
        assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy, path
        assert r.headers["x-frame-options"] == "DENY", path
        assert r.headers["referrer-policy"] == "same-origin", path
        assert r.headers["x-content-type-options"] == "nosniff", path
    assert client.get("/mine").headers["cache-control"] == "no-store"
    assert "<script" not in client.get(f"/engagements/{eid}").text  # no script at all


def test_an_unknown_page_is_a_page_for_a_browser_and_json_for_the_api(eng: Engine) -> None:
    client = browser(eng)
    assert client.get("/findes-ikke").headers["content-type"].startswith("text/html")
    assert client.get("/v1/findes-ikke").headers["content-type"].startswith("application/problem+json")


# -- escaping, CSRF, the engagement page's forms ---------------------------------------------


def test_what_people_wrote_is_shown_as_text(eng: Engine) -> None:
    eid = _engagement(eng)
    eng.add_note(eid, '<script>alert("x")</script><img src=x onerror=alert(1)>', actor=ANNA)
    html = logged_in(eng, "anna").get(f"/engagements/{eid}").text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<script>" not in html and "<img" not in html


def test_a_form_without_its_token_or_from_another_origin_writes_nothing(eng: Engine) -> None:
    eid = _engagement(eng)
    client = logged_in(eng, "anna")
    token = csrf(client.get(f"/engagements/{eid}").text)
    before = counts(eng)
    for data, headers in (
        ({"text": "uden nøgle"}, {}),
        ({"text": "forkert nøgle", "csrf": "x" + token}, {}),
        ({"text": "andet sted fra", "csrf": token}, {"Origin": "https://evil.example"}),
    ):
        r = client.post(f"/engagements/{eid}/notes", data=data, headers=headers)
        assert r.status_code == 403 and "Formularen blev afvist" in r.text
    assert counts(eng) == before
    ok = client.post(f"/engagements/{eid}/notes", data={"text": "med nøgle", "csrf": token})
    assert ok.status_code == 303 and counts(eng)["events"] == before["events"] + 1


def test_a_blank_required_answer_is_marked_at_its_field_and_nothing_is_written(eng: Engine) -> None:
    eid = _engagement(eng)
    client = logged_in(eng, "anna")
    page = client.get(f"/engagements/{eid}").text
    before = counts(eng)
    r = client.post(
        f"/engagements/{eid}/answers",
        data={
            "csrf": csrf(page), "version": version(page), "action": "fire:agree_shared_path",
            "q_what_brings_us": FIRST_CONTACT["what_brings_us"], "q_who_are_you": "",
        },
    )  # fmt: skip
    assert r.status_code == 422
    field = re.search(r'<p class="field-error" id="q_who_are_you-error">([^<]+)</p>', r.text)
    assert field is not None and field.group(1) == "Skal besvares, før forløbet kan gå videre."
    assert 'aria-describedby="q_who_are_you-error" aria-invalid="true"' in r.text
    assert FIRST_CONTACT["what_brings_us"] in r.text  # what was typed is kept
    assert counts(eng) == before
    assert eng.get(eid, actor=READER).state == "first_contact"


def test_answers_and_the_next_step_are_one_event(eng: Engine) -> None:
    eid = _engagement(eng)
    client = logged_in(eng, "anna")
    page = client.get(f"/engagements/{eid}").text
    events = counts(eng)["events"]
    r = client.post(
        f"/engagements/{eid}/answers",
        data={"csrf": csrf(page), "version": version(page), "action": "fire:agree_shared_path",
              **{f"q_{k}": v for k, v in FIRST_CONTACT.items()}},
    )  # fmt: skip
    assert r.status_code == 303
    e = eng.get(eid, actor=READER)
    assert e.state == "shared_path"
    assert e.data["first_contact"]["who_are_you"] == FIRST_CONTACT["who_are_you"]
    assert counts(eng)["events"] == events + 1


def test_a_stale_form_is_refused_and_the_newer_change_kept(eng: Engine) -> None:
    eid = _engagement(eng)
    first = logged_in(eng, "anna")
    page = first.get(f"/engagements/{eid}").text  # tab 1 opens the page
    eng.record_details(eid, {"who_are_you": "fra fane 2"}, actor=ANNA)  # tab 2 saves first
    before = counts(eng)
    r = first.post(
        f"/engagements/{eid}/answers",
        data={"csrf": csrf(page), "version": version(page), "action": "save", "q_who_are_you": "fra fane 1"},
    )
    assert r.status_code == 409
    assert "Forløbet er blevet ændret, siden du åbnede siden" in r.text
    assert counts(eng) == before
    assert eng.get(eid, actor=READER).data["first_contact"]["who_are_you"] == "fra fane 2"
    assert ">fra fane 2</textarea>" in r.text  # the form shows the engagement as it is now
    unsaved = re.search(r"ikke blev gemt.*?</dl>", r.text, re.S)  # and what tab 1 typed, apart
    assert unsaved is not None and "fra fane 1" in unsaved.group(0)


def test_starting_twice_from_one_form_starts_one_engagement(eng: Engine) -> None:
    client = logged_in(eng, "anna")
    page = client.get("/engagements/new").text
    once = re.search(r'name="once" value="([^"]+)"', page)
    assert once is not None
    form = {
        "csrf": csrf(page), "once": once.group(1), "workflow": "individual_course", "subject": "sag-ny-7",
        "source_individual_course": "skole", "referred_by": "Kontaktlærer", "team": "familie",
    }  # fmt: skip
    first, second = client.post("/engagements/new", data=form), client.post("/engagements/new", data=form)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    e = eng.get(int(first.headers["location"].rsplit("/", 1)[1]), actor=READER)
    assert (e.subject, e.assignee, e.team, e.state) == ("sag-ny-7", "anna", "familie", "referral")


# -- who sees and changes what -------------------------------------------------------------------


def test_a_worker_outside_the_team_cannot_open_the_engagement_by_url(eng: Engine) -> None:
    eid = _engagement(eng, team="familie")
    r = logged_in(eng, "carl").get(f"/engagements/{eid}")
    assert r.status_code in (403, 404)
    assert "sag-konsol-1" not in r.text
    refused = eng.audit.access(READER, actor="carl")
    assert any(entry.action == "refused" for entry in refused)


def test_the_auditor_reads_and_cannot_write(eng: Engine) -> None:
    eid = _engagement(eng)
    client = logged_in(eng, "revisor")
    page = client.get(f"/engagements/{eid}")
    assert page.status_code == 200 and "sag-konsol-1" in page.text
    posts = re.findall(r'<form method="post" action="([^"]+)"', page.text)
    assert posts == ["/logout"]
    before = counts(eng)
    for path, data in (
        (f"/engagements/{eid}/notes", {"text": "revisorens notat"}),
        (f"/engagements/{eid}/answers", {"action": "fire:agree_shared_path"}),
        (f"/engagements/{eid}/reassign", {"assignee": "revisor", "reason": "x"}),
    ):
        r = client.post(path, data={**data, "csrf": csrf(page.text)})
        assert r.status_code == 403, path
    assert counts(eng) == before


def test_every_page_view_with_personal_data_is_in_the_access_log(eng: Engine) -> None:
    eid = _engagement(eng)
    client = logged_in(eng, "anna")
    before = len(eng.audit.access(READER, actor="anna"))
    assert client.get(f"/engagements/{eid}").status_code == 200
    entries = eng.audit.access(READER, actor="anna")[before:]
    assert entries and all(e.actor == "anna" for e in entries)
    assert any(e.engagement_id == eid and e.action == "read" and e.purpose == "webkonsol" for e in entries)


def test_the_board_marks_overdue_engagements(eng: Engine) -> None:
    eid = _engagement(eng, team="familie")
    assert eng.get(eid, actor=READER).stage_due_at is not None
    client = logged_in(eng, "leder")
    r = client.get("/board?team=familie&workflow=individual_course")
    assert r.status_code == 200
    card = re.search(rf'<a class="card( overdue)?" href="/engagements/{eid}"', r.text)
    assert card is not None
    # The board marks against the wall clock (the fake clock of the test stands in March).
    due = eng.get(eid, actor=READER).stage_due_at
    assert (card.group(1) == " overdue") == (due is not None and due < datetime.now(UTC))


def test_a_supervisor_acknowledges_a_reminder_and_reassigns(eng: Engine, clock: FakeClock) -> None:
    eid = _engagement(eng, team="familie", supervisor="leder")
    e = eng.get(eid, actor=READER)
    assert e.stage_due_at is not None
    clock.set(e.stage_due_at + timedelta(minutes=1))
    (reminder,) = [r for r in eng.sweep() if r.engagement_id == eid]
    client = logged_in(eng, "leder")
    listed = client.get("/reminders")
    assert f'action="/reminders/{reminder.id}/ack"' in listed.text
    r = client.post(f"/reminders/{reminder.id}/ack", data={"csrf": csrf(listed.text)})
    assert r.status_code == 303
    (after,) = eng.reminders(engagement_id=eid)
    assert after.acknowledged_by == "leder"
    assert f'action="/reminders/{reminder.id}/ack"' not in client.get("/reminders").text
    page = client.get(f"/engagements/{eid}").text
    r = client.post(
        f"/engagements/{eid}/reassign",
        data={"csrf": csrf(page), "version": version(page), "assignee": "carl", "team": "familie",
              "reason": "Ferie"},
    )  # fmt: skip
    assert r.status_code == 303
    assert eng.get(eid, actor=READER).assignee == "carl"
    assert eng.history(eid, actor=READER)[-1].type == "reassigned"


def test_english_is_one_click_away(eng: Engine) -> None:
    client = logged_in(eng, "anna")
    assert '<html lang="da">' in client.get("/mine").text
    r = client.get("/lang?to=en&next=/mine")
    assert r.status_code == 303 and r.headers["location"] == "/mine"
    page = client.get("/mine").text
    assert '<html lang="en">' in page and "My engagements" in page


def test_single_sign_on_only_from_a_trusted_proxy(eng: Engine) -> None:
    eid = _engagement(eng)
    eng.staff.update(Actor("tester"), "anna", login="anna.sso")
    config = ServerConfig(trusted_header="X-Forwarded-User", trusted_proxies=("10.0.0.0/8",))
    proxied = browser(eng, config=config, client=("10.1.2.3", 40000))
    r = proxied.get(f"/engagements/{eid}", headers={"X-Forwarded-User": "anna.sso"})
    assert r.status_code == 200 and "sag-konsol-1" in r.text
    # No session to keep a CSRF token in: the forms carry a double-submit cookie.
    token = csrf(r.text)
    assert proxied.cookies.get("forloeb_login") == token
    note = {"csrf": token, "text": "via single sign-on"}
    posted = proxied.post(f"/engagements/{eid}/notes", data=note, headers={"X-Forwarded-User": "anna.sso"})
    assert posted.status_code == 303
    proxied.cookies.delete("forloeb_login")
    refused = proxied.post(f"/engagements/{eid}/notes", data=note, headers={"X-Forwarded-User": "anna.sso"})
    assert refused.status_code == 403
    other = browser(eng, config=config, client=("192.0.2.9", 40000))
    r = other.get(f"/engagements/{eid}", headers={"X-Forwarded-User": "anna.sso"})
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_a_handover_shows_the_covering_consent_before_anything_leaves(eng: Engine) -> None:
    eid = _engagement(eng, "rounding_off")
    client = logged_in(eng, "anna")
    choose = client.get(f"/engagements/{eid}/move/hand_over")
    assert choose.status_code == 200 and 'name="receiver"' in choose.text
    uncovered = client.get(f"/engagements/{eid}/move/hand_over?receiver=jobcenter")
    # The stage's blank required answers are asked on the same page.
    assert 'name="q_status"' in uncovered.text and 'name="q_achievements"' in uncovered.text
    assert "Intet gældende samtykke dækker denne modtager" in uncovered.text
    e = eng.give_consent(eid, actor=ANNA, information="all", to=["jobcenter"], purpose="Job og uddannelse")
    (consent,) = eng.consents(eid, actor=ANNA)
    covered = client.get(f"/engagements/{eid}/move/hand_over?receiver=jobcenter")
    assert f'<option value="consent:{consent.id}"' in covered.text
    assert "Intet gældende samtykke" not in covered.text
    before = counts(eng)
    wrong = client.post(
        f"/engagements/{eid}/move/hand_over",
        data={"csrf": csrf(covered.text), "version": str(e.version), "q_receiver": "jobcenter", "basis": ""},
    )
    assert wrong.status_code == 422 and counts(eng) == before
    done = client.post(
        f"/engagements/{eid}/move/hand_over",
        data={"csrf": csrf(covered.text), "version": str(e.version), "q_receiver": "jobcenter",
              "basis": f"consent:{consent.id}", "q_shared": "Forløbets mål og plan",
              **{f"q_{k}": v for k, v in ROUNDING_OFF.items()}},
    )  # fmt: skip
    assert done.status_code == 303
    handed = eng.get(eid, actor=READER)
    assert handed.state == "handed_over"
    assert handed.data["rounding_off"]["legal_basis"] == f"consent:{consent.id}"
    page = client.get(f"/engagements/{eid}").text
    package = client.post(
        f"/engagements/{eid}/handover-package", data={"csrf": csrf(page), "purpose": "Aftalt"}
    )
    assert package.status_code == 200
    assert package.headers["content-type"].startswith("text/markdown")
    assert "attachment" in package.headers["content-disposition"]
    assert len(package.headers["forloeb-package-sha256"]) == 64


def test_a_supervisor_reopens_a_closed_engagement_and_a_worker_cannot(eng: Engine) -> None:
    eid = _engagement(eng, "closed", team="familie")
    worker = logged_in(eng, "anna").get(f"/engagements/{eid}").text
    assert "/move/reopen" not in worker  # a worker is not offered the step
    client = logged_in(eng, "leder")
    page = client.get(f"/engagements/{eid}").text
    assert f'href="/engagements/{eid}/move/reopen"' in page
    form = client.get(f"/engagements/{eid}/move/reopen").text
    reason = re.search(r'name="(q_[a-z_]+)"', form)
    assert reason is not None
    r = client.post(
        f"/engagements/{eid}/move/reopen",
        data={"csrf": csrf(form), "version": version(form), reason.group(1): "Henvendte sig igen"},
    )
    assert r.status_code == 303
    assert eng.get(eid, actor=READER).state != "closed"


@pytest.mark.sqlite_only
def test_a_locked_database_is_a_page_that_says_so_and_nothing_is_written(
    db_url: str, clock: FakeClock
) -> None:
    import sqlite3

    with Engine.open(db_url, migrate=True, clock=clock, connect_timeout=0.3) as eng:
        eid = _engagement(eng)
        client = logged_in(eng, "anna")
        token = csrf(client.get(f"/engagements/{eid}").text)
        before = counts(eng)
        other = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        try:
            r = client.post(f"/engagements/{eid}/notes", data={"csrf": token, "text": "mens den er låst"})
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert r.status_code == 503
        assert "optaget" in text_of(r.text) and "Traceback" not in r.text
        assert counts(eng) == before


def test_changing_ones_password_replaces_the_session(eng: Engine) -> None:
    client = logged_in(eng, "anna")
    form = client.get("/password").text
    new = "et-helt-nyt-kodeord-42"
    wrong = client.post("/password", data={"csrf": csrf(form), "current": "forkert-kodeord-1", "new": new,
                                           "again": new})  # fmt: skip
    assert wrong.status_code == 422
    differ = client.post("/password", data={"csrf": csrf(form), "current": PASSWORD, "new": new,
                                            "again": new + "x"})  # fmt: skip
    assert differ.status_code == 422 and "ikke ens" in differ.text
    short = client.post("/password", data={"csrf": csrf(form), "current": PASSWORD, "new": "kort",
                                           "again": "kort"})  # fmt: skip
    assert short.status_code == 422
    assert log_in(browser(eng), "anna").status_code == 303  # the old password still works
    client = logged_in(eng, "anna")
    old = client.cookies.get("forloeb_session")
    form = client.get("/password").text
    done = client.post("/password", data={"csrf": csrf(form), "current": PASSWORD, "new": new, "again": new})
    assert done.status_code == 303
    assert client.cookies.get("forloeb_session") not in (None, old)
    assert "Din adgangskode er skiftet" in client.get(done.headers["location"]).text
    stale = browser(eng)
    stale.cookies.set("forloeb_session", old or "")
    assert stale.get("/mine").status_code == 303  # the old session is gone
    assert log_in(browser(eng), "anna").status_code == 401
    assert log_in(browser(eng), "anna", new).status_code == 303


def test_a_checkpoint_may_be_larger_than_a_form_but_not_a_note(eng: Engine) -> None:
    eid = _engagement(eng)
    big = b'{"kind": "' + b"x" * (2 * 1024 * 1024) + b'"}'  # 2 MiB: over the 1 MiB of any other post
    auditor = logged_in(eng, "revisor")
    token = csrf(auditor.get("/audit/verify").text)
    r = auditor.post("/audit/verify", data={"csrf": token}, files={"checkpoint": ("cp.json", big)})
    assert r.status_code != 413 and r.headers["content-type"].startswith("text/html")
    worker = logged_in(eng, "anna")
    note = {"csrf": csrf(worker.get(f"/engagements/{eid}").text), "text": "x" * (2 * 1024 * 1024)}
    assert worker.post(f"/engagements/{eid}/notes", data=note).status_code == 413


def test_each_role_starts_where_its_work_is(eng: Engine) -> None:
    for who, home in (("anna", "/mine"), ("leder", "/board"), ("revisor", "/audit")):
        r = logged_in(eng, who).get("/")
        assert r.status_code == 303 and r.headers["location"] == home, who


@pytest.mark.parametrize("lang", ["da", "en"])
def test_every_page_renders_in_both_languages(eng: Engine, lang: str) -> None:
    eid = _engagement(eng, team="familie", supervisor="leder")
    closed = _engagement(eng, "closed", team="familie")
    pages = {
        "anna": ["/mine", "/intake", "/engagements/new", f"/engagements/{eid}",
                 f"/engagements/{eid}/move/pause", "/password"],
        "leder": ["/board?workflow=individual_course", "/reminders", "/reports", "/caseload",
                  f"/engagements/{closed}", f"/engagements/{closed}/move/reopen"],
        "revisor": ["/audit", "/audit/verify?run=1", "/audit/access", "/audit/access-request",
                    f"/engagements/{eid}"],
    }  # fmt: skip
    for who, paths in pages.items():
        client = logged_in(eng, who)
        client.get(f"/lang?to={lang}")
        for path in paths:
            r = client.get(path)
            assert r.status_code == 200, (who, path, text_of(r.text)[-300:])
            assert f'<html lang="{lang}">' in r.text, (who, path)
            assert not re.search(r"\bw_[a-z_]+\b", text_of(r.text)), (who, path)  # no key shown for a text
    english = logged_in(eng, "anna")
    english.get("/lang?to=en")
    assert "My engagements" in english.get("/mine").text
    assert "Questions of this stage" in english.get(f"/engagements/{eid}").text
