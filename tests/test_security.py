"""Issue 11, the security review's findings, through the Python API (an embedding app).

The CLI's reproductions are in ``test_security_cli.py``; here the same
findings as an app meets them: the register is the only source of roles and
teams, the visibility rule holds on every read and write, the access log is
complete and tamper-evident, background work and exports have their roles,
and a resident's access request is whole. Both backends.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from helpers import PLAN, READER, FakeClock, counts, drive, start
from sqlalchemy import text

from forloeb import Actor, Engine, Impersonation, InvalidData, NotInRegister, PermissionDenied
from forloeb.engine import SYSTEM_ACTOR, Engagement

ADMIN = Actor("tester")
ANNA = Actor("anna", ["worker"])
BENT = Actor("bent", ["worker"])  # a worker of team Civil (added per test)


def _sa(engine: Engine) -> Any:
    return engine.store.sa_engine  # type: ignore[attr-defined]


@pytest.fixture
def social(engine: Engine) -> Engagement:
    """Team Social's engagement with a confidential note; bent works in team Civil."""
    engine.staff.add(ADMIN, "bent", roles=["worker"], teams=["Civil"])
    e = start(engine, ANNA, team="Social", subject="sag-social")
    e = engine.add_note(e.id, "Fortroligt: familien har gæld", actor=ANNA)
    return e


def _refusals(engine: Engine) -> list[Any]:
    return [a for a in engine.audit.access(Actor("revisor")) if a.action == "refused"]


# -- C1: what a caller says about itself -------------------------------------------------


def test_an_actor_claiming_a_role_the_register_does_not_grant_is_refused(
    engine: Engine, social: Engagement
) -> None:
    before = counts(engine)
    with pytest.raises(NotInRegister) as info:
        engine.fire(social.id, "withdraw", actor=Actor("anna", ["supervisor"]), data={"reason": "x"})
    assert info.value.reason == "roles" and "supervisor" in info.value.message("en")
    with pytest.raises(NotInRegister):
        engine.erase(social.id, actor=Actor("anybody", ["supervisor"]), reason="x")
    assert counts(engine) == before
    assert {(a.actor, a.criteria["reason"]) for a in _refusals(engine)} == {
        ("anna", "roles"),
        ("anybody", "unknown"),
    }


def test_roles_and_teams_come_from_the_register(engine: Engine, social: Engagement) -> None:
    # A bare id acts with the register's roles and teams; naming fewer narrows them.
    assert engine.staff.resolve(Actor("bo")).roles == frozenset({"worker", "supervisor"})
    assert engine.staff.resolve(Actor("bo", ["worker"])).roles == frozenset({"worker"})
    assert engine.staff.resolve(Actor("anna")).teams >= {"Social"}
    with pytest.raises(NotInRegister):
        engine.staff.resolve(Actor("bent", ["worker"], teams=["Social"]))  # a team he is not in


def test_a_deactivated_member_can_neither_read_nor_write(engine: Engine, social: Engagement) -> None:
    engine.staff.deactivate(ADMIN, "anna", reason="Fratrådt")
    with pytest.raises(NotInRegister, match=r"deaktiveret|deactivated"):
        engine.get(social.id, actor=ANNA)
    with pytest.raises(NotInRegister):
        engine.add_note(social.id, "x", actor=ANNA)
    engine.staff.update(ADMIN, "anna", active=True)
    assert engine.get(social.id, actor=ANNA).id == social.id


def test_only_an_admin_may_act_as_someone_else(engine: Engine, social: Engagement) -> None:
    with pytest.raises(NotInRegister, match="bo"):
        engine.add_note(social.id, "x", actor=Impersonation("anna", by="bo"))  # bo is no admin
    e = engine.add_note(social.id, "Ringede", actor=Impersonation("anna", by="tester"))
    last = engine.history(e.id, actor=READER)[-1]
    assert (last.actor, last.role, last.data["impersonated_by"]) == ("anna", "worker", "tester")
    engine.get(e.id, actor=Impersonation("anna", by="tester"))
    read = engine.audit.access(Actor("revisor"), engagement_id=e.id)[-1]
    assert (read.actor, read.impersonator) == ("anna", "tester")


def test_the_system_actor_cannot_be_named_by_a_caller(engine: Engine, social: Engagement) -> None:
    for name in ("forloeb", "system"):
        with pytest.raises(NotInRegister):
            engine.add_note(social.id, "x", actor=Actor(name, ["system"]))
        with pytest.raises(InvalidData):
            engine.staff.add(ADMIN, name, roles=["admin"])
    with pytest.raises(PermissionDenied):  # the object itself acts for background work only
        engine.add_note(social.id, "x", actor=SYSTEM_ACTOR)


def test_the_register_is_managed_by_admins_and_keeps_an_admin(engine: Engine) -> None:
    with pytest.raises(PermissionDenied):
        engine.staff.add(Actor("leder"), "eve", roles=["admin"])
    with pytest.raises(InvalidData, match="admin"):
        engine.staff.deactivate(ADMIN, "tester")  # the last active admin
    engine.staff.add(ADMIN, "eve", roles=["admin"], login="eve")
    assert engine.staff.deactivate(ADMIN, "tester").active is False
    with pytest.raises(InvalidData, match="login"):
        engine.staff.add(Actor("eve"), "frank", roles=["worker"], login="eve")  # taken
    changes = [a for a in engine.audit.access(Actor("revisor")) if a.actor in ("tester", "eve")]
    assert [a.action for a in changes][-2:] == ["staff_add", "staff_deactivate"]


# -- H1: teams -----------------------------------------------------------------------------


def test_worker_of_another_team_cannot_read_notes(engine: Engine, social: Engagement) -> None:
    before = counts(engine)
    attempts = [
        lambda: engine.get(social.id, actor=BENT),
        lambda: engine.history(social.id, actor=BENT),
        lambda: engine.available_triggers(social.id, BENT),
        lambda: engine.consents(social.id, actor=BENT),
        lambda: engine.add_note(social.id, "x", actor=BENT),
        lambda: engine.record_details(social.id, {"wish": "x"}, actor=BENT),
        lambda: engine.fire(social.id, "pause", actor=BENT, data={"reason": "x"}),
        lambda: engine.give_consent(social.id, actor=BENT, information="all", to="jobcenter", purpose="x"),
        lambda: engine.audit.timeline(BENT, social.id),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDenied):
            attempt()
    assert counts(engine) == before
    assert [(a.actor, a.engagement_id) for a in _refusals(engine)] == [("bent", social.id)] * len(attempts)
    assert engine.list(actor=BENT) == []
    # Unrouted intake is everyone's; one's own assignment too.
    intake = start(engine, ANNA, subject="sag-intake")
    mine = start(engine, ANNA, team="Social", assignee="bent", subject="sag-bent")
    assert [e.id for e in engine.list(actor=BENT)] == [intake.id, mine.id]
    engine.add_note(mine.id, "Overtaget", actor=BENT)


# -- H6: the access log ------------------------------------------------------------------------


def _read_twice(engine: Engine, e: Engagement) -> None:
    engine.get(e.id, actor=ANNA)
    engine.history(e.id, actor=ANNA)


def test_an_edited_access_log_entry_breaks_its_chain(engine: Engine, social: Engagement) -> None:
    _read_twice(engine, social)
    assert engine.audit.verify(Actor("revisor")).ok
    with _sa(engine).begin() as conn:
        conn.execute(text("UPDATE access_log SET actor = 'bo' WHERE action = 'read'"))
    breaks = engine.audit.verify(Actor("revisor")).breaks
    assert [(b.chain, b.kind) for b in breaks] == [("access", "hash")]


def test_a_deleted_access_log_entry_breaks_its_chain(engine: Engine, social: Engagement) -> None:
    _read_twice(engine, social)
    with _sa(engine).begin() as conn:
        conn.execute(text("DELETE FROM access_log WHERE action = 'read'"))
    kinds = {(b.chain, b.kind) for b in engine.audit.verify(Actor("revisor")).breaks}
    assert ("access", "gap") in kinds or ("access", "link") in kinds


def test_an_entry_written_outside_forloeb_is_caught(engine: Engine, social: Engagement) -> None:
    with _sa(engine).begin() as conn:
        conn.execute(
            text(
                "INSERT INTO access_log (occurred_at, actor, role, action, engagement_id, subject)"
                " VALUES ('2026-01-01 00:00:00', 'x', 'supervisor', 'delete', :e, 'sag-social')"
            ),
            {"e": social.id},
        )
    assert [b.kind for b in engine.audit.verify(Actor("revisor")).breaks] == ["unchained"]


def test_a_forged_deletion_record_does_not_make_a_removal_lawful(engine: Engine, social: Engagement) -> None:
    revisor = Actor("revisor")
    checkpoint = engine.audit.checkpoint(revisor)
    with _sa(engine).begin() as conn:  # removed outside forloeb, and a deletion record forged
        for table in ("events", "engagements"):
            key = "engagement_id" if table == "events" else "id"
            conn.execute(text(f"DELETE FROM {table} WHERE {key} = :e"), {"e": social.id})
        conn.execute(
            text(
                "INSERT INTO access_log (occurred_at, actor, role, action, engagement_id, subject, criteria)"
                " VALUES ('2099-01-01 00:00:00', 'leder', 'supervisor', 'delete', :e, 'sag-social',"
                " '{\"events\": 2}')"
            ),
            {"e": social.id},
        )
    report = engine.audit.verify(revisor, checkpoint=checkpoint)
    assert {b.kind for b in report.breaks} >= {"missing", "unchained"} and report.erased == []
    # Nor can the API forge one.
    with pytest.raises(InvalidData):
        engine.audit.log_access(Actor("leder"), "delete", engagements=[{"id": 1, "subject": "x"}])


def test_a_lawful_erasure_and_a_purge_keep_the_chains_whole(clocked_engine: Engine, clock: FakeClock) -> None:
    engine = clocked_engine
    e = drive(engine, ANNA, "closed")
    engine.get(e.id, actor=ANNA)
    checkpoint = engine.audit.checkpoint(Actor("revisor"))
    engine.erase(e.id, actor=Actor("leder"), reason="Borgeren bad om det")
    clock.advance(days=400)
    assert engine.audit.purge_access(Actor("leder")) >= 1  # the read, not the deletion record
    report = engine.audit.verify(Actor("revisor"), checkpoint=checkpoint)
    assert report.ok, report.breaks
    assert [b.engagement_id for b in report.erased] == [e.id]
    assert report.access_entries > 0


def test_an_auditor_cannot_purge_the_access_log(engine: Engine, social: Engagement) -> None:
    with pytest.raises(PermissionDenied):
        engine.audit.purge_access(Actor("revisor"), retention=timedelta(0))
    assert engine.audit.purge_access(Actor("leder"), retention=timedelta(0), dry_run=True) >= 0


# -- M6: background work ----------------------------------------------------------------------


def test_an_auditor_cannot_sweep_dispatch_or_digest(engine: Engine) -> None:
    revisor = Actor("revisor")
    for job in (engine.sweep, engine.dispatch, engine.send_digests):
        with pytest.raises(PermissionDenied):
            job(actor=revisor)  # type: ignore[operator]
        job(actor=Actor("leder"))  # type: ignore[operator]
        job()  # type: ignore[operator]  # the system actor: the scheduler's


def test_a_sweep_ahead_of_the_real_clock_is_refused_except_in_a_simulation(db_url: str) -> None:
    far = datetime(2099, 1, 1, tzinfo=UTC)
    with Engine.open(db_url, migrate=True) as engine:
        drive(engine, ANNA, "referral")
        before = counts(engine)
        for job in (engine.sweep, engine.dispatch, engine.send_digests):
            with pytest.raises(InvalidData, match=r"ahead of the clock|efter uret"):
                job(far)  # type: ignore[operator]
        assert counts(engine) == before
    with Engine.open(db_url, simulation=True) as simulation:
        assert simulation.sweep(far)


# -- M8: what was not in the access log ------------------------------------------------------


def test_triggers_and_every_read_are_in_the_access_log(engine: Engine, social: Engagement) -> None:
    engine.available_triggers(social.id, ANNA)
    engine.consents(social.id, actor=ANNA)
    assert [a.action for a in engine.audit.access(Actor("revisor"), engagement_id=social.id)][-2:] == [
        "triggers",
        "read",
    ]
    for read in (engine.get, engine.history, engine.consents):
        with pytest.raises(TypeError):  # no anonymous reads through the API
            read(social.id)  # type: ignore[operator, call-arg]
    with pytest.raises(TypeError):
        engine.list()  # type: ignore[call-arg]


# -- M9, M10 and the right of access -----------------------------------------------------------


def test_an_auditor_cannot_export_a_handover_package(engine: Engine, social: Engagement) -> None:
    engine.give_consent(social.id, actor=ANNA, information="all", to="jobcenter", purpose="Praktik")
    before = counts(engine)
    with pytest.raises(PermissionDenied):
        engine.export_handover(social.id, actor=Actor("revisor"), receiver="jobcenter")
    assert counts(engine) == before
    assert engine.export_handover(social.id, actor=ANNA, receiver="jobcenter").event.role == "worker"


def test_access_request_redacts_staff_names_in_free_text(engine: Engine, social: Engagement) -> None:
    engine.get(social.id, actor=Actor("leder"), purpose="Tjek efter samtale med Anna Andersen og bo")
    package = engine.audit.access_request(Actor("revisor"), "sag-social")
    dumped = package.json.lower() + package.text.lower()
    for name in ("anna", "andersen", "leder", "tester", "bo "):
        assert name not in dumped, name
    assert "[medarbejder]" in package.text
    full = engine.audit.access_request(Actor("revisor"), "sag-social", redact_staff=False)
    assert "anna" in full.json


def test_access_request_is_the_residents_whole_data(engine: Engine) -> None:
    e = drive(engine, ANNA, "action", subject="sag-hel")
    engine.record_activity(e.id, "wonder", actor=ANNA, description="Undrede os over skemaet")
    engine.give_consent(e.id, actor=ANNA, information="plan", to="uu", purpose="Uddannelse")
    other = start(engine, ANNA, subject="sag-anden")
    engine.list(actor=ANNA)  # a page that shows both residents
    package = engine.audit.access_request(Actor("revisor"), "sag-hel", purpose="Anmodning 2026-12")
    content = package.content
    (mine,) = content["engagements"]
    assert mine["id"] == e.id and mine["answers"]["shared_path"]["items"] == PLAN
    assert [a["kind"] for a in mine["activities"]] == ["wonder"]
    assert [c["event"] for c in mine["consents"]] == ["consent_given"]
    assert [ev["seq"] for ev in mine["events"]] == list(range(1, e.version + 3))
    page = next(a for a in content["access"] if a["shown"])
    assert page["shown"] == [{"id": e.id, "subject": "sag-hel"}]  # not the other resident
    assert other.subject not in package.json
    assert json.loads(package.json) == json.loads(json.dumps(content, default=str))
    assert "Indsigt i egne oplysninger – sag-hel" in package.text and "Undrede os" in package.text
    request = engine.audit.access(Actor("revisor"), subject="sag-hel")[-1]
    assert (request.action, request.purpose, request.criteria["sha256"]) == (
        "export",
        "Anmodning 2026-12",
        package.sha256,
    )
    with pytest.raises(PermissionDenied):
        engine.audit.access_request(ANNA, "sag-hel")
