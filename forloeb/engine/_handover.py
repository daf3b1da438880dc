"""The handover package: what another organisation receives, built from the log.

The package is a fold of the engagement's events (the log is the truth), not
a copy of the current row: it lists the events it was built from and the
chain's head hash, so the receiver can have it checked against the log. Only
the sections the legal basis allows are included: with consent, those the
current consents covering the receiver name (intersected with what the
handover says it shared); with another basis, what the handover names, or
every section but the internal notes.

Exporting is itself recorded: an ``handover_exported`` event on the chain
(with the package's SHA-256) and an access-log entry, in one transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from ._calendar import COPENHAGEN
from ._checks import check_note
from ._consent import (
    DEFAULT_SECTIONS,
    GIVEN,
    HOW,
    SECTIONS,
    chain_consents,
    consents_of,
    shared_sections,
)
from ._definition import STAFF, Label, WorkflowDefinition
from ._errors import ConcurrencyError, GuardFailed, InvalidData
from ._i18n import Lang, field_label
from ._kernel import Kernel
from ._legal import claims_consent, consent_id
from ._legal import text as legal_text
from ._markdown import md_text
from ._types import Actor, Event

EXPORTED = "handover_exported"
FORMAT = "forloeb-handover/1"
Format = Literal["md", "json"]
# Staff who work the case hand it over; an auditor exports the audit log, never
# a package to another organisation (an export is an event that restarts the
# case's retention period, M9).
_EXPORTERS = STAFF
# Keys of an activity that are shown in its own words, not as extra items.
_ACTIVITY_OWN = ("kind", "description", "at", "by")
_DEADLINE_KEYS = ("due", "deadline", "frist")


@dataclass(frozen=True, kw_only=True)
class HandoverPackage:
    """A built package: ``text`` in the requested format, ``content`` as data."""

    engagement_id: int
    format: Format
    text: str
    content: Mapping[str, Any]
    sha256: str
    event: Event  # the handover_exported event that recorded the export


def _fold(definition: WorkflowDefinition, events: Sequence[Event]) -> dict[str, Any]:
    """Records per stage, activities and notes, replayed from the events."""
    records: dict[str, dict[str, Any]] = {}
    activities: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    for e in events:
        p = e.data
        if e.type == "started":
            records["referral"] = {"source": p.get("source"), **(p.get("data") or {})}
        elif e.type == "transition":
            spec = next(
                (t for t in definition.transitions_for(e.trigger or "") if e.from_state in t.source), None
            )
            if spec is not None and spec.record and e.from_state:
                records.setdefault(e.from_state, {}).update(p.get("data") or {})
            if p.get("note"):
                notes.append({"at": e.occurred_at.isoformat(), "text": p["note"]})
        elif e.type == "details" and e.to_state:
            records.setdefault(e.to_state, {}).update(p.get("data") or {})
        elif e.type == "activity":
            activities.append({**p, "at": e.occurred_at.isoformat(), "stage": e.to_state})
        elif e.type == "note":
            notes.append({"at": e.occurred_at.isoformat(), "text": p.get("text", "")})
    return {"records": records, "activities": activities, "notes": notes}


# The package section a stage's answers belong to.
_STAGE_SECTION = {
    "referral": "referral",
    "first_contact": "first_contact",
    "shared_path": "plan",
    "own_path": "plan",
    "self_help": "self_help",
    "rounding_off": "status",
}


def _section_of(definition: WorkflowDefinition, e: Event) -> set[str]:
    """The sections an event's content is shown in (empty: none)."""
    out: set[str] = set()
    if e.type == "started":
        out.add("referral")
    elif e.type == "transition":
        specs = definition.transitions_for(e.trigger or "")
        spec = next((t for t in specs if e.from_state in t.source), None)
        if spec is not None and spec.record and e.data.get("data") and e.from_state in _STAGE_SECTION:
            out.add(_STAGE_SECTION[e.from_state])
        if e.data.get("note"):
            out.add("notes")
    elif e.type == "details" and e.to_state in _STAGE_SECTION:
        out.add(_STAGE_SECTION[e.to_state])
    elif e.type == "activity":
        out.add("activities")
        if any(k in e.data for k in _DEADLINE_KEYS):
            out.add("deadlines")
    elif e.type == "note":
        out.add("notes")
    return out


def _choice(definition: WorkflowDefinition, key: str, value: Any, lang: Lang) -> str:
    choices = definition.referral_sources if key == "source" else definition.choices.get(key, ())
    for c in choices:
        if c.key == value:
            return c.labels.get(lang)
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _items(record: Mapping[str, Any], skip: Sequence[str] = ()) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in skip and v not in (None, "", [], {})}


def build_content(
    kernel: Kernel,
    *,
    row: Mapping[str, Any],
    events: Sequence[Event],
    receiver: str,
    legal_basis: Any,
    sections: Sequence[str],
    consents: Sequence[Mapping[str, Any]],
    created_at: datetime,
    created_by: str,
    fold: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The package as data (the JSON format; the Markdown renders this). ``fold``:
    the events folded already (``export`` reads the handover's record from it)."""
    definition = kernel.registry.compiled(row["workflow"], row["workflow_version"]).definition
    if fold is None:
        fold = _fold(definition, events)
    records: dict[str, dict[str, Any]] = fold["records"]
    content: dict[str, Any] = {
        "format": FORMAT,
        "engagement": {
            "id": row["id"],
            "workflow": row["workflow"],
            "workflow_version": row["workflow_version"],
            "subject": row["subject"],
            "state": row["state"],
            "cycle": row["cycle"],
            "team": row["team"],
            "contact": row["assignee"],
        },
        "receiver": receiver,
        "legal_basis": legal_basis,
        "consents": list(consents),
        "created_at": created_at.isoformat(),
        "created_by": created_by,
        "sections": list(sections),
        "left_out": [k for k in SECTIONS if k not in sections],
    }
    if "referral" in sections:
        content["referral"] = _items(records.get("referral", {}))
    if "first_contact" in sections:
        content["first_contact"] = _items(records.get("first_contact", {}))
    if "plan" in sections:
        content["plan"] = {
            "shared_path": _items(records.get("shared_path", {})),
            "own_path": _items(records.get("own_path", {})),
        }
    if "activities" in sections:
        content["activities"] = [_items(a) for a in fold["activities"]]
    if "self_help" in sections:
        content["self_help"] = _items(records.get("self_help", {}))
    if "status" in sections:
        content["status"] = _items(records.get("rounding_off", {}), skip=("receiver", "legal_basis"))
    if "deadlines" in sections:
        deadlines: list[dict[str, Any]] = []
        if row["stage_due_at"] is not None:
            deadlines.append({"what": row["state"], "due": row["stage_due_at"].isoformat()})
        for a in fold["activities"]:
            for key in _DEADLINE_KEYS:
                due = a.get(key)
                if isinstance(due, str) and due[:10] >= created_at.date().isoformat():
                    # The activity's kind, never its description: free text of the
                    # activities section stays out of this one (H3).
                    deadlines.append({"what": a.get("kind"), "due": due})
        content["deadlines"] = deadlines
    if "notes" in sections:
        content["notes"] = fold["notes"]
    last = events[-1]
    # The source table lists the events whose content is in the package, and
    # no others (their kind and time are information too, L7); the head
    # covers the whole chain.
    shown_consents = {c.get("id") for c in consents}
    content["events"] = [
        {
            "seq": e.seq,
            "type": e.type,
            "trigger": e.trigger,
            "occurred_at": e.occurred_at.isoformat(),
            "hash": e.hash,
        }
        for e in events
        if _section_of(definition, e) & set(sections) or (e.type == GIVEN and e.seq in shown_consents)
    ]
    content["chain"] = {
        "through_seq": last.seq,
        "head": last.hash,
        "algorithm": "HMAC-SHA256" if kernel.audit_key else "SHA-256",
    }
    return content


# -- Markdown -----------------------------------------------------------------------

_MD: dict[str, tuple[str, str]] = {
    "title": ("Overleveringspakke – forløb {id}", "Handover package – engagement {id}"),
    "subject": ("Borgerreference", "Subject reference"),
    "workflow": ("Arbejdsgang", "Workflow"),
    "stage": ("Fase", "Stage"),
    "receiver": ("Modtager", "Receiver"),
    "basis": ("Hjemmel", "Legal basis"),
    "contact": ("Kontaktperson", "Contact"),
    "created": ("Dannet", "Created"),
    "by": ("af", "by"),
    "consent": ("Samtykke", "Consent"),
    "consent_line": (
        "Samtykke nr. {id}, givet {date} ({how}) til {to}. Oplysninger: {info}. Formål: {purpose}.",
        "Consent no. {id}, given {date} ({how}) to {to}. Information: {info}. Purpose: {purpose}.",
    ),
    "nothing": ("Intet registreret.", "Nothing recorded."),
    "agreements": ("Aftaler", "Agreements"),
    "no_deadlines": ("Ingen åbne frister.", "No open deadlines."),
    "left_out": (
        "Ikke medtaget (uden for hjemlen eller samtykkets omfang): {what}.",
        "Not included (outside the legal basis or the consent's scope): {what}.",
    ),
    "source": ("Kildegrundlag", "Sources"),
    "source_text": (
        "Pakken er dannet ud fra hændelse 1–{n} i forløbets hændelseslog. Kædens hoved "
        "(hash af hændelse {n}, {algo}):",
        "The package was built from events 1–{n} of the engagement's event log. The chain "
        "head (hash of event {n}, {algo}):",
    ),
    "check": (
        "Afsenderen kan bekræfte pakken med `forloeb audit verify --engagement {id}`: "
        "hændelse {n} skal have denne hash.",
        "The sender can confirm the package with `forloeb audit verify --engagement {id}`: "
        "event {n} must have this hash.",
    ),
    "h_seq": ("Nr.", "No."),
    "h_time": ("Tidspunkt", "Time"),
    "h_event": ("Hændelse", "Event"),
    "h_hash": ("Hash", "Hash"),
}

_EVENT_LABELS: dict[str, Label] = {
    "started": Label(da="Startet", en="Started"),
    "transition": Label(da="Overgang", en="Transition"),
    "note": Label(da="Notat", en="Note"),
    "details": Label(da="Registrering", en="Recorded"),
    "activity": Label(da="Aktivitet", en="Activity"),
    "consent_given": Label(da="Samtykke givet", en="Consent given"),
    "consent_withdrawn": Label(da="Samtykke trukket tilbage", en="Consent withdrawn"),
    EXPORTED: Label(da="Overleveringspakke dannet", en="Handover package exported"),
}


def _m(lang: Lang, key: str, **params: object) -> str:
    da, en = _MD[key]
    return (da if lang == "da" else en).format(**params)


def _local(iso: str | None) -> str:
    if not iso:
        return "-"
    try:
        return datetime.fromisoformat(iso).astimezone(COPENHAGEN).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def render_markdown(kernel: Kernel, content: Mapping[str, Any], lang: Lang = "da") -> str:
    eng = content["engagement"]
    definition = kernel.registry.compiled(eng["workflow"], eng["workflow_version"]).definition
    receivers = kernel.receivers

    def label_of_receiver(key: str) -> str:
        return receivers[key].get(lang) if key in receivers else key

    def stage(key: str) -> str:
        try:
            return definition.stage(key).labels.get(lang)
        except KeyError:
            return key

    def items(record: Mapping[str, Any]) -> list[str]:
        if not record:
            return [_m(lang, "nothing")]
        return [
            f"- **{field_label(k, lang).capitalize()}:** {md_text(_choice(definition, k, v, lang))}"
            for k, v in record.items()
        ]

    out = [f"# {_m(lang, 'title', id=eng['id'])}", ""]
    head = [
        (_m(lang, "subject"), eng["subject"]),
        (_m(lang, "workflow"), definition.labels.get(lang)),
        (_m(lang, "stage"), stage(eng["state"])),
        (_m(lang, "receiver"), label_of_receiver(content["receiver"])),
        (_m(lang, "basis"), legal_text(content["legal_basis"], lang)),
        (_m(lang, "contact"), eng.get("contact") or "-"),
        (
            _m(lang, "created"),
            f"{_local(content['created_at'])} {_m(lang, 'by')} {content['created_by']}",
        ),
    ]
    out += [f"- **{k}:** {md_text(v)}" for k, v in head]
    for c in content["consents"]:
        out += [
            "",
            _m(
                lang,
                "consent_line",
                id=c["id"],
                date=c["given_on"],
                how=HOW[c["how"]].get(lang) if c["how"] in HOW else c["how"],
                to=", ".join(label_of_receiver(t) for t in c["to"]),
                info=", ".join(
                    SECTIONS[s].get(lang).lower() if s in SECTIONS else s for s in c["information"]
                ),
                purpose=md_text(c["purpose"]),
            ),
        ]

    def section(key: str) -> None:
        out.extend(["", f"## {SECTIONS[key].get(lang)}", ""])

    if "referral" in content:
        section("referral")
        out += items(content["referral"])
    if "first_contact" in content:
        section("first_contact")
        out += items(content["first_contact"])
    if "plan" in content:
        section("plan")
        for path in ("shared_path", "own_path"):
            out += [f"### {stage(path)}", ""]
            out += items(content["plan"][path])
            out.append("")
        out.pop()
    if "activities" in content:
        section("activities")
        acts = content["activities"]
        if not acts:
            out.append(_m(lang, "nothing"))
        agreements = [a for a in acts if a.get("kind") == "agreement"]
        for a in acts:
            if a.get("kind") == "agreement":
                continue
            out.append(_activity_line(definition, a, lang))
        if agreements:
            out += ["", f"### {_m(lang, 'agreements')}", ""]
            out += [_activity_line(definition, a, lang) for a in agreements]
    if "self_help" in content:
        section("self_help")
        out += items(content["self_help"])
    if "status" in content:
        section("status")
        out += items(content["status"])
    if "deadlines" in content:
        section("deadlines")
        dls = content["deadlines"]
        out += [f"- {_local(d['due'])}: {md_text(stage(str(d['what'])))}" for d in dls] or [
            _m(lang, "no_deadlines")
        ]
    if "notes" in content:
        section("notes")
        out += [f"- {_local(n['at'])}: {md_text(n['text'])}" for n in content["notes"]] or [
            _m(lang, "nothing")
        ]
    if content["left_out"]:
        what = ", ".join(SECTIONS[k].get(lang).lower() for k in content["left_out"])
        out += ["", f"_{_m(lang, 'left_out', what=what)}_"]
    chain = content["chain"]
    out += [
        "",
        f"## {_m(lang, 'source')}",
        "",
        _m(lang, "source_text", n=chain["through_seq"], algo=chain["algorithm"]),
        "",
        f"`{chain['head']}`",
        "",
        _m(lang, "check", id=eng["id"], n=chain["through_seq"]),
        "",
        f"| {_m(lang, 'h_seq')} | {_m(lang, 'h_time')} | {_m(lang, 'h_event')} | {_m(lang, 'h_hash')} |",
        "|---:|---|---|---|",
    ]
    for e in content["events"]:
        what = _EVENT_LABELS[e["type"]].get(lang) if e["type"] in _EVENT_LABELS else e["type"]
        if e["type"] == "transition" and e["trigger"]:
            labels = definition.transitions_for(e["trigger"])
            what = labels[0].labels.get(lang) if labels else e["trigger"]
        out.append(f"| {e['seq']} | {_local(e['occurred_at'])} | {what} | `{e['hash'][:16]}…` |")
    return "\n".join(out) + "\n"


def _activity_line(definition: WorkflowDefinition, a: Mapping[str, Any], lang: Lang) -> str:
    text = f"- {_local(a.get('at'))}: {_choice(definition, 'kind', a.get('kind'), lang)}"
    if a.get("description"):
        text += f" – {md_text(a['description'])}"
    extra = {k: v for k, v in a.items() if k not in (*_ACTIVITY_OWN, "stage")}
    if extra:
        text += " (" + "; ".join(f"{field_label(k, lang)}: {md_text(v)}" for k, v in extra.items()) + ")"
    return text


# -- the export command ---------------------------------------------------------------


def export(
    kernel: Kernel,
    engagement_id: int,
    actor: Actor,
    format: Format = "md",
    lang: Lang = "da",
    receiver: str | None = None,
    purpose: str | None = None,
) -> HandoverPackage:
    """Build the package and record the export (event + access-log entry) in one transaction."""
    if format not in ("md", "json"):
        raise InvalidData(f"unknown format {format!r} (md, json)", detail_da=f"ukendt format {format!r}")
    if purpose is not None:
        check_note(purpose)
    role = kernel.role_for(actor, _EXPORTERS, "export a handover package")
    with kernel.read() as rtx:
        row = dict(kernel.load(rtx, engagement_id))
        events = [Event.from_row(r) for r in rtx.events(engagement_id)]
    acting = kernel.check_visible(actor, row, "export a handover package")
    # What was decided is read from the chain, not trusted from the row (H4):
    # the stage the log ends in, the handover's record, the consents.
    definition = kernel.registry.compiled(row["workflow"], row["workflow_version"]).definition
    ended_in = next((e.to_state for e in reversed(events) if e.to_state), None)
    fold = _fold(definition, events)
    handed = fold["records"].get("rounding_off", {}) if ended_in == "handed_over" else {}
    receiver = receiver or handed.get("receiver")
    if not receiver:
        raise GuardFailed(engagement_id, row["state"], EXPORTED, missing=["receiver"])
    if receiver not in kernel.receivers:
        raise GuardFailed(
            engagement_id, row["state"], EXPORTED, invalid=[("receiver", receiver, sorted(kernel.receivers))]
        )
    # Without a recorded handover to this receiver, only consent can justify sharing.
    here = handed.get("receiver") == receiver
    legal_basis = handed.get("legal_basis") if here else {"kind": "consent"}
    named = shared_sections(handed.get("shared")) if here else None
    consents: list[dict[str, Any]] = []
    if claims_consent(legal_basis):
        wanted = consent_id(legal_basis)
        cover = [c for c in chain_consents(events) if c.covers(receiver) and wanted in (None, c.id)]
        if not cover:
            raise GuardFailed(engagement_id, row["state"], EXPORTED, missing=["consent"])
        allowed = {s for c in cover for s in c.information}
        sections = [k for k in (named or list(allowed)) if k in allowed]
        consents = [c.to_dict() for c in cover]
    else:
        sections = named or list(DEFAULT_SECTIONS)
    sections = [k for k in SECTIONS if k in sections]  # the package's order
    now = kernel.clock()
    content = build_content(
        kernel,
        row=row,
        events=events,
        receiver=receiver,
        legal_basis=legal_basis,
        sections=sections,
        consents=consents,
        created_at=now,
        created_by=acting.id,
        fold=fold,
    )
    text = (
        render_markdown(kernel, content, lang)
        if format == "md"
        else json.dumps(content, ensure_ascii=False, indent=2) + "\n"
    )
    digest = hashlib.sha256(text.encode()).hexdigest()
    payload = {
        "format": format,
        "receiver": receiver,
        "sections": sections,
        "through_seq": content["chain"]["through_seq"],
        "head": content["chain"]["head"],
        "sha256": digest,
    }
    if purpose:
        payload["purpose"] = purpose

    recorded: list[Event] = []

    def work(tx: Any) -> Any:
        locked = kernel.load(tx, engagement_id)
        if locked["version"] != row["version"]:
            # Someone wrote between the read and now: the package would not
            # match the head it names. The caller exports again.
            raise ConcurrencyError(engagement_id, row["version"], locked["version"])
        kernel.log_access(
            acting,
            "export",
            engagements=[row],
            criteria={"handover": receiver, "format": format, "sections": sections},
            purpose=purpose,
            role=role,
        )
        result = kernel.commit_change(
            tx, locked, {"updated_at": now}, actor, role, EXPORTED, None, locked["state"], payload, now
        )
        recorded[:] = [result[1]]
        return result

    kernel.run(work, None, "")
    return HandoverPackage(
        engagement_id=engagement_id,
        format=format,
        text=text,
        content=content,
        sha256=digest,
        event=recorded[0],
    )


__all__ = ["EXPORTED", "HandoverPackage", "build_content", "consents_of", "export", "render_markdown"]
