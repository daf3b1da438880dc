"""The legal basis of a handover as a structured choice (issue 12, H2).

Before, the basis was free text, and only a text that *began with*
"samtykke"/"consent" was checked against a recorded consent: "mundtligt
samtykke" with no consent recorded handed an engagement over. Now the basis
is one of two things, never read out of wording:

- ``{"kind": "consent", "consent": 7}``: the recorded consent (its id, the seq
  of the event that gave it) that covers the receiver; the handover guard
  checks it is current and covers the receiver, against the consents of the
  chain (not the row, H4);
- ``{"kind": "statute", "statute": "forvaltningsloven_28", "reference": "…"}``:
  a statutory basis from the secretariat's list (:data:`STATUTES`) with an
  optional reference (a case number, a decision); the person handing over
  answers for it, and the record says which.

Typed on a command line as ``consent:7`` or ``statute:forvaltningsloven_28``
(optionally ``:reference``); Danish ``samtykke:7`` and ``hjemmel:…`` too.
Anything else is refused with the choices. Bases recorded as text before
this change are read as they were (a text claiming consent needs a covering
consent) and shown as written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from ._checks import check_text
from ._definition import Label
from ._i18n import Lang

KEY = "legal_basis"

# The statutory bases a secretariat hands over under without consent. The
# list is the secretariat's to keep: these are the ones its material and the
# review named.
STATUTES: Mapping[str, Label] = {
    "serviceloven_11_3": Label(
        da="Serviceloven § 11, stk. 3 (forebyggende indsats)",
        en="Social Services Act s. 11(3) (preventive measures)",
    ),
    "serviceloven_153": Label(
        da="Serviceloven § 153 (underretningspligt)",
        en="Social Services Act s. 153 (duty to notify)",
    ),
    "forvaltningsloven_28": Label(
        da="Forvaltningsloven § 28 (videregivelse)",
        en="Public Administration Act s. 28 (disclosure)",
    ),
    "retsplejeloven_115": Label(
        da="Retsplejeloven § 115 (SSP-samarbejde)",
        en="Administration of Justice Act s. 115 (SSP cooperation)",
    ),
}

_CONSENT_WORDS = ("consent", "samtykke")
_STATUTE_WORDS = ("statute", "hjemmel")
# Text recorded before issue 12 that claims consent (kept for reading old records).
_LEGACY_CONSENT = re.compile(r"^\s*(samtykke|consent)\b", re.IGNORECASE)


def choices() -> list[str]:
    """What may be given, for an error's list of choices."""
    return ["consent:<id>", *(f"statute:{k}" for k in STATUTES)]


def parse(value: object) -> dict[str, Any] | None:
    """The structured basis ``value`` stands for, or None when it is none of them."""
    if isinstance(value, Mapping):
        kind = value.get("kind")
        if kind == "consent" and set(value) <= {"kind", "consent"}:
            consent = value.get("consent")
            if isinstance(consent, int) and not isinstance(consent, bool) and consent > 0:
                return {"kind": "consent", "consent": consent}
            return None
        if kind == "statute" and set(value) <= {"kind", "statute", "reference"}:
            return _statute(value.get("statute"), value.get("reference"))
        return None
    if not isinstance(value, str):
        return None
    word, _, rest = value.strip().partition(":")
    word = word.strip().lower()
    if word in _CONSENT_WORDS:
        number = rest.strip()
        return {"kind": "consent", "consent": int(number)} if number.isdigit() and int(number) > 0 else None
    if word in _STATUTE_WORDS:
        statute, _, reference = rest.partition(":")
        return _statute(statute.strip(), reference.strip() or None)
    return None


def _statute(statute: object, reference: object) -> dict[str, Any] | None:
    if not isinstance(statute, str) or statute not in STATUTES:
        return None
    if reference is None:
        return {"kind": "statute", "statute": statute}
    if not isinstance(reference, str) or not reference.strip():
        return None
    check_text("reference", reference)
    return {"kind": "statute", "statute": statute, "reference": reference.strip()}


def canonical(basis: Mapping[str, Any]) -> str:
    """The stored form of a parsed basis: "consent:7", "statute:key" or "statute:key:reference"."""
    if basis["kind"] == "consent":
        return f"consent:{basis['consent']}"
    reference = basis.get("reference")
    return f"statute:{basis['statute']}" + (f":{reference}" if reference else "")


def as_text(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with a basis given as a mapping in its text form, so that it passes a
    question of kind text like the typed form does (an invalid mapping becomes its
    JSON text, which :func:`normalise` then refuses with the choices)."""
    value = data.get(KEY)
    if isinstance(value, Mapping):
        parsed = parse(value)
        data[KEY] = (
            canonical(parsed) if parsed is not None else json.dumps(value, ensure_ascii=False, default=str)
        )
    return data


def normalise(data: Mapping[str, Any]) -> tuple[dict[str, Any], list[tuple[str, object, list[str]]]]:
    """``data`` with its legal basis in the stored form ("consent:7" …), and an
    ``invalid`` entry for GuardFailed when it is given and is none of the choices."""
    if KEY not in data or data[KEY] is None:
        # Every fire passes here: no copy when there is no basis to read.
        return data if isinstance(data, dict) else dict(data), []
    basis = parse(data[KEY])
    if basis is None:
        return dict(data), [(KEY, data[KEY], choices())]
    return {**data, KEY: canonical(basis)}, []


def _structured(basis: object) -> Mapping[str, Any] | None:
    if isinstance(basis, Mapping) and basis.get("kind") == "consent" and basis.get("consent") is None:
        return basis  # "any covering consent" (an export without a recorded handover)
    return parse(basis)


def claims_consent(basis: object) -> bool:
    """Whether the basis is consent (structured, or a text recorded before issue 12 claiming it)."""
    found = _structured(basis)
    if found is not None:
        return bool(found["kind"] == "consent")
    return isinstance(basis, str) and bool(_LEGACY_CONSENT.match(basis))


def consent_id(basis: object) -> int | None:
    """The consent a structured basis names (None for a statute, any consent or an old text)."""
    found = _structured(basis)
    value = found.get("consent") if found is not None else None
    return value if isinstance(value, int) else None


def text(basis: object, lang: Lang) -> str:
    """The basis as a reader sees it: "Samtykke nr. 7", "Forvaltningsloven § 28 … (ref.)"."""
    basis = _structured(basis) or basis
    if isinstance(basis, Mapping):
        if basis.get("kind") == "consent":
            word = "Samtykke" if lang == "da" else "Consent"
            number = basis.get("consent")
            return word if number is None else f"{word} {'nr.' if lang == 'da' else 'no.'} {number}"
        label = STATUTES.get(str(basis.get("statute")))
        shown = label.get(lang) if label is not None else str(basis.get("statute"))
        reference = basis.get("reference")
        return f"{shown} ({reference})" if reference else shown
    return "" if basis is None else str(basis)


__all__ = [
    "KEY",
    "STATUTES",
    "as_text",
    "canonical",
    "choices",
    "claims_consent",
    "consent_id",
    "normalise",
    "parse",
    "text",
]
