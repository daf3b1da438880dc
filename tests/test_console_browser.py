"""The web console (issue 15) in a real browser: headless Chromium driven by
Selenium against a real uvicorn server on the demo's database, as the staff
use it — a worker's first contact, two tabs at once, the supervisor's board
and reminders, the auditor's read-only view, another team's engagement, the
login lockout and a form without its CSRF token; and axe-core's WCAG 2.1 AA
check on every page.

Each step leaves a screenshot in ``tests/artifacts/console/<test>/`` (or under
``FORLOEB_TEST_ARTIFACTS``). Without Chromium, chromedriver or axe-core
(``FORLOEB_AXE``) the tests skip, unless ``FORLOEB_TEST_BROWSER`` is set.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from browser_support import (
    PASSWORD,
    Shots,
    axe_source,
    chrome,
    describe,
    run_axe,
    served,
    set_passwords,
    status_of,
)

from forloeb import Actor, Engine
from forloeb._demo import DEMO_STAFF, add_demo_engagements
from forloeb._demo_scenarios import CIVIL, LEADER, SOCIAL
from forloeb.engine import COPENHAGEN

# The demo's bootstrap makes its operator an admin; every test builds its own staff.
pytestmark = pytest.mark.empty_register

ADMIN = "demo"
BOSS = Actor(LEADER)  # the demo's supervisor sees every engagement: the tests read through her
AHMED = Actor("ahmed.s", ("worker",))
STALE_TEXT = "Forløbet er blevet ændret, siden du åbnede siden"
REQUIRED_TEXT = "Skal besvares, før forløbet kan gå videre."


@dataclass
class Site:
    base: str
    engine: Engine

    def url(self, path: str) -> str:
        return self.base + path

    def events(self, engagement_id: int) -> list[str]:
        return [ev.type for ev in self.engine.history(engagement_id, actor=BOSS)]

    def social_engagement(self, subject: str, *, contact: bool = True) -> int:
        """A fresh engagement of ahmed.s (social team), in first contact."""
        e = self.engine.start(
            "individual_course", subject=subject, source="skole", actor=AHMED,
            assignee="ahmed.s", supervisor=LEADER, team=SOCIAL,
        )  # fmt: skip
        if contact:
            self.engine.fire(e.id, "make_contact", actor=AHMED)
        return e.id


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    url = f"sqlite:///{tmp_path_factory.mktemp('console') / 'demo.db'}"
    add_demo_engagements(url, operator=ADMIN)
    engine = Engine.open(url)
    try:
        set_passwords(engine, ADMIN, [ADMIN, *(m.id for m in DEMO_STAFF)])
        with served(engine) as base:
            yield Site(base, engine)
    finally:
        engine.close()


@pytest.fixture(scope="module")
def drivers() -> Iterator[list[Any]]:
    """Browsers for the module (started once: a start costs a second); tests take them clean."""
    started: list[Any] = []
    try:
        yield started
    finally:
        for d in started:
            d.quit()


def _clean(drivers: list[Any], n: int) -> Any:
    while len(drivers) <= n:
        drivers.append(chrome())
    d = drivers[n]
    d.delete_all_cookies()
    d.get_log("performance")  # what an earlier test left in the network log
    return d


@pytest.fixture
def browser(drivers: list[Any], site: Site) -> Any:
    return _clean(drivers, 0)


@pytest.fixture
def second(drivers: list[Any], site: Site) -> Any:
    return _clean(drivers, 1)


# -- what the tests do in the browser ----------------------------------------------------


def _by(css: str) -> tuple[str, str]:
    return ("css selector", css)


def submit(driver: Any, element: Any) -> None:
    """Click a submit button or link and wait for the next page."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    # A mark on the old page's window: gone once the next page has loaded. (Asking
    # an element of the old page whether it is stale can itself fail mid-navigation.)
    driver.execute_script("window.forloebOldPage = true;")
    element.click()

    def loaded(d: Any) -> bool:
        try:
            return bool(
                d.execute_script("return !window.forloebOldPage && document.readyState === 'complete';")
            )
        except WebDriverException:
            return False

    WebDriverWait(driver, 15).until(loaded)


def button(driver: Any, text: str, within: str = "main") -> Any:
    for b in driver.find_elements(*_by(f"{within} button")):
        if b.text.strip() == text:
            return b
    raise AssertionError(f"no button {text!r} in {within} on {driver.current_url}")


def login(driver: Any, site: Site, who: str, password: str = PASSWORD) -> None:
    driver.get(site.url("/login"))
    driver.find_element("id", "username").send_keys(who)
    driver.find_element("id", "password").send_keys(password)
    submit(driver, button(driver, "Log ind"))


def path(driver: Any) -> str:
    return str(urlparse(driver.current_url).path)


def text(driver: Any, css: str) -> str:
    return str(driver.find_element(*_by(css)).text).strip()


def fact(driver: Any, label: str) -> str:
    """A value of the engagement page's facts (``<dt>label</dt><dd>value</dd>``)."""
    for dt in driver.find_elements(*_by("dl.facts dt")):
        if dt.text.strip() == label:
            return str(dt.find_element("xpath", "following-sibling::dd[1]").text).strip()
    raise AssertionError(f"no fact {label!r}")


def session_cookies(driver: Any) -> dict[str, str]:
    return {c["name"]: c["value"] for c in driver.get_cookies()}


# -- 1. a worker's first contact ------------------------------------------------------------


def test_a_worker_starts_an_engagement_and_a_blank_required_answer_stops_the_step(
    site: Site, browser: Any
) -> None:
    from selenium.webdriver.support.ui import Select

    shot = Shots.of("worker_first_contact")
    login(browser, site, "ahmed.s")
    assert path(browser) == "/mine"
    shot(browser, "mine")
    submit(browser, browser.find_element("link text", "Nyt forløb"))
    assert path(browser) == "/engagements/new"
    Select(browser.find_element("id", "workflow")).select_by_value("individual_course")
    browser.find_element("id", "subject").send_keys("sag-browser-001")
    Select(browser.find_element("id", "source_individual_course")).select_by_value("skole")
    shot(browser, "new-filled")
    submit(browser, button(browser, "Start forløb"))
    found = re.fullmatch(r"/engagements/(\d+)", path(browser))
    assert found, browser.current_url
    eid = int(found.group(1))
    e = site.engine.get(eid, actor=BOSS)
    assert (e.subject, e.source, e.state, e.assignee) == ("sag-browser-001", "skole", "referral", "ahmed.s")
    assert fact(browser, "Fase") == "Henvendelse / henvisning"
    shot(browser, "started")

    # The first step: allowed at once (the referral asks nothing required).
    for field in browser.find_elements(*_by("[aria-required=true]")):
        field.send_keys("udfyldt i browseren")
    submit(browser, browser.find_element(*_by("button[name=action][value='fire:make_contact']")))
    assert status_of(browser, f"/engagements/{eid}") == 200
    assert site.engine.get(eid, actor=BOSS).state == "first_contact"
    assert fact(browser, "Fase") == "Den første kontakt"
    shot(browser, "first-contact")

    # Every required question is answered but one: the step is refused field by field.
    required = [f.get_attribute("id") for f in browser.find_elements(*_by("textarea[aria-required=true]"))]
    assert "q_what_brings_us" in required and len(required) >= 2, required
    blank = "q_what_brings_us"
    for key in required:
        if key != blank:
            browser.find_element("id", key).send_keys(f"svar på {key}")
    browser.find_element("id", "q_challenges").send_keys("boligen")
    before = site.events(eid)
    version = site.engine.get(eid, actor=BOSS).version
    submit(browser, browser.find_element(*_by("button[name=action][value='fire:agree_shared_path']")))
    assert status_of(browser, "/answers") == 422
    shot(browser, "required-blank")
    assert text(browser, f"p#{blank}-error") == REQUIRED_TEXT
    field = browser.find_element("id", blank)
    assert field.get_attribute("aria-invalid") == "true"
    assert f"{blank}-error" in (field.get_attribute("aria-describedby") or "")
    # What was typed is still there, and nothing was written.
    assert browser.find_element("id", "q_challenges").get_attribute("value") == "boligen"
    assert site.events(eid) == before
    after = site.engine.get(eid, actor=BOSS)
    assert after.version == version and after.state == "first_contact"
    assert "challenges" not in (after.data.get("first_contact") or {})

    browser.find_element("id", blank).send_keys("hjælp til at finde vej")
    submit(browser, browser.find_element(*_by("button[name=action][value='fire:agree_shared_path']")))
    assert path(browser) == f"/engagements/{eid}"
    assert fact(browser, "Fase") == "Den fælles vej"
    shot(browser, "shared-path")
    e = site.engine.get(eid, actor=BOSS)
    assert e.state == "shared_path"
    assert e.data["first_contact"]["what_brings_us"] == "hjælp til at finde vej"
    assert e.data["first_contact"]["challenges"] == "boligen"


# -- 2. two tabs ------------------------------------------------------------------------------


def test_a_stale_form_is_refused_with_409_and_the_other_tabs_answer_stays(
    site: Site, browser: Any, second: Any
) -> None:
    shot = Shots.of("stale_form")
    eid = site.social_engagement("sag-browser-002")
    login(browser, site, "ahmed.s")
    browser.get(site.url(f"/engagements/{eid}"))
    shot(browser, "tab-a-opened")

    login(second, site, "louise.b")  # a colleague of the same team
    second.get(site.url(f"/engagements/{eid}"))
    assert status_of(second, f"/engagements/{eid}") == 200
    second.find_element("id", "q_who_are_you").send_keys("Svar fra fane B")
    submit(second, second.find_element(*_by("button[name=action][value=save]")))
    assert text(second, "p.flash") == "Gemt."
    shot(second, "tab-b-saved")

    before = site.events(eid)
    browser.find_element("id", "q_who_are_you").send_keys("Svar fra fane A")
    submit(browser, browser.find_element(*_by("button[name=action][value=save]")))
    assert status_of(browser, "/answers") == 409
    shot(browser, "tab-a-refused")
    assert STALE_TEXT in text(browser, "div.error[role=alert]")
    # The page as it is now: the colleague's answer, not the stale one.
    assert browser.find_element("id", "q_who_are_you").get_attribute("value") == "Svar fra fane B"
    assert site.events(eid) == before
    assert site.engine.get(eid, actor=BOSS).data["first_contact"]["who_are_you"] == "Svar fra fane B"


# -- 3. the supervisor -------------------------------------------------------------------------


def test_the_supervisor_sees_the_overdue_card_acknowledges_its_reminder_and_reassigns(
    site: Site, browser: Any
) -> None:
    from selenium.webdriver.support.ui import Select

    shot = Shots.of("supervisor")
    overdue = [
        e for e in site.engine.list(stale=True, actor=BOSS)
        if e.workflow == "individual_course" and e.team == SOCIAL
    ]  # fmt: skip
    assert overdue, "the demo has an overdue engagement of the social team"
    eid = overdue[0].id
    site.engine.sweep()
    open_reminders = site.engine.reminders(engagement_id=eid, open_only=True)
    assert open_reminders, "the sweep raised a reminder for the overdue engagement"

    login(browser, site, LEADER)
    submit(browser, browser.find_element("link text", "Tavle"))
    Select(browser.find_element("id", "board-team")).select_by_value(SOCIAL)
    Select(browser.find_element("id", "board-workflow")).select_by_value("individual_course")
    submit(browser, button(browser, "Vis"))
    shot(browser, "board")
    card = browser.find_element(*_by(f"a.card[data-engagement='{eid}']"))
    assert card.get_attribute("class").split() == ["card", "overdue"]
    assert "Over fristen" in card.text
    # Overdue cards come first in their column.
    column = card.find_element("xpath", "ancestor::section[1]")
    assert column.find_elements(*_by("a.card"))[0].get_attribute("data-engagement") == str(eid)

    submit(browser, browser.find_element("link text", "Påmindelser"))
    shot(browser, "reminders")
    rid = open_reminders[-1].id
    ack = browser.find_element(*_by(f"form[action='/reminders/{rid}/ack'] button"))
    assert ack.text.strip() == "Kvittér"
    submit(browser, ack)
    shot(browser, "acknowledged")
    assert text(browser, "p.flash") == f"Påmindelse {rid} er kvitteret."
    acknowledged = next(r for r in site.engine.reminders(engagement_id=eid) if r.id == rid)
    assert acknowledged.acknowledged_at is not None and acknowledged.acknowledged_by == LEADER
    assert not browser.find_elements(*_by(f"form[action='/reminders/{rid}/ack']"))

    browser.get(site.url(f"/engagements/{eid}"))
    before = site.engine.get(eid, actor=BOSS).assignee
    new = "louise.b" if before != "louise.b" else "ahmed.s"
    assignee = browser.find_element("id", "reassign-assignee")
    assignee.clear()
    assignee.send_keys(new)
    browser.find_element("id", "reassign-reason").send_keys("Ferie: kollega overtager")
    shot(browser, "reassign-filled")
    submit(browser, button(browser, "Omfordel", within=f"form[action='/engagements/{eid}/reassign']"))
    shot(browser, "reassigned")
    assert text(browser, "p.flash") == "Forløbet er omfordelt."
    assert fact(browser, "Medarbejder") == new
    assert site.engine.get(eid, actor=BOSS).assignee == new
    assert site.events(eid)[-1] == "reassigned"


# -- 4. the auditor ----------------------------------------------------------------------------


def test_the_auditor_reads_but_cannot_write(site: Site, browser: Any) -> None:
    shot = Shots.of("auditor")
    eid = site.social_engagement("sag-browser-004")
    login(browser, site, "revisor")
    browser.get(site.url(f"/engagements/{eid}"))
    assert status_of(browser, f"/engagements/{eid}") == 200
    shot(browser, "engagement-read-only")
    assert "sag-browser-004" in text(browser, "h1")
    posts = [f.get_attribute("action") for f in browser.find_elements(*_by("form[method=post]"))]
    assert [urlparse(a).path for a in posts] == ["/logout"], posts
    assert not browser.find_elements(*_by("main button"))

    # A write posted anyway, with the auditor's own session and CSRF token: refused.
    csrf = browser.find_element(*_by("form[action='/logout'] input[name=csrf]")).get_attribute("value")
    before = site.events(eid)
    with httpx.Client(base_url=site.base, cookies=session_cookies(browser)) as client:
        for where, form in (
            (f"/engagements/{eid}/notes", {"text": "revisorens notat"}),
            (f"/engagements/{eid}/answers", {"q_who_are_you": "revisor", "action": "save"}),
        ):
            refused = client.post(where, data={"csrf": csrf, **form}, headers={"Origin": site.base})
            assert refused.status_code == 403, (where, refused.text[:300])
            assert "Ingen adgang" in refused.text
    assert site.events(eid) == before


def test_the_auditor_verifies_the_log_and_exports_csv(site: Site, browser: Any) -> None:
    shot = Shots.of("auditor_audit")
    login(browser, site, "revisor")
    assert path(browser) == "/audit"  # the auditor's home
    submit(browser, browser.find_element("link text", "Kontrol af loggen"))
    assert status_of(browser, "/audit/verify") == 200
    assert not browser.find_elements(*_by("section[aria-labelledby=verify-result]"))
    shot(browser, "verify")
    submit(browser, browser.find_element(*_by("form[action='/audit/verify'][method=get] button")))
    shot(browser, "verified")
    result = text(browser, "section[aria-labelledby=verify-result]")
    assert "Loggen er hel:" in result and "ingen er ændret" in result, result

    browser.get(site.url("/audit?engagement=1"))
    shot(browser, "audit")
    link = browser.find_element(*_by("a[href^='/audit/export.csv']"))
    with httpx.Client(base_url=site.base, cookies=session_cookies(browser)) as client:
        exported = client.get(link.get_attribute("href"))
    assert exported.status_code == 200, exported.text[:300]
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers.get("content-disposition", "")
    rows = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert len(rows) == 1 + len(site.events(1)), rows[:3]
    assert len({len(r) for r in rows}) == 1  # every row has the header's columns


# -- 5. another team's engagement ----------------------------------------------------------------


def test_a_worker_of_another_team_is_refused_and_sees_no_subject(site: Site, browser: Any) -> None:
    shot = Shots.of("other_team")
    eid = site.social_engagement("sag-browser-005")
    login(browser, site, "jonas.p")  # civil-society team
    assert site.engine.staff.resolve(Actor("jonas.p")).teams == frozenset({CIVIL})
    browser.get(site.url(f"/engagements/{eid}"))
    assert status_of(browser, f"/engagements/{eid}") in (403, 404)
    shot(browser, "refused")
    assert "sag-browser-005" not in browser.page_source
    assert text(browser, "h1") in ("Ingen adgang", "Findes ikke")
    # Nor through a move page or the list of his own.
    browser.get(site.url(f"/engagements/{eid}/move/pause"))
    assert status_of(browser, "/move/pause") in (403, 404)
    assert "sag-browser-005" not in browser.page_source
    browser.get(site.url("/mine"))
    assert "sag-browser-005" not in browser.page_source


# -- 6. lockout and CSRF --------------------------------------------------------------------------


def test_five_wrong_passwords_lock_the_login_and_say_until_when(site: Site, browser: Any) -> None:
    shot = Shots.of("lockout")
    who = "mette.k"
    try:
        for n in range(4):
            login(browser, site, who, password=f"forkert-kodeord-{n}")
            assert status_of(browser, "/login") == 401
            assert text(browser, "div.error") == "Forkert brugernavn eller adgangskode."
        # The fifth wrong one locks the entry, and says so at once.
        login(browser, site, who, password="forkert-kodeord-4")
        assert status_of(browser, "/login") == 401
        shot(browser, "fifth-wrong")
        fifth = text(browser, "div.error")
        assert fifth.startswith("For mange forkerte forsøg: kontoen er låst."), fifth
        login(browser, site, who)  # the right password, while locked
        assert status_of(browser, "/login") == 401
        shot(browser, "locked")
        message = text(browser, "div.error")
        found = re.fullmatch(
            r"For mange forkerte forsøg: kontoen er låst\. Prøv igen efter kl\. (\d\d):(\d\d)\.", message
        )
        assert found, message
        now = datetime.now(UTC).astimezone(COPENHAGEN)
        shown = now.replace(hour=int(found.group(1)), minute=int(found.group(2)), second=0, microsecond=0)
        if shown < now - timedelta(hours=1):
            shown += timedelta(days=1)  # the lockout ends after midnight
        assert now + timedelta(minutes=13) <= shown <= now + timedelta(minutes=16), (now, message)
        assert path(browser) == "/login" and SESSION not in session_cookies(browser)
    finally:
        site.engine.logins.set_password(site.engine.staff.actor_for_login(ADMIN), who, PASSWORD)


SESSION = "forloeb_session"


def test_a_form_without_its_csrf_token_is_refused_and_writes_nothing(site: Site, browser: Any) -> None:
    shot = Shots.of("csrf")
    eid = site.social_engagement("sag-browser-006")
    # The login form's own token first: taken out, no session.
    browser.get(site.url("/login"))
    browser.execute_script("document.querySelector(\"form[action='/login'] input[name=csrf]\").remove()")
    browser.find_element("id", "username").send_keys("ahmed.s")
    browser.find_element("id", "password").send_keys(PASSWORD)
    submit(browser, button(browser, "Log ind"))
    assert status_of(browser, "/login") == 403
    assert "Formularen blev afvist" in text(browser, "main")
    assert SESSION not in session_cookies(browser)
    shot(browser, "login-refused")

    login(browser, site, "ahmed.s")
    browser.get(site.url(f"/engagements/{eid}"))
    browser.find_element("id", "note-text").send_keys("notat uden token")
    # WebDriver's script is not subject to the page's CSP (no inline script is allowed there).
    removed = browser.execute_script(
        "const i = document.querySelector(\"form[action$='/notes'] input[name=csrf]\");"
        "i.remove(); return document.querySelectorAll(\"form[action$='/notes'] input[name=csrf]\").length;"
    )
    assert removed == 0
    before = site.events(eid)
    submit(browser, button(browser, "Tilføj notat"))
    assert status_of(browser, "/notes") == 403
    shot(browser, "note-refused")
    assert text(browser, "h1") == "Ingen adgang"
    assert "Formularen blev afvist" in text(browser, "main")
    assert site.events(eid) == before
    assert "notat uden token" not in str(site.engine.history(eid, actor=BOSS))


# -- 7. a consent recorded on the page --------------------------------------------------------------


def test_a_consent_recorded_on_the_engagement_page_is_listed_there(site: Site, browser: Any) -> None:
    shot = Shots.of("consent")
    eid = site.social_engagement("sag-browser-007")
    login(browser, site, "ahmed.s")
    browser.get(site.url(f"/engagements/{eid}"))
    summary = browser.find_element("xpath", "//summary[normalize-space()='Registrér samtykke']")
    summary.click()
    form = browser.find_element(*_by(f"form[action='/engagements/{eid}/consents']"))
    boxes = form.find_elements(*_by("input[type=checkbox][name=to]"))
    assert boxes, "the consent form lists the partners"
    boxes[0].click()
    receiver = boxes[0].get_attribute("value")
    label = str(boxes[0].find_element("xpath", "..").text).strip()
    form.find_element("id", "consent-purpose").send_keys("Samarbejde om skolestart")
    shot(browser, "consent-filled")
    submit(
        browser, button(browser, "Registrér samtykke", within=f"form[action='/engagements/{eid}/consents']")
    )
    # The page with its consent: the receiver by its label (a 500 before the template's fix).
    assert status_of(browser, f"/engagements/{eid}") == 200
    shot(browser, "consent-listed")
    assert text(browser, "p.flash") == "Gemt."
    row = text(browser, "section[aria-labelledby=h-consents] tbody tr")
    assert label in row and "Samarbejde om skolestart" in row and "gældende" in row
    (consent,) = site.engine.consents(eid, actor=BOSS)
    assert consent.to == (receiver,) or list(consent.to) == [receiver]


# -- axe-core and the CSP on every page --------------------------------------------------------------


def _csp_ok(policy: str) -> list[str]:
    directives = {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}
    problems = []
    scripts = directives.get("script-src", directives.get("default-src"))
    if scripts is None or "'unsafe-inline'" in scripts or "'unsafe-eval'" in scripts:
        problems.append(f"script-src {scripts}")
    if directives.get("frame-ancestors") != ["'none'"]:
        problems.append(f"frame-ancestors {directives.get('frame-ancestors')}")
    return problems


def test_every_page_passes_axe_and_carries_the_csp(site: Site, browser: Any) -> None:
    source = axe_source()
    shot = Shots.of("axe")
    own = site.social_engagement("sag-browser-axe")
    site.engine.fire(own, "agree_shared_path", actor=AHMED, data={"what_brings_us": "x", "who_are_you": "y"})
    listed = site.engine.list(actor=BOSS, limit=200)
    closed = next(e.id for e in listed if e.state == "closed")
    handed = next(e.id for e in listed if e.state == "handed_over")  # with the consent it went under
    pages: dict[str, list[str]] = {
        "ahmed.s": [
            "/mine", "/intake", "/engagements/new", f"/engagements/{own}",
            f"/engagements/{own}/move/pause", f"/engagements/{own}/move/withdraw",
            f"/engagements/{own}/move/refer_on", "/password",
        ],
        LEADER: [
            "/board", "/reminders", "/reports", "/caseload", f"/engagements/{own}", f"/engagements/{closed}",
            f"/engagements/{handed}",
        ],
        "revisor": [
            "/audit", "/audit/verify", "/audit/verify?run=1", "/audit/access", "/audit/access-request",
            f"/engagements/{handed}",
        ],
        ADMIN: ["/audit"],
        "jonas.p": [f"/engagements/{own}"],  # the refusal page
    }  # fmt: skip
    failures: list[str] = []

    def check(where: str, label: str, cookies: dict[str, str], expect: tuple[int, ...] = (200,)) -> None:
        browser.get(site.url(where))
        status = status_of(browser)
        if status not in expect:
            failures.append(f"{label} {where}: HTTP {status}")
            return
        shot(browser, re.sub(r"[^a-z0-9.-]+", "_", f"{label}{where}"))
        violations = run_axe(browser, source)
        if violations:
            failures.append(f"{label} {where}:\n{describe(violations)}")
        with httpx.Client(base_url=site.base, cookies=cookies) as client:
            policy = client.get(where).headers.get("content-security-policy", "")
        problems = _csp_ok(policy)
        if problems:
            failures.append(f"{label} {where}: Content-Security-Policy {policy!r}: {problems}")

    check("/login", "anonymous", {})
    check("/docs", "anonymous", {})  # the API's reference page
    login(browser, site, "ahmed.s", password="forkert-kodeord")  # the login page with its error
    check("/login?next=/mine", "anonymous-error", {})
    for who, paths in pages.items():
        browser.delete_all_cookies()
        login(browser, site, who)
        cookies = session_cookies(browser)
        for where in paths:
            check(where, who, cookies, (403, 404) if who == "jonas.p" else (200,))
        check("/no-such-page", who, cookies, (404,))
    # An engagement page with its field errors shown (aria-invalid, the messages).
    browser.delete_all_cookies()
    login(browser, site, "ahmed.s")
    browser.get(site.url(f"/engagements/{own}"))
    submit(browser, browser.find_element(*_by("button[name=action][value='fire:set_own_path']")))
    assert status_of(browser, "/answers") == 422
    violations = run_axe(browser, source)
    if violations:
        failures.append(f"ahmed.s /engagements/{own} (with errors):\n{describe(violations)}")
    assert not failures, "\n".join(failures)
