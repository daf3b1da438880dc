"""Example engagements for ``forloeb demo``: fixed scenarios with Danish data.

Driven through the public Engine API only, with a back-dated clock so that
the result looks like weeks of real work (some overdue, some closed, one
handed over, one referred on after one conversation, one paused, one begun
anew). The scenarios themselves are a table in ``_demo_scenarios``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from ._demo_scenarios import CIVIL, LEADER, SCENARIOS, SOCIAL, Scenario
from .engine import COPENHAGEN, Actor, Engine, StaffMember

_STEP_DAYS = 2

# The demo's staff register (issue 11: who may act is data): the workers of the
# scenarios in their teams, and the leader who reopens and erases.
DEMO_STAFF: tuple[StaffMember, ...] = (
    *(
        StaffMember(id=who, display_name=name, roles=frozenset({"worker"}), teams=frozenset({team}))
        for who, name, team in (
            ("ahmed.s", "Ahmed S.", SOCIAL),
            ("louise.b", "Louise B.", SOCIAL),
            ("mette.k", "Mette K.", SOCIAL),
            ("jonas.p", "Jonas P.", CIVIL),
            ("sara.n", "Sara N.", CIVIL),
        )
    ),
    StaffMember(id=LEADER, display_name="Hanne L.", roles=frozenset({"supervisor", "worker"})),
    StaffMember(id="revisor", display_name="Revisor", roles=frozenset({"auditor"})),
)


# Who may log in to the web console after ``forloeb demo`` (issue 15): a worker,
# the leader and the auditor, each with the role the printed line names.
DEMO_LOGINS: tuple[tuple[str, str], ...] = (
    ("ahmed.s", "worker"),
    (LEADER, "supervisor"),
    ("revisor", "auditor"),
)


def set_demo_passwords(engine: Engine, operator: str) -> dict[str, str]:
    """Fresh random passwords for :data:`DEMO_LOGINS`, set by the operator (the
    database's admin, an OS login): staff id -> password. New ones on every run."""
    admin = engine.staff.actor_for_login(operator)
    passwords: dict[str, str] = {}
    for staff_id, _role in DEMO_LOGINS:
        # 96 random bits, 16 characters: well over the 12 the policy asks for.
        password = secrets.token_urlsafe(12)
        engine.logins.set_password(admin, staff_id, password)
        passwords[staff_id] = password
    return passwords


def register_demo_staff(engine: Engine, operator: str) -> None:
    """The demo's staff in the register. A new database: the operator (an OS login)
    becomes its admin and a supervisor, so that the README's commands work at once;
    otherwise the operator, an admin, adds the demo staff that are missing."""
    if engine.staff.bootstrap(
        [
            StaffMember(
                id=operator,
                display_name=operator,
                roles=frozenset({"admin", "supervisor"}),
                login=operator,
            ),
            *DEMO_STAFF,
        ]
    ):
        return
    admin = engine.staff.actor_for_login(operator)
    known = {m.id for m in engine.staff.list(admin)}
    for m in DEMO_STAFF:
        if m.id not in known:
            engine.staff.add(
                admin, m.id, display_name=m.display_name, roles=m.roles, teams=m.teams, kind=m.kind
            )


def _run_scenario(engine: Engine, clock: list[datetime], scenario: Scenario, number: int) -> int:
    """Drive one scenario; ``clock[0]`` is what the engine's clock returns."""
    worker = Actor(scenario.assignee, ("worker",))
    boss = Actor(LEADER, ("supervisor",))
    e = engine.start(
        scenario.workflow,
        subject=f"{scenario.prefix}-2026-{number:03d}",
        source=scenario.source,
        actor=worker,
        data=scenario.data,
        assignee=scenario.assignee,
        supervisor=LEADER,
        team=scenario.team,
        tags=scenario.tags,
    )
    for op, arg, data in scenario.steps:
        clock[0] += timedelta(days=_STEP_DAYS, minutes=37)
        if op == "fire":
            if data.get("legal_basis") == "consent":
                # The consent just recorded: its id is the seq of the event that gave it.
                current = [c for c in engine.consents(e.id, actor=worker) if c.current]
                data = {**data, "legal_basis": {"kind": "consent", "consent": current[-1].id}}
            engine.fire(e.id, arg, actor=worker, data=data)
        elif op == "boss":
            engine.fire(e.id, arg, actor=boss, data=data)
        elif op == "note":
            engine.add_note(e.id, arg, actor=worker)
        elif op == "record":
            engine.record_details(e.id, data, actor=worker)
        elif op == "activity":
            fields = {k: v for k, v in data.items() if k != "description"}
            engine.record_activity(e.id, arg, actor=worker, description=data["description"], data=fields)
        elif op == "self_help":
            engine.progress.record_self_help(e.id, arg, actor=worker)
        elif op == "fields":
            engine.progress.update_fields(e.id, data, actor=worker)
        elif op == "consent":
            engine.give_consent(e.id, actor=worker, **data)
        else:  # pragma: no cover - a typo in the table above
            raise AssertionError(op)
    return e.id


def add_demo_engagements(
    url: str | None,
    count: int | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
    operator: str = "demo",
) -> list[int]:
    """Create or upgrade the database at ``url``, register the demo's staff (see
    ``register_demo_staff``; ``operator``: the OS login running it) and add ``count``
    engagements (default: one per scenario); returns their ids. ``progress(done,
    total)`` is called after each engagement."""
    total = count or len(SCENARIOS)
    # Back-dated, deterministic times: each scenario ends idle_days before today.
    today = datetime.now(COPENHAGEN).replace(hour=9, minute=0, second=0, microsecond=0)
    clock = [today]
    created: list[int] = []
    with Engine.open(url, migrate=True, clock=lambda: clock[0].astimezone(UTC)) as engine:
        register_demo_staff(engine, operator)
        for i in range(total):
            scenario = SCENARIOS[i % len(SCENARIOS)]
            clock[0] = today - timedelta(days=scenario.idle_days + _STEP_DAYS * len(scenario.steps) + 1)
            created.append(_run_scenario(engine, clock, scenario, i + 1))
            if progress is not None:
                progress(i + 1, total)
    return created
