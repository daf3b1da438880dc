"""Erasure (GDPR art. 17) and the retention purge: real deletion, logged."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from helpers import READER, FakeClock, counts, drive, start
from sqlalchemy import func, select

from forloeb import Actor, EngagementNotFound, Engine, ErasureReceipt, InvalidData, PermissionDenied
from forloeb.cli import cli
from forloeb.persistence._tables import (
    access_log,
    engagement_tags,
    engagements,
    events,
    idempotency_keys,
    outbox,
    outbox_attempts,
    reminders,
)

REASON = "Anmodning om sletning af 1. marts (art. 17)"


def rows_of(engine: Engine, engagement_id: int, outbox_ids: frozenset[int] = frozenset()) -> dict[str, int]:
    """Rows per table that belong to the engagement (outbox rows: the ids given,
    since their link, the reminder, goes with them)."""
    by_engagement = {
        "engagements": engagements.c.id,
        "engagement_tags": engagement_tags.c.engagement_id,
        "events": events.c.engagement_id,
        "idempotency_keys": idempotency_keys.c.engagement_id,
        "reminders": reminders.c.engagement_id,
        "access_log": access_log.c.engagement_id,
    }
    found: dict[str, int] = {}
    with engine.store.sa_engine.connect() as conn:  # type: ignore[attr-defined]
        for name, column in by_engagement.items():
            stmt = select(func.count()).select_from(column.table).where(column == engagement_id)
            found[name] = int(conn.execute(stmt).scalar_one())
        for name, column in (("outbox", outbox.c.id), ("outbox_attempts", outbox_attempts.c.outbox_id)):
            stmt = select(func.count()).select_from(column.table).where(column.in_(sorted(outbox_ids)))
            found[name] = int(conn.execute(stmt).scalar_one())
    return found


def outbox_ids_of(engine: Engine, engagement_id: int) -> frozenset[int]:
    stmt = select(outbox.c.id).join(reminders, reminders.c.id == outbox.c.reminder_id)
    stmt = stmt.where(reminders.c.engagement_id == engagement_id)
    with engine.store.sa_engine.connect() as conn:  # type: ignore[attr-defined]
        return frozenset(int(r[0]) for r in conn.execute(stmt))


def deletions(engine: Engine, viewer: Actor, engagement_id: int) -> list[Any]:
    return [a for a in engine.audit.access(viewer, engagement_id=engagement_id) if a.action == "delete"]


# -- erase ---------------------------------------------------------------------------


def test_erase_deletes_every_row_of_the_engagement_and_logs_it_once(
    clocked_engine: Engine, clock: FakeClock, worker: Actor, supervisor: Actor
) -> None:
    engine = clocked_engine
    e = start(engine, worker, subject="sag-9", tags=["uddannelse", "tryghed"], idempotency_key="k-1")
    engine.add_note(e.id, "Ringede til familien", actor=worker, idempotency_key="k-2")
    other = start(engine, worker, subject="sag-2", tags=["uddannelse"], idempotency_key="k-3")
    other = drive(engine, worker, "action", engagement=other)
    # Reminders, their outbox messages and delivery attempts, for both.
    clock.advance(days=60)
    assert engine.sweep()
    engine.dispatch()
    for x in (e, other):  # an access-log entry before
        engine.get(x.id, actor=supervisor, purpose="sagsbehandling")
    mine = outbox_ids_of(engine, e.id)
    before = rows_of(engine, e.id, mine)
    assert all(before.values()), before  # every table holds something of it
    other_before = rows_of(engine, other.id, outbox_ids_of(engine, other.id))
    assert all(other_before.values()), other_before

    receipt = engine.erase(e.id, actor=supervisor, reason=REASON, purpose="sag 2026-117")

    assert receipt == ErasureReceipt(
        engagement_id=e.id,
        subject="sag-9",
        workflow="individual_course",
        events_deleted=before["events"],
        erased_at=clock.now,
        by="leder",
        reason=REASON,
    )
    after = rows_of(engine, e.id, mine)
    # Gone for real; the access log keeps its earlier entries plus the deletion.
    assert after == {**{k: 0 for k in before}, "access_log": before["access_log"] + 1}
    assert rows_of(engine, other.id, outbox_ids_of(engine, other.id)) == other_before
    [entry] = deletions(engine, supervisor, e.id)
    assert (entry.actor, entry.role, entry.subject, entry.purpose) == ("leder", "supervisor", "sag-9", REASON)
    assert entry.criteria["events"] == before["events"]
    assert entry.criteria["purpose"] == "sag 2026-117"
    with pytest.raises(EngagementNotFound):
        engine.get(e.id, actor=READER)
    with pytest.raises(EngagementNotFound):
        engine.history(e.id, actor=READER)
    assert engine.list(subject="sag-9", actor=READER) == []
    report = engine.audit.verify(supervisor)
    assert report.ok, report.breaks
    assert report.engagements == 1
    # The resident's access request still shows that their data was deleted.
    export = engine.audit.for_subject(supervisor, "sag-9")
    assert export["engagements"] == []
    assert [a["action"] for a in export["access"]][-1] == "delete"


@pytest.mark.parametrize("who", ["worker", "auditor"])
def test_only_a_supervisor_may_erase_and_a_refusal_writes_nothing(
    engine: Engine, worker: Actor, who: str, request: pytest.FixtureRequest
) -> None:
    e = start(engine, worker)
    before = counts(engine)
    with pytest.raises(PermissionDenied):
        engine.erase(e.id, actor=request.getfixturevalue(who), reason=REASON)
    assert counts(engine) == before
    assert engine.get(e.id, actor=READER).version == 1


@pytest.mark.parametrize("reason", ["", "   ", None, "x" * 1001])
def test_a_reason_is_required(engine: Engine, worker: Actor, supervisor: Actor, reason: Any) -> None:
    e = start(engine, worker)
    before = counts(engine)
    with pytest.raises(InvalidData):
        engine.erase(e.id, actor=supervisor, reason=reason)
    assert counts(engine) == before


def test_an_unknown_engagement_is_not_found_and_nothing_is_written(
    engine: Engine, worker: Actor, supervisor: Actor
) -> None:
    e = start(engine, worker)
    before = counts(engine)
    for missing in (e.id + 1000, "1", True):
        with pytest.raises(EngagementNotFound):
            engine.erase(missing, actor=supervisor, reason=REASON)  # type: ignore[arg-type]
    assert counts(engine) == before
    engine.erase(e.id, actor=supervisor, reason=REASON)
    erased = counts(engine)
    with pytest.raises(EngagementNotFound):
        engine.erase(e.id, actor=supervisor, reason=REASON)  # twice: the second finds nothing
    assert counts(engine) == erased


def test_a_checkpoint_reports_an_erased_engagement_as_erased_not_as_tampering(
    engine: Engine, worker: Actor, supervisor: Actor
) -> None:
    kept = drive(engine, worker, "shared_path", subject="sag-1")
    gone = drive(engine, worker, "closed", subject="sag-2")
    checkpoint = engine.audit.checkpoint(supervisor)
    engine.erase(gone.id, actor=supervisor, reason=REASON)
    # SQLite may give the erased (highest) id to the next engagement: still no false alarm.
    newer = start(engine, worker, subject="sag-3")

    report = engine.audit.verify(supervisor, checkpoint=checkpoint)

    assert report.ok, [str(b) for b in report.breaks]
    [note] = report.erased
    assert (note.engagement_id, note.kind) == (gone.id, "erased")
    assert str(note).startswith(f"engagement {gone.id}: erased: erased on ")
    assert "by leder (supervisor)" in str(note) and REASON in str(note)
    assert f"{gone.version} were deleted" in str(note)
    assert report.to_dict()["erased"][0]["engagement_id"] == gone.id
    assert engine.audit.verify(supervisor, engagement_id=kept.id, checkpoint=checkpoint).ok
    assert newer.version == 1


def test_rows_deleted_behind_the_engines_back_are_still_reported_as_missing(
    engine: Engine, worker: Actor, supervisor: Actor
) -> None:
    e = drive(engine, worker, "closed")
    start(engine, worker, subject="sag-2")
    checkpoint = engine.audit.checkpoint(supervisor)
    with engine.store.sa_engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(events.delete().where(events.c.engagement_id == e.id))
        conn.execute(engagements.delete().where(engagements.c.id == e.id))

    report = engine.audit.verify(supervisor, checkpoint=checkpoint)

    assert not report.ok
    [gap] = report.breaks
    assert (gap.engagement_id, gap.kind) == (e.id, "missing")
    assert str(gap).startswith(f"engagement {e.id}: missing: erased/missing")
    assert "no erasure" in str(gap)
    assert report.erased == []


def test_an_erased_engagements_id_is_never_given_again(
    engine: Engine, worker: Actor, supervisor: Actor
) -> None:
    """The access log and checkpoints name engagements by id: after erasing the
    newest engagement, the next one must not inherit its id (SQLite would reuse
    the highest rowid without AUTOINCREMENT)."""
    start(engine, worker, subject="sag-1")
    newest = start(engine, worker, subject="sag-2")
    engine.erase(newest.id, actor=supervisor, reason="anmodning om sletning")

    following = start(engine, worker, subject="sag-3")

    assert following.id > newest.id


# -- retention -----------------------------------------------------------------------


def test_purge_closed_erases_only_final_engagements_older_than_the_limit(
    clocked_engine: Engine, clock: FakeClock, worker: Actor, supervisor: Actor
) -> None:
    engine = clocked_engine
    clock.set(datetime(2015, 1, 5, 9, 0, tzinfo=UTC))
    old_closed = drive(engine, worker, "closed", subject="sag-1")
    old_referred = drive(engine, worker, "referred_on", "civil_society", subject="sag-2")
    old_active = drive(engine, worker, "action", subject="sag-3")
    noted_later = drive(engine, worker, "closed", subject="sag-4")
    clock.set(datetime(2018, 6, 1, 9, 0, tzinfo=UTC))
    recent = drive(engine, worker, "closed", subject="sag-5")
    # A note after closing: the case was in use, the period starts again.
    engine.add_note(noted_later.id, "Henvendelse fra familien", actor=worker)
    clock.set(datetime(2021, 3, 1, 9, 0, tzinfo=UTC))  # 6 years after 2015, under 5 after 2018

    before = counts(engine)
    preview = engine.purge_closed(actor=supervisor, dry_run=True)
    assert counts(engine) == before  # a dry run writes nothing, not even to the access log
    assert [(r.engagement_id, r.dry_run) for r in preview] == [(old_closed.id, True), (old_referred.id, True)]

    receipts = engine.purge_closed(actor=supervisor)

    assert [r.engagement_id for r in receipts] == [old_closed.id, old_referred.id]
    assert {r.reason for r in receipts} == {"retention: 5 years after closing"}
    assert [r.events_deleted for r in receipts] == [old_closed.version, old_referred.version]
    assert not any(r.dry_run for r in receipts)
    for gone in (old_closed, old_referred):
        with pytest.raises(EngagementNotFound):
            engine.get(gone.id, actor=READER)
        [entry] = deletions(engine, supervisor, gone.id)
        assert entry.purpose == "retention: 5 years after closing"
    assert [e.id for e in engine.list(actor=READER)] == [old_active.id, noted_later.id, recent.id]
    assert engine.audit.verify(supervisor).ok
    assert engine.purge_closed(actor=supervisor) == []  # nothing left to do
    # A shorter limit reaches those closed or last noted on in 2018; the active one stays.
    shorter = engine.purge_closed(older_than_years=2, actor=supervisor)
    assert [r.engagement_id for r in shorter] == [noted_later.id, recent.id]
    assert [e.id for e in engine.list(actor=READER)] == [old_active.id]


def test_purge_closed_is_for_supervisors_with_a_sane_limit(
    engine: Engine, worker: Actor, supervisor: Actor
) -> None:
    with pytest.raises(PermissionDenied):
        engine.purge_closed(actor=worker)
    for years in (0, -1, True, 2.5):
        with pytest.raises(InvalidData):
            engine.purge_closed(older_than_years=years, actor=supervisor)  # type: ignore[arg-type]
    with pytest.raises(InvalidData):
        engine.purge_closed(now=datetime(2030, 1, 1), actor=supervisor)  # naive


def test_purge_closed_counts_from_now(engine: Engine, worker: Actor, supervisor: Actor) -> None:
    e = drive(engine, worker, "closed")
    # Exactly five calendar years after closing is the deadline; a moment later it is due.
    deadline = e.updated_at.replace(year=e.updated_at.year + 5)
    assert engine.purge_closed(now=deadline, actor=supervisor, dry_run=True) == []
    [receipt] = engine.purge_closed(now=deadline + timedelta(microseconds=1), actor=supervisor)
    assert receipt.engagement_id == e.id


# -- the command line ----------------------------------------------------------------


def run(db: str, *args: str, input: str | None = None) -> Any:
    env: dict[str, str | None] = {"FORLOEB_DB": None, "FORLOEB_ACTOR": None, "FORLOEB_ROLE": None}
    return CliRunner(env=env).invoke(cli, ["--db", db, *args], input=input, catch_exceptions=False)


def test_cli_erase(db_url: str, worker: Actor) -> None:
    with Engine.open(db_url, migrate=True) as engine:
        a = start(engine, worker, subject="sag-1")
        b = start(engine, worker, subject="sag-2")
    boss = ["--as", "leder", "--role", "supervisor"]

    refused = run(db_url, *boss, "--json", "erase", str(a.id), "--reason", REASON)
    assert refused.exit_code == 2
    assert json.loads(refused.output)["message"].startswith("--json kræver --yes")
    declined = run(db_url, *boss, "erase", str(a.id), "--reason", REASON, input="n\n")
    assert declined.exit_code == 1
    denied = run(db_url, "--as", "anna", "erase", str(a.id), "--reason", REASON, "--yes")
    assert denied.exit_code == 1 and "Fejl:" in denied.output

    result = run(db_url, *boss, "erase", str(a.id), "--reason", REASON, "--yes")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Forløb {a.id} (")
    assert "slettet" in result.output and "sag-1" in result.output and REASON in result.output
    result = run(db_url, *boss, "--json", "erase", str(b.id), "--reason", REASON, "--yes")
    assert result.exit_code == 0, result.output
    [receipt] = json.loads(result.output)
    assert receipt["engagement_id"] == b.id
    assert (receipt["subject"], receipt["by"], receipt["events_deleted"]) == ("sag-2", "leder", 1)
    with Engine.open(db_url) as engine:
        assert engine.list(actor=READER) == []


def test_cli_retention_purge(db_url: str, worker: Actor, supervisor: Actor) -> None:
    clock = FakeClock(datetime(2015, 1, 5, 9, 0, tzinfo=UTC))
    with Engine.open(db_url, migrate=True, clock=clock) as engine:
        old = drive(engine, worker, "closed", subject="sag-1")
        active = drive(engine, worker, "action", subject="sag-2")
        before = counts(engine)
    boss = ["--as", "leder", "--role", "supervisor"]

    result = run(db_url, *boss, "--json", "retention", "purge", "--dry-run")
    assert result.exit_code == 0, result.output
    [listed] = json.loads(result.output)
    assert (listed["engagement_id"], listed["dry_run"]) == (old.id, True)
    assert listed["reason"] == "retention: 5 years after closing"
    with Engine.open(db_url) as engine:
        assert counts(engine) == before
    assert run(db_url, *boss, "--json", "retention", "purge").exit_code == 2  # --yes needed

    result = run(db_url, *boss, "--lang", "en", "retention", "purge", "--yes")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Engagement {old.id} (") and "erased" in result.output
    result = run(db_url, *boss, "--lang", "en", "retention", "purge")
    assert result.output.strip() == "No engagements to erase."
    with Engine.open(db_url) as engine:
        assert [e.id for e in engine.list(actor=READER)] == [active.id]
        assert engine.audit.verify(supervisor).ok
