"""Danish and English texts for messages the engine produces.

The users speak Danish; English is kept beside it for embedding apps, logs and
auditors outside Denmark. Every message has both, so a missing translation is a
test failure rather than a surprise in front of a resident.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final, Literal

Lang = Literal["da", "en"]
LANGS: Final[tuple[Lang, ...]] = ("da", "en")
DEFAULT_LANG: Final[Lang] = "en"

# Labels of the data keys the guards look for. Workflows may add their own.
FIELD_LABELS: Final[Mapping[str, Mapping[Lang, str]]] = {
    "subject": {"da": "sagsnr.", "en": "subject reference"},
    "source": {"da": "henvisningskilde", "en": "referral source"},
    "focus": {"da": "fokus", "en": "focus"},
    "goals": {"da": "mål", "en": "goals"},
    "plan": {"da": "plan", "en": "plan"},
    "kind": {"da": "aktivitetstype", "en": "activity kind"},
    "level": {"da": "selvhjælpsniveau", "en": "self-help level"},
    "outcome": {"da": "resultat", "en": "outcome"},
    "reason": {"da": "begrundelse", "en": "reason"},
    "receiver": {"da": "modtagende aktør", "en": "receiving actor"},
    "legal_basis": {"da": "hjemmel eller samtykke", "en": "legal basis or consent"},
    "status": {"da": "status", "en": "status"},
    "referred_by": {"da": "henvist af", "en": "referred by"},
    "date": {"da": "dato", "en": "date"},
    "who_are_you": {"da": "hvem er du / I", "en": "who are you"},
    "what_brings_us": {"da": "hvad bringer os sammen", "en": "what brings us together"},
    "who_is_secretariat": {"da": "hvem er sekretariatet", "en": "who is the secretariat"},
    "challenges": {"da": "udfordringer", "en": "challenges"},
    "dreams": {"da": "drømme", "en": "dreams"},
    "use_of_secretariat": {"da": "brug af sekretariatet", "en": "use of the secretariat"},
    "activities": {"da": "aktiviteter", "en": "activities"},
    "decision": {"da": "beslutning", "en": "decision"},
    "shared": {"da": "delt", "en": "shared"},
    "description": {"da": "beskrivelse", "en": "description"},
    "achievements": {"da": "opnået", "en": "achievements"},
    "consent": {
        "da": "et gældende samtykke, der dækker modtageren (forloeb consent give)",
        "en": "a current consent covering the receiver (forloeb consent give)",
    },
    "information": {"da": "oplysninger", "en": "information"},
    "to": {"da": "modtagere", "en": "receivers"},
    "purpose": {"da": "formål", "en": "purpose"},
    "how": {"da": "form (skriftligt/mundtligt)", "en": "form (written/oral)"},
}

MESSAGES: Final[Mapping[str, Mapping[Lang, str]]] = {
    "unknown_workflow": {
        "da": "Ukendt metode {workflow!r}. Kendte: {known}.",
        "en": "Unknown workflow {workflow!r}. Known: {known}.",
    },
    "engagement_not_found": {
        "da": "Forløb {engagement_id} findes ikke.",
        "en": "Engagement {engagement_id} does not exist.",
    },
    "reminder_not_found": {
        "da": "Påmindelse {reminder_id} findes ikke.",
        "en": "Reminder {reminder_id} does not exist.",
    },
    "unknown_trigger": {
        "da": "Ukendt skridt {trigger!r} i metoden {workflow}. Kendte: {known}.",
        "en": "Unknown trigger {trigger!r} in workflow {workflow}. Known: {known}.",
    },
    # {trigger} and {state} arrive quoted with their labels (see _errors.py).
    "transition_not_allowed": {
        "da": "Handlingen {trigger} er ikke mulig i fasen {state} (forløb {engagement_id}).",
        "en": "Trigger {trigger} is not allowed in stage {state} (engagement {engagement_id}).",
    },
    "guard_missing": {
        "da": "{trigger} kræver: {missing} (forløb {engagement_id}).",
        "en": "{trigger} needs: {missing} (engagement {engagement_id}).",
    },
    "guard_invalid": {
        "da": "Ugyldig {field}: {value!r}. Tilladt: {allowed}.",
        "en": "Invalid {field}: {value!r}. Allowed: {allowed}.",
    },
    "permission_denied": {
        "da": "{actor} (roller: {roles}) må ikke {action}; kræver en af: {required}.",
        "en": "{actor} (roles: {roles}) may not {action}; needs one of: {required}.",
    },
    "concurrency": {
        "da": "Forløb {engagement_id} er ændret af en anden: forventet version {expected}, "
        "aktuel version {actual}. Hent forløbet igen og prøv igen.",
        "en": "Engagement {engagement_id} was changed by someone else: expected version "
        "{expected}, actual version {actual}. Reload and try again.",
    },
    "invalid_data": {
        "da": "Ugyldige data: {detail}",
        "en": "Invalid data: {detail}",
    },
    # Issue 12, M7: a keyed database and the process's key (never shown).
    "audit_key_missing": {
        "da": "Databasen er nøglet: dens kæder er skrevet med en audit-nøgle (HMAC-SHA256), men der er "
        "ingen nøgle. Sæt FORLOEB_AUDIT_KEY til databasens nøgle. {consequence}",
        "en": "This database is keyed: its chains are written with an audit key (HMAC-SHA256), but no "
        "key is set. Set FORLOEB_AUDIT_KEY to the database's key. {consequence}",
    },
    "audit_key_mismatch": {
        "da": "Audit-nøglen er ikke den, databasen er nøglet med (nøglens kontrolværdi passer ikke). "
        "{consequence}",
        "en": "The audit key is not the one this database is keyed with (the key check value differs). "
        "{consequence}",
    },
    "audit_key_unexpected": {
        "da": "Databasens kæder er ikke nøglede (almindelig SHA-256), men der er sat en audit-nøgle: "
        "nøglede og unøglede hændelser må ikke blandes i samme kæde. Fjern FORLOEB_AUDIT_KEY, eller "
        "start en ny database med nøglen. {consequence}",
        "en": "This database's chains are not keyed (plain SHA-256), but an audit key is set: keyed and "
        "unkeyed events must not be mixed in one chain. Unset FORLOEB_AUDIT_KEY, or start a new "
        "database with the key. {consequence}",
    },
    "schema_out_of_date": {
        "da": "Databasens skema er {current}, men denne version kræver {required}. Kør `forloeb init`.",
        "en": "The database schema is at {current}, this version needs {required}. Run `forloeb init`.",
    },
    "schema_newer": {
        "da": "Databasens skema er {current}, nyere end denne version af forloeb kender ({required}). "
        "Opgradér forloeb.",
        "en": "The database schema is at {current}, newer than this version of forloeb knows "
        "({required}). Upgrade forloeb.",
    },
    "database_unavailable": {
        "da": "Kan ikke forbinde til databasen {url}: {detail}",
        "en": "Cannot connect to the database {url}: {detail}",
    },
    "idempotency_conflict": {
        "da": "Idempotensnøglen {key!r} er allerede brugt til en anden kommando.",
        "en": "Idempotency key {key!r} was already used for a different command.",
    },
    "definition_error": {
        "da": "Fejl i metoden {workflow!r}: {detail}",
        "en": "Error in workflow {workflow!r}: {detail}",
    },
    "delivery_failed": {
        "da": "Beskeden kunne ikke leveres via {channel} til {recipient} ({outcome}): {detail}",
        "en": "Could not deliver the message via {channel} to {recipient} ({outcome}): {detail}",
    },
    # PermissionDenied for a named action (a trigger): {action} arrives quoted with its label.
    "permission_denied_action": {
        "da": "{actor} (roller: {roles}) må ikke udføre handlingen {action}; kræver en af: {required}.",
        "en": "{actor} (roles: {roles}) may not perform {action}; needs one of: {required}.",
    },
    "outbox_not_found": {
        "da": "Besked {outbox_id} findes ikke i udbakken.",
        "en": "Message {outbox_id} is not in the outbox.",
    },
}


def field_label(key: str, lang: Lang) -> str:
    labels = FIELD_LABELS.get(key)
    return labels[lang] if labels else key


def render(code: str, lang: Lang, params: Mapping[str, object]) -> str:
    """Format message ``code`` in ``lang``; values are inserted as given."""
    return MESSAGES[code][lang].format(**params)


# Labels of the engine's own actions (not transitions of a workflow), used in
# messages when the raise site names no label.
ACTION_LABELS: Final[Mapping[str, Mapping[Lang, str]]] = {
    "start": {"da": "Opret forløb", "en": "Start"},
    "note": {"da": "Skriv notat", "en": "Add a note"},
    "record_details": {"da": "Registrér oplysninger", "en": "Record details"},
    "record_activity": {"da": "Registrér aktivitet", "en": "Record an activity"},
    "consent_given": {"da": "Registrér samtykke", "en": "Record consent"},
    "consent_withdrawn": {"da": "Træk samtykke tilbage", "en": "Withdraw consent"},
    "handover_exported": {"da": "Eksportér overleveringspakke", "en": "Export a handover package"},
    "acknowledge_reminder": {"da": "Kvittér for påmindelse", "en": "Acknowledge a reminder"},
    "snooze_reminder": {"da": "Udskyd påmindelse", "en": "Snooze a reminder"},
}


def action_label(key: str, lang: Lang) -> str | None:
    """The label of one of the engine's own actions, or None."""
    labels = ACTION_LABELS.get(key)
    return labels[lang] if labels else None


# What a PermissionDenied names when the refused action is no trigger: the
# phrase its raise site gives (or an event type), read after "må ikke" / "may
# not": (Danish, English). Every phrase a role or visibility check passes is
# here, so that a Danish message is Danish throughout (issue 12, L8).
ACTION_PHRASES: Final[Mapping[str, tuple[str, str]]] = {
    # reading an engagement
    "read": ("se forløbet", "read the engagement"),
    "history": ("se forløbets historik", "read the history"),
    "triggers": ("se forløbets mulige handlinger", "list the triggers"),
    "read a timeline": ("læse et forløbs tidslinje", "read a timeline"),
    # changing one (event types, when no trigger is named)
    "transition": ("flytte forløbet", "move the engagement"),
    "details": ("registrere oplysninger", "record details"),
    "activity": ("registrere en aktivitet", "record an activity"),
    "reminder": ("registrere en påmindelse", "record a reminder"),
    "reminder_acknowledged": ("kvittere for en påmindelse", "acknowledge a reminder"),
    "reminder_snoozed": ("udskyde en påmindelse", "snooze a reminder"),
    "export a handover package": ("eksportere en overleveringspakke", "export a handover package"),
    "erase": ("slette et forløb", "erase an engagement"),
    "purge closed engagements": (
        "slette afsluttede forløb efter opbevaringstiden",
        "purge closed engagements",
    ),
    "migrate engagements to another version": (
        "flytte forløb til en anden version af metoden",
        "migrate engagements to another version",
    ),
    # the audit log and the access log
    "query the audit log": ("søge i hændelsesloggen", "query the audit log"),
    "verify the audit log": ("efterprøve hændelsesloggen", "verify the audit log"),
    "write an audit checkpoint": ("skrive et kontrolpunkt for hændelsesloggen", "write an audit checkpoint"),
    "read the access log": ("læse adgangsloggen", "read the access log"),
    "export an access request": ("udlevere svaret på en anmodning om indsigt", "export an access request"),
    "purge the access log": ("rydde op i adgangsloggen", "purge the access log"),
    # background work and the outbox
    "sweep": ("sende påmindelser", "sweep reminders"),
    "dispatch": ("levere beskeder fra udbakken", "deliver the outbox"),
    "digest": ("sende oversigter", "send digests"),
    "run the background jobs": ("køre baggrundsjobbene", "run the background jobs"),
    "purge the outbox": ("rydde op i udbakken", "purge the outbox"),
    # the staff register
    "list the staff register": ("se personaleregistret", "list the staff register"),
    "show a staff member": ("se en medarbejder i personaleregistret", "show a staff member"),
    "add a staff member": ("tilføje en medarbejder til personaleregistret", "add a staff member"),
    "update a staff member": ("ændre en medarbejder i personaleregistret", "update a staff member"),
    "deactivate a staff member": (
        "deaktivere en medarbejder i personaleregistret",
        "deactivate a staff member",
    ),
    # caseload and reports (issue 13)
    "reassigned": ("omfordele forløbet", "reassign the engagement"),
    "take": ("tage forløbet fra indbakken", "take the engagement from the intake"),
    "areas": ("sætte forløbets indsatsområder", "set the engagement's effort areas"),
    "reporting": ("registrere rapporteringsoplysninger", "record reporting attributes"),
    "intake": ("se indbakken", "read the intake"),
    "caseload": ("se sagsbelastningen", "read the caseload"),
    "report": ("lave en rapport", "run a report"),
    "act": ("handle i forloeb", "act in forloeb"),
    "log in": ("logge ind", "log in"),
    "act as the system": ("handle som systemet", "act as the system"),
    # API tokens of the HTTP API
    "create an API token": ("oprette en API-nøgle", "create an API token"),
    "list API tokens": ("se API-nøglerne", "list API tokens"),
    "revoke an API token": ("tilbagekalde en API-nøgle", "revoke an API token"),
    # passwords of the web console (issue 15)
    "set another staff member's password": (
        "sætte en anden medarbejders adgangskode",
        "set another staff member's password",
    ),
}

# "start individual_course"; "read (forløb 3)" (a visibility refusal names the engagement).
_START = re.compile(r"^start (?P<workflow>\S+)$")
_ON_ENGAGEMENT = re.compile(r"^(?P<action>.*) \(forløb (?P<id>[^)]*)\)$")


def action_phrase(action: str, lang: Lang) -> str:
    """``action`` (a phrase from a role or visibility check) in ``lang``; a phrase
    not in :data:`ACTION_PHRASES` (a trigger's key) is shown quoted in Danish."""
    on = _ON_ENGAGEMENT.match(action)
    if on is not None:
        inner = action_phrase(on["action"], lang)
        return f"{inner} (forløb {on['id']})" if lang == "da" else f"{inner} (engagement {on['id']})"
    if action in ACTION_PHRASES:
        da, en = ACTION_PHRASES[action]
        return da if lang == "da" else en
    if lang == "en":
        return action
    start = _START.match(action)
    if start is not None:
        return f"oprette et forløb i metoden {start['workflow']}"
    return f"udføre handlingen »{action_label(action, lang) or action}«"
