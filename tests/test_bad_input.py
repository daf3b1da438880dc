"""Bad input gets a clear error and writes nothing (DESIGN invariant 5).

Every case asserts the specific exception type and that the row counts of
every table are the same before and after.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from helpers import PLAN, READER, counts, drive, start

from forloeb import (
    Actor,
    ConcurrencyError,
    Engagement,
    EngagementNotFound,
    Engine,
    ForloebError,
    GuardFailed,
    IdempotencyConflict,
    InvalidData,
    NotInRegister,
    PermissionDenied,
    TransitionNotAllowed,
    UnknownTrigger,
    UnknownWorkflow,
)
from forloeb.engine import MAX_PAYLOAD_BYTES, DatabaseUnavailable, DefinitionError, Label, SchemaOutOfDate


class Ctx:
    """An engine with an engagement in shared_path, one closed and one in action."""

    def __init__(self, engine: Engine, worker: Actor) -> None:
        self.engine = engine
        self.worker = worker
        self.e: Engagement = drive(engine, worker, "shared_path")
        self.closed: Engagement = drive(engine, worker, "closed", subject="sag-2")
        self.action: Engagement = drive(engine, worker, "action", subject="sag-3")
        engine.add_note(self.e.id, "first", actor=worker, idempotency_key="used-key")
        self.e = engine.get(self.e.id, actor=READER)


@pytest.fixture
def ctx(engine: Engine, worker: Actor) -> Iterator[Ctx]:
    yield Ctx(engine, worker)


BIG = "x" * (MAX_PAYLOAD_BYTES + 1)
# 64 KiB of text as UTF-8 but far fewer characters: the limit is on bytes.
BIG_DANISH = "æ" * (MAX_PAYLOAD_BYTES // 2 + 1)

CASES: dict[str, tuple[type[ForloebError], Callable[[Ctx], Any]]] = {
    "unknown workflow": (
        UnknownWorkflow,
        lambda c: c.engine.start("family_course", subject="s", source="skole", actor=c.worker),
    ),
    "unknown workflow in list": (UnknownWorkflow, lambda c: c.engine.list(workflow="nope", actor=READER)),
    "unknown engagement fire": (
        EngagementNotFound,
        lambda c: c.engine.fire(999, "make_contact", actor=c.worker),
    ),
    "unknown engagement note": (EngagementNotFound, lambda c: c.engine.add_note(999, "x", actor=c.worker)),
    "unknown engagement details": (
        EngagementNotFound,
        lambda c: c.engine.record_details(999, {"a": 1}, actor=c.worker),
    ),
    "unknown engagement get": (EngagementNotFound, lambda c: c.engine.get(999, actor=READER)),
    "unknown engagement history": (EngagementNotFound, lambda c: c.engine.history(999, actor=READER)),
    "unknown engagement triggers": (EngagementNotFound, lambda c: c.engine.available_triggers(999, c.worker)),
    "engagement id of wrong type": (
        EngagementNotFound,
        lambda c: c.engine.fire("1", "make_contact", actor=c.worker),
    ),
    "engagement id True": (EngagementNotFound, lambda c: c.engine.get(True, actor=READER)),
    "unknown trigger": (UnknownTrigger, lambda c: c.engine.fire(c.e.id, "fly_away", actor=c.worker)),
    "trigger not allowed in state": (
        TransitionNotAllowed,
        lambda c: c.engine.fire(c.e.id, "close", actor=c.worker, data={"outcome": "x"}),
    ),
    "trigger not allowed when closed": (
        TransitionNotAllowed,
        lambda c: c.engine.fire(c.closed.id, "make_contact", actor=c.worker),
    ),
    "resume when not paused": (
        TransitionNotAllowed,
        lambda c: c.engine.fire(c.e.id, "resume", actor=c.worker),
    ),
    "guard failed": (GuardFailed, lambda c: c.engine.fire(c.e.id, "set_own_path", actor=c.worker)),
    "guard failed start": (
        GuardFailed,
        lambda c: c.engine.start("individual_course", subject="s", source="beboere", actor=c.worker),
    ),
    "wrong role": (
        PermissionDenied,
        lambda c: c.engine.fire(c.closed.id, "reopen", actor=c.worker),
    ),
    "not in the staff register": (
        NotInRegister,
        lambda c: c.engine.fire(c.e.id, "set_own_path", actor=Actor("gæst"), data=PLAN),
    ),
    "auditor note": (
        PermissionDenied,
        lambda c: c.engine.add_note(c.e.id, "x", actor=Actor("r", ["auditor"])),
    ),
    "not an actor": (InvalidData, lambda c: c.engine.add_note(c.e.id, "x", actor="anna")),
    "actor without id": (InvalidData, lambda c: c.engine.add_note(c.e.id, "x", actor=Actor("", ["worker"]))),
    "data with a set": (
        InvalidData,
        lambda c: c.engine.fire(c.e.id, "set_own_path", actor=c.worker, data={**PLAN, "who": {"a", "b"}}),
    ),
    "data with a datetime": (
        InvalidData,
        lambda c: c.engine.record_details(c.e.id, {"date": datetime(2026, 1, 1, tzinfo=UTC)}, actor=c.worker),
    ),
    "data with NaN": (
        InvalidData,
        lambda c: c.engine.record_details(c.e.id, {"n": float("nan")}, actor=c.worker),
    ),
    "data not a mapping": (
        InvalidData,
        lambda c: c.engine.fire(c.e.id, "pause", actor=c.worker, data=["reason"]),
    ),
    "data over 64 KiB": (
        InvalidData,
        lambda c: c.engine.fire(c.e.id, "set_own_path", actor=c.worker, data={**PLAN, "plan": BIG}),
    ),
    "data over 64 KiB in bytes": (
        InvalidData,
        lambda c: c.engine.record_details(c.e.id, {"plan": BIG_DANISH}, actor=c.worker),
    ),
    "start data over 64 KiB": (
        InvalidData,
        lambda c: c.engine.start(
            "individual_course", subject="s", source="skole", actor=c.worker, data={"r": BIG}
        ),
    ),
    "note over 64 KiB": (InvalidData, lambda c: c.engine.add_note(c.e.id, BIG, actor=c.worker)),
    "fire note over 64 KiB": (
        InvalidData,
        lambda c: c.engine.fire(c.e.id, "pause", actor=c.worker, data={"reason": "r"}, note=BIG),
    ),
    "empty note": (InvalidData, lambda c: c.engine.add_note(c.e.id, "  \n", actor=c.worker)),
    "note not text": (InvalidData, lambda c: c.engine.add_note(c.e.id, 42, actor=c.worker)),
    "non-str data keys": (InvalidData, lambda c: c.engine.record_details(c.e.id, {1: "x"}, actor=c.worker)),
    "nested non-str data keys": (
        InvalidData,
        lambda c: c.engine.record_details(c.e.id, {"who": {1: "mor", "1": "far"}}, actor=c.worker),
    ),
    "tuple data keys": (
        InvalidData,
        lambda c: c.engine.record_details(c.e.id, {(1, 2): "x"}, actor=c.worker),
    ),
    "tag too long": (
        InvalidData,
        lambda c: c.engine.start(
            "individual_course", subject="s", source="skole", actor=c.worker, tags=["t" * 101]
        ),
    ),
    "empty tag": (
        InvalidData,
        lambda c: c.engine.start(
            "individual_course", subject="s", source="skole", actor=c.worker, tags=[" "]
        ),
    ),
    "subject too long": (
        InvalidData,
        lambda c: c.engine.start("individual_course", subject="s" * 201, source="skole", actor=c.worker),
    ),
    "cpr subject": (
        InvalidData,
        lambda c: c.engine.start("individual_course", subject="010190-1234", source="skole", actor=c.worker),
    ),
    "assignee too long": (
        InvalidData,
        lambda c: c.engine.start(
            "individual_course", subject="s", source="skole", actor=c.worker, assignee="a" * 201
        ),
    ),
    "stale expected_version": (
        ConcurrencyError,
        lambda c: c.engine.fire(
            c.e.id, "set_own_path", actor=c.worker, data=PLAN, expected_version=c.e.version - 1
        ),
    ),
    "stale expected_version note": (
        ConcurrencyError,
        lambda c: c.engine.add_note(c.e.id, "x", actor=c.worker, expected_version=1),
    ),
    "future expected_version": (
        ConcurrencyError,
        lambda c: c.engine.record_details(c.e.id, {"a": 1}, actor=c.worker, expected_version=c.e.version + 1),
    ),
    "idempotency key reused for another command": (
        IdempotencyConflict,
        lambda c: c.engine.add_note(c.e.id, "second", actor=c.worker, idempotency_key="used-key"),
    ),
    "idempotency key reused for a fire": (
        IdempotencyConflict,
        lambda c: c.engine.fire(
            c.e.id, "set_own_path", actor=c.worker, data=PLAN, idempotency_key="used-key"
        ),
    ),
    "idempotency key reused for a start": (
        IdempotencyConflict,
        lambda c: c.engine.start(
            "individual_course", subject="s", source="skole", actor=c.worker, idempotency_key="used-key"
        ),
    ),
    "idempotency key too long": (
        InvalidData,
        lambda c: c.engine.add_note(c.e.id, "x", actor=c.worker, idempotency_key="k" * 201),
    ),
    "activity kind wrong": (
        GuardFailed,
        lambda c: c.engine.record_activity(c.action.id, "hygge", actor=c.worker),
    ),
    "activity outside action": (
        TransitionNotAllowed,
        lambda c: c.engine.record_activity(c.e.id, "investigate", actor=c.worker),
    ),
    "details when closed": (
        TransitionNotAllowed,
        lambda c: c.engine.record_details(c.closed.id, {"a": 1}, actor=c.worker),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_refused_and_writes_nothing(ctx: Ctx, case: str) -> None:
    expected, call = CASES[case]
    before = counts(ctx.engine)
    head = ctx.engine.get(ctx.e.id, actor=READER)
    with pytest.raises(expected) as info:
        call(ctx)
    assert type(info.value) is expected or (
        expected is TransitionNotAllowed and type(info.value) is GuardFailed
    )
    assert isinstance(info.value, ForloebError)
    # Clear in both languages, and str() is the English message.
    assert info.value.message("da").strip()
    assert info.value.message("en").strip()
    assert str(info.value) == info.value.message("en")
    assert counts(ctx.engine) == before
    assert ctx.engine.get(ctx.e.id, actor=READER) == head


def test_exception_tree() -> None:
    for cls in (
        UnknownWorkflow,
        EngagementNotFound,
        UnknownTrigger,
        TransitionNotAllowed,
        GuardFailed,
        PermissionDenied,
        ConcurrencyError,
        InvalidData,
        IdempotencyConflict,
        SchemaOutOfDate,
        DatabaseUnavailable,
        DefinitionError,
    ):
        assert issubclass(cls, ForloebError), cls
    assert issubclass(EngagementNotFound, LookupError)
    assert issubclass(UnknownWorkflow, LookupError)
    assert issubclass(IdempotencyConflict, InvalidData)
    assert issubclass(InvalidData, ValueError)
    assert issubclass(GuardFailed, TransitionNotAllowed)


def test_transition_not_allowed_carries_its_data(ctx: Ctx) -> None:
    with pytest.raises(TransitionNotAllowed) as info:
        ctx.engine.fire(ctx.e.id, "reach_self_help", actor=ctx.worker)
    assert type(info.value) is TransitionNotAllowed
    assert info.value.engagement_id == ctx.e.id
    assert info.value.state == "shared_path"
    assert info.value.trigger == "reach_self_help"
    # The message names the stage and the trigger by their labels in its language.
    da, en = info.value.message("da"), info.value.message("en")
    assert da == f"Handlingen »Gå til selvhjælp« er ikke mulig i fasen »Den fælles vej« (forløb {ctx.e.id})."
    assert en == (
        f"Trigger 'reach_self_help' (Move to self-help) is not allowed in stage 'The shared path' "
        f"(engagement {ctx.e.id})."
    )
    assert "shared_path" not in da and "reach_self_help" not in da
    assert str(info.value) == en
    # The labels came from the workflow definition; the attributes keep the keys.
    assert info.value.state_labels is not None and info.value.state_labels.da == "Den fælles vej"
    assert info.value.trigger_labels is not None and info.value.trigger_labels.en == "Move to self-help"


def test_labels_fall_back_to_the_keys() -> None:
    plain = TransitionNotAllowed(7, "somewhere", "jump")
    assert plain.message("da") == "Handlingen »jump« er ikke mulig i fasen »somewhere« (forløb 7)."
    assert str(plain) == "Trigger 'jump' is not allowed in stage 'somewhere' (engagement 7)."
    given = TransitionNotAllowed(
        7,
        "shared_path",
        "close",
        state_labels=Label(da="Den fælles vej", en="The shared path"),
        trigger_labels=Label(da="Afslut", en="Close"),
    )
    assert given.message("da") == "Handlingen »Afslut« er ikke mulig i fasen »Den fælles vej« (forløb 7)."
    assert str(given) == "Trigger 'close' (Close) is not allowed in stage 'The shared path' (engagement 7)."
    assert (given.state, given.trigger) == ("shared_path", "close")
    # The engine's own actions have built-in labels.
    activity = TransitionNotAllowed(7, "referral", "record_activity")
    assert "»Registrér aktivitet«" in activity.message("da")
    assert "'record_activity' (Record an activity)" in str(activity)


def test_not_allowed_in_each_language_names_the_labels(ctx: Ctx) -> None:
    with pytest.raises(TransitionNotAllowed) as info:
        ctx.engine.fire(ctx.closed.id, "act", actor=ctx.worker)
    definition = ctx.engine.workflow("individual_course")
    stage = definition.stage("closed").labels
    (act,) = definition.transitions_for("act")
    for lang in ("da", "en"):
        text = info.value.message(lang)
        assert stage.get(lang) in text and act.labels.get(lang) in text
    assert "»Afsluttet«" in info.value.message("da")
    assert "'act'" in str(info.value)  # English keeps the key beside the label
    assert (info.value.state, info.value.trigger) == ("closed", "act")


def test_unknown_things_name_the_known_ones(ctx: Ctx) -> None:
    with pytest.raises(UnknownWorkflow) as wf:
        ctx.engine.start("family_course", subject="s", source="skole", actor=ctx.worker)
    assert wf.value.workflow == "family_course"
    assert "individual_course" in wf.value.known
    assert "civil_society" in str(wf.value)
    with pytest.raises(UnknownTrigger) as tr:
        ctx.engine.fire(ctx.e.id, "fly_away", actor=ctx.worker)
    assert tr.value.trigger == "fly_away"
    assert "make_contact" in tr.value.known
    with pytest.raises(EngagementNotFound) as nf:
        ctx.engine.get(424242, actor=READER)
    assert nf.value.engagement_id == 424242
    assert "424242" in nf.value.message("da")


def test_concurrency_error_names_expected_and_actual(ctx: Ctx) -> None:
    with pytest.raises(ConcurrencyError) as info:
        ctx.engine.fire(ctx.e.id, "set_own_path", actor=ctx.worker, data=PLAN, expected_version=2)
    assert info.value.engagement_id == ctx.e.id
    assert info.value.expected == 2
    assert info.value.actual == ctx.e.version
    assert "2" in info.value.message("da") and str(ctx.e.version) in info.value.message("da")
    # With the right version it goes through.
    e = ctx.engine.fire(ctx.e.id, "set_own_path", actor=ctx.worker, data=PLAN, expected_version=ctx.e.version)
    assert e.version == ctx.e.version + 1


def test_guard_failed_names_what_is_missing_in_both_languages(ctx: Ctx) -> None:
    with pytest.raises(GuardFailed) as info:
        ctx.engine.fire(ctx.e.id, "set_own_path", actor=ctx.worker, data={"goals": "g"})
    assert info.value.missing == ("focus", "plan")
    assert info.value.invalid == ()
    da = info.value.message("da")
    assert "fokus" in da and "plan" in da and "mål" not in da
    assert "focus" in info.value.message("en")


def test_guard_failed_names_the_trigger_by_its_label(ctx: Ctx) -> None:
    with pytest.raises(GuardFailed) as info:
        ctx.engine.fire(ctx.e.id, "set_own_path", actor=ctx.worker)
    assert info.value.message("da") == f"»Gå til beboerens vej« kræver: fokus, mål, plan (forløb {ctx.e.id})."
    assert str(info.value) == (
        f"'set_own_path' (Go to the resident's path) needs: focus, goals, plan (engagement {ctx.e.id})."
    )
    assert info.value.trigger == "set_own_path" and info.value.state == "shared_path"


def test_guard_failed_lists_allowed_choices_with_their_labels(ctx: Ctx) -> None:
    e = drive(ctx.engine, ctx.worker, "self_help", subject="sag-2")  # where the level is asked
    with pytest.raises(GuardFailed) as info:
        ctx.engine.record_details(e.id, {"level": "maybe"}, actor=ctx.worker)
    assert info.value.invalid == (("level", "maybe", ("wants", "can", "does")),)
    da = info.value.message("da")
    assert "Tilladt: Vil selv (wants), Kan selv (can), Gør det selv (does)." in da
    assert "Allowed: Wants to (wants), Can (can), Does it themselves (does)." in str(info.value)


def test_unknown_trigger_lists_the_known_ones_by_key(ctx: Ctx) -> None:
    with pytest.raises(UnknownTrigger) as info:
        ctx.engine.fire(ctx.e.id, "fly_away", actor=ctx.worker)
    da = info.value.message("da")
    assert "'fly_away'" in da and "»Individuelt forløb«" in da
    assert "make_contact, pause" in da and "make_contact, pause" in str(info.value)
    assert "'individual_course' (" in str(info.value)
    assert info.value.workflow == "individual_course"


def test_permission_denied_names_the_trigger_by_its_label(ctx: Ctx) -> None:
    with pytest.raises(PermissionDenied) as info:
        ctx.engine.fire(ctx.closed.id, "reopen", actor=ctx.worker)
    label = ctx.engine.workflow("individual_course").transitions_for("reopen")[0].labels
    assert info.value.action == "reopen"
    assert f"må ikke udføre handlingen »{label.da}«" in info.value.message("da")
    assert f"may not perform 'reopen' ({label.en})" in str(info.value)
    assert "kræver en af: supervisor" in info.value.message("da")


def test_idempotency_conflict_carries_the_key(ctx: Ctx) -> None:
    with pytest.raises(IdempotencyConflict) as info:
        ctx.engine.add_note(ctx.e.id, "another text", actor=ctx.worker, idempotency_key="used-key")
    assert info.value.key == "used-key"
    assert "used-key" in info.value.message("da")


def test_the_same_key_on_another_engagement_conflicts(engine: Engine, worker: Actor) -> None:
    a = start(engine, worker, subject="a")
    b = start(engine, worker, subject="b")
    engine.add_note(a.id, "same text", actor=worker, idempotency_key="k")
    before = counts(engine)
    with pytest.raises(IdempotencyConflict):
        engine.add_note(b.id, "same text", actor=worker, idempotency_key="k")
    assert counts(engine) == before
    assert engine.get(b.id, actor=READER).version == 1


def test_a_failed_command_does_not_burn_its_idempotency_key(ctx: Ctx) -> None:
    with pytest.raises(GuardFailed):
        ctx.engine.fire(ctx.e.id, "set_own_path", actor=ctx.worker, idempotency_key="retry-me")
    before = counts(ctx.engine)
    ctx.engine.record_details(ctx.e.id, PLAN, actor=ctx.worker)
    e = ctx.engine.fire(ctx.e.id, "set_own_path", actor=ctx.worker, idempotency_key="retry-me")
    assert e.state == "own_path"
    assert counts(ctx.engine)["idempotency_keys"] == before["idempotency_keys"] + 1


@pytest.mark.parametrize(
    "number", [10**5000, 10**60, -(10**60)], ids=["5000-digits", "60-digits", "minus-60-digits"]
)
def test_a_huge_number_in_data_is_refused_or_kept_exactly_and_never_half_written(
    engine: Engine, worker: Actor, number: int
) -> None:
    e = start(engine, worker)
    before = counts(engine)
    try:
        done = engine.record_details(e.id, {"reason": number}, actor=worker)
    except InvalidData:
        assert counts(engine) == before  # refused: nothing written
        assert abs(number) > 10**4300  # only what JSON cannot hold is refused
    else:
        # Kept exactly (a text question keeps the answer as text).
        assert str(done.data["referral"]["reason"]) == str(number)
