"""Caseload and reports (issue 13): reassignment, intake, effort areas, reporting
attributes, and `forloeb report` computed from the event log.

The report's figures are checked against figures this test computes itself by
replaying each engagement's history (``engine.history``), on both backends,
also "as of" a past date after later changes. Reassignment moves an engagement
between team queues and the visibility rule follows; the intake is exactly the
unassigned; bad input is one error with nothing written (row counts).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from helpers import (
    ENDINGS,
    FORWARD,
    READER,
    SOURCES,
    FakeClock,
    counts,
)

from forloeb import Actor, Engagement, Engine
from forloeb.cli import cli
from forloeb.engine import COPENHAGEN, InvalidData, PermissionDenied, Taxonomy, settings_from_mapping

ANNA = Actor("anna", ["worker"])  # teams Social, Social udvikling, familie, Civilsamfund …
BO = Actor("bo", ["worker"])  # team Civil (also a supervisor in the register)
CARL = Actor("carl", ["worker"])  # in no team
LEDER = Actor("leder", ["supervisor"])
REVISOR = Actor("revisor", ["auditor"])
FINAL = {"closed", "referred_on", "handed_over"}
SET_COLUMNS = ("assignee", "supervisor", "team", "tags", "person_key", "age_band", "gender", "afdeling")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 1, 5, 9, tzinfo=UTC))  # a Monday


@pytest.fixture
def eng(db_url: str, clock: FakeClock) -> Iterator[Engine]:
    engine = Engine.open(db_url, migrate=True, clock=clock)
    engine.caseload.taxonomy = Taxonomy(afdelinger=_afdelinger())
    try:
        yield engine
    finally:
        engine.close()


def _afdelinger() -> tuple[Any, ...]:
    from forloeb.engine import Term

    return (Term("afd-1", "Afdeling 1", "Section 1"), Term("afd-2", "Afdeling 2", "Section 2"))


def _forward(engine: Engine, clock: FakeClock, e: Engagement, until: str, actor: Actor = ANNA) -> Engagement:
    sources = ["referral", *(reached for _, _, reached in FORWARD)]
    for (trigger, data, reached), source in zip(FORWARD, sources, strict=False):
        if e.state == until:
            break
        if e.state != source:
            continue
        clock.advance(days=3)
        e = engine.fire(e.id, trigger, actor=actor, data=data)
        assert e.state == reached
    assert e.state == until
    return e


def _end(engine: Engine, e: Engagement, ending: str, actor: Actor = ANNA) -> Engagement:
    trigger, data = ENDINGS[ending]
    return engine.fire(e.id, trigger, actor=actor, data=data)


def _start(engine: Engine, workflow: str, subject: str, **kwargs: Any) -> Engagement:
    return engine.start(workflow, subject=subject, source=SOURCES[workflow], actor=ANNA, **kwargs)


def _scenario(engine: Engine, clock: FakeClock) -> dict[str, int]:
    """A first half-year of work: both methods, all kinds of events the report reads."""
    ids: dict[str, int] = {}
    cl = engine.caseload
    # 1. A resident, closed with a goal reached; two engagements of the same person.
    a = _start(
        engine, "individual_course", "sag-a", team="Social", assignee="anna", tags=["Tryghed og trivsel"]
    )
    a = cl.record_reporting(
        a.id, actor=ANNA, person="new", age_band="18-24", gender="kvinde", afdeling="afd-1"
    )
    key = cl.reporting_of(a.id, actor=ANNA)["person_key"]
    assert key is not None and key.startswith("P-")
    a = _forward(engine, clock, a, "action")
    clock.advance(days=2)
    engine.record_activity(a.id, "collaborate", actor=ANNA, data={"with_whom": ["jobcenter"]})
    engine.progress.record_self_help(a.id, "can", actor=ANNA)
    a = _forward(engine, clock, a, "rounding_off")
    clock.advance(days=5)
    a = _end(engine, a, "closed", ANNA)
    ids["a"] = a.id
    b = _start(engine, "individual_course", "sag-b", team="Social", assignee="anna")
    cl.record_reporting(b.id, actor=ANNA, person=key)
    cl.set_areas(b.id, ["beskaeftigelse"], actor=ANNA)
    ids["b"] = b.id
    # 2. A resident referred on; then a handed-over one in another team.
    clock.advance(days=10)
    c = _start(engine, "individual_course", "sag-c", team="Civil", assignee="bo")
    cl.record_reporting(c.id, actor=LEDER, person="new", age_band="40-64", gender="mand")
    c = _forward(engine, clock, c, "rounding_off", actor=BO)
    c = _end(engine, c, "referred_on", BO)
    ids["c"] = c.id
    d = _start(engine, "individual_course", "sag-d", team="Civil", assignee="bo")
    d = _forward(engine, clock, d, "rounding_off", actor=BO)
    d = _end(engine, d, "handed_over", BO)
    ids["d"] = d.id
    # 3. A group with participants and volunteers, in action.
    g = _start(engine, "civil_society", "forening-1", team="Civilsamfund og lokalt engagement")
    g = cl.take(g.id, actor=ANNA)
    engine.progress.update_fields(
        g.id, {"participants": 14, "volunteers": 3, "partners": ["skole"]}, actor=ANNA
    )
    g = _forward(engine, clock, g, "action")
    engine.record_activity(g.id, "investigate", actor=ANNA)
    ids["g"] = g.id
    # 4. Unassigned referrals: one unrouted, one in Civil.
    ids["u1"] = _start(engine, "individual_course", "sag-u1").id
    ids["u2"] = _start(engine, "civil_society", "gruppe-u2", team="Civil").id
    # 5. A reassignment by the supervisor, moving b from Social to Civil.
    clock.advance(days=20)
    cl.reassign(ids["b"], actor=LEDER, assignee="bo", team="Civil", reason="Bo overtager")
    return ids


def _cutoff(end: date, as_of: date | None) -> datetime:
    last = min(end, as_of) if as_of else end
    return datetime.combine(last + timedelta(days=1), datetime.min.time(), COPENHAGEN).astimezone(UTC)


def _expected(engine: Engine, start: date, end: date, as_of: date | None = None) -> dict[str, Any]:
    """The figures, replayed here from each engagement's history (not by the engine's report)."""
    p0 = datetime.combine(start, datetime.min.time(), COPENHAGEN).astimezone(UTC)
    p1 = datetime.combine(end + timedelta(days=1), datetime.min.time(), COPENHAGEN).astimezone(UTC)
    cutoff = _cutoff(end, as_of)
    out: dict[str, Counter[Any]] = {k: Counter() for k in ("new", "active", "ended", "onward", "funnel")}
    people: set[str] = set()
    participants = groups = 0
    for e in engine.list(actor=READER, limit=None):
        d = engine.workflow(e.workflow)
        method = d.labels.da
        events = [ev for ev in engine.history(e.id, actor=READER) if ev.occurred_at < cutoff]
        if not events:
            continue
        first = events[0]
        state, ended_at, outcome, reached = first.to_state, None, None, {first.to_state}
        started_in = p0 <= first.occurred_at < p1
        fields: dict[str, Any] = dict(first.data.get("data", {}))
        person = None
        for ev in events[1:]:
            if ev.type == "transition":
                reached.add(ev.to_state)
                if ev.to_state in FINAL:
                    ended_at, outcome = ev.occurred_at, ev.data.get("outcome")
                    receiver = ev.data["data"].get("receiver") or ev.data["data"].get("referred_to")
                    if receiver and p0 <= ev.occurred_at < p1:
                        out["onward"][receiver] += 1
                state = ev.to_state
            elif ev.type == "reporting" and "person_key" in ev.data["set"]:
                person = ev.data["set"]["person_key"]
            elif ev.type == "fields":
                fields.update(ev.data["data"])
        if started_in:
            source = next(c for c in d.referral_sources if c.key == first.data["source"]).labels.da
            out["new"][(method, source)] += 1
            for s in d.stages:
                if s.key in reached:
                    out["funnel"][(method, s.labels.da)] += 1
        if state not in FINAL:
            out["active"][(method, d.stage(state).labels.da)] += 1
        elif ended_at is not None and p0 <= ended_at < p1:
            out["ended"][(method, next(o for o in d.outcomes if o.key == outcome).labels.da)] += 1
        served = first.occurred_at < p1 and (state not in FINAL or (ended_at is not None and ended_at >= p0))
        if served and e.workflow == "individual_course":
            people.add(person or f"#{e.id}")
        if served and e.workflow == "civil_society":
            groups += 1
            participants += int(fields.get("participants") or 0)
    return {**out, "residents": len(people), "groups": groups, "participants": participants}


def _section(report: dict[str, Any], key: str) -> dict[str, Any]:
    return next(s for s in report["sections"] if s["key"] == key)


def _pairs(report: dict[str, Any], key: str) -> Counter[Any]:
    return Counter({tuple(r[:-1]): r[-1] for r in _section(report, key)["rows"]})


def _check(report: dict[str, Any], expected: dict[str, Any]) -> None:
    assert _pairs(report, "new_by_source") == expected["new"]
    assert _pairs(report, "active_by_stage") == expected["active"]
    assert _pairs(report, "ended_by_outcome") == expected["ended"]
    funnel = Counter({k: v for k, v in _pairs(report, "funnel").items() if v})
    assert funnel == expected["funnel"]
    assert sum(r[-1] for r in _section(report, "residents_by_gender")["rows"]) == expected["residents"]
    assert sum(r[-1] for r in _section(report, "residents_by_age_band")["rows"]) == expected["residents"]
    groups = {r[0]: r[1] for r in _section(report, "groups")["rows"]}
    assert groups["Grupper"] == expected["groups"]
    assert groups["Deltagere"] == expected["participants"]
    assert sum(r[-1] for r in _section(report, "onward")["rows"]) == sum(expected["onward"].values())


def test_report_figures_equal_a_replay_of_the_events_also_as_of_a_past_date(
    eng: Engine, clock: FakeClock
) -> None:
    ids = _scenario(eng, clock)
    year = {"start": date(2026, 1, 1), "end": date(2026, 12, 31)}
    clock.set(datetime(2026, 7, 1, 8, tzinfo=UTC))
    before = eng.caseload.report(actor=LEDER, **year, as_of=date(2026, 6, 30))
    _check(before, _expected(eng, **year, as_of=date(2026, 6, 30)))
    # What the scenario makes: one person with two engagements counts once.
    assert _expected(eng, **year)["residents"] == 4  # a+b (one key), c, d, u1
    assert _pairs(before, "ended_by_outcome")[("Individuelt forløb", "Mål nået")] == 1
    assert _section(before, "groups")["rows"][1][1] == 14
    # Later changes: the group grows, b is closed, u1 is taken and routed.
    clock.advance(days=30)
    eng.progress.update_fields(ids["g"], {"participants": 30}, actor=ANNA)
    eng.caseload.take(ids["u1"], actor=ANNA, team="Social")
    b = eng.get(ids["b"], actor=LEDER)
    b = _forward(eng, clock, b, "rounding_off", actor=BO)
    _end(eng, b, "closed", BO)
    again = eng.caseload.report(actor=LEDER, **year, as_of=date(2026, 6, 30))
    assert again == before  # the report as it stood on 30 June, whatever happened since
    now = eng.caseload.report(actor=LEDER, **year)
    assert now != before
    _check(now, _expected(eng, **year))
    assert _section(now, "groups")["rows"][1][1] == 30
    assert _pairs(now, "ended_by_outcome")[("Individuelt forløb", "Mål nået")] == 2
    # A shorter period counts only its own new referrals.
    january = {"start": date(2026, 1, 1), "end": date(2026, 1, 31)}
    _check(eng.caseload.report(actor=LEDER, **january), _expected(eng, **january))


def test_every_column_event_carries_its_new_values_under_set(eng: Engine, clock: FakeClock) -> None:
    """The contract with `audit verify`: applying each event's "set" to the started
    values gives the row's columns."""
    ids = _scenario(eng, clock)
    with eng._kernel.read() as tx:  # the raw rows: the reporting columns are not in snapshots
        rows = {i: tx.get_engagement(i) for i in ids.values()}
    for eid, row in rows.items():
        assert row is not None
        history = eng.history(eid, actor=READER)
        replayed = {k: history[0].data.get(k) for k in ("assignee", "supervisor", "team", "tags")}
        replayed.update(dict.fromkeys(("person_key", "age_band", "gender", "afdeling")))
        for ev in history[1:]:
            if ev.type in ("reassigned", "areas", "reporting"):
                assert set(ev.data["set"]) <= set(SET_COLUMNS)
                assert set(ev.data["from"]) == set(ev.data["set"])
                replayed.update(ev.data["set"])
        assert replayed == {k: (list(row[k]) if k == "tags" else row[k]) for k in SET_COLUMNS}


def test_reassignment_moves_an_engagement_between_team_queues_and_visibility_follows(
    eng: Engine,
) -> None:
    e = _start(eng, "individual_course", "sag-r", team="Social", assignee="anna")
    assert [x.id for x in eng.list(team="Social", actor=ANNA)] == [e.id]
    with pytest.raises(PermissionDenied):
        eng.get(e.id, actor=BO)
    # Nobody but a supervisor or the assignee may move it: nothing written.
    before = counts(eng)
    with pytest.raises(PermissionDenied):
        eng.caseload.reassign(e.id, actor=CARL, team="Civil", reason="vil have den")
    assert counts(eng) == before
    moved = eng.caseload.reassign(e.id, actor=LEDER, team="Civil", assignee="bo", reason="Bo har tid")
    assert (moved.team, moved.assignee) == ("Civil", "bo")
    assert eng.list(team="Social", actor=LEDER) == []
    assert [x.id for x in eng.list(team="Civil", actor=LEDER)] == [e.id]
    assert eng.get(e.id, actor=BO).assignee == "bo"
    with pytest.raises(PermissionDenied):
        eng.get(e.id, actor=ANNA)  # no longer her team, no longer hers
    [last] = eng.history(e.id, actor=LEDER)[-1:]
    assert last.type == "reassigned" and last.actor == "leder"
    assert last.data == {
        "set": {"assignee": "bo", "team": "Civil"},
        "from": {"assignee": "anna", "team": "Social"},
        "via": "supervisor",
        "reason": "Bo har tid",
    }
    # The assignee hands it on (to a colleague in no team): bo loses sight, carl has it.
    handed = eng.caseload.reassign(e.id, actor=BO, assignee="carl", team=None, reason="ferie")
    assert (handed.assignee, handed.team) == ("carl", None)
    assert eng.history(e.id, actor=CARL)[-1].data["via"] == "hand_on"
    # ... and an assignee may not name a supervisor.
    with pytest.raises(PermissionDenied):
        eng.caseload.reassign(e.id, actor=CARL, supervisor="leder", reason="leder")


def test_intake_shows_exactly_the_unassigned_ones_a_worker_may_see(eng: Engine, clock: FakeClock) -> None:
    ids = _scenario(eng, clock)
    # The scenario left u1 (no team) and u2 (team Civil) without an assignee.
    assert [e.id for e in eng.caseload.intake(actor=LEDER)] == [ids["u1"], ids["u2"]]
    assert [e.id for e in eng.caseload.intake(actor=ANNA)] == [ids["u1"]]  # Civil is not hers
    assert [e.id for e in eng.caseload.intake(actor=BO)] == [ids["u1"], ids["u2"]]
    assert [e.id for e in eng.caseload.intake(actor=LEDER, team="Civil")] == [ids["u2"]]
    taken = eng.caseload.take(ids["u2"], actor=BO)
    assert taken.assignee == "bo"
    assert [e.id for e in eng.caseload.intake(actor=LEDER)] == [ids["u1"]]
    before = counts(eng)
    with pytest.raises(InvalidData, match=r"indbakken|intake"):
        eng.caseload.take(ids["u2"], actor=BO)  # taken already
    with pytest.raises(PermissionDenied):
        eng.caseload.take(ids["u2"], actor=ANNA)  # not hers to see
    with pytest.raises(PermissionDenied):
        eng.caseload.take(ids["u1"], actor=ANNA, team="Civil")  # not one of her teams
    assert counts(eng) == before
    # The caseload counts per worker and team; the intake is the row without one.
    load = {(r["assignee"], r["team"]): r for r in eng.caseload.overview(actor=LEDER)}
    assert load[(None, None)]["open"] == 1
    assert load[("bo", "Civil")]["open"] == 2  # b (reassigned) and u2 (taken); c and d ended
    assert sum(r["open"] for r in load.values()) == sum(
        1 for e in eng.list(actor=LEDER, limit=None) if e.state not in FINAL
    )
    mine = eng.caseload.overview(actor=ANNA)
    assert {r["team"] for r in mine} <= {None, "Social", "Civilsamfund og lokalt engagement"}


@pytest.mark.parametrize(
    "call",
    [
        lambda cl, i: cl.set_areas(i, ["tryghed og trivsel"], actor=ANNA),  # a label, not a key
        lambda cl, i: cl.set_areas(i, ["tryghed_trivsel"], actor=ANNA),  # not valid in 2026
        lambda cl, i: cl.reassign(i, actor=LEDER, assignee="nobody", reason="x"),
        lambda cl, i: cl.reassign(i, actor=LEDER, supervisor="anna", reason="x"),  # not a supervisor
        lambda cl, i: cl.reassign(i, actor=LEDER, team="Social", reason=""),
        lambda cl, i: cl.reassign(i, actor=LEDER, team="Social", reason="ring 010203-1234"),  # a CPR
        lambda cl, i: cl.record_reporting(i, actor=ANNA, gender="k"),
        lambda cl, i: cl.record_reporting(i, actor=ANNA, age_band="17"),
        lambda cl, i: cl.record_reporting(i, actor=ANNA, afdeling="afd-9"),
        lambda cl, i: cl.record_reporting(i, actor=ANNA, person="P-doesnotexist"),
        lambda cl, i: cl.record_reporting(i, actor=ANNA, cpr="0102031234"),
        lambda cl, i: cl.report(actor=LEDER, start=date(2026, 2, 1), end=date(2026, 1, 1)),
        lambda cl, i: cl.report(actor=LEDER, start=date(2026, 1, 1), end=date(2026, 2, 1), area="tryghed"),
    ],
)
def test_bad_input_is_one_error_and_nothing_written(eng: Engine, call: Callable[..., object]) -> None:
    e = _start(eng, "individual_course", "sag-x", team="Social", assignee="anna")
    before = counts(eng)
    with pytest.raises(InvalidData) as err:
        call(eng.caseload, e.id)
    assert "0102031234" not in str(err.value)
    assert counts(eng) == before


def test_unknown_areas_are_refused_with_the_list_and_matched_by_key(eng: Engine) -> None:
    e = _start(eng, "individual_course", "sag-t", team="Social", tags=["tryghed og trivsel"])
    with pytest.raises(InvalidData) as err:
        eng.caseload.set_areas(e.id, ["Beskæftigelse"], actor=ANNA)
    assert "beskaeftigelse (Beskæftigelse)" in err.value.detail
    e2 = _start(eng, "individual_course", "sag-t2", team="Social")
    eng.caseload.set_areas(e2.id, ["beskaeftigelse", "kriminalitetsforebyggelse"], actor=ANNA)
    assert list(eng.get(e2.id, actor=ANNA).tags) == ["beskaeftigelse", "kriminalitetsforebyggelse"]
    assert [x.id for x in eng.list(tag="beskaeftigelse", actor=ANNA)] == [e2.id]
    year = {"start": date(2026, 1, 1), "end": date(2026, 12, 31)}
    # The free-text tag from before the taxonomy counts under its area (a label, any case).
    old = eng.caseload.report(actor=LEDER, **year, area="tryghed_trivsel")
    assert _section(old, "new_by_source")["total"] == 1
    new = eng.caseload.report(actor=LEDER, **year, area="beskaeftigelse")
    assert _section(new, "new_by_source")["total"] == 1


def test_a_worker_reports_on_their_own_teams_only(eng: Engine, clock: FakeClock) -> None:
    _scenario(eng, clock)
    year = {"start": date(2026, 1, 1), "end": date(2026, 12, 31)}
    mine = eng.caseload.report(actor=ANNA, **year)
    assert mine["scope"] == sorted(eng.staff.show(Actor("tester", ["admin"]), "anna").teams)
    everything = eng.caseload.report(actor=REVISOR, **year)
    assert _section(mine, "new_by_source")["total"] < _section(everything, "new_by_source")["total"]
    before = counts(eng)
    with pytest.raises(PermissionDenied):
        eng.caseload.report(actor=ANNA, **year, team="Civil")
    assert counts(eng) == before
    # Who ran which report is in the access log, with the criteria.
    runs = [e for e in eng.audit.access(REVISOR, actor="anna") if e.action == "report"]
    assert len(runs) == 1 and runs[0].criteria is not None and runs[0].criteria["from"] == "2026-01-01"


def test_the_person_key_is_erased_with_the_persons_last_engagement(eng: Engine, db_url: str) -> None:
    from sqlalchemy import create_engine, text

    a = _start(eng, "individual_course", "sag-p1", team="Social")
    eng.caseload.record_reporting(a.id, actor=ANNA, person="new")
    key = eng.caseload.reporting_of(a.id, actor=ANNA)["person_key"]
    b = _start(eng, "individual_course", "sag-p2", team="Social")
    eng.caseload.record_reporting(b.id, actor=ANNA, person=key)
    sa = create_engine(db_url)
    try:

        def holding() -> int:
            with sa.connect() as conn:
                rows = conn.execute(
                    text("SELECT count(*) FROM engagements WHERE person_key = :k"), {"k": key}
                )
                events = conn.execute(text("SELECT payload FROM events")).all()
                return int(rows.scalar_one()) + sum(1 for (p,) in events if key in str(p))

        assert holding() == 4  # two rows, two events
        eng.erase(a.id, actor=LEDER, reason="art. 17")
        assert holding() == 2  # the other engagement still links the person
        c = _start(eng, "individual_course", "sag-p3", team="Social")
        eng.caseload.record_reporting(c.id, actor=ANNA, person=key)  # still linkable
        eng.erase(b.id, actor=LEDER, reason="art. 17")
        eng.erase(c.id, actor=LEDER, reason="art. 17")
        assert holding() == 0
        before = counts(eng)
        d = _start(eng, "individual_course", "sag-p4", team="Social")
        with pytest.raises(InvalidData):  # gone: it cannot be linked again
            eng.caseload.record_reporting(d.id, actor=ANNA, person=key)
        assert counts(eng)["events"] == before["events"] + 1
    finally:
        sa.dispose()


def test_taxonomy_comes_from_the_configuration() -> None:
    settings = settings_from_mapping(
        {
            "areas": [{"key": "tryghed", "da": "Tryghed", "en": "Safety", "valid_from": date(2027, 1, 1)}],
            "teams": [{"key": "social", "da": "Social udvikling", "en": "Social development"}],
            "reporting": {"afdelinger": [{"key": "a1", "da": "Afd. 1", "en": "Section 1"}]},
        }
    )
    tax = settings.taxonomy
    assert tax is not None
    assert [a.key for a in tax.areas] == ["tryghed"]
    assert tax.check_areas(["tryghed"], date(2027, 3, 1)) == ["tryghed"]
    with pytest.raises(InvalidData, match="tryghed"):
        tax.check_areas(["tryghed"], date(2026, 3, 1))  # not valid yet
    with pytest.raises(InvalidData, match="social"):
        tax.check_team("Civil")
    with pytest.raises(InvalidData):
        settings_from_mapping({"areas": [{"key": "x", "da": "X"}]})
    assert Taxonomy().check_team("any team at all") == "any team at all"  # none configured


# -- the CLI -------------------------------------------------------------------------------


def _cli(db: str, who: str, *args: str) -> Any:
    env = {"FORLOEB_DB": None, "FORLOEB_ACTOR": None, "FORLOEB_LANG": None, "FORLOEB_CONFIG": None}
    return CliRunner(env=env).invoke(cli, ["--db", db, "--as", who, *args], catch_exceptions=False)


@pytest.fixture
def cli_db(tmp_path: Path) -> str:
    db = f"sqlite:///{tmp_path / 'r.db'}"
    with Engine.open(db, migrate=True) as engine:
        e = _start(engine, "individual_course", "sag-c1", team="Social", assignee="anna")
        for trigger, data, _ in FORWARD[:2]:
            engine.fire(e.id, trigger, actor=ANNA, data=data)
        _start(engine, "individual_course", "sag-c2")
        _start(engine, "civil_society", '=HYPERLINK("x")', team="Social")
    return db


def test_cli_report_formats_and_bad_input_writes_no_file(cli_db: str, tmp_path: Path) -> None:
    year = ["--from", "2026-01-01", "--to", "2026-12-31"]
    table = _cli(cli_db, "leder", "report", *year)
    assert table.exit_code == 0, table.output
    assert "Nye henvendelser efter kilde" in table.output and "Skole" in table.output
    as_csv = _cli(cli_db, "leder", "report", *year, "--format", "csv")
    assert as_csv.output.splitlines()[0] == "new_by_source,Metode,Kilde,Antal"
    as_json = _cli(cli_db, "leder", "--json", "report", *year)
    import json

    figures = json.loads(as_json.output)
    assert _section(figures, "active_by_stage")["total"] == 3
    out = tmp_path / "rapport.html"
    bad = _cli(cli_db, "leder", "report", "--from", "2026-12-31", "--to", "2026-01-01", "--format", "html",
               "--out", str(out))  # fmt: skip
    assert bad.exit_code == 1 and "--to" in bad.output
    assert not out.exists()
    denied = _cli(cli_db, "anna", "report", *year, "--team", "Civil", "--out", str(out))
    assert denied.exit_code == 1
    assert not out.exists()
    done = _cli(cli_db, "leder", "report", *year, "--format", "html", "--out", str(out))
    assert done.exit_code == 0, done.output
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and '<html lang="da">' in page
    assert page.count("<svg") >= 3 and "<script" not in page
    assert (out.stat().st_mode & 0o777) == 0o600


def test_cli_intake_take_reassign_areas_reporting_caseload(cli_db: str) -> None:
    listed = _cli(cli_db, "anna", "intake")
    assert "sag-c2" in listed.output and "sag-c1" not in listed.output
    took = _cli(cli_db, "anna", "take", "2")
    assert took.exit_code == 0 and "medarbejder anna" in took.output
    left = _cli(cli_db, "anna", "intake").output
    assert "sag-c2" not in left and "HYPERLINK" in left
    moved = _cli(cli_db, "leder", "reassign", "2", "--team", "Civil", "--assignee", "bo", "--reason", "Bo")
    assert moved.exit_code == 0 and "team Civil" in moved.output
    refused = _cli(cli_db, "anna", "areas", "set", "1", "Tryghed")
    assert refused.exit_code == 1 and "beskaeftigelse" in refused.output
    assert _cli(cli_db, "anna", "areas", "set", "1", "beskaeftigelse").exit_code == 0
    rep = _cli(cli_db, "anna", "reporting", "1", "--person", "new", "--age-band", "18-24")
    assert rep.exit_code == 0 and "personnøgle P-" in rep.output
    load = _cli(cli_db, "leder", "caseload")
    assert "Over frist" in load.output and "bo" in load.output
    assert "uddannelse_livschancer" in _cli(cli_db, "anna", "areas", "list").output


def test_help_loads_no_plotting_library() -> None:
    """matplotlib is the [reports] extra: `forloeb --help` and `forloeb report --help`
    never import it (only --format html does)."""
    import json
    import os
    import subprocess
    import sys

    script = (
        "import json, sys\n"
        "from forloeb.cli import main\n"
        "for args in (['--help'], ['report', '--help'], ['caseload', '--help'], ['intake', '--help']):\n"
        "    sys.argv = ['forloeb', *args]\n"
        "    try:\n"
        "        main()\n"
        "    except SystemExit as exit:\n"
        "        assert exit.code in (0, None), (args, exit.code)\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "--from DATE" in done.stdout
    modules = set(json.loads(done.stderr.strip().splitlines()[-1]))
    assert "forloeb.cli._report" in modules  # the help was the report's own
    heavy = {
        m for m in modules if m.split(".")[0] in ("matplotlib", "numpy", "PIL", "selenium", "sqlalchemy")
    }
    assert heavy == set()


def test_an_admin_sees_no_caseload_intake_or_report(eng: Engine) -> None:
    admin = Actor("tester", ["admin"])
    _start(eng, "individual_course", "sag-adm")
    for call in (
        lambda: eng.caseload.intake(actor=admin),
        lambda: eng.caseload.overview(actor=admin),
        lambda: eng.caseload.report(actor=admin, start=date(2026, 1, 1), end=date(2026, 12, 31)),
    ):
        with pytest.raises(PermissionDenied):
            call()
    refusals = [e for e in eng.audit.access(REVISOR, actor="tester") if e.action == "refused"]
    assert len(refusals) == 3


def test_bench_report_runs_and_reports_the_floor(tmp_path: Path) -> None:
    """bench/bench_report.py still runs (tiny sizes; figures are not asserted)."""
    import json
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, str(root / "bench" / "bench_report.py"), "--sizes", "300,100", "--repeat", "1",
         "--cache", str(tmp_path)],
        capture_output=True, text=True, check=True, cwd=root,
    ).stdout  # fmt: skip
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert {r["measure"] for r in rows} == {"floor", "report", "table", "csv", "json", "html", "caseload"}
    assert {r["engagements"] for r in rows} == {300, 100}
