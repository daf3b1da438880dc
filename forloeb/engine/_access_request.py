"""A resident's right of access (GDPR art. 15), whole: their data, not only the log.

One package per request with every engagement of the subject — what was
recorded (the answers of each stage), notes, activities, consents, handovers
and the event history — and the access log about them, built from the event
log (the truth) and the access log. As data (``content``, its ``json``) and as
a readable document in Danish (``text``, Markdown).

Staff identities are left out by default (Datatilsynet: a resident is told
what was done with their data, normally not by whom): the actor of each event
and entry, who recorded an activity or a consent, the assignee and the
supervisor, and any staff name, login or e-mail address written in free text
(a note that says "ringede til anna") — the names come from the staff
register and from the log itself.

``Audit.access_request`` checks the viewer and logs the request; this module
builds the package.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ._calendar import COPENHAGEN
from ._definition import WorkflowDefinition
from ._i18n import field_label
from ._kernel import Kernel
from ._markdown import md_text
from ._queries import history, list_engagements
from ._types import Engagement, Event

FORMAT = "forloeb-access-request/1"
STAFF = "[medarbejder]"
# Payload keys that name a member of staff.
_STAFF_KEYS = frozenset({"by", "given_by", "withdrawn_by", "impersonated_by", "actor", "acknowledged_by"})
_ENGAGEMENT_STAFF = ("assignee", "supervisor")


@dataclass(frozen=True, kw_only=True)
class AccessRequest:
    """The package: ``content`` as data, ``json`` and ``text`` (Markdown, Danish)."""

    subject: str
    content: Mapping[str, Any]
    json: str
    text: str
    sha256: str  # of ``json``: what the access log records was handed out


@dataclass(frozen=True, kw_only=True)
class AccessEntry:
    id: int
    occurred_at: datetime
    actor: str
    role: str
    action: str
    engagement_id: int | None
    subject: str | None
    criteria: Mapping[str, Any] | None
    purpose: str | None
    # A page of a listing: the engagements it showed ([{"id", "subject"}]).
    shown: list[Mapping[str, Any]] | None = None
    # The admin who acted as ``actor``, if any.
    impersonator: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> AccessEntry:
        return cls(
            id=row["id"],
            occurred_at=row["occurred_at"],
            actor=row["actor"],
            role=row["role"],
            action=row["action"],
            engagement_id=row["engagement_id"],
            subject=row["subject"],
            criteria=row["criteria"],
            purpose=row["purpose"],
            shown=row.get("shown"),
            impersonator=row.get("impersonator"),
        )

    def to_dict(self, *, redact_staff: bool = False, names: Iterable[str] = ()) -> dict[str, Any]:
        """The entry as data (for the auditor reading the log); ``redact_staff``: without
        staff identities, also where free text names them (``names``: the names to take
        out), as every export for a resident is by default."""
        d = {
            "id": self.id,
            "occurred_at": self.occurred_at.isoformat(),
            "actor": self.actor,
            "role": self.role,
            "action": self.action,
            "engagement_id": self.engagement_id,
            "subject": self.subject,
            "criteria": self.criteria,
            "purpose": self.purpose,
            "shown": self.shown,
            "impersonator": self.impersonator,
        }
        if redact_staff:
            del d["actor"], d["impersonator"]
            # Criteria can name staff (an actor filter): keep only the keys.
            d["criteria"] = sorted(self.criteria) if self.criteria else None
            d["purpose"] = redactor([self.actor, *names])(self.purpose)
        return d


def redactor(names: Iterable[str | None]) -> Callable[[Any], Any]:
    """A function that replaces each of ``names`` (whole words, any case) in a text,
    or in every text of a JSON-like value, by ``[medarbejder]``."""
    words = sorted({n.strip() for n in names if n and len(n.strip()) >= 2}, key=len, reverse=True)
    pattern = (
        re.compile(r"(?<!\w)(" + "|".join(re.escape(w) for w in words) + r")(?!\w)", re.IGNORECASE)
        if words
        else None
    )

    def redact(value: Any) -> Any:
        if pattern is None or value is None:
            return value
        if isinstance(value, str):
            return pattern.sub(STAFF, value)
        if isinstance(value, Mapping):
            return {k: STAFF if k in _STAFF_KEYS and v else redact(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [redact(v) for v in value]
        return value

    return redact


def access_request(
    kernel: Kernel,
    subject: str,
    entries: Sequence[AccessEntry],
    *,
    redact_staff: bool,
) -> AccessRequest:
    """Build the package of ``subject`` (the viewer already checked)."""
    found = list_engagements(kernel, subject=subject)
    logs = {e.id: history(kernel, e.id, actor=None, purpose=None) for e in found}
    names: set[str | None] = set()
    if redact_staff:
        with kernel.read() as tx:
            for member in tx.list_staff():
                names.update((member["id"], member["display_name"], member["login"], member["email"]))
        for e in found:
            names.update((e.assignee, e.supervisor))
            names.update(ev.actor for ev in logs[e.id])
        names.update(a.actor for a in entries)
        names.update(a.impersonator for a in entries)
    redact = redactor(names) if redact_staff else (lambda value: value)
    now = kernel.clock()
    content: dict[str, Any] = {
        "format": FORMAT,
        "subject": subject,
        "generated_at": now.isoformat(),
        "staff_redacted": redact_staff,
        "engagements": [
            _engagement(kernel.registry.compiled(e.workflow, e.workflow_version).definition, e, logs[e.id])
            for e in found
        ],
        "access": [a.to_dict(redact_staff=False) for a in entries],
    }
    if redact_staff:
        for e in content["engagements"]:
            for key in _ENGAGEMENT_STAFF:
                e[key] = STAFF if e[key] else None
            for ev in e["events"]:
                ev["actor"] = STAFF
        content["access"] = [a.to_dict(redact_staff=True, names=[n for n in names if n]) for a in entries]
        content["engagements"] = redact(content["engagements"])
    for a in content["access"]:
        # A listing page names everyone it showed: only this resident belongs here.
        if a["shown"]:
            a["shown"] = [s for s in a["shown"] if s.get("subject") == subject]
    text_json = json.dumps(content, ensure_ascii=False, indent=2, default=str) + "\n"
    return AccessRequest(
        subject=subject,
        content=content,
        json=text_json,
        text=render(content),
        sha256=hashlib.sha256(text_json.encode()).hexdigest(),
    )


def _engagement(definition: WorkflowDefinition, e: Engagement, events: Sequence[Event]) -> dict[str, Any]:
    answers: dict[str, dict[str, Any]] = {}
    notes: list[dict[str, Any]] = []
    activities: list[dict[str, Any]] = []
    consents: list[dict[str, Any]] = []
    handovers: list[dict[str, Any]] = []
    for ev in events:
        p = dict(ev.data)
        at = ev.occurred_at.isoformat()
        given = p.get("data")
        data: dict[str, Any] = dict(given) if isinstance(given, Mapping) else {}
        if ev.type == "started":
            answers.setdefault(definition.initial, {}).update({"source": p.get("source"), **data})
        elif ev.type == "transition":
            if data and ev.from_state:
                answers.setdefault(ev.from_state, {}).update(data)
            if p.get("note"):
                notes.append({"at": at, "text": p["note"]})
            if ev.trigger == "hand_over" or "receiver" in data:
                handovers.append({"at": at, "kind": "handover", **data})
        elif ev.type == "details" and ev.to_state:
            answers.setdefault(ev.to_state, {}).update(data)
        elif ev.type == "note":
            notes.append({"at": at, "text": p.get("text", "")})
        elif ev.type == "activity":
            activities.append({"at": at, "stage": ev.to_state, **p})
        elif ev.type in ("consent_given", "consent_withdrawn"):
            consents.append({"at": at, "event": ev.type, **p})
        elif ev.type == "handover_exported":
            handovers.append({"at": at, "kind": "export", **p})

    def label(key: str | None) -> str | None:
        if key is None:
            return None
        try:
            return definition.stage(key).labels.da
        except KeyError:
            return key

    return {
        "id": e.id,
        "workflow": e.workflow,
        "workflow_label": definition.labels.da,
        "state": e.state,
        "state_label": label(e.state),
        "team": e.team,
        "assignee": e.assignee,
        "supervisor": e.supervisor,
        "created_at": e.created_at.isoformat(),
        "updated_at": e.updated_at.isoformat(),
        "answers": {key: {"stage_label": label(key), "items": items} for key, items in answers.items()},
        "notes": notes,
        "activities": activities,
        "consents": consents,
        "handovers": handovers,
        "events": [
            {
                "seq": ev.seq,
                "occurred_at": ev.occurred_at.isoformat(),
                "type": ev.type,
                "trigger": ev.trigger,
                "from_state": ev.from_state,
                "to_state": ev.to_state,
                "actor": ev.actor,
                "role": ev.role,
                "data": dict(ev.data),
                "hash": ev.hash,
            }
            for ev in events
        ],
    }


# -- the readable document (Danish) ----------------------------------------------------


def _local(iso: str | None) -> str:
    if not iso:
        return "-"
    try:
        return datetime.fromisoformat(iso).astimezone(COPENHAGEN).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def _items(record: Mapping[str, Any]) -> list[str]:
    shown = {k: v for k, v in record.items() if v not in (None, "", [], {})}
    return [f"- **{field_label(k, 'da').capitalize()}:** {md_text(v)}" for k, v in shown.items()] or [
        "Intet registreret."
    ]


def render(content: Mapping[str, Any]) -> str:
    """The package as a Markdown document in Danish."""
    out = [
        f"# Indsigt i egne oplysninger – {md_text(content['subject'])}",
        "",
        f"Dannet {_local(content['generated_at'])}. Pakken indeholder alle forløb med "
        "denne borgerreference: de registrerede oplysninger, notater, aktiviteter, samtykker, "
        "overleveringer og hele hændelsesloggen, og adgangsloggen over hvem der har læst, søgt, "
        "udleveret eller slettet oplysningerne.",
    ]
    if content["staff_redacted"]:
        out += ["", f"Medarbejdernes navne er udeladt og vist som {STAFF}."]
    if not content["engagements"]:
        out += ["", "Der er ingen forløb med denne borgerreference."]
    for e in content["engagements"]:
        out += [
            "",
            f"## Forløb {e['id']} – {e['workflow_label']}",
            "",
            f"- **Fase nu:** {e['state_label']}",
            f"- **Oprettet:** {_local(e['created_at'])}",
            f"- **Senest ændret:** {_local(e['updated_at'])}",
            f"- **Kontaktperson:** {md_text(e['assignee'] or '-')}",
        ]
        for answers in e["answers"].values():
            out += ["", f"### {answers['stage_label']}", "", *_items(answers["items"])]
        sections: list[tuple[str, list[dict[str, Any]], Callable[[dict[str, Any]], str]]] = [
            ("Notater", e["notes"], lambda n: md_text(n.get("text", ""))),
            (
                "Aktiviteter",
                e["activities"],
                lambda a: md_text(
                    {k: v for k, v in a.items() if k not in ("at", "stage") and v not in (None, "")}
                ),
            ),
            ("Samtykker", e["consents"], lambda c: md_text({k: v for k, v in c.items() if k != "at"})),
            ("Overleveringer", e["handovers"], lambda h: md_text({k: v for k, v in h.items() if k != "at"})),
        ]
        for title, rows, show in sections:
            out += ["", f"### {title}", ""]
            out += [f"- {_local(r['at'])}: {show(r)}" for r in rows] or ["Ingen."]
        out += ["", "### Hændelser", "", "| Nr. | Tidspunkt | Hændelse | Rolle |", "|---:|---|---|---|"]
        for ev in e["events"]:
            what = ev["trigger"] or ev["type"]
            out.append(f"| {ev['seq']} | {_local(ev['occurred_at'])} | {md_text(what)} | {ev['role']} |")
    out += ["", "## Adgangsloggen", ""]
    if not content["access"]:
        out.append("Ingen poster.")
    else:
        out += ["| Tidspunkt | Handling | Forløb | Formål |", "|---|---|---:|---|"]
        for a in content["access"]:
            out.append(
                f"| {_local(a['occurred_at'])} | {a['action']} | {a['engagement_id'] or '-'} "
                f"| {md_text(a['purpose'] or '-')} |"
            )
    return "\n".join(out) + "\n"


__all__ = ["FORMAT", "AccessEntry", "AccessRequest", "access_request", "redactor", "render"]
