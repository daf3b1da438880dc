"""Audit: queries, visibility, chain verification and tampering, checkpoints, the access log."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from helpers import AUDIT_KEY, PLAN, READER, FakeClock, counts, drive, start
from sqlalchemy import select, text, update

from forloeb import Actor, Engine, InvalidData, PermissionDenied
from forloeb.cli import cli
from forloeb.engine import can_see, event_hash
from forloeb.persistence import SqlStore
from forloeb.persistence._tables import events

KEY = AUDIT_KEY


def _sa(engine: Engine):  # type: ignore[no-untyped-def]
    assert isinstance(engine.store, SqlStore)
    return engine.store.sa_engine


# -- queries ------------------------------------------------------------------------


def test_query_filters_by_actor_time_type_and_engagement(
    clocked_engine: Engine, clock: FakeClock, auditor: Actor
) -> None:
    anna, bo = Actor("anna", ["worker"]), Actor("bo", ["worker"])
    a = start(clocked_engine, anna, subject="sag-a", team="Social")
    clock.advance(days=40)
    b = start(clocked_engine, bo, subject="sag-b", team="Civil")
    clocked_engine.fire(a.id, "make_contact", actor=anna)
    clocked_engine.add_note(b.id, "ringede", actor=bo)
    audit = clocked_engine.audit
    assert {r.event.actor for r in audit.query(auditor).records} == {"anna", "bo"}
    mine = audit.query(auditor, actor="anna").records
    assert [(r.event.engagement_id, r.event.seq) for r in mine] == [(a.id, 1), (a.id, 2)]
    recent = audit.query(auditor, actor="anna", since=(clock.now - timedelta(days=1)).isoformat()).records
    assert [r.event.type for r in recent] == ["transition"]
    day = clock.now.astimezone(UTC).date().isoformat()
    assert len(audit.query(auditor, since=day, until=day).records) == 3
    assert [r.event.type for r in audit.query(auditor, type="note").records] == ["note"]
    assert [r.event.trigger for r in audit.query(auditor, trigger="make_contact").records] == ["make_contact"]
    assert len(audit.query(auditor, engagement_id=b.id).records) == 2
    assert len(audit.query(auditor, team="Civil").records) == 2
    assert len(audit.query(auditor, state="first_contact").records) == 1
    assert len(audit.query(auditor, workflow="civil_society").records) == 0
    newest = audit.query(auditor, order="desc").records
    assert newest[0].event.occurred_at >= newest[-1].event.occurred_at


def test_paging_with_a_cursor_returns_every_event_once(engine: Engine, worker: Actor, auditor: Actor) -> None:
    for i in range(5):
        drive(engine, worker, "own_path", subject=f"sag-{i}")
    everything = [(r.event.engagement_id, r.event.seq) for r in engine.audit.query(auditor).records]
    seen: list[tuple[int, int]] = []
    cursor = None
    while True:
        page = engine.audit.query(auditor, limit=4, cursor=cursor)
        seen += [(r.event.engagement_id, r.event.seq) for r in page.records]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == everything and len(seen) == 20
    with pytest.raises(InvalidData):
        engine.audit.query(auditor, cursor="not-a-cursor")


@pytest.mark.parametrize(
    "evil",
    [
        "anna' OR '1'='1",
        "x'; DROP TABLE events; --",
        "%",
        'anna" OR 1=1 --',
        "1 UNION SELECT * FROM engagements",
    ],
)
def test_sql_looking_filters_change_nothing_and_leak_nothing(
    engine: Engine, worker: Actor, auditor: Actor, evil: str
) -> None:
    drive(engine, worker, "action")
    before = counts(engine)
    for field in ("actor", "type", "trigger", "state", "tag", "team", "workflow"):
        assert engine.audit.query(auditor, **{field: evil}).records == []  # type: ignore[arg-type]
    assert engine.audit.access(auditor, subject=evil, actor=evil) == []
    after = counts(engine)
    # Only the access log grew (each query is logged); nothing else changed.
    assert {k: v for k, v in after.items() if k != "access_log"} == {
        k: v for k, v in before.items() if k != "access_log"
    }
    assert engine.audit.verify(auditor).ok


def test_bad_filters_are_refused_and_write_nothing(engine: Engine, worker: Actor, auditor: Actor) -> None:
    drive(engine, worker, "first_contact")
    before = counts(engine)
    for bad in (
        {"since": "sidste tirsdag"},
        {"limit": 0},
        {"actor": "x" * 500},
        {"order": "sideways"},
        {"engagement_id": "1"},
    ):
        with pytest.raises(InvalidData):
            engine.audit.query(auditor, **bad)  # type: ignore[arg-type]
    assert counts(engine) == before


def test_visibility_rule_in_one_place(engine: Engine, auditor: Actor, supervisor: Actor) -> None:
    anna = Actor("anna", ["worker"], teams=["Social"])
    social = start(engine, anna, subject="sag-s", team="Social")
    civil = start(engine, anna, subject="sag-c", team="Civil")
    mine = start(engine, anna, subject="sag-m", team="Civil", assignee="carl")
    carl = Actor("carl", ["worker"])  # in no team (the register says so)
    rows = {e.id: e.to_dict() for e in (social, civil, mine)}
    assert can_see(anna, rows[social.id]) and not can_see(anna, rows[civil.id])
    assert can_see(carl, rows[mine.id]) and not can_see(carl, rows[social.id])
    assert all(can_see(a, r) for a in (auditor, supervisor) for r in rows.values())
    assert {r.event.engagement_id for r in engine.audit.query(anna).records} == {social.id}
    assert {r.event.engagement_id for r in engine.audit.query(carl).records} == {mine.id}
    assert {r.event.engagement_id for r in engine.audit.query(supervisor).records} == set(rows)
    with pytest.raises(PermissionDenied):
        engine.audit.timeline(anna, civil.id)
    # Auditors query and export but fire nothing; workers do not verify.
    with pytest.raises(PermissionDenied):
        engine.fire(social.id, "make_contact", actor=auditor)
    with pytest.raises(PermissionDenied):
        engine.audit.verify(anna)


def test_timeline_has_events_and_is_logged(engine: Engine, worker: Actor, auditor: Actor) -> None:
    e = drive(engine, worker, "action")
    engine.add_note(e.id, "Mødtes i caféen", actor=worker)
    engagement, events, reminders = engine.audit.timeline(auditor, e.id, purpose="stikprøve")
    assert engagement["id"] == e.id and [ev.seq for ev in events] == list(range(1, e.version + 2))
    assert reminders == []
    (entry,) = engine.audit.access(auditor, engagement_id=e.id)
    assert (entry.actor, entry.action, entry.purpose) == ("revisor", "read", "stikprøve")


# -- integrity ------------------------------------------------------------------------


def _two(keyed: Engine, worker: Actor) -> tuple[int, int]:
    a = drive(keyed, worker, "action", subject="sag-a")
    b = drive(keyed, worker, "shared_path", subject="sag-b")
    return a.id, b.id


def test_an_untouched_log_verifies(keyed: Engine, worker: Actor, auditor: Actor) -> None:
    _two(keyed, worker)
    report = keyed.audit.verify(auditor)
    assert report.ok and report.keyed and report.events == 5 + 3 and report.engagements == 2


def test_a_changed_payload_is_caught(keyed: Engine, worker: Actor, auditor: Actor) -> None:
    a, _ = _two(keyed, worker)
    with _sa(keyed).begin() as conn:
        conn.execute(
            text("UPDATE events SET payload = :p WHERE engagement_id = :e AND seq = 4"),
            {"p": json.dumps({"data": {**PLAN, "plan": "noget andet"}}), "e": a},
        )
    (b,) = keyed.audit.verify(auditor).breaks
    assert (b.engagement_id, b.seq, b.kind) == (a, 4, "hash")
    assert "content" in b.detail


def test_a_deleted_event_is_caught(keyed: Engine, worker: Actor, auditor: Actor) -> None:
    a, _ = _two(keyed, worker)
    with _sa(keyed).begin() as conn:
        conn.execute(text("DELETE FROM events WHERE engagement_id = :e AND seq = 3"), {"e": a})
    breaks = keyed.audit.verify(auditor).breaks
    assert {(b.engagement_id, b.seq, b.kind) for b in breaks} == {(a, 4, "gap"), (a, 4, "link")}
    assert "seq 3 missing" in str(breaks[0]) or "seq 3 missing" in str(breaks[1])


def test_two_reordered_events_are_caught(keyed: Engine, worker: Actor, auditor: Actor) -> None:
    a, _ = _two(keyed, worker)
    with _sa(keyed).begin() as conn:
        for old, new in ((2, -2), (3, 2), (-2, 3)):
            conn.execute(
                text("UPDATE events SET seq = :n WHERE engagement_id = :e AND seq = :o"),
                {"n": new, "o": old, "e": a},
            )
    breaks = keyed.audit.verify(auditor).breaks
    assert {(b.seq, b.kind) for b in breaks} >= {(2, "link"), (2, "hash"), (3, "link"), (3, "hash")}
    assert all(b.engagement_id == a for b in breaks)


def test_a_forged_event_is_caught(keyed: Engine, worker: Actor, auditor: Actor) -> None:
    a, _ = _two(keyed, worker)
    head = keyed.get(a, actor=READER)
    forged = {
        "engagement_id": a,
        "seq": head.version + 1,
        "type": "note",
        "trigger": None,
        "from_state": head.state,
        "to_state": head.state,
        "actor": "anna",
        "role": "worker",
        "payload": {"text": "Borgeren har selv bedt om at lukke sagen"},
        "occurred_at": datetime(2026, 3, 3, 9, 0, tzinfo=UTC),
        "prev_hash": head.head_hash,
    }
    # Whoever forges it has no key: a plain SHA-256, and the row updated to match.
    forged["hash"] = event_hash(forged, None)
    with _sa(keyed).begin() as conn:
        conn.execute(
            text(
                "INSERT INTO events (engagement_id, seq, type, trigger, from_state, to_state, actor, role, "
                "payload, occurred_at, prev_hash, hash) VALUES (:engagement_id, :seq, :type, :trigger, "
                ":from_state, :to_state, :actor, :role, :payload, :occurred_at, :prev_hash, :hash)"
            ),
            {**forged, "payload": json.dumps(forged["payload"]), "occurred_at": "2026-03-03 09:00:00.000000"},
        )
        conn.execute(
            text("UPDATE engagements SET version = :v, head_hash = :h WHERE id = :e"),
            {"v": forged["seq"], "h": forged["hash"], "e": a},
        )
    (b,) = keyed.audit.verify(auditor).breaks
    assert (b.engagement_id, b.seq, b.kind) == (a, forged["seq"], "hash")


def _decided(engine: Engine, engagement_id: int) -> dict[str, Any]:
    """The engagement row's decided columns (what its events attest) as stored now."""
    from forloeb.engine._chain import ROW_FIELDS
    from forloeb.persistence._tables import engagements

    with _sa(engine).connect() as conn:
        row = conn.execute(select(engagements).where(engagements.c.id == engagement_id)).one()
    return {k: row._mapping[k] for k in ROW_FIELDS}


def _cut_tail(engine: Engine, engagement_id: int, restore: dict[str, Any] | None = None) -> None:
    """Delete the last event and move the engagement row back with it (``restore``:
    its decided columns as they were before that event): the chain and row that are
    left are consistent, so only a checkpoint can tell."""
    from forloeb.persistence._tables import engagements

    with _sa(engine).begin() as conn:
        if restore is not None:
            conn.execute(update(engagements).where(engagements.c.id == engagement_id).values(**restore))
        version = conn.execute(
            text("SELECT version FROM engagements WHERE id = :e"), {"e": engagement_id}
        ).scalar()
        conn.execute(
            text("DELETE FROM events WHERE engagement_id = :e AND seq = :s"),
            {"e": engagement_id, "s": version},
        )
        prev = conn.execute(
            text("SELECT hash FROM events WHERE engagement_id = :e AND seq = :s"),
            {"e": engagement_id, "s": version - 1},
        ).scalar()
        conn.execute(
            text("UPDATE engagements SET version = :v, head_hash = :h WHERE id = :e"),
            {"v": version - 1, "h": prev, "e": engagement_id},
        )


def test_a_cut_tail_is_caught_with_a_checkpoint(keyed: Engine, worker: Actor, auditor: Actor) -> None:
    a, b = _two(keyed, worker)
    before = _decided(keyed, a)
    keyed.fire(a, "reach_self_help", actor=worker)
    checkpoint = json.loads(json.dumps(keyed.audit.checkpoint(auditor)))
    assert checkpoint["signature"] and set(checkpoint["engagements"]) == {str(a), str(b)}
    keyed.add_note(b, "efter kontrolpunktet", actor=worker)  # growth since is fine
    assert keyed.audit.verify(auditor, checkpoint=checkpoint).ok
    _cut_tail(keyed, a, restore=before)
    assert keyed.audit.verify(auditor).ok  # the chain and the row alone cannot see it
    (brk,) = keyed.audit.verify(auditor, checkpoint=checkpoint).breaks
    assert (brk.engagement_id, brk.kind) == (a, "checkpoint")
    assert "recorded 6 events" in brk.detail and "seq 5" in brk.detail


def test_a_cut_tail_without_its_row_is_caught_without_a_checkpoint(
    keyed: Engine, worker: Actor, auditor: Actor
) -> None:
    a, _ = _two(keyed, worker)
    _cut_tail(keyed, a)  # the row keeps the stage the cut event moved it to
    (brk,) = keyed.audit.verify(auditor).breaks
    assert (brk.engagement_id, brk.kind) == (a, "row")


def test_a_rewritten_chain_is_caught_with_a_checkpoint(engine: Engine, worker: Actor, auditor: Actor) -> None:
    # No key: a forger can recompute every hash; the checkpoint still holds the old head.
    e = drive(engine, worker, "own_path")
    checkpoint = engine.audit.checkpoint(auditor)
    assert checkpoint["signature"] is None
    # Through the table's types, so the forgery works on every backend (JSON/JSONB, timestamps).
    with _sa(engine).connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(events).order_by(events.c.seq))]
    prev = "0" * 64
    with _sa(engine).begin() as conn:
        for r in rows:
            payload = r["payload"]
            if r["seq"] == 2:
                payload = {"data": {"reason": "omskrevet"}}
            new_hash = event_hash({**r, "payload": payload, "prev_hash": prev}, None)
            conn.execute(
                update(events)
                .where(events.c.id == r["id"])
                .values(payload=payload, prev_hash=prev, hash=new_hash)
            )
            prev = new_hash
        conn.execute(text("UPDATE engagements SET head_hash = :h WHERE id = :e"), {"h": prev, "e": e.id})
    assert engine.audit.verify(auditor).ok
    report = engine.audit.verify(auditor, checkpoint=checkpoint)
    assert [(b.engagement_id, b.seq, b.kind) for b in report.breaks] == [(e.id, e.version, "checkpoint")]
    assert any("unsigned" in w for w in report.warnings)


def test_an_edited_checkpoint_is_caught(keyed: Engine, worker: Actor, auditor: Actor) -> None:
    a, _ = _two(keyed, worker)
    checkpoint = keyed.audit.checkpoint(auditor)
    checkpoint["engagements"][str(a)]["count"] = 3
    kinds = {b.kind for b in keyed.audit.verify(auditor, checkpoint=checkpoint).breaks}
    assert "signature" in kinds


# -- the access log -------------------------------------------------------------------


def test_reads_searches_and_exports_are_logged(engine: Engine, worker: Actor, auditor: Actor) -> None:
    e = drive(engine, worker, "action", subject="sag-42")
    # Every read names its actor (issue 11): there is no unlogged read through the API.
    engine.get(e.id, actor=worker, purpose="opfølgning")
    engine.history(e.id, actor=worker)
    engine.list(actor=worker, subject="sag-42")
    engine.list(actor=worker, subject="ingen")
    engine.audit.query(auditor, engagement_id=e.id, export="csv")
    # (The register's own entries, written when the database got its staff, are left out.)
    entries = [x for x in engine.audit.access(auditor) if not x.action.startswith("staff_")]
    assert [(x.actor, x.action, x.engagement_id, x.subject) for x in entries] == [
        ("anna", "read", e.id, "sag-42"),
        ("anna", "history", e.id, "sag-42"),
        ("anna", "search", None, None),  # a listing: one entry naming what it showed
        ("anna", "search", None, None),
        ("revisor", "export", e.id, "sag-42"),
    ]
    assert [x.shown for x in entries[2:4]] == [[{"id": e.id, "subject": "sag-42"}], []]
    assert entries[0].purpose == "opfølgning"
    assert entries[2].criteria == {"subject": "sag-42", "limit": 50}  # a page of the default size
    assert entries[4].criteria == {"engagement": e.id, "format": "csv"}
    assert [x.action for x in engine.audit.access(auditor, subject="sag-42")] == [
        "read",
        "history",
        "search",
        "export",
    ]
    with pytest.raises(PermissionDenied):
        engine.audit.access(worker)


def test_access_request_export_has_no_staff_ids(engine: Engine, worker: Actor, auditor: Actor) -> None:
    e = drive(engine, worker, "action", subject="sag-7")
    engine.get(e.id, actor=worker)
    engine.audit.timeline(auditor, e.id)
    result = engine.audit.for_subject(auditor, "sag-7", redact_staff=True)
    dumped = json.dumps(result, ensure_ascii=False)
    assert "anna" not in dumped and "revisor" not in dumped
    assert result["engagements"] == [e.id] and len(result["events"]) == e.version
    assert {a["action"] for a in result["access"]} == {"read"}
    full = engine.audit.for_subject(auditor, "sag-7", redact_staff=False)
    assert "anna" in json.dumps(full)
    # The export itself is logged.
    assert engine.audit.access(auditor, subject="sag-7")[-1].action == "export"


def test_purge_respects_retention(
    clocked_engine: Engine, clock: FakeClock, worker: Actor, auditor: Actor, supervisor: Actor
) -> None:
    e = start(clocked_engine, worker)
    clocked_engine.get(e.id, actor=worker)
    clock.advance(days=100)
    clocked_engine.get(e.id, actor=worker)
    assert clocked_engine.audit.purge_access(supervisor) == 0  # both within six months
    clock.advance(days=100)  # the first is now 200 days old, the second 100
    assert clocked_engine.audit.purge_access(supervisor, dry_run=True) == 1
    assert clocked_engine.audit.purge_access(supervisor) == 1
    # (The register's entries and the purge's own record are kept for years.)
    left = [x for x in clocked_engine.audit.access(auditor) if not x.action.startswith("staff_")]
    assert [x.action for x in left] == ["read", "purge_access_log"]
    assert clocked_engine.audit.purge_access(supervisor, retention=timedelta(0)) == 1
    assert clocked_engine.audit.verify(auditor).ok  # each chain starts where its purge says
    for who in (worker, auditor):  # an auditor reads the log and may not shorten it (H6)
        with pytest.raises(PermissionDenied):
            clocked_engine.audit.purge_access(who)


# -- the CLI --------------------------------------------------------------------------


def _run(db: Path, *args: str, env: dict[str, str | None] | None = None):  # type: ignore[no-untyped-def]
    base: dict[str, str | None] = {"FORLOEB_DB": None, "FORLOEB_ACTOR": None, "FORLOEB_ROLE": None}
    return CliRunner(env={**base, **(env or {})}).invoke(
        cli, ["--db", str(db), *args], catch_exceptions=False
    )


def test_cli_query_csv_for_one_actor_over_a_time_range(tmp_path: Path, clock: FakeClock) -> None:
    db = tmp_path / "a.db"
    with Engine.open(f"sqlite:///{db}", migrate=True, clock=clock) as engine:
        anna, bo = Actor("anna", ["worker"]), Actor("bo", ["worker"])
        old = start(engine, anna, subject="sag-gammel")
        clock.set(datetime(2026, 4, 10, 9, 0, tzinfo=UTC))
        new = start(engine, anna, subject="sag-ny")
        engine.fire(new.id, "make_contact", actor=anna)
        start(engine, bo, subject="sag-bo")
        clock.set(datetime(2026, 5, 2, 9, 0, tzinfo=UTC))
        engine.add_note(old.id, "maj", actor=anna)
    result = _run(
        db,
        "--as",
        "revisor",
        "--role",
        "auditor",
        "audit",
        "query",
        "--actor",
        "anna",
        "--since",
        "2026-04-01",
        "--until",
        "2026-04-30",
        "--format",
        "csv",
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["engagement_id"], r["seq"], r["type"], r["actor"]) for r in rows] == [
        (str(new.id), "1", "started", "anna"),
        (str(new.id), "2", "transition", "anna"),
    ]
    assert rows[0]["subject"] == "sag-ny" and json.loads(rows[1]["data"]) == {"data": {}}


def test_cli_verify_catches_a_tampered_event(tmp_path: Path) -> None:
    db = tmp_path / "v.db"
    env = {"FORLOEB_AUDIT_KEY": KEY}
    with Engine.open(f"sqlite:///{db}", migrate=True, audit_key=KEY) as engine:
        e = drive(engine, Actor("anna", ["worker"]), "own_path")
    verify = ("--as", "revisor", "--role", "auditor", "audit", "verify")
    ok = _run(db, *verify, env=env)
    assert ok.exit_code == 0, ok.output
    assert "intakt" in ok.stdout
    checkpoint = tmp_path / "cp.json"
    written = _run(
        db, "--as", "revisor", "--role", "auditor", "audit", "checkpoint", "--out", str(checkpoint), env=env
    )
    assert written.exit_code == 0, written.output
    assert json.loads(checkpoint.read_text())["signature"]
    with Engine.open(f"sqlite:///{db}") as engine, _sa(engine).begin() as conn:
        conn.execute(text("UPDATE events SET actor = 'bo' WHERE engagement_id = :e AND seq = 2"), {"e": e.id})
    broken = _run(db, *verify, env=env)
    assert broken.exit_code == 1
    assert f"forløb {e.id}, nr. 2: hash: gemt hash" in broken.stdout
    english = _run(db, "--lang", "en", *verify, env=env)
    assert f"engagement {e.id}, seq 2: hash: stored hash" in english.stdout
    as_json = _run(db, "--json", *verify, "--checkpoint", str(checkpoint), env=env)
    assert as_json.exit_code == 1
    report = json.loads(as_json.stdout)
    # The head the checkpoint recorded is intact; the changed event breaks its own hash.
    assert report["ok"] is False and report["checkpoint"]
    assert [(b["seq"], b["kind"]) for b in report["breaks"]] == [(2, "hash")]
    denied = _run(db, "--as", "anna", "--role", "worker", "audit", "verify", env=env)
    assert denied.exit_code == 1 and "Fejl:" in denied.stderr


def test_cli_verify_in_danish_has_no_english_detail(tmp_path: Path) -> None:
    db = tmp_path / "da.db"
    worker = Actor("anna", ["worker"])
    with Engine.open(f"sqlite:///{db}", migrate=True) as engine:  # no audit key: unsigned
        changed = drive(engine, worker, "own_path", subject="sag-1")
        gap = drive(engine, worker, "own_path", subject="sag-2")
        cut = drive(engine, worker, "own_path", subject="sag-3")
    checkpoint = tmp_path / "cp.json"
    written = _run(
        db, "--as", "revisor", "--role", "auditor", "audit", "checkpoint", "--out", str(checkpoint)
    )
    assert written.exit_code == 0, written.output
    with Engine.open(f"sqlite:///{db}") as engine, _sa(engine).begin() as conn:
        conn.execute(
            text("UPDATE events SET actor = 'bo' WHERE engagement_id = :e AND seq = 2"), {"e": changed.id}
        )
        conn.execute(text("DELETE FROM events WHERE engagement_id = :e AND seq = 2"), {"e": gap.id})
        conn.execute(text("DELETE FROM events WHERE engagement_id = :e AND seq = 4"), {"e": cut.id})
        conn.execute(text("UPDATE engagements SET version = 3 WHERE id = :e"), {"e": cut.id})
    with Engine.open(f"sqlite:///{db}") as engine:
        report = engine.audit.verify(
            Actor("revisor", ["auditor"]), checkpoint=json.loads(checkpoint.read_text())
        )
    kinds = {b.kind for b in report.breaks}
    assert {"hash", "gap", "link", "head", "checkpoint"} <= kinds, report.breaks
    args = ("--as", "revisor", "--role", "auditor", "audit", "verify", "--checkpoint", str(checkpoint))
    danish = _run(db, *args)
    assert danish.exit_code == 1
    out = danish.stdout + danish.stderr
    for b in report.breaks:
        assert b.detail_da and b.detail_da != b.detail
        assert b.detail not in out
        assert b.text("da") in danish.stdout
    for w in report.warnings:
        assert w not in out
    assert "Advarsel: kontrolpunktet er usigneret" in danish.stderr
    for word in ("engagement", "seq ", "missing", "checkpoint recorded", "stored hash", "the log"):
        assert word not in out, word
    english = _run(db, "--lang", "en", *args)
    for b in report.breaks:
        assert str(b) in english.stdout
    as_json = json.loads(_run(db, "--json", *args).stdout)
    # The JSON keeps its machine fields and the English detail, and adds the Danish one.
    assert [(b["kind"], b["detail"], b["detail_da"]) for b in as_json["breaks"]] == [
        (b.kind, b.detail, b.detail_da) for b in report.breaks
    ]
    assert as_json["warnings"] == report.warnings and as_json["warnings_da"] == report.warnings_da


def test_cli_access_log_and_timeline(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    with Engine.open(f"sqlite:///{db}", migrate=True) as engine:
        e = drive(engine, Actor("anna", ["worker"]), "action", subject="sag-9")
    assert _run(db, "--as", "anna", "show", str(e.id)).exit_code == 0
    timeline = _run(db, "--as", "revisor", "--role", "auditor", "audit", "timeline", str(e.id))
    assert timeline.exit_code == 0, timeline.output
    assert "Den fælles vej" in timeline.stdout and "anna (medarbejder)" in timeline.stdout
    listing = _run(
        db, "--json", "--as", "revisor", "--role", "auditor", "audit", "access", "--subject", "sag-9"
    )
    assert [x["action"] for x in json.loads(listing.stdout)] == ["read", "read"]
    request = _run(
        db,
        "--as",
        "revisor",
        "--role",
        "auditor",
        "audit",
        "access",
        "--for-subject",
        "sag-9",
        "--redact-staff",
    )
    assert request.exit_code == 0, request.output
    assert "anna" not in request.stdout and json.loads(request.stdout)["staff_redacted"] is True
    # Purging the access log is a supervisor's (or an admin's), with a confirmation (H6).
    denied = _run(db, "--as", "revisor", "audit", "purge-access", "--days", "0", "--yes")
    assert denied.exit_code == 1
    purge = _run(db, "--as", "leder", "audit", "purge-access", "--days", "0", "--yes")
    assert purge.exit_code == 0, purge.output


def test_bench_verify_runs() -> None:
    """The benchmark script still runs (a smoke test; the figure is not asserted)."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, str(root / "bench" / "bench_verify.py"), "--events", "200", "--per", "10"],
        capture_output=True,
        text=True,
        check=True,
        cwd=root,
    ).stdout
    row = json.loads(out.strip().splitlines()[-1])
    assert row["events"] == 200 and row["events_per_s"] > 0
