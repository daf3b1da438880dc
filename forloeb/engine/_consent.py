"""Consent to share, recorded as events, and the guard handover uses.

Consent for sharing must be specific (which information, to whom, for what
purpose), dated and revocable (DESIGN.md, "Facts about the domain"). Each
consent is a ``consent_given`` event on the engagement's chain and each
withdrawal a ``consent_withdrawn`` event, so the log stays the truth.

Why the current consents are *also* kept in the engagement's data (under
``"consents"``): guards see the engagement's data and nothing else
(``GuardContext.engagement_data``), and the check must happen inside the
hand-over transaction, against the same locked row the transition writes.
Folding the consent events again in every guard would mean reading the log
inside the machine; the list in the row is that fold, written in the same
transaction as the event it folds, so the two cannot disagree.

The vocabulary of a consent's scope lives here too: the receivers register
(to whom) and the sections of a handover package (which information).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from ..persistence import WriteTransaction
from ._checks import check_note, check_text
from ._definition import STAFF, GuardContext, Label
from ._errors import GuardFailed, InvalidData
from ._kernel import Kernel, fingerprint
from ._legal import KEY as LEGAL_BASIS
from ._legal import claims_consent, consent_id
from ._legal import normalise as normalise_basis
from ._types import Actor, Engagement, Event

CONSENTS = "consents"  # the key of the fold in the engagement's data
GIVEN = "consent_given"
WITHDRAWN = "consent_withdrawn"
MAX_PURPOSE = 2000

# Receiving actors a handover may go to. Configurable per engine
# (``kernel.receivers = {...}``): a municipality lists its own.
DEFAULT_RECEIVERS: Mapping[str, Label] = {
    "jobcenter": Label(da="Jobcenter", en="Job centre"),
    "socialcenter": Label(da="Socialcenter", en="Social centre"),
    "uu": Label(da="Ungdommens Uddannelsesvejledning (UU)", en="Youth guidance centre (UU)"),
    "skole": Label(da="Skole", en="School"),
    "boligorganisation": Label(da="Boligorganisation", en="Housing organisation"),
    "forening": Label(da="Forening", en="Association"),
}

# The sections of a handover package: what a consent's "information" names.
SECTIONS: Mapping[str, Label] = {
    "referral": Label(da="Henvendelse", en="Referral"),
    "first_contact": Label(da="Den første kontakt", en="First contact"),
    "plan": Label(da="Fokus, mål og plan", en="Focus, goals and plan"),
    "activities": Label(da="Aktiviteter og aftaler", en="Activities and agreements"),
    "self_help": Label(da="Selvhjælp", en="Self-help"),
    "status": Label(da="Status og resultater", en="Status and achievements"),
    "deadlines": Label(da="Åbne frister", en="Open deadlines"),
    "notes": Label(da="Notater", en="Notes"),
}
# Shared under another legal basis when the handover does not list sections:
# everything but the running notes, which are for internal use.
DEFAULT_SECTIONS: tuple[str, ...] = tuple(k for k in SECTIONS if k != "notes")

HOW: Mapping[str, Label] = {
    "written": Label(da="skriftligt", en="written"),
    "oral": Label(da="mundtligt", en="oral"),
}
_HOW_ALIASES = {"skriftligt": "written", "skriftlig": "written", "mundtligt": "oral", "mundtlig": "oral"}


def is_consent_basis(legal_basis: object) -> bool:
    """Whether a legal basis is consent (kept for callers of the public name)."""
    return claims_consent(legal_basis)


@dataclass(frozen=True, kw_only=True)
class Consent:
    """One consent as recorded: its id is the seq of the event that gave it."""

    id: int
    information: tuple[str, ...]
    to: tuple[str, ...]
    purpose: str
    given_on: date
    how: str
    given_by: str
    withdrawn_on: date | None = None
    withdrawn_reason: str | None = None

    @property
    def current(self) -> bool:
        return self.withdrawn_on is None

    def covers(self, receiver: str) -> bool:
        return self.current and receiver in self.to

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "information": list(self.information),
            "to": list(self.to),
            "purpose": self.purpose,
            "given_on": self.given_on.isoformat(),
            "how": self.how,
            "given_by": self.given_by,
            "withdrawn_on": self.withdrawn_on.isoformat() if self.withdrawn_on else None,
            "withdrawn_reason": self.withdrawn_reason,
            "current": self.current,
        }


def consents_of(engagement_data: Mapping[str, Any]) -> list[Consent]:
    """The consents folded into the engagement's data, oldest first."""
    out: list[Consent] = []
    for c in engagement_data.get(CONSENTS) or ():
        out.append(
            Consent(
                id=int(c["id"]),
                information=tuple(c["information"]),
                to=tuple(c["to"]),
                purpose=str(c["purpose"]),
                given_on=date.fromisoformat(c["given_on"]),
                how=str(c["how"]),
                given_by=str(c.get("given_by", "")),
                withdrawn_on=date.fromisoformat(c["withdrawn_on"]) if c.get("withdrawn_on") else None,
                withdrawn_reason=c.get("withdrawn_reason"),
            )
        )
    return out


def apply_consent_event(
    consents: list[dict[str, Any]], type: str, seq: int, actor: str, payload: Mapping[str, Any]
) -> None:
    """Fold one event into ``consents`` (the records of the chain, oldest first):
    the one reading of the consent events, for the handover guard and export
    and for verify (H4: consents are read from the chain, not the row)."""
    if type == GIVEN:
        consents.append(
            {
                **{k: payload.get(k) for k in ("information", "to", "purpose", "given_on", "how")},
                "id": seq,
                "given_by": payload.get("given_by", actor),
                "withdrawn_on": None,
                "withdrawn_reason": None,
            }
        )
    elif type == WITHDRAWN:
        for c in consents:
            if c["id"] == payload.get("consent_id"):
                c["withdrawn_on"] = payload.get("withdrawn_on")
                c["withdrawn_reason"] = payload.get("reason")


def chain_consents(events: Iterable[Event]) -> list[Consent]:
    """The consents an engagement's events record (given, and withdrawn since)."""
    records: list[dict[str, Any]] = []
    for e in events:
        apply_consent_event(records, e.type, e.seq, e.actor, e.data)
    return consents_of({CONSENTS: records})


def covering(engagement_data: Mapping[str, Any], receiver: str) -> list[Consent]:
    """The current consents that cover sharing with ``receiver``."""
    return [c for c in consents_of(engagement_data) if c.covers(receiver)]


def consent_guard(ctx: GuardContext) -> Sequence[str]:
    """Handover guard: a legal basis of consent needs the named consent, current
    and covering the receiver (``engagement_data`` holds the chain's consents:
    see ``handover_view``).

    A statutory basis from the list (``_legal.STATUTES``) is recorded as given;
    the person handing over answers for it. A basis recorded as text before
    issue 12 that claims consent needs any covering consent.
    """
    basis = ctx.record.get(LEGAL_BASIS)
    if not claims_consent(basis):
        return ()
    receiver = ctx.record.get("receiver")
    wanted = consent_id(basis)
    cover = covering(ctx.engagement_data, receiver) if isinstance(receiver, str) else []
    if not [c for c in cover if wanted is None or c.id == wanted]:
        return ("consent",)
    return ()


def handover_view(
    tx: WriteTransaction,
    receivers: Mapping[str, Label],
    data: Mapping[str, Any],
    records: dict[str, Any],
    engagement_id: int,
    state: str,
) -> tuple[dict[str, Any], dict[str, Any], list[tuple[str, object, tuple[str, ...]]]]:
    """A fire's data with its receiver checked and its legal basis structured,
    the engagement's records with the consents of its chain when the basis is
    consent (a consent slipped into the row is not honoured, H4), and the
    invalid entries for GuardFailed."""
    invalid: list[tuple[str, object, tuple[str, ...]]] = []
    if "receiver" in data:
        invalid += check_receiver(receivers, data["receiver"])
    data, bad = normalise_basis(data)
    invalid += [(k, v, tuple(c)) for k, v, c in bad]
    if claims_consent(data.get(LEGAL_BASIS)) or claims_consent(records.get(state, {}).get(LEGAL_BASIS)):
        folded: list[dict[str, Any]] = []
        for r in tx.consent_events(engagement_id):
            apply_consent_event(folded, r["type"], r["seq"], r["actor"], r["payload"])
        records = {**records, CONSENTS: folded}
    return data, records, invalid


def check_receiver(
    receivers: Mapping[str, Label], value: object
) -> list[tuple[str, object, tuple[str, ...]]]:
    """An ``invalid`` entry for GuardFailed when ``value`` is not a registered receiver."""
    if isinstance(value, str) and value in receivers:
        return []
    return [("receiver", value, tuple(sorted(receivers)))]


def _keys(value: object) -> list[str]:
    """A list of keys given as a list or as comma-separated text."""
    if isinstance(value, str):
        return [p.strip() for p in value.split(",") if p.strip()]
    if isinstance(value, list | tuple):
        return [v.strip() if isinstance(v, str) else v for v in value]
    return []


def shared_sections(shared: object) -> list[str] | None:
    """The package sections a handover's ``shared`` names, or None when it names none
    (free text describing what was shared: no restriction beyond the basis)."""
    words = re.split(r"[,\s]+", shared) if isinstance(shared, str) else _keys(shared)
    found = [w for w in words if isinstance(w, str) and w in SECTIONS]
    return list(dict.fromkeys(found)) or None


# -- commands (the Engine's methods delegate here) --------------------------------


def give(
    kernel: Kernel,
    engagement_id: int,
    actor: Actor,
    information: Iterable[str] | str,
    to: Iterable[str] | str,
    purpose: str,
    given_on: date | str | None = None,
    how: str = "written",
    idempotency_key: str | None = None,
) -> Engagement:

    info = _keys(information)
    receivers = _keys(to)
    if "all" in info:
        info = list(SECTIONS)
    how_key = _HOW_ALIASES.get(how, how) if isinstance(how, str) else how
    digest = (
        fingerprint("consent", actor, engagement_id, info, receivers, purpose, str(given_on), how_key)
        if idempotency_key
        else ""
    )

    def work(tx: Any) -> Any:
        row = kernel.load(tx, engagement_id)
        role = kernel.role_for(actor, STAFF, GIVEN)
        state = row["state"]
        now = kernel.clock()
        missing = [
            k
            for k, v in (("information", info), ("to", receivers), ("purpose", purpose))
            if not v or (isinstance(v, str) and not v.strip())
        ]
        invalid: list[tuple[str, object, Sequence[str]]] = []
        invalid += [("information", k, list(SECTIONS)) for k in info if k not in SECTIONS]
        invalid += [("to", k, sorted(kernel.receivers)) for k in receivers if k not in kernel.receivers]
        if how_key not in HOW:
            invalid.append(("how", how, list(HOW)))
        day = _date(given_on, now)
        if day is None:
            invalid.append(("date", given_on, ["YYYY-MM-DD"]))
        elif day > now.date():
            invalid.append(("date", given_on, [f"<= {now.date().isoformat()}"]))
        elif day < (earliest := _earliest_consent(row)):
            # L5: 0001-01-01 was accepted. A consent for this engagement is given
            # around it: at most a year before it was registered.
            invalid.append(("date", given_on, [f">= {earliest.isoformat()}"]))
        if missing or invalid:
            raise GuardFailed(engagement_id, state, GIVEN, missing=missing, invalid=invalid)
        assert day is not None
        if len(purpose) > MAX_PURPOSE:
            raise InvalidData(
                f"purpose is longer than {MAX_PURPOSE} characters",
                detail_da=f"formålet er længere end {MAX_PURPOSE} tegn",
            )
        check_text("actor", actor.id)
        record = {
            "id": row["version"] + 1,  # the seq of the event recording it
            "information": info,
            "to": receivers,
            "purpose": purpose.strip(),
            "given_on": day.isoformat(),
            "how": how_key,
            "given_by": actor.id,
            "withdrawn_on": None,
            "withdrawn_reason": None,
        }
        data = dict(row["data"])
        data[CONSENTS] = [*(data.get(CONSENTS) or []), record]
        payload = {k: v for k, v in record.items() if k not in ("withdrawn_on", "withdrawn_reason")}
        return kernel.commit_change(
            tx, row, {"data": data, "updated_at": now}, actor, role, GIVEN, None, state, payload, now
        )

    return kernel.run(work, idempotency_key, digest)


def withdraw(
    kernel: Kernel,
    engagement_id: int,
    consent_id: int,
    actor: Actor,
    withdrawn_on: date | str | None = None,
    reason: str | None = None,
    idempotency_key: str | None = None,
) -> Engagement:

    if reason is not None:
        check_note(reason)
    digest = (
        fingerprint("withdraw_consent", actor, engagement_id, consent_id, str(withdrawn_on), reason)
        if idempotency_key
        else ""
    )

    def work(tx: Any) -> Any:
        row = kernel.load(tx, engagement_id)
        role = kernel.role_for(actor, STAFF, WITHDRAWN)
        state = row["state"]
        now = kernel.clock()
        consents = [dict(c) for c in row["data"].get(CONSENTS) or []]
        target = next((c for c in consents if c["id"] == consent_id and not c["withdrawn_on"]), None)
        if target is None:
            current = [str(c["id"]) for c in consents if not c["withdrawn_on"]]
            raise GuardFailed(engagement_id, state, WITHDRAWN, invalid=[("consent", consent_id, current)])
        day = _date(withdrawn_on, now)
        if day is None or day > now.date():
            raise GuardFailed(
                engagement_id, state, WITHDRAWN, invalid=[("date", withdrawn_on, ["YYYY-MM-DD, not ahead"])]
            )
        if day.isoformat() < target["given_on"]:
            # L5: a consent cannot be withdrawn before it was given.
            raise GuardFailed(
                engagement_id,
                state,
                WITHDRAWN,
                invalid=[("date", withdrawn_on, [f">= {target['given_on']}"])],
            )
        target["withdrawn_on"] = day.isoformat()
        target["withdrawn_reason"] = reason
        data = {**row["data"], CONSENTS: consents}
        payload = {"consent_id": consent_id, "withdrawn_on": day.isoformat(), "reason": reason}
        return kernel.commit_change(
            tx, row, {"data": data, "updated_at": now}, actor, role, WITHDRAWN, None, state, payload, now
        )

    return kernel.run(work, idempotency_key, digest)


# How long before an engagement was registered its consent may have been given.
EARLIEST_CONSENT = timedelta(days=365)


def _earliest_consent(row: Mapping[str, Any]) -> date:
    created: datetime = row["created_at"]
    return (created - EARLIEST_CONSENT).date()


def _date(value: date | str | None, now: datetime) -> date | None:
    if value is None:
        return now.date()
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


__all__ = [
    "CONSENTS",
    "DEFAULT_RECEIVERS",
    "DEFAULT_SECTIONS",
    "GIVEN",
    "HOW",
    "SECTIONS",
    "WITHDRAWN",
    "Consent",
    "apply_consent_event",
    "chain_consents",
    "check_receiver",
    "consent_guard",
    "consents_of",
    "covering",
    "handover_view",
    "is_consent_basis",
    "shared_sections",
]
