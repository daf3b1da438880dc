"""The events in words (forloeb.words.labels), as the CLI's history and the web
console's timeline show them: every kind of event the engine writes reads as
a sentence in the workflow's terms, never as its raw data."""

from __future__ import annotations

from helpers import READER, drive, start

from forloeb import Actor, Engine
from forloeb.words.labels import event_text

ANNA = Actor("anna", ["worker"])
LEDER = Actor("leder", ["supervisor"])


def test_every_event_of_an_engagement_reads_as_words(engine: Engine) -> None:
    e = drive(engine, ANNA, "action", engagement=start(engine, ANNA, team="familie", assignee="anna"))
    engine.progress.record_self_help(e.id, "can", actor=ANNA)
    engine.give_consent(e.id, actor=ANNA, information="all", to=["jobcenter"], purpose="Praktik")
    (consent,) = engine.consents(e.id, actor=ANNA)
    engine.withdraw_consent(e.id, consent.id, actor=ANNA, reason="Ombestemt")
    engine.caseload.reassign(e.id, actor=LEDER, assignee="carl", reason="Ferie")
    engine.record_activity(e.id, "agreement", actor=Actor("carl", ["worker"]), description="Aftale",
                           data={"what": "Møde hver uge", "who": "du"})  # fmt: skip
    definition = engine.workflow(e.workflow, e.workflow_version)
    texts = {ev.type: event_text(definition, ev, "da") for ev in engine.history(e.id, actor=READER)}
    assert texts["self_help"] == "Selvhjælp: Kan selv"
    assert texts["consent_given"].startswith(f"Samtykke {consent.id} givet til Jobcenter (Praktik)")
    assert texts["consent_withdrawn"] == f"Samtykke {consent.id} trukket tilbage"
    assert texts["reassigned"].startswith("Omfordelt: ") and "medarbejder: anna → carl" in texts["reassigned"]
    assert "Ferie" in texts["reassigned"]
    assert "hvad aftaler vi: Møde hver uge" in texts["activity"]
    for kind, text in texts.items():
        assert "{" not in text and not text.startswith(f"{kind}:"), (kind, text)
    english = {ev.type: event_text(definition, ev, "en") for ev in engine.history(e.id, actor=READER)}
    assert english["self_help"] == "Self-help: Can"
