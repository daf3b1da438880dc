"""The handover package: built from the log, limited by the basis, recorded when exported."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import PLAN, READER, counts, drive, start

from forloeb import Actor, Engine, GuardFailed, PermissionDenied
from forloeb.cli import cli

OWN = {"focus": "Arbejde", "goals": "Praktik inden sommer", "plan": "CV og tre virksomhedsbesøg"}


# Everything but the running notes.
SCOPE = ["referral", "first_contact", "plan", "activities", "self_help", "status", "deadlines"]


def _handed_over(engine: Engine, worker: Actor, *, information: object = SCOPE) -> int:
    begun = start(engine, worker, team="Social", assignee=worker.id)
    e = drive(engine, worker, "shared_path", engagement=begun)
    engine.record_details(e.id, PLAN, actor=worker)
    engine.fire(e.id, "set_own_path", actor=worker)
    engine.fire(e.id, "act", actor=worker, data=OWN)
    agreement = {"what": "Møde med jobcentret", "who": "du", "by_when": "2026-03-20"}
    engine.record_activity(
        e.id, "agreement", actor=worker, description="Møde med jobcentret hver fredag", data=agreement
    )
    engine.record_activity(
        e.id,
        "collaborate",
        actor=worker,
        description="Fælles møde med sprogskolen",
        data={"with_whom": ["uu"]},
    )
    engine.add_note(e.id, "Fortroligt: familien har gæld", actor=worker)
    engine.fire(e.id, "reach_self_help", actor=worker)
    engine.fire(e.id, "round_off", actor=worker, data={"level": "can"})
    given = engine.give_consent(
        e.id, actor=worker, information=information, to="jobcenter", purpose="Praktikforløb"
    )
    engine.fire(
        e.id,
        "hand_over",
        actor=worker,
        data={
            "receiver": "jobcenter",
            "legal_basis": f"samtykke:{given.version}",
            "status": "Klar til praktik",
            "achievements": "Har lavet CV",
        },
    )
    return e.id


def test_markdown_package_is_danish_and_names_the_head(engine: Engine, worker: Actor) -> None:
    eid = _handed_over(engine, worker)
    head = engine.get(eid, actor=READER).head_hash
    package = engine.export_handover(eid, actor=worker)
    md = package.text
    assert md.startswith(f"# Overleveringspakke – forløb {eid}")
    for text in (
        "## Henvendelse",
        "## Fokus, mål og plan",
        "### Den fælles vej",
        "### Beboerens vej",
        PLAN["plan"],
        OWN["plan"],
        "### Aftaler",
        "Møde med jobcentret hver fredag",
        "Samarbejder med andre – Fælles møde med sprogskolen",
        "**Selvhjælpsniveau:** Kan selv",
        "Klar til praktik",
        "**Modtager:** Jobcenter",
        "## Kildegrundlag",
        f"`{head}`",
        "Samtykke nr.",
    ):
        assert text in md, text
    assert "Fortroligt" not in md  # the consent does not name the notes
    assert package.sha256 == hashlib.sha256(md.encode()).hexdigest()
    assert package.content["chain"]["head"] == head


def test_export_is_an_event_and_an_access_log_entry(engine: Engine, worker: Actor, auditor: Actor) -> None:
    eid = _handed_over(engine, worker)
    before = engine.get(eid, actor=READER)
    package = engine.export_handover(eid, actor=worker, format="json", purpose="Overlevering")
    after = engine.get(eid, actor=READER)
    assert after.version == before.version + 1
    last = engine.history(eid, actor=READER)[-1]
    assert last == package.event
    assert (last.type, last.data["head"], last.data["sha256"]) == (
        "handover_exported",
        before.head_hash,
        package.sha256,
    )
    (entry,) = [x for x in engine.audit.access(auditor, engagement_id=eid) if x.action == "export"]
    assert (entry.actor, entry.action, entry.purpose) == ("anna", "export", "Overlevering")
    content = json.loads(package.text)
    assert content["chain"] == {
        "through_seq": before.version,
        "head": before.head_hash,
        "algorithm": "SHA-256",
    }
    listed = [e["seq"] for e in content["events"]]
    # The events whose content is in the package, in order: not the note (notes are
    # outside this scope), all before the head the package names.
    assert listed == sorted(listed) and set(listed) < set(range(1, before.version + 1))
    assert "note" not in {e["type"] for e in content["events"]} and 1 in listed
    assert engine.audit.verify(auditor).ok


def test_consent_scope_limits_what_is_exported(engine: Engine, worker: Actor) -> None:
    eid = _handed_over(engine, worker, information=["plan"])
    content = engine.export_handover(eid, actor=worker, format="json").content
    assert content["sections"] == ["plan"]
    assert "activities" not in content and "referral" not in content and "status" not in content
    assert content["plan"]["own_path"]["plan"] == OWN["plan"]
    md = engine.export_handover(eid, actor=worker).text
    assert "Møde med jobcentret" not in md and "Ikke medtaget" in md


def test_withdrawn_consent_stops_the_export(engine: Engine, worker: Actor) -> None:
    eid = _handed_over(engine, worker)
    (consent,) = engine.consents(eid, actor=READER)
    engine.withdraw_consent(eid, consent.id, actor=worker)
    before = counts(engine)
    with pytest.raises(GuardFailed) as info:
        engine.export_handover(eid, actor=worker)
    assert info.value.missing == ("consent",)
    assert counts(engine) == before


def test_bad_exports_write_nothing(engine: Engine, worker: Actor) -> None:
    e = drive(engine, worker, "action")
    eid = _handed_over(engine, worker)
    before = counts(engine)
    with pytest.raises(GuardFailed):  # no handover, no receiver
        engine.export_handover(e.id, actor=worker)
    with pytest.raises(GuardFailed):  # no consent for this receiver
        engine.export_handover(e.id, actor=worker, receiver="skole")
    with pytest.raises(GuardFailed):
        engine.export_handover(eid, actor=worker, receiver="naboen")
    with pytest.raises(PermissionDenied):  # another team's worker
        engine.export_handover(eid, actor=Actor("bo", ["worker"], teams=["Civil"]))
    assert counts(engine) == before


def test_an_auditor_exports_the_audit_log_never_a_handover_package(
    engine: Engine, worker: Actor, auditor: Actor
) -> None:
    # Issue 11, M9: an export is an event that restarts the case's retention period.
    eid = _handed_over(engine, worker)
    before = counts(engine)
    with pytest.raises(PermissionDenied):
        engine.export_handover(eid, actor=auditor)
    assert counts(engine) == before


def test_cli_handover_export_md(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    with Engine.open(f"sqlite:///{db}", migrate=True) as engine:
        eid = _handed_over(engine, Actor("anna", ["worker"]))
        head = engine.get(eid, actor=READER).head_hash
    out = tmp_path / "pakke.md"
    result = CliRunner(env={"FORLOEB_DB": None}).invoke(
        cli,
        [
            "--db",
            str(db),
            "--as",
            "anna",
            "handover",
            "export",
            str(eid),
            "--format",
            "md",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    md = out.read_text(encoding="utf-8")
    assert "Overleveringspakke" in md and head in md and OWN["goals"] in md
    assert str(out) in result.stdout


def test_h3_a_deadlines_consent_shares_no_free_text_of_another_section(engine: Engine, worker: Actor) -> None:
    """H3: with a consent for deadlines only, an activity's free text ("møde hos psykiater")
    appeared in the deadlines section, and the source table listed notes and pauses."""
    e = drive(engine, worker, "action")
    engine.record_activity(
        e.id,
        "agreement",
        actor=worker,
        description="Følges til møde hos psykiater",
        data={"what": "Møde hos psykiater", "who": "du", "by_when": "2099-03-20"},
    )
    engine.add_note(e.id, "Fortroligt: angst", actor=worker)
    engine.fire(e.id, "pause", actor=worker, data={"reason": "Indlagt på psykiatrisk afdeling"})
    engine.fire(e.id, "resume", actor=worker)
    engine.give_consent(e.id, actor=worker, information=["deadlines"], to="jobcenter", purpose="Frister")
    for fmt in ("json", "md"):
        package = engine.export_handover(e.id, actor=worker, format=fmt, receiver="jobcenter")
        assert package.content["sections"] == ["deadlines"]
        text = package.text.lower()
        assert "psykiat" not in text and "angst" not in text, fmt
    content = package.content
    assert all("psykiat" not in str(d["what"]).lower() for d in content["deadlines"])
    types = {(ev["type"], ev["trigger"]) for ev in content["events"]}
    assert ("note", None) not in types and ("transition", "pause") not in types
    assert ("activity", None) not in types  # no due date of its own: nothing of it is shown


@pytest.mark.parametrize(
    "attack",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "[klik her](javascript:alert(1))",
        "![](https://evil.example/pixel.png)",
        "| celle | brud |\n# Overskrift",
    ],
)
def test_m2_markdown_and_html_in_answers_and_notes_arrive_as_text(
    engine: Engine, worker: Actor, attack: str
) -> None:
    e = drive(engine, worker, "action")
    engine.add_note(e.id, attack, actor=worker)
    engine.record_activity(e.id, "collaborate", actor=worker, description=attack, data={"with_whom": ["uu"]})
    engine.give_consent(e.id, actor=worker, information="all", to="jobcenter", purpose=attack)
    text = engine.export_handover(e.id, actor=worker, format="md", receiver="jobcenter").text
    assert "<script" not in text and "<img" not in text
    assert "](javascript:" not in text and "![](" not in text and "](https://evil" not in text
    assert "\n# Overskrift" not in text and "\n| celle" not in text
    # The words themselves are all there, escaped.
    assert "&lt;" in text or "\\[klik her\\]" in text or "\\!\\[" in text or "\\| celle" in text
    # Rendered by a real Markdown renderer, nothing becomes a tag, link or image.
    from markdown_it import MarkdownIt

    html = MarkdownIt("commonmark").enable("table").render(text)
    assert "<script" not in html and "<img" not in html and "<a " not in html
