"""The web console's own words (issue 15), in the one catalog with the CLI's
(:mod:`forloeb.words.catalog` merges them): page titles, navigation, buttons,
form labels and the messages the pages show. Keys start with ``w_``."""

from __future__ import annotations

from typing import Final

CONSOLE: Final[dict[str, tuple[str, str]]] = {
    # -- frame
    "w_app": ("forloeb", "forloeb"),
    "w_skip": ("Spring til indholdet", "Skip to content"),
    "w_nav": ("Hovedmenu", "Main menu"),
    "w_mine": ("Mine forløb", "My engagements"),
    "w_intake": ("Indtag", "Intake"),
    "w_new": ("Nyt forløb", "New engagement"),
    "w_board": ("Tavle", "Board"),
    "w_reminders": ("Påmindelser", "Reminders"),
    "w_audit": ("Revision", "Audit"),
    "w_verify": ("Kontrol af loggen", "Verify the log"),
    "w_access": ("Adgangslog", "Access log"),
    "w_access_request": ("Indsigtsanmodning", "Access request"),
    "w_reports": ("Rapport", "Report"),
    "w_caseload": ("Belastning", "Caseload"),
    "w_logout": ("Log ud", "Log out"),
    "w_logged_in_as": ("Logget ind som {name}", "Logged in as {name}"),
    "w_lang_switch": ("English", "Dansk"),
    "w_lang_switch_label": ("Skift sprog til engelsk", "Switch language to Danish"),
    # -- login
    "w_login": ("Log ind", "Log in"),
    "w_login_intro": (
        "Log ind med dit id fra personaleregistret og din adgangskode.",
        "Log in with your id from the staff register and your password.",
    ),
    "w_username": ("Brugernavn", "User name"),
    "w_password": ("Adgangskode", "Password"),
    "w_expired": ("Du er blevet logget ud. Log ind igen.", "You have been logged out. Log in again."),
    "w_password_change": ("Skift adgangskode", "Change password"),
    "w_password_rule": (
        "Mindst 12 tegn, og ikke dit brugernavn. Du forbliver logget ind.",
        "At least 12 characters, and not your user name. You stay logged in.",
    ),
    "w_password_current": ("Nuværende adgangskode", "Current password"),
    "w_password_new": ("Ny adgangskode", "New password"),
    "w_password_again": ("Ny adgangskode igen", "New password again"),
    "w_password_mismatch": ("De to nye adgangskoder er ikke ens.", "The two new passwords differ."),
    "w_password_changed": ("Din adgangskode er skiftet.", "Your password has been changed."),
    "w_password_sso": (
        "Du er logget ind via fælles login; adgangskoden skiftes dér.",
        "You are logged in through single sign-on; change the password there.",
    ),
    "w_logged_out": ("Du er logget ud.", "You are logged out."),
    "w_missing_login": ("Skriv både brugernavn og adgangskode.", "Enter both user name and password."),
    # -- refusals
    "w_forbidden_title": ("Ingen adgang", "No access"),
    "w_forbidden": ("Du har ikke adgang til denne side.", "You do not have access to this page."),
    "w_form_refused": (
        "Formularen blev afvist: den kom ikke fra denne side, eller den er for gammel. "
        "Genindlæs siden og prøv igen.",
        "The form was refused: it did not come from this page, or it is too old. "
        "Reload the page and try again.",
    ),
    "w_not_found_title": ("Findes ikke", "Not found"),
    "w_not_found": ("Siden eller forløbet findes ikke.", "The page or engagement does not exist."),
    "w_error_title": ("Noget gik galt", "Something went wrong"),
    "w_error": (
        "Der skete en fejl på serveren. Prøv igen om lidt.",
        "Something failed on the server. Try again shortly.",
    ),
    "w_back": ("Tilbage", "Back"),
    "w_stale": (
        "Forløbet er blevet ændret, siden du åbnede siden, så dine ændringer er ikke gemt. "
        "Se de nye oplysninger nedenfor og prøv igen.",
        "The engagement has changed since you opened the page, so your changes were not saved. "
        "See the new information below and try again.",
    ),
    "w_unsaved": (
        "Det, du skrev, og som ikke blev gemt (kopiér det, før du går videre):",
        "What you wrote that was not saved (copy it before you go on):",
    ),
    "w_fix_below": (
        "Ret det markerede nedenfor. Intet er gemt.",
        "Correct what is marked below. Nothing was saved.",
    ),
    "w_required_blank": ("Skal besvares, før forløbet kan gå videre.", "Must be answered before moving on."),
    "w_required_mark": ("skal besvares", "required"),
    "w_saved": ("Gemt.", "Saved."),
    "w_nothing_changed": ("Ingen ændringer at gemme.", "No changes to save."),
    # -- lists
    "w_overdue": ("Over fristen", "Overdue"),
    "w_due": ("Frist", "Due"),
    "w_no_engagements": ("Ingen forløb her.", "No engagements here."),
    "w_subject": ("Borger/aktør", "Resident/actor"),
    "w_stage": ("Fase", "Stage"),
    "w_workflow": ("Arbejdsgang", "Workflow"),
    "w_assignee": ("Medarbejder", "Worker"),
    "w_supervisor": ("Leder", "Supervisor"),
    "w_team": ("Team", "Team"),
    "w_source": ("Henvist fra", "Referred by"),
    "w_started": ("Startet", "Started"),
    "w_take": ("Tag forløbet", "Take it"),
    "w_intake_intro": (
        "Forløb uden medarbejder, ældste først. Tag et forløb, så bliver du medarbejder på det.",
        "Engagements with no worker, oldest first. Take one to become its worker.",
    ),
    "w_count": ("{n} forløb", "{n} engagements"),
    # -- engagement
    "w_engagement": ("Forløb {id}", "Engagement {id}"),
    "w_questions": ("Spørgsmål i fasen", "Questions of this stage"),
    "w_no_questions": ("Fasen stiller ingen spørgsmål.", "This stage asks no questions."),
    "w_save": ("Gem svar", "Save answers"),
    "w_next_steps": ("Næste skridt", "Next steps"),
    "w_next_steps_help": (
        "Knapperne gemmer svarene ovenfor og flytter forløbet videre.",
        "The buttons save the answers above and move the engagement on.",
    ),
    "w_not_now": ("Ikke muligt nu", "Not possible now"),
    "w_more_questions": ("Udfyld og gå videre", "Fill in and go on"),
    "w_notes": ("Løbende notater", "Running notes"),
    "w_note": ("Notat", "Note"),
    "w_add_note": ("Tilføj notat", "Add note"),
    "w_activities": ("Aktiviteter", "Activities"),
    "w_activity_kind": ("Slags aktivitet", "Kind of activity"),
    "w_description": ("Beskrivelse", "Description"),
    "w_add_activity": ("Registrér aktivitet", "Record activity"),
    "w_self_help": ("Selvhjælp", "Self-help"),
    "w_self_help_level": ("Niveau", "Level"),
    "w_record_level": ("Registrér niveau", "Record level"),
    "w_consents": ("Samtykker", "Consents"),
    "w_no_consents": ("Ingen samtykker registreret.", "No consents recorded."),
    "w_consent_info": ("Hvilke oplysninger", "Which information"),
    "w_consent_to": ("Til hvem", "To whom"),
    "w_consent_purpose": ("Formål", "Purpose"),
    "w_consent_given": ("Givet den", "Given on"),
    "w_consent_how": ("Hvordan", "How"),
    "w_consent_status": ("Status", "Status"),
    "w_consent_active": ("gældende", "in force"),
    "w_consent_withdrawn": ("trukket tilbage {day}", "withdrawn {day}"),
    "w_give_consent": ("Registrér samtykke", "Record consent"),
    "w_withdraw": ("Træk tilbage", "Withdraw"),
    "w_reason": ("Begrundelse", "Reason"),
    "w_history": ("Historik", "History"),
    "w_by": ("af {who}", "by {who}"),
    "w_details": ("Oplysninger", "Details"),
    "w_version": ("Version", "Version"),
    "w_handover": ("Overdragelse og videre henvisning", "Handover and referral"),
    "w_handover_intro": (
        "Før noget forlader sekretariatet, vises det samtykke eller den hjemmel, der dækker modtageren.",
        "Before anything leaves the secretariat, the consent or statute covering the receiver is shown.",
    ),
    "w_receiver": ("Modtager", "Receiver"),
    "w_covering": ("Dækkende samtykker", "Covering consents"),
    "w_no_covering": (
        "Intet gældende samtykke dækker denne modtager: vælg en hjemmel, eller registrér samtykket først.",
        "No consent in force covers this receiver: choose a statute, or record the consent first.",
    ),
    "w_legal_basis": ("Hjemmel eller samtykke", "Legal basis or consent"),
    "w_consent_n": ("Samtykke {id}: {info} til {to}", "Consent {id}: {info} to {to}"),
    "w_reference": ("Reference (sagsnr. eller afgørelse)", "Reference (case or decision)"),
    "w_export_package": ("Hent overdragelsespakken", "Download the handover package"),
    "w_choose": ("Vælg …", "Choose …"),
    "w_start": ("Start forløb", "Start engagement"),
    "w_new_intro": (
        "Et nyt forløb begynder ved henvendelsen. "
        "Sagsnummeret er sekretariatets reference, ikke et CPR-nummer.",
        "A new engagement begins at the referral. "
        "The subject is the secretariat's reference, not a CPR number.",
    ),
    "w_referred_by": ("Henvist af (person)", "Referred by (person)"),
    "w_referral_reason": ("Begrundelse for henvisningen", "Reason for the referral"),
    "w_outcome": ("Resultat", "Outcome"),
    "w_reassign": ("Omfordel", "Reassign"),
    "w_nobody": ("ingen", "nobody"),
    "w_yes": ("Ja", "Yes"),
    "w_no": ("Nej", "No"),
    "w_read_only": ("Kun læseadgang.", "Read-only."),
    # -- supervisor
    "w_board_intro": (
        "Åbne forløb i kolonner efter fase. Forløb over fristen er markeret.",
        "Open engagements in columns by stage. Overdue ones are marked.",
    ),
    "w_all_teams": ("Alle teams", "All teams"),
    "w_show": ("Vis", "Show"),
    "w_level": ("Niveau", "Level"),
    "w_level_1": ("Påmindelse", "Reminder"),
    "w_level_n": ("Eskalering {n}", "Escalation {n}"),
    "w_raised": ("Rejst", "Raised"),
    "w_acknowledge": ("Kvittér", "Acknowledge"),
    "w_snooze": ("Udsæt", "Snooze"),
    "w_snooze_until": ("Udsæt til", "Snooze until"),
    "w_no_reminders": ("Ingen åbne påmindelser.", "No open reminders."),
    "w_acknowledged": ("Påmindelse {id} er kvitteret.", "Reminder {id} acknowledged."),
    "w_snoozed": ("Påmindelse {id} er udsat.", "Reminder {id} snoozed."),
    "w_reassigned": ("Forløbet er omfordelt.", "The engagement was reassigned."),
    # -- audit
    "w_audit_intro": (
        "Hændelsesloggen med filtre. Hver søgning og eksport står selv i adgangsloggen.",
        "The event log with filters. Each search and export is itself in the access log.",
    ),
    "w_filter": ("Filtrér", "Filter"),
    "w_since": ("Fra", "From"),
    "w_until": ("Til", "To"),
    "w_actor": ("Aktør", "Actor"),
    "w_type": ("Type", "Type"),
    "w_event": ("Hændelse", "Event"),
    "w_time": ("Tid", "Time"),
    "w_next_page": ("Næste side", "Next page"),
    "w_export_csv": ("Eksportér CSV", "Export CSV"),
    "w_export_jsonl": ("Eksportér JSONL", "Export JSONL"),
    "w_run_verify": ("Kontrollér loggen", "Verify the log"),
    "w_verify_ok": (
        "Loggen er hel: {events} hændelser i {chains} kæder er kontrolleret, og ingen er ændret.",
        "The log is intact: {events} events in {chains} chains checked, none altered.",
    ),
    "w_verify_broken": ("Loggen har {n} brud:", "The log has {n} breaks:"),
    "w_checkpoint": ("Tag et kontrolpunkt", "Take a checkpoint"),
    "w_checkpoint_intro": (
        "Et kontrolpunkt er et signeret øjebliksbillede af alle kæders hoveder. Gem filen uden for systemet, "
        "og kontrollér senere mod den.",
        "A checkpoint is a signed snapshot of every chain's head. Keep the file outside the system and "
        "verify against it later.",
    ),
    "w_checkpoint_file": ("Kontrolpunkt (fil)", "Checkpoint (file)"),
    "w_access_intro": ("Hvem har læst og eksporteret hvad.", "Who read and exported what."),
    "w_action": ("Handling", "Action"),
    "w_role": ("Rolle", "Role"),
    "w_purpose": ("Formål", "Purpose"),
    "w_engagements": ("Forløb", "Engagements"),
    "w_access_request_intro": (
        "En borgers indsigtsanmodning (GDPR art. 15): alt om sagsnummeret, som én pakke.",
        "A resident's access request (GDPR art. 15): everything about the subject, as one package.",
    ),
    "w_download": ("Hent pakken", "Download the package"),
    "w_engagement_id": ("Forløb nr.", "Engagement no."),
    "w_audit_caption": ("Hændelser, nyeste først", "Events, newest first"),
    "w_no_events": ("Ingen hændelser passer til filtrene.", "No events match the filters."),
    "w_export_logged": (
        "Eksporten indeholder alle hændelser, der passer til filtrene, ældste først, "
        "og noteres i adgangsloggen.",
        "The export holds every event matching the filters, oldest first, and is recorded in the access log.",
    ),
    "w_verify_intro": (
        "Kontrollen genberegner hver hash-kæde i hændelsesloggen og adgangsloggen og viser hvert sted, "
        "hvor loggen ikke er, som den blev skrevet.",
        "The check recomputes every hash chain of the event log and the access log and shows each place "
        "where the log is not as it was written.",
    ),
    "w_verify_result": ("Resultat", "Result"),
    "w_intact": ("Hel", "Intact"),
    "w_broken": ("Brudt", "Broken"),
    "w_verify_checkpoint": (
        "Sammenlignet med kontrolpunktet fra {at}.",
        "Compared with the checkpoint of {at}.",
    ),
    "w_verify_access": ("{n} poster i adgangsloggen er kontrolleret.", "{n} access-log entries checked."),
    "w_verify_algo": ("Kæderne er beregnet med {algo}.", "The chains are computed with {algo}."),
    "w_verify_erased": (
        "Slettet siden kontrolpunktet (og noteret i adgangsloggen)",
        "Erased since the checkpoint (and recorded in the access log)",
    ),
    "w_warnings": ("Advarsler", "Warnings"),
    "w_verify_against": ("Kontrollér mod et kontrolpunkt", "Verify against a checkpoint"),
    "w_checkpoint_missing": ("Vælg en kontrolpunktsfil.", "Choose a checkpoint file."),
    "w_checkpoint_too_big": (
        "Filen er over {mb} MB og er ikke et kontrolpunkt.",
        "The file is over {mb} MB and is not a checkpoint.",
    ),
    "w_access_order": (
        "Ældste først. Filtrér på tid for at se de seneste poster.",
        "Oldest first. Filter by time to see the latest entries.",
    ),
    "w_criteria": ("Søgekriterier", "Criteria"),
    "w_impersonated_by": ("udført af {who}", "acted by {who}"),
    "w_no_access": (
        "Ingen poster i adgangsloggen passer til filtrene.",
        "No access-log entries match the filters.",
    ),
    "w_format": ("Format", "Format"),
    "w_format_md": ("Læsbart dokument (Markdown, dansk)", "Readable document (Markdown, Danish)"),
    "w_format_json": ("Data (JSON)", "Data (JSON)"),
    "w_redact_staff": (
        "Udelad medarbejdernes identitet (også i fritekst)",
        "Leave out the staff's identities (also in free text)",
    ),
    "w_access_request_logged": (
        "Anmodningen noteres i adgangsloggen med pakkens kontrolsum.",
        "The request is recorded in the access log with the package's checksum.",
    ),
    # -- reports
    "w_report_intro": (
        "Rapporten til bestyrelse og bevillingsgiver, regnet fra hændelsesloggen.",
        "The report for the board and the funder, computed from the event log.",
    ),
    "w_period_start": ("Periodens start", "Period start"),
    "w_period_end": ("Periodens slut", "Period end"),
    "w_method": ("Metode", "Method"),
    "w_area": ("Indsatsområde", "Effort area"),
    "w_all": ("Alle", "All"),
    "w_open": ("Åbne", "Open"),
    "w_oldest_days": ("Ældste (dage)", "Oldest (days)"),
    "w_quiet_days": ("Længst stille (dage)", "Quietest (days)"),
    "w_chart_of": ("Diagram: {title}", "Chart: {title}"),
    "w_chart_caption": (
        "{title}. Tallene står i tabellen nedenfor.",
        "{title}. The figures are in the table below.",
    ),
    "w_report_meta": (
        "Opgjort pr. {at} ud fra hændelsesloggen. Forløb i perioden: {served}.",
        "As of {at}, from the event log. Engagements in the period: {served}.",
    ),
    "w_report_scope": ("Omfang: {teams}.", "Scope: {teams}."),
    "w_report_scope_all": ("Omfang: hele sekretariatet.", "Scope: the whole secretariat."),
    "w_report_filters": ("Filtre: {filters}.", "Filters: {filters}."),
    "w_no_charts": (
        "Diagrammerne kræver matplotlib (pakken forloeb[reports]), som ikke er installeret på serveren. "
        "Tallene står i tabellerne.",
        "The charts need matplotlib (the forloeb[reports] package), which the server does not have. "
        "The figures are in the tables.",
    ),
    "w_none_in_period": ("Ingen i perioden.", "None in the period."),
    "w_caseload_intro": (
        "Åbne forløb pr. medarbejder og team: hvor mange, hvor mange over fristen, det ældste, "
        "og længst tid uden en hændelse.",
        "Open engagements per worker and team: how many, how many overdue, the oldest, "
        "and the longest time without an event.",
    ),
    "w_in_intake": ("(indtag, ingen medarbejder)", "(intake, no worker)"),
    "w_total": ("I alt", "Total"),
}

__all__ = ["CONSOLE"]
