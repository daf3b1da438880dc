"""Issue 12, H4: the engagement row is verified against its chain.

The reproductions of the review: edit the row with raw SQL (the stage, the
team, the subject, the assignee, a consent slipped into its data), then
`audit verify`, with and without a checkpoint; and a forged consent in the
row is not honoured by a handover export.
"""

from __future__ import annotations

from typing import Any

import pytest
from helpers import AUDIT_KEY, READER, drive, start
from sqlalchemy import select, update

from forloeb import Actor, Engine
from forloeb.persistence import SqlStore
from forloeb.persistence._tables import engagements

KEY = AUDIT_KEY


def _edit(engine: Engine, engagement_id: int, **values: Any) -> None:
    assert isinstance(engine.store, SqlStore)
    with engine.store.sa_engine.begin() as conn:
        conn.execute(update(engagements).where(engagements.c.id == engagement_id).values(**values))


def _data(engine: Engine, engagement_id: int) -> dict[str, Any]:
    assert isinstance(engine.store, SqlStore)
    with engine.store.sa_engine.connect() as conn:
        value = conn.execute(select(engagements.c.data).where(engagements.c.id == engagement_id)).scalar_one()
    return dict(value)


def _busy(engine: Engine, worker: Actor, supervisor: Actor) -> int:
    """An engagement through most kinds of event: notes, activities, a consent and its
    withdrawal, a pause, an ending and a reopen."""
    e = drive(engine, worker, "action")
    engine.add_note(e.id, "Samtale på biblioteket", actor=worker)
    engine.record_activity(
        e.id, "collaborate", actor=worker, description="med SSP", data={"with_whom": ["ssp"]}
    )
    c = engine.give_consent(e.id, actor=worker, information=["plan"], to=["jobcenter"], purpose="Job")
    consent_id = c.data["consents"][-1]["id"]
    engine.withdraw_consent(e.id, consent_id, actor=worker, reason="fortrudt")
    engine.fire(e.id, "pause", actor=worker, data={"reason": "ferie"})
    engine.fire(e.id, "resume", actor=worker)
    engine.fire(e.id, "withdraw", actor=worker, data={"reason": "flyttet"})
    engine.fire(e.id, "reopen", actor=supervisor)
    return e.id


def test_h4_a_busy_engagement_verifies_intact(
    keyed: Engine, worker: Actor, supervisor: Actor, auditor: Actor
) -> None:
    ids = [_busy(keyed, worker, supervisor), drive(keyed, worker, "closed").id, start(keyed, worker).id]
    report = keyed.audit.verify(auditor)
    assert report.ok, [str(b) for b in report.breaks]
    assert report.engagements == len(ids)


@pytest.mark.parametrize(
    ("column", "value", "said"),
    [
        ("state", "closed", "state 'closed'"),
        ("team", "team-nord", "team 'team-nord'"),
        ("subject", "sag-999", "subject 'sag-999'"),
        ("assignee", "medarbejder02", "assignee 'medarbejder02'"),
        ("supervisor", "someone", "supervisor 'someone'"),
        ("cycle", 7, "cycle 7"),
        ("paused_from", "action", "paused_from 'action'"),
    ],
)
def test_h4_a_row_edited_with_raw_sql_is_a_break(
    keyed: Engine, worker: Actor, supervisor: Actor, auditor: Actor, column: str, value: Any, said: str
) -> None:
    eid = _busy(keyed, worker, supervisor)
    other = drive(keyed, worker, "shared_path").id
    assert keyed.audit.verify(auditor).ok
    checkpoint = keyed.audit.checkpoint(auditor)
    _edit(keyed, eid, **{column: value})
    for report in (keyed.audit.verify(auditor), keyed.audit.verify(auditor, checkpoint=checkpoint)):
        assert not report.ok
        (b,) = report.breaks
        assert (b.engagement_id, b.kind) == (eid, "row")
        assert said in b.detail
        assert "ændret uden om forloeb" in b.message("da")
    # One engagement's verify says the same; the other engagement is intact.
    assert [b.kind for b in keyed.audit.verify(auditor, engagement_id=eid).breaks] == ["row"]
    assert keyed.audit.verify(auditor, engagement_id=other).ok


def test_h4_a_consent_slipped_into_the_row_is_a_break_and_is_not_honoured(
    keyed: Engine, worker: Actor, auditor: Actor
) -> None:
    e = drive(keyed, worker, "rounding_off")
    data = _data(keyed, e.id)
    forged = {
        "id": 99,
        "information": ["referral", "plan", "status"],
        "to": ["jobcenter"],
        "purpose": "Job",
        "given_on": "2026-03-01",
        "how": "written",
        "given_by": worker.id,
        "withdrawn_on": None,
        "withdrawn_reason": None,
    }
    _edit(keyed, e.id, data={**data, "consents": [forged]})
    (b,) = keyed.audit.verify(auditor).breaks
    assert b.kind == "row" and "consents" in b.detail
    # The handover guard reads consents from the chain: no consent there, so refused.
    from forloeb import GuardFailed

    with pytest.raises(GuardFailed) as refused:
        keyed.fire(
            e.id,
            "hand_over",
            actor=worker,
            data={
                "receiver": "jobcenter",
                "legal_basis": {"kind": "consent", "consent": 99},
                "shared": "plan",
            },
        )
    assert "consent" in refused.value.missing, (refused.value.invalid, str(refused.value))


def test_h4_the_data_is_covered_by_the_row_hash(keyed: Engine, worker: Actor, auditor: Actor) -> None:
    e = drive(keyed, worker, "shared_path")
    data = _data(keyed, e.id)
    # A stage's answer rewritten: no replayed column differs, the attested digest does.
    first = next(k for k, v in data.items() if isinstance(v, dict) and k != "consents")
    data[first] = {**data[first], "tampered": "ja"}
    _edit(keyed, e.id, data=data)
    (b,) = keyed.audit.verify(auditor).breaks
    assert b.kind == "row" and b.seq == keyed.get(e.id, actor=READER).version
    assert "data" in b.detail


def test_h4_cli_verify_names_the_row_in_danish(tmp_path: Any) -> None:
    from click.testing import CliRunner

    from forloeb.cli import cli

    db = tmp_path / "f.db"
    runner = CliRunner()
    env = {"FORLOEB_DB": f"sqlite:///{db}", "FORLOEB_AUDIT_KEY": KEY}
    assert runner.invoke(cli, ["init"], env=env).exit_code == 0
    assert runner.invoke(cli, ["demo"], env=env).exit_code == 0
    eng = Engine.open(f"sqlite:///{db}", audit_key=KEY)
    try:
        assert isinstance(eng.store, SqlStore)
        with eng.store.sa_engine.connect() as conn:
            eid = conn.execute(
                select(engagements.c.id).where(engagements.c.state == "action").limit(1)
            ).scalar_one()
        _edit(eng, eid, state="closed")
    finally:
        eng.close()
    result = runner.invoke(cli, ["--lang", "da", "audit", "verify", "--as", "revisor"], env=env)
    assert result.exit_code != 0
    assert f"forløb {eid}: række: forløbets række er ændret uden om forloeb: trin 'closed'" in result.output


@pytest.mark.parametrize(
    ("column", "value"), [("team", "Andet team"), ("assignee", "medarbejder02"), ("age_band", "18-24")]
)
def test_h4_reassignment_and_reporting_are_replayed_too(
    keyed: Engine, worker: Actor, supervisor: Actor, auditor: Actor, column: str, value: str
) -> None:
    """Issue 13's events (reassignment, reporting attributes) set row columns; verify
    replays them, so a row edited after them is caught like any other."""
    e = drive(keyed, worker, "shared_path")
    keyed.caseload.reassign(e.id, actor=supervisor, assignee="medarbejder03", reason="ferie")
    assert keyed.audit.verify(auditor).ok
    _edit(keyed, e.id, **{column: value})
    (b,) = keyed.audit.verify(auditor).breaks
    assert b.kind == "row" and b.engagement_id == e.id
