"""What a stage, a move, an activity or an engagement's fields ask, and answers checked against it.

A definition declares its questions (:class:`Question`: key, kind, whether
required). Where a stage says ``extra_keys = false`` (every stage of a
definition file unless it says otherwise), a key that the place does not
declare is refused with :class:`UndeclaredKey`, which lists what is asked
there: a misspelt ``challange`` is no longer stored without a word. Every
answer to a declared question is checked by its kind and kept in its plain
form (a number as a number, yes/no as true/false, a date as ``YYYY-MM-DD``);
a wrong one is a :class:`GuardFailed` with ``invalid``, as a wrong choice
always was. Definitions without questions (version 1) are as open as before.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ._definition import ActivityKind, Labels, Question, Stage, Transition, WorkflowDefinition
from ._errors import GuardFailed
from ._i18n import DEFAULT_LANG, Lang, field_label

# Keys a move with outcomes takes besides its questions: the category and its free text.
OUTCOME_KEYS = ("outcome", "outcome_text")
# Where an engagement's fields are kept in its records (beside the stage records).
FIELDS_RECORD = "_fields"

_YES = frozenset({"ja", "j", "yes", "y", "true", "sand"})
_NO = frozenset({"nej", "n", "no", "false", "falsk"})


@dataclass(frozen=True)
class Asks:
    """What one place (a move from a stage, a stage, an activity, the fields) asks.

    ``questions`` by key, in order; ``also``: keys taken without a question
    (a move's outcome and its free text, what an outcome requires, a
    version-1 ``requires``); ``open``: whether other keys are allowed too.
    """

    questions: Mapping[str, Question] = field(default_factory=dict)
    also: tuple[str, ...] = ()
    open: bool = True

    @property
    def declared(self) -> tuple[str, ...]:
        return (*self.questions, *(k for k in self.also if k not in self.questions))

    @property
    def checks_nothing(self) -> bool:
        return self.open and not self.questions


OPEN = Asks()


def _by_key(*groups: Sequence[Question]) -> dict[str, Question]:
    out: dict[str, Question] = {}
    for group in groups:
        for q in group:
            out[q.key] = q  # a later group (the move's own questions) wins
    return out


def move_asks(definition: WorkflowDefinition, spec: Transition, stage: Stage) -> Asks:
    """What firing ``spec`` from ``stage`` takes: for a move that records, the
    stage's questions and the move's; for one that does not (pause, withdraw,
    a referral onward), the move's own; and the keys of its outcomes."""
    questions = _by_key(stage.questions if spec.record else (), spec.questions)
    also = list(spec.requires)
    if spec.outcomes:
        also += OUTCOME_KEYS
        for key in spec.outcomes:
            outcome = definition.outcome(key)
            also += outcome.requires if outcome is not None else ()
    return Asks(questions, tuple(dict.fromkeys(also)), stage.extra_keys)


def start_asks(definition: WorkflowDefinition) -> Asks:
    """What ``start`` takes as data: the first stage's questions, the engagement's fields, ``source``."""
    initial = definition.stage(definition.initial)
    return Asks(_by_key(initial.questions, definition.fields), ("source",), initial.extra_keys)


def stage_asks(stage: Stage) -> Asks:
    """What ``record_details`` takes in ``stage``."""
    return Asks(_by_key(stage.questions), (), stage.extra_keys)


def activity_asks(kind: ActivityKind, stage: Stage) -> Asks:
    """What an activity of ``kind`` takes as data in ``stage``."""
    return Asks(_by_key(kind.fields), (), stage.extra_keys)


def fields_asks(definition: WorkflowDefinition) -> Asks:
    """What ``update_fields`` takes: the method's fields and nothing else."""
    return Asks(_by_key(definition.fields), (), False)


def empty(value: object) -> bool:
    """Not an answer: None, blank text, or an empty list or object."""
    if isinstance(value, str):
        return not value.strip()
    return value is None or (isinstance(value, list | dict | tuple) and len(value) == 0)


def check(
    asks: Asks,
    data: Mapping[str, Any],
    *,
    partners: Callable[[], Collection[str]],
    engagement_id: int | None,
    state: str,
    trigger: str,
    labels: Labels,
) -> dict[str, Any]:
    """``data`` with every answer in its plain form; UndeclaredKey or GuardFailed otherwise.

    ``partners`` gives the register partner answers are checked against
    (called only when a partner question is answered).
    """
    if asks.checks_nothing or not data:
        return dict(data)
    if not asks.open:
        undeclared = [k for k in data if k not in asks.questions and k not in asks.also]
        if undeclared:
            raise UndeclaredKey(
                engagement_id, state, trigger, keys=undeclared, declared=asks.declared, labels=labels
            )
    out = dict(data)
    invalid: list[tuple[str, object, tuple[str, ...]]] = []
    for key, value in data.items():
        question = asks.questions.get(key)
        if question is None or value is None:
            continue
        ok, plain, allowed = answer(question, value, partners)
        if ok:
            out[key] = plain
        else:
            invalid.append((key, plain, allowed))
    if invalid:
        raise GuardFailed(engagement_id, state, trigger, invalid=invalid, labels=labels)
    return out


def chosen_outcome(spec: Transition, record: Mapping[str, Any]) -> str | None:
    """The outcome a move ends with: the one named in ``record`` (``outcome``),
    else its default, else its only one; None for a move without outcomes."""
    if not spec.outcomes:
        return None
    chosen = record.get("outcome")
    if empty(chosen):
        return spec.default_outcome or (spec.outcomes[0] if len(spec.outcomes) == 1 else None)
    return str(chosen)


def required_missing(questions: Sequence[Question], data: Mapping[str, Any]) -> list[str]:
    """The required questions ``data`` leaves unanswered."""
    return [q.key for q in questions if q.required and empty(data.get(q.key))]


def answer(
    question: Question, value: object, partners: Callable[[], Collection[str]]
) -> tuple[bool, object, tuple[str, ...]]:
    """(ok, the plain answer — or the offending value —, what is allowed) for one answer."""
    kind = question.kind
    if kind in ("choice", "partner"):
        allowed = tuple(c.key for c in question.choices) if kind == "choice" else tuple(sorted(partners()))
        values = value if isinstance(value, list) else [value]
        if not question.multiple and isinstance(value, list):
            return False, value, allowed
        for v in values:
            if not isinstance(v, str) or v not in allowed:
                return False, v, allowed
        return True, list(values) if question.multiple else value, allowed
    plain = _plain(kind, value)
    if plain is None:
        return False, value, (kind,)
    return True, plain, (kind,)


def _plain(kind: str, value: object) -> object | None:
    """An answer of a free kind in its plain form, or None when it is not one."""
    if kind == "text":
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)  # `--data who=42` arrives as a number
        return None
    if kind == "number":
        if isinstance(value, bool):
            return None
        if isinstance(value, int | float):
            return value if math.isfinite(value) else None
        if isinstance(value, str):
            text = value.strip().replace(" ", "")
            if text.count(",") == 1 and "." not in text:
                text = text.replace(",", ".")  # Danish decimal comma: 1,5
            for convert in (int, float):
                try:
                    number = convert(text)
                except ValueError:
                    continue
                return number if math.isfinite(number) else None
        return None
    if kind == "yes_no":
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            word = value.strip().lower()
            return True if word in _YES else False if word in _NO else None
        return None
    if kind == "date":
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip()).isoformat()
            except ValueError:
                return None
        return None
    return value  # an unknown kind never compiles; keep the value


class UndeclaredKey(GuardFailed):
    """Data with a key that this stage, move or activity does not ask.

    ``keys`` are the undeclared keys (``key`` the first), ``declared`` what is
    asked there, in order; the message names them by the method's questions
    and suggests the nearest key for a misspelling. A :class:`GuardFailed`
    (with the keys as ``invalid``), so callers that handle a refused move
    handle this too.
    """

    code = "undeclared_key"

    def __init__(
        self,
        engagement_id: int | None,
        state: str,
        trigger: str,
        *,
        keys: Sequence[str],
        declared: Sequence[str],
        labels: Labels | None = None,
    ) -> None:
        self.keys = tuple(keys)
        self.key = self.keys[0]
        self.declared = tuple(declared)
        super().__init__(
            engagement_id,
            state,
            trigger,
            invalid=[(k, k, self.declared) for k in self.keys],
            labels=labels,
        )

    def _question(self, key: str, lang: Lang) -> str:
        label = self.labels.field(key) if self.labels is not None else None
        text = label.get(lang) if label is not None else field_label(key, lang)
        return f"{text} ({key})" if text != key else key

    def message(self, lang: Lang = DEFAULT_LANG) -> str:
        params = self._params(lang)
        keys = ", ".join(f"»{k}«" if lang == "da" else repr(k) for k in self.keys)
        asked = "; ".join(self._question(k, lang) for k in self.declared)
        if lang == "da":
            text = f"{params['trigger']} tager ikke imod {keys} (forløb {params['engagement_id']})."
            text += f" Her spørges om: {asked}." if asked else " Her spørges ikke om noget."
        else:
            text = f"{params['trigger']} does not take {keys} (engagement {params['engagement_id']})."
            text += f" It asks: {asked}." if asked else " It asks nothing here."
        near = difflib.get_close_matches(self.key, self.declared, n=1)
        if near:
            text += f" Mente du »{near[0]}«?" if lang == "da" else f" Did you mean {near[0]!r}?"
        return text


__all__ = [
    "FIELDS_RECORD",
    "OPEN",
    "OUTCOME_KEYS",
    "Asks",
    "UndeclaredKey",
    "activity_asks",
    "answer",
    "check",
    "chosen_outcome",
    "empty",
    "fields_asks",
    "move_asks",
    "required_missing",
    "stage_asks",
    "start_asks",
]
