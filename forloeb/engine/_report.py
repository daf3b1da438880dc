"""The report for a period (issue 13), computed from the event log alone.

:func:`compute` streams every event recorded before the report's cutoff (the
end of ``--to``, or of ``--as-of`` if earlier) in chain order and replays each
engagement: its stage, stays and ending, and what the ``"set"`` of a
reassignment, an areas or a reporting event wrote. Nothing is read from the
engagement rows, so the report as it stood on a past date is the same report
run with that date as ``as_of``, whatever happened since, and every figure can
be traced to the events it counts.

What counts:

* an engagement is *served* in the period when it started before the period
  ended and had not ended before it began;
* filters (``area``, ``team``, ``worker``, ``method``) and the visibility of a
  worker apply to the engagement as it stood at the cutoff;
* a *resident* is a served engagement of a method without a ``participants``
  field (the individual method); residents with the same person key count once,
  those without one count per engagement; a *group* is a served engagement of a
  method with that field;
* a stay in a stage counts for stage times when it ended in the period
  (working days, the engine's calendar); the funnel follows the engagements
  started in the period.

Who sees what: supervisors and auditors the whole secretariat, a worker the
engagements of their own teams (a ``--team`` outside them is refused), an admin
nothing. Every run is one access-log entry naming the criteria.
"""

from __future__ import annotations

import gc
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from statistics import median
from typing import Any

from ._calendar import COPENHAGEN
from ._definition import AUDITOR, SUPERVISOR, WORKER, Label, WorkflowDefinition
from ._errors import InvalidData, PermissionDenied
from ._kernel import Kernel
from ._progress import self_help_stage
from ._report_replay import READ_TYPES, Course, WorkingDays, number, partner_keys, replay
from ._taxonomy import Taxonomy
from ._types import Actor

MAX_DAYS = 3660  # a report covers at most ten years


@dataclass(frozen=True)
class ReportQuery:
    start: date
    end: date
    as_of: date | None = None
    area: str | None = None
    team: str | None = None
    worker: str | None = None
    method: str | None = None

    def check(self, taxonomy: Taxonomy) -> None:
        if self.end < self.start:
            raise InvalidData(
                f"--to ({self.end}) is before --from ({self.start})",
                detail_da=f"--to ({self.end}) ligger før --from ({self.start})",
            )
        if (self.end - self.start).days > MAX_DAYS:
            raise InvalidData("a report covers at most ten years", detail_da="en rapport dækker højst ti år")
        if self.area is not None and taxonomy.area(self.area) is None:
            listed = ", ".join(a.key for a in taxonomy.areas)
            raise InvalidData(
                f"unknown effort area {self.area!r}; the areas are: {listed}",
                detail_da=f"ukendt indsatsområde {self.area!r}; indsatsområderne er: {listed}",
            )


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), COPENHAGEN).astimezone(UTC)


@contextmanager
def _no_collection() -> Iterator[None]:
    """The cyclic garbage collector paused while a replay builds its objects: it holds
    no cycles, and a million new tuples would have the collector walk every live object
    again and again (measured: two thirds of a 100k-engagement replay)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _p90(values: list[int]) -> float:
    ordered = sorted(values)
    # Nearest rank: the smallest value with at least 90 % at or below it.
    rank = max(1, -(-9 * len(ordered) // 10))
    return float(ordered[rank - 1])


def visible_teams(kernel: Kernel, actor: Actor, team: str | None) -> frozenset[str] | None:
    """The teams ``actor``'s report may cover (None: all), or PermissionDenied."""
    acting = kernel.resolve(actor)
    if {SUPERVISOR, AUDITOR} & acting.roles:
        return None
    if WORKER not in acting.roles:
        kernel.refused(acting, "report", reason="role", required=(SUPERVISOR, AUDITOR, WORKER))
        raise PermissionDenied(acting.id, acting.roles, "report", (SUPERVISOR, AUDITOR, WORKER))
    if team is not None and team not in acting.teams:
        kernel.refused(acting, "report", reason="visibility")
        raise PermissionDenied(acting.id, acting.roles, "report", (SUPERVISOR, AUDITOR, f"team {team}"))
    return acting.teams


class _Labels:
    def __init__(self, kernel: Kernel, taxonomy: Taxonomy, lang: str) -> None:
        self.kernel, self.taxonomy, self.lang = kernel, taxonomy, lang
        self.none = "ikke registreret" if lang == "da" else "not recorded"
        self._defs: dict[str, WorkflowDefinition] = {}
        self._memo: dict[tuple[str, str, str | None], str] = {}

    def definition(self, workflow: str) -> WorkflowDefinition | None:
        if workflow not in self._defs:
            try:
                self._defs[workflow] = self.kernel.registry.compiled(workflow).definition
            except Exception:  # a workflow no longer registered: keys, not labels
                return None
        return self._defs[workflow]

    def _get(self, label: Label | None, key: str) -> str:
        return label.get(self.lang) if label is not None else key  # type: ignore[arg-type]

    def method(self, workflow: str) -> str:
        d = self.definition(workflow)
        return self._get(d.labels if d else None, workflow)

    def stage(self, workflow: str, key: str) -> str:
        memo = (workflow, "stage", key)
        found = self._memo.get(memo)
        if found is None:
            found = self._memo[memo] = self._stage(workflow, key)
        return found

    def _stage(self, workflow: str, key: str) -> str:
        d = self.definition(workflow)
        found = next((s for s in d.stages if s.key == key), None) if d else None
        return self._get(found.labels if found else None, key)

    def choice(self, workflow: str, kind: str, key: str | None) -> str:
        memo = (workflow, kind, key)
        found = self._memo.get(memo)
        if found is None:
            found = self._memo[memo] = self._choice(workflow, kind, key)
        return found

    def _choice(self, workflow: str, kind: str, key: str | None) -> str:
        if key is None or key == "None":
            return self.none
        d = self.definition(workflow)
        options: Iterable[Any] = ()
        if d is not None:
            options = {
                "source": d.referral_sources,
                "outcome": d.outcomes,
                "partner": d.partners,
                "activity": d.activity_kinds,
                "level": d.self_help.levels if d.self_help else (),
            }[kind]
        found = next((o for o in options if o.key == key), None)
        if found is None and kind == "partner":
            label = self.kernel.receivers.get(key)
            return self._get(label, key)
        return self._get(found.labels if found else None, key)

    def term(self, terms: Iterable[Any], key: str | None) -> str:
        if key is None:
            return self.none
        found = next((t for t in terms if t.key == key), None)
        return found.label(self.lang) if found else key


def _section(key: str, da: str, en: str, columns: list[tuple[str, str]], lang: str) -> dict[str, Any]:
    return {
        "key": key,
        "title": da if lang == "da" else en,
        "columns": [c[0] if lang == "da" else c[1] for c in columns],
        "rows": [],
    }


def compute(
    kernel: Kernel, taxonomy: Taxonomy, actor: Actor, query: ReportQuery, lang: str = "da"
) -> dict[str, Any]:
    """:meth:`Caseload.report`: the figures, as sections of rows (see the module's doc)."""
    with _no_collection():
        return _compute(kernel, taxonomy, actor, query, lang)


def _compute(
    kernel: Kernel, taxonomy: Taxonomy, actor: Actor, query: ReportQuery, lang: str
) -> dict[str, Any]:
    query.check(taxonomy)
    teams = visible_teams(kernel, actor, query.team)
    p0, p1 = _midnight(query.start), _midnight(query.end + timedelta(days=1))
    cutoff = min(p1, _midnight(query.as_of + timedelta(days=1))) if query.as_of else p1
    cutoff = min(cutoff, kernel.clock() + timedelta(seconds=1))
    finals: set[str] = set()
    payload_states: set[str] = set()
    group_methods: set[str] = set()
    if query.method is not None:
        kernel.registry.compiled(query.method)  # UnknownWorkflow names the known ones
    for compiled in kernel.registry:
        d = compiled.definition
        finals |= {s.key for s in d.stages if s.kind == "final"}
        level_stage = self_help_stage(d)
        if level_stage is not None:  # leaving it records the level reached (round off)
            payload_states.add(level_stage)
        if any(q.key == "participants" for q in d.fields):
            group_methods.add(d.name)
    payload_states |= finals
    with kernel.read() as tx:
        rows = tx.report_events(cutoff, types=READ_TYPES, detail_states=payload_states, since=p0)
        courses = replay(rows, finals)
        # The period's bounds in the store's form of a time (compared as they are).
        p0, p1 = tx.report_time(p0), tx.report_time(p1)
        as_datetime = tx.report_datetime
    criteria = {
        "from": query.start.isoformat(),
        "to": query.end.isoformat(),
        "as_of": query.as_of.isoformat() if query.as_of else None,
        **{k: v for k, v in (("area", query.area), ("team", query.team), ("worker", query.worker)) if v},
        **({"method": query.method} if query.method else {}),
    }
    kernel.log_access(actor, "report", criteria=criteria)

    def keep(c: Course) -> bool:
        a = c.attrs
        if teams is not None and a.get("team") not in teams:
            return False
        if query.method is not None and c.workflow != query.method:
            return False
        if query.team is not None and a.get("team") != query.team:
            return False
        if query.worker is not None and a.get("assignee") != query.worker:
            return False
        if query.area is not None:
            return query.area in {taxonomy.area_of_tag(t) for t in a.get("tags") or ()}
        return True

    chosen = [c for c in courses.values() if keep(c)]
    labels = _Labels(kernel, taxonomy, lang)

    served = [c for c in chosen if c.started < p1 and (c.ended is None or c.ended >= p0)]
    sections: list[dict[str, Any]] = []

    def counted(sec: dict[str, Any], counter: Counter[tuple[str, ...]], chart: str | None = None) -> None:
        sec["rows"] = [[*k, n] for k, n in sorted(counter.items(), key=lambda kv: (kv[0][:-1], -kv[1]))]
        sec["total"] = sum(counter.values())
        if chart:
            sec["chart"] = chart
        sections.append(sec)

    method_col = ("Metode", "Method")
    # 1. New referrals by source.
    new: Counter[tuple[str, ...]] = Counter(
        (labels.method(c.workflow), labels.choice(c.workflow, "source", c.source))
        for c in chosen
        if p0 <= c.started < p1
    )
    counted(
        _section(
            "new_by_source",
            "Nye henvendelser efter kilde",
            "New referrals by source",
            [method_col, ("Kilde", "Source"), ("Antal", "Count")],
            lang,
        ),
        new,
        "bar",
    )
    # 2. Active engagements by stage at the cutoff.
    active: Counter[tuple[str, str]] = Counter((c.workflow, c.state) for c in chosen if c.state not in finals)
    sec = _section(
        "active_by_stage",
        "Aktive forløb efter trin (ved periodens udgang)",
        "Active engagements by stage (at the end of the period)",
        [method_col, ("Trin", "Stage"), ("Antal", "Count")],
        lang,
    )
    # In the method's own order of stages, as the funnel.
    sec["rows"] = [
        [labels.method(w), labels.stage(w, st), n]
        for (w, st), n in sorted(active.items(), key=lambda kv: (kv[0][0], _order(labels, *kv[0])))
    ]
    sec["total"], sec["chart"] = sum(active.values()), "bar"
    sections.append(sec)
    # 3. Ended engagements by outcome.
    ended: Counter[tuple[str, ...]] = Counter(
        (labels.method(c.workflow), labels.choice(c.workflow, "outcome", c.outcome))
        for c in chosen
        if c.ended is not None and p0 <= c.ended < p1
    )
    counted(
        _section(
            "ended_by_outcome",
            "Afsluttede forløb efter resultat",
            "Ended engagements by outcome",
            [method_col, ("Resultat", "Outcome"), ("Antal", "Count")],
            lang,
        ),
        ended,
        "bar",
    )
    # 4. Unique residents by age band, gender and afdeling.
    people: dict[str, dict[str, Any]] = {}
    for i, c in enumerate(c for c in served if c.workflow not in group_methods):
        key = c.attrs.get("person_key") or f"#{i}"
        person = people.setdefault(key, {})
        for attr in ("age_band", "gender", "afdeling"):
            if c.attrs.get(attr) is not None:
                person[attr] = c.attrs[attr]
    for attr, terms, da, en in (
        ("age_band", taxonomy.age_bands, "Aldersgruppe", "Age band"),
        ("gender", taxonomy.genders, "Køn", "Gender"),
        ("afdeling", taxonomy.afdelinger, "Boligafdeling", "Housing section"),
    ):
        tally: Counter[tuple[str, ...]] = Counter((labels.term(terms, p.get(attr)),) for p in people.values())
        counted(
            _section(
                f"residents_by_{attr}",
                f"Unikke beboere efter {da.lower()}",
                f"Unique residents by {en.lower()}",
                [(da, en), ("Beboere", "Residents")],
                lang,
            ),
            tally,
            "bar" if attr != "afdeling" else None,
        )
    # 5. Groups: participants, volunteers, partners.
    groups = [c for c in served if c.workflow in group_methods]
    sec = _section(
        "groups",
        "Grupper, deltagere og frivillige",
        "Groups, participants and volunteers",
        [("Mål", "Measure"), ("Antal", "Count")],
        lang,
    )
    sec["rows"] = [
        ["Grupper" if lang == "da" else "Groups", len(groups)],
        [
            "Deltagere" if lang == "da" else "Participants",
            sum(number(g.group.get("participants")) for g in groups),
        ],
        [
            "Frivillige" if lang == "da" else "Volunteers",
            sum(number(g.group.get("volunteers")) for g in groups),
        ],
    ]
    sections.append(sec)
    partners: Counter[tuple[str, ...]] = Counter(
        (labels.choice(g.workflow, "partner", p),)
        for g in groups
        for p in partner_keys(g.group.get("partners"))
    )
    counted(
        _section(
            "group_partners",
            "Samarbejdspartnere i gruppeforløb",
            "Partners in group engagements",
            [("Partner", "Partner"), ("Grupper", "Groups")],
            lang,
        ),
        partners,
    )
    # 6. Time in each stage (working days) for stays that ended in the period.
    days = WorkingDays(kernel.calendar)
    counted_at: dict[Any, int] = {}  # a stored hour -> working days counted up to its date

    def working(t: Any) -> int:
        # Copenhagen is a whole number of hours from UTC: the stored hour decides the date.
        k = t[:13] if isinstance(t, str) else t
        n = counted_at.get(k)
        if n is None:
            n = counted_at[k] = days.index(as_datetime(t).astimezone(COPENHAGEN).date())
        return n

    stays: dict[tuple[str, str], list[int]] = defaultdict(list)
    for c in chosen:
        for stage, a, b in c.stays:
            if p0 <= b < p1 and stage not in finals:
                stays[(c.workflow, stage)].append(working(b) - working(a))
    sec = _section(
        "stage_times",
        "Tid i hvert trin (arbejdsdage)",
        "Time in each stage (working days)",
        [
            method_col,
            ("Trin", "Stage"),
            ("Ophold", "Stays"),
            ("Median", "Median"),
            ("90. percentil", "90th percentile"),
        ],
        lang,
    )
    sec["rows"] = [
        [labels.method(w), labels.stage(w, s), len(v), float(median(v)), _p90(v)]
        for (w, s), v in sorted(stays.items(), key=lambda kv: (kv[0][0], _order(labels, *kv[0])))
    ]
    sections.append(sec)
    # 7. The funnel of each method: engagements started in the period, stages reached.
    sec = _section(
        "funnel",
        "Tragt: forløb startet i perioden, der nåede hvert trin",
        "Funnel: engagements started in the period that reached each stage",
        [method_col, ("Trin", "Stage"), ("Nåede", "Reached")],
        lang,
    )
    funnel: Counter[tuple[str, str]] = Counter()
    for c in chosen:
        if p0 <= c.started < p1:
            funnel.update((c.workflow, stage) for stage in c.reached)
    for w in sorted({w for w, _ in funnel}):
        wd = labels.definition(w)
        order = [s.key for s in wd.stages if s.kind != "paused"] if wd else []
        for stage in order:
            sec["rows"].append([labels.method(w), labels.stage(w, stage), funnel[(w, stage)]])
    sec["chart"] = "funnel"
    sections.append(sec)
    # 8. Self-help levels reached (the highest in the period, per engagement).
    reached: Counter[tuple[str, ...]] = Counter()
    for c in chosen:
        cd = labels.definition(c.workflow)
        rank = [lv.key for lv in cd.self_help.levels] if cd and cd.self_help else []
        got = [lv for t, lv in c.levels if p0 <= t < p1]
        if got:
            best = max(got, key=lambda lv: rank.index(lv) if lv in rank else -1)
            reached[(labels.method(c.workflow), labels.choice(c.workflow, "level", best))] += 1
    counted(
        _section(
            "self_help",
            "Selvhjælp: højeste niveau nået i perioden",
            "Self-help: highest level reached in the period",
            [method_col, ("Niveau", "Level"), ("Forløb", "Engagements")],
            lang,
        ),
        reached,
        "bar",
    )
    # 9. Activities by kind and by partner.
    kinds: Counter[tuple[str, ...]] = Counter()
    with_partner: Counter[tuple[str, ...]] = Counter()
    for c in chosen:
        for t, kind, who in c.activities:
            if p0 <= t < p1:
                kinds[(labels.method(c.workflow), labels.choice(c.workflow, "activity", kind))] += 1
                for p in who:
                    with_partner[(labels.choice(c.workflow, "partner", p),)] += 1
    counted(
        _section(
            "activities",
            "Aktiviteter efter art",
            "Activities by kind",
            [method_col, ("Art", "Kind"), ("Antal", "Count")],
            lang,
        ),
        kinds,
        "bar",
    )
    counted(
        _section(
            "activity_partners",
            "Aktiviteter efter samarbejdspartner",
            "Activities by partner",
            [("Partner", "Partner"), ("Antal", "Count")],
            lang,
        ),
        with_partner,
    )
    # 10. Handovers and referrals onward by receiver.
    onward: Counter[tuple[str, ...]] = Counter()
    for c in chosen:
        for t, how, receiver in c.onward:
            if p0 <= t < p1:
                how_label = ("Overlevering" if how == "handover" else "Henvisning") if lang == "da" else how
                onward[(how_label, labels.choice(c.workflow, "partner", receiver))] += 1
    counted(
        _section(
            "onward",
            "Overleveringer og henvisninger efter modtager",
            "Handovers and referrals onward by receiver",
            [("Hvad", "What"), ("Modtager", "Receiver"), ("Antal", "Count")],
            lang,
        ),
        onward,
        "bar",
    )
    return {
        "period": {"from": query.start.isoformat(), "to": query.end.isoformat()},
        "as_of": cutoff.isoformat(),
        "filters": {k: v for k, v in criteria.items() if k not in ("from", "to", "as_of")},
        "scope": "all" if teams is None else sorted(teams),
        "served": len(served),
        "sections": sections,
    }


def _order(labels: _Labels, workflow: str, stage: str) -> int:
    d = labels.definition(workflow)
    keys = [s.key for s in d.stages] if d else []
    return keys.index(stage) if stage in keys else len(keys)


__all__ = ["ReportQuery", "compute", "visible_teams"]
