"""Consent: given and withdrawn as events; the handover guard uses the current consent."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import READER, ROUNDING_OFF, counts, drive

from forloeb import Actor, Engine, GuardFailed, PermissionDenied
from forloeb.cli import cli


def hand_over(consent: int) -> dict[str, object]:
    """A handover to the jobcentre on the legal basis of consent number ``consent``."""
    return {**ROUNDING_OFF, "receiver": "jobcenter", "legal_basis": f"consent:{consent}"}


def test_consent_is_an_event_and_kept_on_the_engagement(engine: Engine, worker: Actor) -> None:
    e = drive(engine, worker, "rounding_off")
    e2 = engine.give_consent(
        e.id, actor=worker, information=["plan", "status"], to="jobcenter", purpose="Praktik", how="oral"
    )
    assert e2.version == e.version + 1
    last = engine.history(e.id, actor=READER)[-1]
    assert last.type == "consent_given" and last.data["to"] == ["jobcenter"]
    (c,) = engine.consents(e.id, actor=READER)
    assert (c.id, c.information, c.to, c.how, c.current) == (
        e2.version,
        ("plan", "status"),
        ("jobcenter",),
        "oral",
        True,
    )
    assert engine.replay(e.id)["state"] == "rounding_off"  # consent does not move the engagement


def test_handover_on_consent_needs_a_current_consent_covering_the_receiver(
    engine: Engine, worker: Actor
) -> None:
    e = drive(engine, worker, "rounding_off")
    before = counts(engine)
    with pytest.raises(GuardFailed) as info:
        engine.fire(e.id, "hand_over", actor=worker, data=hand_over(99))
    assert info.value.missing == ("consent",)
    assert "samtykke" in info.value.message("da")
    assert counts(engine) == before
    # A consent to someone else does not cover the jobcenter.
    uu = engine.give_consent(e.id, actor=worker, information="all", to="uu", purpose="Uddannelse")
    with pytest.raises(GuardFailed):
        engine.fire(e.id, "hand_over", actor=worker, data=hand_over(uu.version))
    given = engine.give_consent(e.id, actor=worker, information="all", to="jobcenter", purpose="Job")
    engine.withdraw_consent(e.id, given.version, actor=worker, reason="Fortrudt")
    with pytest.raises(GuardFailed):
        engine.fire(e.id, "hand_over", actor=worker, data=hand_over(given.version))
    job = engine.give_consent(
        e.id, actor=worker, information="plan", to=["jobcenter", "skole"], purpose="Job"
    )
    assert engine.fire(e.id, "hand_over", actor=worker, data=hand_over(job.version)).state == "handed_over"
    assert [c.current for c in engine.consents(e.id, actor=READER)] == [True, False, True]


def test_another_legal_basis_needs_no_consent(engine: Engine, worker: Actor) -> None:
    e = drive(engine, worker, "rounding_off")
    data = {
        **ROUNDING_OFF,
        "receiver": "socialcenter",
        "legal_basis": "statute:retsplejeloven_115:SSP-møde 12/3",
    }
    assert engine.fire(e.id, "hand_over", actor=worker, data=data).state == "handed_over"


def test_the_receiver_must_be_registered(engine: Engine, worker: Actor) -> None:
    e = drive(engine, worker, "rounding_off")
    before = counts(engine)
    with pytest.raises(GuardFailed) as info:
        engine.fire(
            e.id,
            "hand_over",
            actor=worker,
            data={**ROUNDING_OFF, "receiver": "Naboen", "legal_basis": "statute:forvaltningsloven_28"},
        )
    assert info.value.invalid[0][0] == "receiver" and "jobcenter" in info.value.invalid[0][2]
    assert counts(engine) == before
    engine.receivers = {**engine.receivers, "naboen": engine.receivers["forening"]}
    data = {**ROUNDING_OFF, "receiver": "naboen", "legal_basis": "statute:forvaltningsloven_28"}
    ok = engine.fire(e.id, "hand_over", actor=worker, data=data)
    assert ok.state == "handed_over"


@pytest.mark.parametrize(
    "bad",
    [
        {"information": [], "to": "jobcenter", "purpose": "x"},
        {"information": "helbred", "to": "jobcenter", "purpose": "x"},
        {"information": "plan", "to": "naboen", "purpose": "x"},
        {"information": "plan", "to": "jobcenter", "purpose": " "},
        {"information": "plan", "to": "jobcenter", "purpose": "x", "how": "telepatisk"},
        {"information": "plan", "to": "jobcenter", "purpose": "x", "given_on": "i går"},
        {"information": "plan", "to": "jobcenter", "purpose": "x", "given_on": "2099-01-01"},
    ],
)
def test_bad_consent_writes_nothing(engine: Engine, worker: Actor, bad: dict[str, object]) -> None:
    e = drive(engine, worker, "action")
    before = counts(engine)
    with pytest.raises(GuardFailed):
        engine.give_consent(e.id, actor=worker, **bad)  # type: ignore[arg-type]
    assert counts(engine) == before


def test_withdrawing_needs_a_current_consent_and_staff(engine: Engine, worker: Actor, auditor: Actor) -> None:
    e = drive(engine, worker, "action")
    given = engine.give_consent(e.id, actor=worker, information="plan", to="skole", purpose="Skift")
    before = counts(engine)
    with pytest.raises(GuardFailed):
        engine.withdraw_consent(e.id, 999, actor=worker)
    with pytest.raises(PermissionDenied):
        engine.withdraw_consent(e.id, given.version, actor=auditor)
    with pytest.raises(PermissionDenied):
        engine.give_consent(e.id, actor=auditor, information="plan", to="skole", purpose="x")
    assert counts(engine) == before
    engine.withdraw_consent(e.id, given.version, actor=worker)
    with pytest.raises(GuardFailed):  # not twice
        engine.withdraw_consent(e.id, given.version, actor=worker)


def test_cli_consent_give_withdraw_show(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    with Engine.open(f"sqlite:///{db}", migrate=True) as engine:
        e = drive(engine, Actor("anna", ["worker"]), "rounding_off")

    def run(*args: str):  # type: ignore[no-untyped-def]
        return CliRunner(env={"FORLOEB_DB": None}).invoke(cli, ["--db", str(db), "--as", "anna", *args])

    given = run(
        "consent",
        "give",
        str(e.id),
        "--information",
        "plan,status",
        "--to",
        "jobcenter",
        "--purpose",
        "Praktik",
        "--how",
        "mundtligt",
        "--date",
        "2026-01-05",
    )
    assert given.exit_code == 0, given.output
    assert "samtykke nr." in given.stdout
    shown = run("consent", "show", str(e.id))
    assert "Jobcenter" in shown.stdout and "gældende" in shown.stdout and "2026-01-05" in shown.stdout
    withdrawn = run("consent", "withdraw", str(e.id), str(e.version + 1), "--reason", "Fortrudt")
    assert withdrawn.exit_code == 0, withdrawn.output
    assert "trukket tilbage" in run("consent", "show", str(e.id)).stdout
    bad = run("consent", "give", str(e.id), "--information", "helbred", "--to", "jobcenter", "--purpose", "x")
    assert bad.exit_code == 1 and bad.stderr.startswith("Fejl:")


@pytest.mark.parametrize(
    "basis",
    [
        "mundtligt samtykke",
        "samtykke",
        "Samtykke (skriftligt) 2026-11-20",
        "serviceloven § 11",
        "consent:0",
        "consent:abc",
        "statute:ukendt_lov",
        {"kind": "consent"},
        {"kind": "consent", "consent": "7"},
        {"kind": "statute", "statute": "forvaltningsloven_28", "extra": 1},
        {"kind": "other"},
    ],
)
def test_h2_a_legal_basis_is_a_structured_choice_never_wording(
    engine: Engine, worker: Actor, basis: object
) -> None:
    """H2: "mundtligt samtykke" with no consent recorded handed over; now every text
    that is not one of the choices is refused, with the choices, and nothing is written."""
    e = drive(engine, worker, "rounding_off")
    before = counts(engine)
    data = {**ROUNDING_OFF, "receiver": "jobcenter", "legal_basis": basis}
    with pytest.raises(GuardFailed) as info:
        engine.fire(e.id, "hand_over", actor=worker, data=data)
    ((key, value, choices),) = info.value.invalid
    assert key == "legal_basis" and (value == basis or isinstance(basis, dict))
    assert "consent:<id>" in choices and "statute:forvaltningsloven_28" in choices
    assert counts(engine) == before
    # Nor can it be slipped in through the stage's record first.
    with pytest.raises(GuardFailed):
        engine.record_details(e.id, {"legal_basis": basis}, actor=worker)
    assert counts(engine) == before


def test_h2_the_structured_basis_is_recorded_and_shown(engine: Engine, worker: Actor) -> None:
    e = drive(engine, worker, "rounding_off")
    data = {**ROUNDING_OFF, "receiver": "socialcenter", "legal_basis": "hjemmel:forvaltningsloven_28:j.nr. 4"}
    handed = engine.fire(e.id, "hand_over", actor=worker, data=data)
    basis = handed.data["rounding_off"]["legal_basis"]
    assert basis == "statute:forvaltningsloven_28:j.nr. 4"  # the stored form, whatever was typed
    package = engine.export_handover(e.id, actor=worker, format="md", lang="da")
    assert "**Hjemmel:** Forvaltningsloven § 28 \\(videregivelse\\) \\(j.nr. 4\\)" in package.text


@pytest.mark.parametrize("given_on", ["0001-01-01", "1999-12-31"])
def test_l5_an_implausible_consent_date_is_refused(engine: Engine, worker: Actor, given_on: str) -> None:
    e = drive(engine, worker, "rounding_off")
    before = counts(engine)
    with pytest.raises(GuardFailed) as info:
        engine.give_consent(
            e.id, actor=worker, information="plan", to="jobcenter", purpose="Job", given_on=given_on
        )
    ((key, value, allowed),) = info.value.invalid
    assert (key, value) == ("date", given_on) and allowed[0].startswith(">= ")
    assert counts(engine) == before


def test_l5_a_withdrawal_before_the_consent_is_refused(engine: Engine, worker: Actor) -> None:
    e = drive(engine, worker, "rounding_off")
    today = engine.get(e.id, actor=READER).created_at.date()
    given = engine.give_consent(e.id, actor=worker, information="plan", to="jobcenter", purpose="Job")
    before = counts(engine)
    with pytest.raises(GuardFailed) as info:
        engine.withdraw_consent(e.id, given.version, actor=worker, withdrawn_on=today - timedelta(days=1))
    assert list(info.value.invalid[0][2]) == [f">= {today.isoformat()}"]
    assert counts(engine) == before
