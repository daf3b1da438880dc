"""The engagement row against its chain (issue 12, H4): replay, then compare.

A chain proves its events; the engagement row beside it is what commands
read and guards trust (the stage, the team that may see it, the consents a
handover checks). Someone with write access to the database could edit the
row and leave the chain intact. ``audit verify`` therefore folds each chain
into the columns its events decide and compares them with the stored row:

- replayed from the events: the stage, where it was paused or closed from,
  the round (cycle), the result, the method version after a migration, the
  subject, source, assignee, supervisor, team and tags (from ``started`` and
  any later event that ``set``s them), and the consents given and withdrawn;
- attested by the events: every event a command writes carries the digest of
  the row's decided columns as it left them (``row_hash``, covered by the
  event's own hash under the audit key), which covers the rest of the data
  too. Events written before this existed carry none; their rows are
  compared on the replayed columns only.

Nothing here knows the engine: the stage kinds of a method version come in
as a function, and the rows from the audit store in batches.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..persistence import AuditStore, Row
from ._chain import ROW_HASH, row_hash
from ._consent import GIVEN, WITHDRAWN, apply_consent_event

# (workflow, version) -> stage -> kind ("active", "paused", "final" …), or None when unknown.
Kinds = Callable[[str, int], Mapping[str, str] | None]

# The columns an event may set after the start (reassignment, effort areas …):
# an event's payload ``{"set": {column: value}}`` wrote exactly these values.
SETTABLE = (
    "subject",
    "source",
    "assignee",
    "supervisor",
    "team",
    "tags",
    # The reporting attributes (issue 13): none at the start.
    "person_key",
    "age_band",
    "gender",
    "afdeling",
)

# Column names in the Danish line.
_COLUMN_DA = {
    "state": "trin",
    "paused_from": "sat på pause fra",
    "closed_from": "afsluttet fra",
    "cycle": "runde",
    "outcome": "resultat",
    "workflow_version": "metodeversion",
    "subject": "sagsnr.",
    "source": "kilde",
    "assignee": "medarbejder",
    "supervisor": "leder",
    "team": "team",
    "tags": "indsatsområder",
    "consents": "samtykker",
    "person_key": "personnøgle",
    "age_band": "aldersgruppe",
    "gender": "køn",
    "afdeling": "afdeling",
}

_BATCH = 500


_MISSING = object()


@dataclass
class _Fold:
    """What one engagement's events say its row holds."""

    engagement_id: int
    values: dict[str, Any] = field(default_factory=dict)
    consents: list[dict[str, Any]] = field(default_factory=list)
    consent_events: bool = False
    # Method versions: the one the engagement started on (known once a
    # migration names it) and the one each later move was made under.
    first_version: int | None = None
    version: int | None = None
    # Stage moves: (version, from, to, outcome or _MISSING), in order.
    moves: list[tuple[int | None, str | None, str, Any]] = field(default_factory=list)
    paused_after_migration: str | None = None
    attested: tuple[int, str] | None = None  # (seq, row hash) of the last event carrying one

    def feed(self, event: Row) -> None:
        kind, payload = event["type"], event["payload"] or {}
        if kind == "started":
            for column in SETTABLE:
                self.values[column] = payload.get(column)
            self.values.update(state=event["to_state"], cycle=1)
        elif kind == "transition":
            self.values["state"] = event["to_state"]
            self.values["cycle"] = int(payload.get("cycle", self.values.get("cycle", 1)))
            outcome = payload.get("outcome", _MISSING)
            self.moves.append((self.version, event["from_state"], event["to_state"], outcome))
        elif kind == "migration":
            self.values["state"] = event["to_state"]
            if self.first_version is None:
                self.first_version = int(payload["from_version"])
            self.version = int(payload["to_version"])
            self.paused_after_migration = payload.get("paused_from")
            self.moves.append((None, "@migration", str(event["to_state"]), _MISSING))
        elif kind in (GIVEN, WITHDRAWN):
            self.consent_events = True
            apply_consent_event(self.consents, kind, event["seq"], event["actor"], payload)
        changes = payload.get("set")
        if isinstance(changes, Mapping):
            self.values.update({k: v for k, v in changes.items() if k in SETTABLE})
        if isinstance(payload.get(ROW_HASH), str):
            self.attested = (event["seq"], payload[ROW_HASH])

    def differences(self, row: Row, kinds: Kinds) -> list[tuple[str, Any, Any]]:
        """(column, stored, replayed) for every decided column the row has wrong."""
        expected = dict(self.values)
        if self.version is not None:
            expected["workflow_version"] = self.version
        if "state" in expected:
            expected.update(self._stages(row, kinds))
        found = [(k, row.get(k), v) for k, v in expected.items() if _norm(row.get(k)) != _norm(v)]
        stored_consents = (row.get("data") or {}).get("consents") or []
        if (self.consent_events or stored_consents) and _norm(stored_consents) != _norm(self.consents):
            found.append(("consents", _ids(stored_consents), _ids(self.consents)))
        return found

    def _stages(self, row: Row, kinds: Kinds) -> dict[str, Any]:
        """paused_from, closed_from and the result, where the methods' stage kinds are known."""
        workflow = str(row.get("workflow"))
        started_on = self.first_version if self.first_version is not None else row.get("workflow_version")
        out: dict[str, Any] = {}
        outcome: Any = None
        for version, source, target, chosen in self.moves:
            if source == "@migration":
                # A migration maps the stage and where it was paused from; it
                # keeps the closed-from stage and the result as they were.
                out = {"paused_from": self.paused_after_migration}
                continue
            of = kinds(workflow, int(version if version is not None else started_on or 0))
            if of is None or target not in of or (source is not None and source not in of):
                return {}  # a method version this engine does not know: nothing to compare
            out = {
                "paused_from": source if of[target] == "paused" else None,
                "closed_from": source if of[target] == "final" else None,
            }
            if chosen is not _MISSING:
                outcome = chosen
            elif source is not None and of[source] == "final":
                outcome = None  # reopened: no result yet
        if not self.moves:
            out = {"paused_from": None, "closed_from": None}
        out["outcome"] = outcome
        return out


def _norm(value: Any) -> Any:
    """Lists and tuples alike (JSON gives lists back), for comparing."""
    if isinstance(value, list | tuple):
        return [_norm(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _norm(v) for k, v in value.items()}
    return value


def _ids(consents: list[Any]) -> list[str]:
    """Consents as short words for a message: "7" current, "7 (withdrawn)"."""
    out = []
    for c in consents:
        if isinstance(c, Mapping):
            out.append(f"{c.get('id')}{' withdrawn' if c.get('withdrawn_on') else ''}")
    return out


@dataclass(frozen=True)
class RowBreak:
    """A row that is not what its chain says (turned into a ChainBreak by _verify)."""

    engagement_id: int
    seq: int | None
    detail: str
    detail_da: str


class RowCheck:
    """Fed every event in (engagement, seq) order; compares rows in batches."""

    def __init__(self, store: AuditStore, kinds: Kinds) -> None:
        self._store = store
        self._kinds = kinds
        self._current: _Fold | None = None
        self._pending: list[_Fold] = []
        self.breaks: list[RowBreak] = []

    def feed(self, event: Row) -> None:
        eid = event["engagement_id"]
        if self._current is None or self._current.engagement_id != eid:
            self._close()
            self._current = _Fold(eid)
        self._current.feed(event)

    def finish(self) -> list[RowBreak]:
        self._close()
        self._compare()
        return self.breaks

    def _close(self) -> None:
        if self._current is not None:
            self._pending.append(self._current)
            self._current = None
            if len(self._pending) >= _BATCH:
                self._compare()

    def _compare(self) -> None:
        folds, self._pending = self._pending, []
        rows = self._store.engagement_rows([f.engagement_id for f in folds])
        for fold in folds:
            row = rows.get(fold.engagement_id)
            if row is not None:  # events without a row: the head check reports them
                self._check(fold, row)

    def _check(self, fold: _Fold, row: Row) -> None:
        differences = fold.differences(row, self._kinds)
        if differences:
            en = "; ".join(
                f"{k} {_show(stored)} (the log says {_show(replayed)})" for k, stored, replayed in differences
            )
            da = "; ".join(
                f"{_COLUMN_DA.get(k, k)} {_show(stored)} (loggen siger {_show(replayed)})"
                for k, stored, replayed in differences
            )
            self.breaks.append(
                RowBreak(
                    fold.engagement_id,
                    None,
                    f"the engagement row was changed outside forloeb: {en}",
                    f"forløbets række er ændret uden om forloeb: {da}",
                )
            )
        elif fold.attested is not None and row_hash(row) != fold.attested[1]:
            seq = fold.attested[0]
            self.breaks.append(
                RowBreak(
                    fold.engagement_id,
                    seq,
                    f"the engagement row's data is not what event {seq} recorded (changed outside forloeb)",
                    f"forløbets data er ikke det, hændelse nr. {seq} registrerede (ændret uden om forloeb)",
                )
            )


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, list) else "[" + ", ".join(map(str, value)) + "]"
    return text if len(text) <= 60 else text[:57] + "…"


__all__ = ["SETTABLE", "Kinds", "RowBreak", "RowCheck"]
