"""Every text the CLI prints itself, in Danish and English (one catalog).

The engine's messages (errors, the labels of stages, triggers and fields)
come translated from the engine; this catalog holds only the CLI's own words:
headings, confirmations, the lines commands print. Each entry is
``key: (Danish, English)`` with ``str.format`` fields.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from .console import CONSOLE

if TYPE_CHECKING:
    from forloeb.engine import Lang

TEXTS: Final[dict[str, tuple[str, str]]] = {
    # -- general: errors, engagements, workflows, the tables' headings, the demo
    "error": ("Fejl", "Error"),
    "engagement": ("Forløb {id}", "Engagement {id}"),
    "bad_data": (
        "Ugyldig --data {item!r}: forventede nøgle=værdi",
        "Invalid --data {item!r}: expected key=value",
    ),
    "db_ready": ("Database klar: {url} (skema {rev})", "Database ready: {url} (schema {rev})"),
    "started": (
        "Forløb {id} startet: {stage} (version {version})",
        "Engagement {id} started: {stage} (version {version})",
    ),
    "fired": (
        "Forløb {id}: {action} → {stage} (version {version})",
        "Engagement {id}: {action} → {stage} (version {version})",
    ),
    "noted": (
        "Forløb {id}: notat tilføjet (version {version})",
        "Engagement {id}: note added (version {version})",
    ),
    "recorded": (
        "Forløb {id}: registreret i {stage} (version {version})",
        "Engagement {id}: recorded in {stage} (version {version})",
    ),
    "activity_done": (
        "Forløb {id}: aktivitet registreret – {kind} (version {version})",
        "Engagement {id}: activity recorded – {kind} (version {version})",
    ),
    "due": ("Frist: {due}", "Due: {due}"),
    "paused_from": ("{stage} (fra {origin})", "{stage} (from {origin})"),
    "cycle": ("runde {n}", "cycle {n}"),
    "no_triggers": ("Ingen handlinger mulige i fasen {stage}.", "No triggers lead anywhere from {stage}."),
    "no_engagements": ("Ingen forløb.", "No engagements."),
    "back": ("tilbage", "back"),
    "all_active": ("alle aktive faser", "every active stage"),
    "return_paused": ("fasen før pausen", "the stage before the pause"),
    "return_closed": ("fasen før afslutningen", "the stage before closing"),
    "stages": ("Faser", "Stages"),
    "transitions": ("Overgange", "Transitions"),
    "sources": ("Henvisningskilder", "Referral sources"),
    "roles": ("roller", "roles"),
    "requires": ("kræver", "requires"),
    "deadline": ("frist {amount} {unit}", "due in {amount} {unit}"),
    "rearm": ("genstartes", "restarts"),
    "working_days": ("arbejdsdage", "working days"),
    "days": ("dage", "days"),
    "kind_active": ("aktiv", "active"),
    "kind_paused": ("pause", "paused"),
    "kind_final": ("slut", "final"),
    "role_worker": ("medarbejder", "worker"),
    "role_supervisor": ("leder", "supervisor"),
    "role_auditor": ("revisor", "auditor"),
    "h_id": ("ID", "ID"),
    "h_workflow": ("Arbejdsgang", "Workflow"),
    "h_stage": ("Fase", "Stage"),
    "h_subject": ("Borger/aktør", "Subject"),
    "h_assignee": ("Medarbejder", "Assignee"),
    "h_due": ("Frist", "Due"),
    "h_trigger": ("Handling", "Trigger"),
    "h_label": ("Beskrivelse", "Label"),
    "h_dest": ("Til", "To"),
    "h_allowed": ("Mulig", "Allowed"),
    "h_reason": ("Hvorfor ikke", "Why not"),
    "yes": ("ja", "yes"),
    "no": ("nej", "no"),
    "f_stage": ("Fase", "Stage"),
    "f_version": ("Version", "Version"),
    "f_subject": ("Borger/aktør", "Subject"),
    "f_source": ("Kilde", "Source"),
    "f_assignee": ("Medarbejder", "Assignee"),
    "f_supervisor": ("Leder", "Supervisor"),
    "f_team": ("Team", "Team"),
    "f_tags": ("Indsatsområder", "Effort areas"),
    "f_due": ("Frist", "Due"),
    "f_created": ("Oprettet", "Created"),
    "f_updated": ("Ændret", "Updated"),
    "f_records": ("Registreret", "Recorded"),
    "e_started": ("Startet", "Started"),
    "e_note": ("Notat", "Note"),
    "e_details": ("Registreret", "Recorded"),
    "e_activity": ("Aktivitet", "Activity"),
    "e_self_help": ("Selvhjælp", "Self-help"),
    "e_consent_given": ("Samtykke {id} givet til {to} ({purpose})", "Consent {id} given to {to} ({purpose})"),
    "e_consent_withdrawn": ("Samtykke {id} trukket tilbage", "Consent {id} withdrawn"),
    "e_reminder": ("Påmindelse", "Reminder"),
    "e_escalation": ("Eskalering {n}", "Escalation {n}"),
    "e_reassigned": ("Omfordelt", "Reassigned"),
    "e_handover_exported": (
        "Overdragelsespakke dannet til {receiver}",
        "Handover package made for {receiver}",
    ),
    "e_basis_consent": ("samtykke {id}", "consent {id}"),
    "return_note": ("{label}: tilbage til {where}", "{label}: back to {where}"),
    "demo_done": ("Demo: {n} forløb tilføjet til {url}", "Demo: {n} engagements added to {url}"),
    "demo_hint": ("Prøv: {a} · {b} · {c}", "Try: {a} · {b} · {c}"),
    "demo_console": (
        "Webkonsollen: {serve}, så {url} — log ind som",
        "The web console: {serve}, then {url} — log in as",
    ),
    "demo_role_worker": ("medarbejder", "worker"),
    "demo_role_supervisor": ("leder", "supervisor"),
    "demo_role_auditor": ("revisor", "auditor"),
    # -- audit, handover and consent
    "no_events": ("Ingen hændelser.", "No events."),
    "next_page": ("Næste side: --cursor {cursor}", "Next page: --cursor {cursor}"),
    "verify_ok": (
        "Hændelsesloggen er intakt: {events} hændelser i {engagements} forløb ({algo}).",
        "The event log is intact: {events} events in {engagements} engagements ({algo}).",
    ),
    "verify_broken": (
        "{n} brud fundet i {events} hændelser:",
        "{n} breaks found in {events} events:",
    ),
    "verify_checkpoint": ("Sammenlignet med kontrolpunkt {at}.", "Compared with checkpoint {at}."),
    "warning": ("Advarsel", "Warning"),
    "checkpoint_written": (
        "Kontrolpunkt skrevet til {path}: {n} forløb ({how}). Gem det et andet sted.",
        "Checkpoint written to {path}: {n} engagements ({how}). Store it elsewhere.",
    ),
    "signed": ("signeret med HMAC-SHA256", "signed with HMAC-SHA256"),
    "unsigned": (
        "USIGNERET – sæt FORLOEB_AUDIT_KEY for at signere",
        "UNSIGNED – set FORLOEB_AUDIT_KEY to sign",
    ),
    "purged": (
        "{n} adgangslogposter slettet (ældre end {days} dage).",
        "{n} access-log entries deleted (older than {days} days).",
    ),
    "no_access": ("Ingen poster i adgangsloggen.", "No access-log entries."),
    "written": ("Skrevet til {path}", "Written to {path}"),
    "exported": (
        "Overleveringspakke for forløb {id} skrevet til {path} (sha256 {sha}).",
        "Handover package for engagement {id} written to {path} (sha256 {sha}).",
    ),
    "consent_given": (
        "Forløb {id}: samtykke nr. {cid} registreret (version {version})",
        "Engagement {id}: consent no. {cid} recorded (version {version})",
    ),
    "consent_withdrawn": (
        "Forløb {id}: samtykke nr. {cid} trukket tilbage (version {version})",
        "Engagement {id}: consent no. {cid} withdrawn (version {version})",
    ),
    "no_consents": ("Intet samtykke registreret.", "No consent recorded."),
    "current": ("gældende", "current"),
    "withdrawn_on": ("trukket tilbage {date}", "withdrawn {date}"),
    "h_seq": ("Nr.", "Seq"),
    "h_time": ("Tidspunkt", "Time"),
    "h_actor": ("Medarbejder", "Actor"),
    "h_role": ("Rolle", "Role"),
    "h_event": ("Hændelse", "Event"),
    "h_action": ("Handling", "Action"),
    "h_purpose": ("Formål", "Purpose"),
    "h_to": ("Til", "To"),
    "h_information": ("Oplysninger", "Information"),
    "h_given": ("Givet", "Given"),
    "h_status": ("Status", "Status"),
    "t_reminder": ("Påmindelse niveau {level} til {who}", "Reminder level {level} to {who}"),
    "t_acknowledged": ("kvitteret {at} af {who}", "acknowledged {at} by {who}"),
    # -- reminders, delivery and the scheduler
    "raised": (
        "Forløb {engagement}: {stage}, niveau {level} til {who}",
        "Engagement {engagement}: {stage}, level {level} to {who}",
    ),
    "raised_none": ("Ingen påmindelser forfaldne.", "No reminders due."),
    "dispatched": (
        "Leveret: {delivered}, prøves igen: {retried}, opgivet: {dead}",
        "Delivered: {delivered}, to retry: {retried}, dead: {dead}",
    ),
    "no_reminders": ("Ingen påmindelser.", "No reminders."),
    "no_failed": ("Ingen fejlede beskeder.", "No failed messages."),
    "acked": ("Påmindelse {id} kvitteret.", "Reminder {id} acknowledged."),
    "snoozed": ("Påmindelse {id} udsat til {until}.", "Reminder {id} snoozed until {until}."),
    "digests": ("Oversigter lagt i udbakken: {n}", "Digests queued: {n}"),
    "scheduler_started": (
        "Planlægger kører (gennemgang hvert {sweep:g}. s, levering hvert {dispatch:g}. s); Ctrl-C stopper.",
        "Scheduler running (sweep every {sweep:g} s, dispatch every {dispatch:g} s); Ctrl-C stops it.",
    ),
    "scheduler_stopped": ("Planlægger stoppet.", "Scheduler stopped."),
    "h_engagement": ("Forløb", "Engagement"),
    "h_level": ("Niveau", "Level"),
    "h_recipient": ("Modtager", "Recipient"),
    "h_raised": ("Rejst", "Raised"),
    "h_state": ("Status", "Status"),
    "h_attempts": ("Forsøg", "Attempts"),
    "h_error": ("Sidste fejl", "Last error"),
    "h_channel": ("Kanal", "Channel"),
    "r_open": ("åben", "open"),
    "r_snoozed": ("udsat til {until}", "snoozed until {until}"),
    "r_acked": ("kvitteret", "acknowledged"),
    # -- delivery attempts
    "no_attempts": ("Besked {id} er ikke forsøgt leveret endnu.", "Message {id} has not been tried yet."),
    "h_attempt": ("Forsøg", "Attempt"),
    "h_outcome": ("Udfald", "Outcome"),
    "h_attempt_error": ("Fejl", "Error"),
    "o_delivered": ("leveret", "delivered"),
    "o_failed": ("fejlede", "failed"),
    "o_dead": ("opgivet", "dead"),
    # -- erasure and retention
    "erase_confirm": (
        "Slet forløb {id} og alle dets data permanent? Det kan ikke fortrydes",
        "Erase engagement {id} and all its data permanently? This cannot be undone",
    ),
    "purge_confirm": (
        "Slet disse {n} forløb permanent? Det kan ikke fortrydes",
        "Erase these {n} engagements permanently? This cannot be undone",
    ),
    "yes_required": (
        "--json kræver --yes (der kan ikke spørges om bekræftelse)",
        "--json needs --yes (there is no one to ask for confirmation)",
    ),
    "erased": (
        "Forløb {id} ({workflow}, {subject}) slettet {at} af {by}: {events} hændelser. Begrundelse: {reason}",
        "Engagement {id} ({workflow}, {subject}) erased {at} by {by}: {events} events. Reason: {reason}",
    ),
    "would_erase": (
        "Forløb {id} ({workflow}, {subject}) ville blive slettet: {events} hændelser. Begrundelse: {reason}",
        "Engagement {id} ({workflow}, {subject}) would be erased: {events} events. Reason: {reason}",
    ),
    "nothing_to_purge": ("Ingen forløb at slette.", "No engagements to erase."),
    # -- outbox retention
    "purge_outbox_confirm": (
        "Slet disse {n} leverede eller opgivne beskeder og deres leveringsforsøg permanent? "
        "Det kan ikke fortrydes",
        "Delete these {n} delivered or dead messages and their delivery attempts permanently? "
        "This cannot be undone",
    ),
    "outbox_purged": (
        "{n} leverede eller opgivne beskeder ældre end {days} dage slettet fra udbakken "
        "med deres leveringsforsøg.",
        "{n} delivered or dead messages older than {days} days deleted from the outbox "
        "with their delivery attempts.",
    ),
    "outbox_would_purge": (
        "{n} leverede eller opgivne beskeder ældre end {days} dage ville blive slettet fra udbakken.",
        "{n} delivered or dead messages older than {days} days would be deleted from the outbox.",
    ),
    "outbox_nothing_to_purge": (
        "Ingen leverede eller opgivne beskeder ældre end {days} dage i udbakken.",
        "No delivered or dead messages older than {days} days in the outbox.",
    ),
    # -- times given on the command line (--now, --until)
    "time_missing": (
        "{option} {value} findes ikke i dansk tid: uret stilles en time frem den nat. "
        "Angiv en anden tid eller en UTC-forskydning, fx {example}",
        "{option} {value} does not exist in Danish time: the clocks go forward an hour that night. "
        "Give another time or a UTC offset, e.g. {example}",
    ),
    "time_ambiguous": (
        "Bemærk: {option} {value} findes to gange i dansk tid (uret stilles en time tilbage den nat); "
        "læst som den første, {taken} (sommertid). Skriv {other} for den anden.",
        "Note: {option} {value} occurs twice in Danish time (the clocks go back an hour that night); "
        "read as the first, {taken} (summer time). Write {other} for the second.",
    ),
    "checkpoint_unreadable": ("filen kan ikke læses", "the file cannot be read"),
    "checkpoint_not_text": ("filen er ikke UTF-8-tekst", "the file is not UTF-8 text"),
    "checkpoint_too_deep": (
        "filen er indlejret for dybt til at være et kontrolpunkt",
        "the file is nested too deeply to be a checkpoint",
    ),
    "checkpoint_not_json": ("filen er ikke gyldig JSON", "the file is not valid JSON"),
    "not_iso_time": (
        "{value!r} er ikke et ISO 8601-tidspunkt (fx 2026-03-09T09:00)",
        "{value!r} is not an ISO 8601 time (e.g. 2026-03-09T09:00)",
    ),
    # -- progress bars on a terminal
    "progress_verify": ("Kontrollerer hændelser", "Verifying events"),
    "progress_purge": ("Sletter forløb", "Erasing engagements"),
    "progress_demo": ("Opretter eksempelforløb", "Creating example engagements"),
    # -- --out: the file an export goes to (checked before anything is recorded)
    "out_error": ("Kan ikke skrive til {path}: {why}", "Cannot write to {path}: {why}"),
    "out_exists": (
        "filen findes allerede; brug --force for at overskrive den",
        "the file exists already; use --force to overwrite it",
    ),
    "out_symlink": (
        "det er et symbolsk link, og links følges ikke; angiv selve filen",
        "it is a symbolic link, and links are not followed; name the file itself",
    ),
    "out_no_folder": ("mappen {folder} findes ikke", "the folder {folder} does not exist"),
    "out_not_folder": ("en del af stien er ikke en mappe", "a part of the path is not a folder"),
    "out_is_dir": ("det er en mappe, ikke en fil", "it is a folder, not a file"),
    "out_not_file": ("det er ikke en almindelig fil", "it is not a regular file"),
    "out_denied": ("ingen adgang (rettigheder)", "permission denied"),
    "out_read_only": ("filsystemet er skrivebeskyttet", "the file system is read-only"),
    "out_full": ("der er ikke plads på disken", "the disk is full"),
    "out_after": (
        "Kan ikke skrive til {path}: {why}. Udtrækket er registreret, men filen blev ikke skrevet",
        "Cannot write to {path}: {why}. The export is recorded, but the file was not written",
    ),
    # -- bytes on the command line that are not text
    "not_utf8_arg": (
        "Argument nr. {n} er ikke gyldig UTF-8-tekst (bytes, der ikke kan læses som tegn)",
        "Argument {n} is not valid UTF-8 text (bytes that cannot be read as characters)",
    ),
    "not_utf8_env": (
        "Miljøvariablen {name} er ikke gyldig UTF-8-tekst (bytes, der ikke kan læses som tegn)",
        "The environment variable {name} is not valid UTF-8 text (bytes that cannot be read as characters)",
    ),
    "data_too_deep": (
        "{item} er indlejret for dybt (lister og objekter i hinanden)",
        "{item} is nested too deeply (lists and objects inside each other)",
    ),
}


# The web console's words live beside (issue 15): one catalog, one ``t``.
TEXTS.update(CONSOLE)


def t(lang: Lang, key: str, **params: object) -> str:
    """The text ``key`` in ``lang`` with ``params`` filled in."""
    da, en = TEXTS[key]
    return (da if lang == "da" else en).format(**params)
