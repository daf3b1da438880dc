"""Moving running engagements from one version of a method to another.

An engagement keeps the version of the method it started with. A migration
(supervisors only) moves the *running* ones — every engagement of the method
at ``from_version`` that is not in a final stage — to ``to_version``: its stage
(and the stage it was paused from) through a stage map, its stage records
re-keyed by the same map, its ``workflow_version``, and one event on its chain
(``type = "migration"``: who, from which version and stage to which). Closed
engagements stay on the version they ended in, which stays registered: a
reopen continues there.

The map is checked before anything is read: every stage a running engagement
can be in (active and paused stages) must exist in the new version or be
mapped to a stage of the same kind, or the migration is refused as a whole
(nothing is stranded in a stage the new version lacks). The work runs in
batches, each its own write transaction that locks the rows it moves; a dry
run reads and counts and writes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..persistence import EngagementFilter, Row, WriteTransaction
from ._definition import SUPERVISOR, WorkflowDefinition
from ._errors import InvalidData
from ._kernel import Kernel, snapshot
from ._types import Actor, Event

MIGRATION = "migration"
DEFAULT_BATCH = 200


@dataclass(frozen=True, kw_only=True)
class MigrationReport:
    """What a migration moved (or, with ``dry_run``, would move).

    ``moves``: (from stage, to stage) -> number of engagements; ``final``: how
    many engagements of ``from_version`` are closed and were left where they are.
    """

    workflow: str
    from_version: int
    to_version: int
    dry_run: bool
    mapping: Mapping[str, str]
    moves: Mapping[tuple[str, str], int] = field(default_factory=dict)
    final: int = 0

    @property
    def moved(self) -> int:
        return sum(self.moves.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "workflow": self.workflow,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "dry_run": self.dry_run,
            "mapping": dict(self.mapping),
            "moved": self.moved,
            "moves": [{"from": a, "to": b, "count": n} for (a, b), n in sorted(self.moves.items())],
            "final": self.final,
        }


def stage_map(old: WorkflowDefinition, new: WorkflowDefinition, mapping: Mapping[str, str]) -> dict[str, str]:
    """The full map old stage -> new stage for the stages running engagements can be in.

    A stage that keeps its key maps to itself; ``mapping`` overrides. Refused
    (InvalidData listing every problem): a map from a stage ``old`` lacks or
    to a stage ``new`` lacks, a running stage ``new`` lacks and the map does
    not cover, a stage mapped to one of another kind (an active stage to a
    final one would close engagements without a word).
    """
    old_kinds = {s.key: s.kind for s in old.stages}
    new_kinds = {s.key: s.kind for s in new.stages}
    problems: list[tuple[str, str]] = []
    for src, dest in mapping.items():
        if src not in old_kinds:
            problems.append(
                (
                    f"{src!r} is not a stage of version {old.version}",
                    f"{src!r} er ikke en fase i version {old.version}",
                )
            )
        if dest not in new_kinds:
            problems.append(
                (
                    f"{dest!r} is not a stage of version {new.version}",
                    f"{dest!r} er ikke en fase i version {new.version}",
                )
            )
    full: dict[str, str] = {}
    for key, kind in old_kinds.items():
        if kind == "final":
            continue  # closed engagements are not moved
        dest = mapping.get(key, key)
        if dest not in new_kinds:
            if key not in mapping:
                problems.append(
                    (
                        f"version {new.version} has no stage {key!r}: map it (--map {key}=NEW)",
                        f"version {new.version} har ingen fase {key!r}: angiv hvor den skal hen "
                        f"(--map {key}=NY)",
                    )
                )
            continue
        if new_kinds[dest] != kind:
            problems.append(
                (
                    f"{key!r} is a {kind} stage, {dest!r} a {new_kinds[dest]} one",
                    f"{key!r} er en fase af typen {kind}, {dest!r} af typen {new_kinds[dest]}",
                )
            )
            continue
        full[key] = dest
    if problems:
        head = f"{old.name} {old.version} -> {new.version}: "
        raise InvalidData(
            head + "; ".join(en for en, _ in problems), detail_da=head + "; ".join(da for _, da in problems)
        )
    return full


def rekey(records: Mapping[str, Any], full: Mapping[str, str]) -> dict[str, Any]:
    """Stage records under their new stage keys (two old stages mapped to one are merged)."""
    out: dict[str, Any] = {}
    for key, value in records.items():
        dest = full.get(key, key)
        if dest in out and isinstance(out[dest], dict) and isinstance(value, dict):
            out[dest] = {**out[dest], **value}
        else:
            out[dest] = value
    return out


def migrate(
    kernel: Kernel,
    name: str,
    from_version: int,
    to_version: int,
    mapping: Mapping[str, str] | None,
    *,
    actor: Actor,
    dry_run: bool,
    batch: int = DEFAULT_BATCH,
    progress: Callable[[int], None] | None = None,
) -> MigrationReport:
    """``engine.methods.migrate``: see the module docstring."""
    role = kernel.role_for(actor, frozenset({SUPERVISOR}), "migrate engagements to another version")
    for what, value in (("from_version", from_version), ("to_version", to_version), ("batch", batch)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise InvalidData(
                f"{what} must be a positive whole number, not {value!r}",
                detail_da=f"{what} skal være et positivt helt tal, ikke {value!r}",
            )
    if from_version == to_version:
        raise InvalidData(
            f"{name} is already at version {to_version}", detail_da=f"{name} er allerede version {to_version}"
        )
    old = kernel.registry.compiled(name, from_version)
    new = kernel.registry.compiled(name, to_version)
    full = stage_map(old.definition, new.definition, dict(mapping or {}))
    moves: Counter[tuple[str, str]] = Counter()
    final = 0
    after: int | None = None
    while True:
        with kernel.read() as tx:
            rows = tx.list_engagements(EngagementFilter(workflow=name, after_id=after, limit=batch))
        ours = [r for r in rows if r["workflow_version"] == from_version]
        final += sum(1 for r in ours if r["state"] not in full)
        running = [r for r in ours if r["state"] in full]
        if dry_run:
            moves.update((r["state"], full[r["state"]]) for r in running)
        elif running:
            done: list[tuple[Row, Event]] = []
            with kernel.write() as wtx:
                for listed in running:
                    row = kernel.load(wtx, listed["id"])  # locked, and as it is now
                    if row["workflow_version"] != from_version or row["state"] not in full:
                        continue  # moved or closed since it was listed
                    moves[(row["state"], full[row["state"]])] += 1
                    done.append(_move(kernel, wtx, row, new.definition, full, actor, role, from_version))
            for row, event in done:
                kernel.after_commit(snapshot(row), event)
            if progress is not None:
                progress(sum(moves.values()))
        if len(rows) < batch:
            break
        after = rows[-1]["id"]
    return MigrationReport(
        workflow=name,
        from_version=from_version,
        to_version=to_version,
        dry_run=dry_run,
        mapping={k: v for k, v in full.items() if k != v},
        moves=dict(moves),
        final=final,
    )


def _move(
    kernel: Kernel,
    tx: WriteTransaction,
    row: Row,
    new: WorkflowDefinition,
    full: Mapping[str, str],
    actor: Actor,
    role: str,
    from_version: int,
) -> tuple[Row, Event]:
    """One engagement to the new version, with its migration event."""
    now = kernel.clock()
    state = row["state"]
    to_state = full[state]
    paused_from = full.get(row["paused_from"], row["paused_from"]) if row["paused_from"] else None
    values: dict[str, Any] = {
        "workflow_version": new.version,
        "state": to_state,
        "paused_from": paused_from,
        "updated_at": now,
    }
    records = rekey(row["data"], full)
    if records != row["data"]:
        values["data"] = records
    if to_state != state:
        # Another stage: its own deadline, counted from now (like entering it).
        stage = new.stage(to_state)
        due = kernel.calendar.due(now, stage.deadline) if stage.deadline and stage.kind == "active" else None
        values.update(
            stage_entered_at=now,
            stage_due_at=due,
            next_reminder_at=due,
            reminder_epoch=None,
            due_remaining_s=row["due_remaining_s"] if stage.kind == "paused" else None,
        )
    payload = {
        "from_version": from_version,
        "to_version": new.version,
        "from_state": state,
        "to_state": to_state,
        "paused_from": paused_from,
    }
    return kernel.commit_change(tx, row, values, actor, role, MIGRATION, None, to_state, payload, now)


__all__ = ["DEFAULT_BATCH", "MIGRATION", "MigrationReport", "migrate", "rekey", "stage_map"]
