"""Who holds an engagement, what it counts under, and the intake (issue 13).

* **Reassignment** (:func:`reassign`): the assignee, the supervisor and the team
  change as an event on the engagement's chain (``type = "reassigned"``): who
  (the event's actor), from, to and why. A supervisor may change all three on
  any engagement; the assignee may hand the engagement on (assignee and team),
  nobody else may. The visibility rule (``_access``) reads the row, so it
  follows at once: an engagement handed to another team leaves the old team's
  view and enters the new one's.
* **Intake** (:func:`take`, :func:`intake`): engagements with no assignee, not
  ended, oldest first; a worker sees those of their teams and those not yet
  routed to a team (the staff register's rule: a referral nobody has taken is
  everyone's to pick up) and takes one by becoming its assignee.
* **Effort areas** (:func:`set_areas`): an engagement's areas as keys of the
  taxonomy (``_taxonomy``) valid on the day, an event (``type = "areas"``).
* **Reporting attributes** (:func:`record_reporting`): optional, minimised:
  an age band, a gender, a boligafdeling and a pseudonymous person key, an
  event (``type = "reporting"``).

Every event here that changes columns of the engagement row carries the new
values under ``"set"`` (column -> value) and the old ones under ``"from"``, and
writes exactly those values to the row, so a replay can apply any of them the
same way (``audit verify``).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from ..persistence import Row, WriteTransaction
from ._access import visibility
from ._calendar import COPENHAGEN
from ._checks import check_note, check_text
from ._errors import InvalidData, PermissionDenied
from ._kernel import Kernel, check_version, fingerprint, snapshot
from ._report import ReportQuery, compute
from ._roles import AUDITOR, STAFF, SUPERVISOR, WORKER
from ._taxonomy import Taxonomy
from ._types import Actor, Engagement, Event

REASSIGNED = "reassigned"
AREAS = "areas"
REPORTING = "reporting"
# The row columns each event may set (what a replay applies).
ASSIGNMENT = ("assignee", "supervisor", "team")
REPORTING_COLUMNS = ("person_key", "age_band", "gender", "afdeling")
NEW_PERSON = "new"
# Who may look at the intake and the caseload (what each sees is the visibility rule's).
_READERS = STAFF | {AUDITOR}
_UNSET: Any = object()


def _nothing(what_en: str, what_da: str) -> InvalidData:
    return InvalidData(f"nothing to change: {what_en}", detail_da=f"intet at ændre: {what_da}")


def _ended(engagement_id: int) -> InvalidData:
    return InvalidData(
        f"engagement {engagement_id} has ended; reopen it first",
        detail_da=f"forløb {engagement_id} er afsluttet; genåbn det først",
    )


def _staff_with(kernel: Kernel, staff_id: str, role: str, what_da: str) -> str:
    """``staff_id`` if the register has an active entry holding ``role``; else InvalidData."""
    check_text(what_da, staff_id, limit=200)
    entry = kernel.staff_entry(staff_id)
    if entry is None or not entry.active or role not in entry.roles:
        raise InvalidData(
            f"{staff_id!r} is not an active {role} in the staff register",
            detail_da=f"{staff_id!r} er ikke {what_da} i personaleregistret (aktiv)",
        )
    return staff_id


def reassign(
    kernel: Kernel,
    taxonomy: Taxonomy,
    engagement_id: int,
    actor: Actor,
    *,
    assignee: str | None = _UNSET,
    supervisor: str | None = _UNSET,
    team: str | None = _UNSET,
    reason: str | None,
    take: bool = False,
    expected_version: int | None = None,
    idempotency_key: str | None = None,
) -> Engagement:
    """:meth:`Caseload.reassign` and :meth:`Caseload.take`."""
    if reason is not None:
        check_note(reason)
    if not take and (reason is None or not reason.strip()):
        raise InvalidData(
            "a reassignment needs a reason", detail_da="en omfordeling skal have en begrundelse"
        )
    wanted: dict[str, str | None] = {
        k: v
        for k, v in (("assignee", assignee), ("supervisor", supervisor), ("team", team))
        if v is not _UNSET
    }
    if not wanted:
        raise _nothing("give an assignee, a supervisor or a team", "angiv medarbejder, leder eller team")
    # Checked before the unit of work: a bad value is refused with nothing written.
    if wanted.get("assignee") is not None:
        _staff_with(kernel, str(wanted["assignee"]), WORKER, "medarbejder")
    if wanted.get("supervisor") is not None:
        _staff_with(kernel, str(wanted["supervisor"]), SUPERVISOR, "leder")
    if wanted.get("team") is not None:
        wanted["team"] = taxonomy.check_team(check_text("team", wanted["team"], limit=200))
    action = "take" if take else REASSIGNED
    digest = fingerprint(action, actor, engagement_id, wanted, reason) if idempotency_key else ""

    def work(tx: WriteTransaction) -> tuple[Row, Event]:
        row = kernel.load(tx, engagement_id)
        check_version(row, expected_version)
        role = kernel.role_for(actor, STAFF, action)
        acting = kernel.resolve(actor)
        if row["closed_from"] is not None:
            raise _ended(engagement_id)
        if take:
            if row["assignee"] is not None:
                raise InvalidData(
                    f"engagement {engagement_id} is not in the intake (assigned to {row['assignee']})",
                    detail_da=f"forløb {engagement_id} er ikke i indbakken (tildelt {row['assignee']})",
                )
            if WORKER not in acting.roles:
                kernel.refused(acting, action, engagement=row, reason="role", required=(WORKER,))
                raise PermissionDenied(acting.id, acting.roles, action, (WORKER,))
            if wanted.get("team") is not None and wanted["team"] not in acting.teams and role != SUPERVISOR:
                kernel.refused(acting, action, engagement=row, reason="visibility")
                raise PermissionDenied(acting.id, acting.roles, action, (f"team {wanted['team']}",))
            via = "intake"
        elif role == SUPERVISOR:
            via = "supervisor"
        elif row["assignee"] == acting.id and "supervisor" not in wanted:
            via = "hand_on"  # the assignee hands the engagement on
        else:
            kernel.refused(acting, action, engagement=row, reason="role", required=(SUPERVISOR,))
            raise PermissionDenied(acting.id, acting.roles, action, (SUPERVISOR, "assignee"))
        changed = {k: v for k, v in wanted.items() if row[k] != v}
        if not changed:
            raise _nothing("the engagement already has these", "forløbet har allerede disse")
        now = kernel.clock()
        payload: dict[str, Any] = {
            "set": changed,
            "from": {k: row[k] for k in changed},
            "via": via,
        }
        if reason:
            payload["reason"] = reason
        values: dict[str, Any] = {**changed, "updated_at": now}
        return kernel.commit_change(
            tx, row, values, actor, role, REASSIGNED, None, row["state"], payload, now
        )

    return kernel.run(work, idempotency_key, digest)


def set_areas(
    kernel: Kernel,
    taxonomy: Taxonomy,
    engagement_id: int,
    areas: Iterable[str],
    actor: Actor,
    reason: str | None,
    expected_version: int | None,
    idempotency_key: str | None,
) -> Engagement:
    """:meth:`Caseload.set_areas`."""
    today = kernel.clock().astimezone(COPENHAGEN).date()
    keys = taxonomy.check_areas(areas, today)
    if reason is not None:
        check_note(reason)
    digest = fingerprint(AREAS, actor, engagement_id, keys, reason) if idempotency_key else ""

    def work(tx: WriteTransaction) -> tuple[Row, Event]:
        row = kernel.load(tx, engagement_id)
        check_version(row, expected_version)
        role = kernel.role_for(actor, STAFF, AREAS)
        if list(row["tags"]) == keys:
            raise _nothing("the engagement already has these areas", "forløbet har allerede disse områder")
        now = kernel.clock()
        payload: dict[str, Any] = {"set": {"tags": keys}, "from": {"tags": list(row["tags"])}}
        if reason:
            payload["reason"] = reason
        tx.replace_tags(engagement_id, keys)
        values = {"tags": keys, "updated_at": now}
        return kernel.commit_change(tx, row, values, actor, role, AREAS, None, row["state"], payload, now)

    return kernel.run(work, idempotency_key, digest)


def record_reporting(
    kernel: Kernel,
    taxonomy: Taxonomy,
    engagement_id: int,
    actor: Actor,
    attributes: Mapping[str, str | None],
    expected_version: int | None,
    idempotency_key: str | None,
) -> Engagement:
    """:meth:`Caseload.record_reporting`."""
    given = dict(attributes)
    unknown = sorted(set(given) - {"person", "age_band", "gender", "afdeling"})
    if unknown or not given:
        raise InvalidData(
            "give person, age_band, gender or afdeling" + (f" (not {', '.join(unknown)})" if unknown else ""),
            detail_da="angiv person, aldersgruppe, køn eller afdeling"
            + (f" (ikke {', '.join(unknown)})" if unknown else ""),
        )
    wanted: dict[str, str | None] = {}
    checks = {"age_band": taxonomy.check_age_band, "gender": taxonomy.check_gender}
    checks["afdeling"] = taxonomy.check_afdeling
    for key, check in checks.items():
        if key in given:
            value = given[key]
            wanted[key] = None if value is None else check(check_text(key, value, limit=64))
    person = given.get("person", _UNSET)
    if person is not _UNSET and person not in (None, NEW_PERSON):
        check_text("person", person, limit=32)
        with kernel.read() as rtx:
            if not rtx.person_key_used(str(person)):
                raise InvalidData(
                    f"no engagement has the person key {person!r}; give 'new' for a new resident",
                    detail_da=f"intet forløb har personnøglen {person!r}; skriv 'new' for en ny beboer",
                )
    digest = fingerprint(REPORTING, actor, engagement_id, given) if idempotency_key else ""

    def work(tx: WriteTransaction) -> tuple[Row, Event]:
        row = kernel.load(tx, engagement_id)
        check_version(row, expected_version)
        role = kernel.role_for(actor, STAFF, REPORTING)
        if row["closed_from"] is not None:
            raise _ended(engagement_id)
        values = dict(wanted)
        if person is not _UNSET:
            # A random key, made here: it says nothing about the person, and exists
            # only on the rows and events of the engagements it is given to.
            values["person_key"] = ("P-" + secrets.token_hex(6)) if person == NEW_PERSON else person
        changed = {k: v for k, v in values.items() if row[k] != v}
        if not changed:
            raise _nothing("the engagement already has these", "forløbet har allerede disse")
        now = kernel.clock()
        payload = {"set": changed, "from": {k: row[k] for k in changed}}
        return kernel.commit_change(
            tx, row, {**changed, "updated_at": now}, actor, role, REPORTING, None, row["state"], payload, now
        )

    return kernel.run(work, idempotency_key, digest)


def intake(kernel: Kernel, actor: Actor, team: str | None, limit: int | None) -> list[Engagement]:
    """:meth:`Caseload.intake`: one access-log entry naming what it showed."""
    kernel.role_for(actor, _READERS, "intake")  # a refusal is logged
    acting = kernel.resolve(actor)
    with kernel.read() as tx:
        rows = tx.unassigned(visibility(acting), team, limit)
    kernel.log_access(acting, "intake", engagements=rows, criteria={"team": team}, page=True)
    return [snapshot(r) for r in rows]


def caseload(kernel: Kernel, actor: Actor, now: datetime | None = None) -> list[dict[str, Any]]:
    """:meth:`Caseload.overview`: per (assignee, team) the open engagements visible to
    ``actor``, overdue ones, the oldest start and the longest time since an event."""
    kernel.role_for(actor, _READERS, "caseload")  # a refusal is logged
    acting = kernel.resolve(actor)
    at = now or kernel.clock()
    with kernel.read() as tx:
        rows = tx.open_load(at, visibility(acting))
    kernel.log_access(acting, "caseload", criteria={"at": at.isoformat()})
    out = [
        {
            "assignee": r["assignee"],
            "team": r["team"],
            "open": int(r["open"]),
            "overdue": int(r["overdue"] or 0),
            "oldest_days": round((at - r["oldest"]).total_seconds() / 86400, 1),
            "quiet_days": round((at - r["quietest"]).total_seconds() / 86400, 1),
        }
        for r in rows
    ]
    out.sort(key=lambda r: (r["assignee"] is None, r["assignee"] or "", r["team"] or ""))
    return out


class Caseload:
    """Assignment, intake, effort areas, reporting attributes and reports: ``engine.caseload``.

    ``taxonomy`` (effort areas per plan period, teams, the reporting lists) is
    replaceable: ``engine.caseload.taxonomy = settings.taxonomy``.
    """

    def __init__(self, kernel: Kernel, taxonomy: Taxonomy | None = None) -> None:
        self._kernel = kernel
        self.taxonomy = taxonomy or Taxonomy()

    def reassign(
        self,
        engagement_id: int,
        *,
        actor: Actor,
        reason: str,
        assignee: str | None = _UNSET,
        supervisor: str | None = _UNSET,
        team: str | None = _UNSET,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> Engagement:
        """Change the assignee, supervisor and/or team (None: none) as an event: a
        supervisor on any engagement, the assignee handing on (assignee and team)."""
        return reassign(
            self._kernel, self.taxonomy, engagement_id, actor,
            assignee=assignee, supervisor=supervisor, team=team, reason=reason,
            expected_version=expected_version, idempotency_key=idempotency_key,
        )  # fmt: skip

    def take(
        self,
        engagement_id: int,
        *,
        actor: Actor,
        team: str | None = None,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> Engagement:
        """Take an engagement from the intake: ``actor`` (a worker who may see it)
        becomes its assignee; ``team``: route it to one of the worker's teams too."""
        options: dict[str, Any] = {"assignee": actor.id}
        if team is not None:
            options["team"] = team
        return reassign(
            self._kernel, self.taxonomy, engagement_id, actor, reason=None, take=True,
            expected_version=expected_version, idempotency_key=idempotency_key, **options,
        )  # fmt: skip

    def intake(self, *, actor: Actor, team: str | None = None, limit: int | None = None) -> list[Engagement]:
        """The engagements nobody is assigned to (not ended), oldest first, that
        ``actor`` may see; one access-log entry naming them."""
        return intake(self._kernel, actor, team, limit)

    def set_areas(
        self,
        engagement_id: int,
        areas: Iterable[str],
        *,
        actor: Actor,
        reason: str | None = None,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> Engagement:
        """Set the engagement's effort areas (keys valid today; the list replaces the old)."""
        return set_areas(
            self._kernel,
            self.taxonomy,
            engagement_id,
            areas,
            actor,
            reason,
            expected_version,
            idempotency_key,
        )

    def record_reporting(
        self,
        engagement_id: int,
        *,
        actor: Actor,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
        **attributes: str | None,
    ) -> Engagement:
        """Record reporting attributes: ``person`` ("new" or an existing person key),
        ``age_band``, ``gender``, ``afdeling`` (None clears one)."""
        return record_reporting(
            self._kernel, self.taxonomy, engagement_id, actor, attributes, expected_version, idempotency_key
        )

    def reporting_of(
        self, engagement_id: int, *, actor: Actor, purpose: str | None = None
    ) -> dict[str, str | None]:
        """The engagement's reporting attributes (person key, age band, gender, afdeling),
        if ``actor`` may see it; the read is access-logged."""
        with self._kernel.read() as tx:
            row = self._kernel.load(tx, engagement_id)
        self._kernel.check_visible(actor, row, REPORTING)
        self._kernel.log_access(actor, REPORTING, engagements=[row], purpose=purpose)
        return {k: row[k] for k in REPORTING_COLUMNS}

    def overview(self, *, actor: Actor, now: datetime | None = None) -> list[dict[str, Any]]:
        """The caseload: per assignee and team, open, overdue, oldest and quietest."""
        return caseload(self._kernel, actor, now)

    def report(
        self,
        *,
        actor: Actor,
        start: date,
        end: date,
        as_of: date | None = None,
        area: str | None = None,
        team: str | None = None,
        worker: str | None = None,
        method: str | None = None,
        lang: str = "da",
    ) -> dict[str, Any]:
        """The report for ``start``..``end`` (Copenhagen dates), computed from the event
        log as it stood at the end of ``as_of`` (default: the end of the period)."""
        query = ReportQuery(start, end, as_of, area, team, worker, method)
        return compute(self._kernel, self.taxonomy, actor, query, lang)


__all__ = [
    "AREAS",
    "ASSIGNMENT",
    "NEW_PERSON",
    "REASSIGNED",
    "REPORTING",
    "REPORTING_COLUMNS",
    "Caseload",
    "caseload",
    "intake",
    "reassign",
    "record_reporting",
    "set_areas",
]
