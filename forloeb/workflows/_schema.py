"""The schema of a definition file, and a validator that reports every mismatch.

The schema is data (tables of fields, each with its type and whether it is
required) so that one description drives the checks, the messages ("expected
a whole number, found text 'ten'") and ``json_schema()`` for editors that
complete TOML from a JSON Schema. It is small on purpose: a hand-written
walk gives messages a secretariat worker can act on, with the key path in
the words of the file (``stages[first_contact].questions[who_are_you].kind``),
and needs no dependency.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from forloeb.engine import QUESTION_KINDS, RETURN_TO_CLOSED, RETURN_TO_PAUSED, ROLES

from ._problems import Problem

# "from" may name every active stage at once (pause, withdraw …).
ALL_ACTIVE = "@active"
RETURNS = (RETURN_TO_PAUSED, RETURN_TO_CLOSED)
UNITS = ("working_days", "days")
STAGE_KINDS = ("active", "paused", "final")
ESCALATION_ROLES = ("supervisor", "team_lead")


@dataclass(frozen=True)
class Scalar:
    types: tuple[type, ...]
    name: str
    enum: tuple[str, ...] | None = None
    # Text that must not be blank.
    nonempty: bool = False
    # Whole numbers at least this.
    minimum: int | None = None
    # The problem code of a value outside ``enum`` (default "not_allowed").
    code: str | None = None


@dataclass(frozen=True)
class Array:
    item: Scalar | Array | Table | OneOf
    name: str = ""
    # The key inside each item that names it in key paths ("key", "trigger").
    named_by: str | None = None


@dataclass(frozen=True)
class Field:
    spec: Scalar | Array | Table | OneOf
    required: bool = False
    doc: str = ""
    # The problem code when a required field is missing (default "missing_key").
    missing_code: str | None = None


@dataclass(frozen=True)
class Table:
    name: str
    fields: Mapping[str, Field] = field(default_factory=dict)


@dataclass(frozen=True)
class OneOf:
    options: tuple[Scalar | Array | Table, ...]
    name: str


TEXT = Scalar((str,), "text", nonempty=True)
OPTIONAL_TEXT = Scalar((str,), "text")
KEY = Scalar((str,), "a key (lower-case letters, digits and _)", nonempty=True)
BOOL = Scalar((bool,), "true or false")
POSITIVE = Scalar((int,), "a whole number above 0", minimum=1)
KEYS = Array(KEY, "a list of keys")

LABEL = Table(
    "a table with 'da' and 'en'",
    {"da": Field(TEXT, True, "Danish"), "en": Field(TEXT, True, "English")},
)


def _labelled(name: str, extra: Mapping[str, Field] | None = None, *, key: bool = True) -> Table:
    """An item with its own key and its label in Danish and English at the item's level."""
    fields: dict[str, Field] = {}
    if key:
        fields["key"] = Field(KEY, True, "the item's key")
    fields["da"] = Field(TEXT, True, "the label in Danish")
    fields["en"] = Field(TEXT, True, "the label in English")
    fields.update(extra or {})
    return Table(name, fields)


CHOICE = _labelled("a choice", {"description": Field(LABEL)})
CHOICES = Array(CHOICE, "a list of choices", named_by="key")

QUESTION = _labelled(
    "a question",
    {
        "kind": Field(
            Scalar((str,), "a question kind", enum=QUESTION_KINDS, code="unknown_question_kind"),
            True,
            "text, choice, date, yes_no, partner or number",
        ),
        "required": Field(BOOL, doc="must be answered to leave the stage (default false)"),
        "choices": Field(CHOICES, doc="the answers of a choice question"),
        "multiple": Field(BOOL, doc="a list of choices or partners (default false)"),
        "help": Field(LABEL, doc="a hint for the worker"),
    },
)
QUESTIONS = Array(QUESTION, "a list of questions", named_by="key")

ESCALATION = Table(
    "an escalation",
    {
        "to": Field(Scalar((str,), "supervisor or team_lead", enum=ESCALATION_ROLES), True),
        "after": Field(POSITIVE, True, "how long after the rung below"),
        "unit": Field(Scalar((str,), "a unit", enum=UNITS), True, "working_days or days"),
    },
)

DEADLINE = Table(
    "a deadline",
    {
        "amount": Field(POSITIVE, True, "how long the stage may stand before the first reminder"),
        "unit": Field(
            Scalar((str,), "a unit", enum=UNITS),
            True,
            "working_days or days",
            missing_code="deadline_without_unit",
        ),
        "rearm": Field(BOOL, doc="a periodic review: the clock starts over after each reminder or activity"),
        "escalation": Field(
            Array(ESCALATION, "a list of escalations"),
            doc="the rungs above the reminder to the assignee (default: none)",
        ),
    },
)

STAGE = _labelled(
    "a stage",
    {
        "kind": Field(
            Scalar((str,), "a stage kind", enum=STAGE_KINDS), doc="active (default), paused or final"
        ),
        "description": Field(LABEL),
        "deadline": Field(DEADLINE),
        "questions": Field(QUESTIONS),
        "extra_keys": Field(BOOL, doc="keys the stage does not declare may be recorded (default false)"),
        "activities": Field(BOOL, doc="activities are recorded in this stage (default false)"),
        "records": Field(KEYS, doc="what the stage records, if not its question keys"),
    },
)

STAGE_OR_ALL = Scalar((str,), f"a stage key or {ALL_ACTIVE!r}", nonempty=True)
TRANSITION = Table(
    "a transition",
    {
        "trigger": Field(KEY, True, "the move's key, fired by apps and the CLI"),
        "from": Field(
            OneOf((STAGE_OR_ALL, Array(STAGE_OR_ALL)), "a stage key or a list of stage keys"),
            True,
            f"the stage(s) it leaves; {ALL_ACTIVE!r} for every active stage",
        ),
        "to": Field(
            Scalar((str,), "a stage key", nonempty=True),
            True,
            f"the stage it enters; {RETURN_TO_PAUSED!r} or {RETURN_TO_CLOSED!r} to go back",
        ),
        "da": Field(TEXT, True, "the label in Danish"),
        "en": Field(TEXT, True, "the label in English"),
        "description": Field(LABEL),
        "roles": Field(
            Array(Scalar((str,), "a role", enum=tuple(r for r in ROLES if r != "auditor"))),
            doc="who may fire it (default worker and supervisor)",
        ),
        "requires": Field(KEYS, doc="data keys that must be given, beside the required questions"),
        "guards": Field(KEYS, doc="named guards (consent)"),
        "record": Field(BOOL, doc="the data is kept in the stage record (default true)"),
        "new_cycle": Field(BOOL, doc="starts a new round on the same engagement"),
        "flexible": Field(BOOL, doc="a move back that the flexible method allows"),
        "answers_required": Field(BOOL, doc="the stage's required questions must be answered (default true)"),
        "questions": Field(QUESTIONS, doc="what the move itself asks"),
        "outcomes": Field(KEYS, doc="the outcomes it may end with"),
        "default_outcome": Field(KEY),
    },
)

OUTCOME = _labelled(
    "an outcome",
    {"requires": Field(KEYS, doc="data keys given with this outcome"), "description": Field(LABEL)},
)
ACTIVITY = _labelled("an activity kind", {"fields": Field(QUESTIONS), "description": Field(LABEL)})
SELF_HELP = Table(
    "self-help",
    {
        "levels": Field(CHOICES, True, "vil selv, kan selv, gør det selv"),
        "stages": Field(KEYS, doc="the stages where a level may be recorded"),
    },
)

DEFINITION = Table(
    "a definition",
    {
        "name": Field(KEY, True, "the method's key (individual_course)"),
        "version": Field(POSITIVE, True, "the version of this method"),
        "da": Field(TEXT, True, "the method's name in Danish"),
        "en": Field(TEXT, True, "the method's name in English"),
        "description": Field(LABEL),
        "subject_label": Field(LABEL, doc="what the subject reference is called"),
        "initial": Field(KEY, True, "the stage an engagement starts in"),
        "stages": Field(Array(STAGE, "a list of stages", named_by="key"), True),
        "transitions": Field(Array(TRANSITION, "a list of transitions", named_by="trigger"), True),
        "referral_sources": Field(CHOICES, True),
        "partners": Field(CHOICES, doc="the partner register"),
        "outcomes": Field(Array(OUTCOME, "a list of outcomes", named_by="key")),
        "activities": Field(Array(ACTIVITY, "a list of activity kinds", named_by="key")),
        "self_help": Field(SELF_HELP),
        "fields": Field(QUESTIONS, doc="fields of the engagement as a whole"),
    },
)


def _type_name(value: object) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if isinstance(value, str):
        return f"text {value!r}"
    if isinstance(value, int):
        return f"the number {value}"
    if isinstance(value, float):
        return f"the decimal number {value}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _matches(value: object, spec: Scalar) -> bool:
    if bool in spec.types and isinstance(value, bool):
        return True
    if isinstance(value, bool):
        return False
    return isinstance(value, spec.types)


def _item_name(spec: Array, item: object, index: int) -> str:
    if spec.named_by and isinstance(item, dict):
        name = item.get(spec.named_by)
        if isinstance(name, str) and name:
            return f"[{name}]"
    return f"[{index}]"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def validate(
    data: object, spec: Scalar | Array | Table | OneOf, file: str | None, path: str = ""
) -> list[Problem]:
    """Every place where ``data`` does not match ``spec``, as problems (empty when it does)."""
    problems: list[Problem] = []

    def add(code: str, where: str, message: str) -> None:
        problems.append(Problem(code=code, where=where or "(top level)", message=message, file=file))

    def walk(value: object, s: Scalar | Array | Table | OneOf, where: str) -> None:
        if isinstance(s, OneOf):
            for option in s.options:
                if isinstance(option, Scalar) and _matches(value, option):
                    walk(value, option, where)
                    return
                if isinstance(option, Array) and isinstance(value, list):
                    walk(value, option, where)
                    return
                if isinstance(option, Table) and isinstance(value, dict):
                    walk(value, option, where)
                    return
            add("wrong_type", where, f"expected {s.name}, found {_type_name(value)}")
            return
        if isinstance(s, Scalar):
            if not _matches(value, s):
                add("wrong_type", where, f"expected {s.name}, found {_type_name(value)}")
                return
            if s.nonempty and isinstance(value, str) and not value.strip():
                add("empty", where, f"expected {s.name}, found empty text")
            elif s.enum is not None and value not in s.enum:
                add(
                    s.code or "not_allowed",
                    where,
                    f"expected one of {', '.join(s.enum)}; found {_type_name(value)}",
                )
            elif s.minimum is not None and isinstance(value, int) and value < s.minimum:
                add("too_small", where, f"expected {s.name}, found {value}")
            return
        if isinstance(s, Array):
            if not isinstance(value, list):
                add("wrong_type", where, f"expected {s.name or 'a list'}, found {_type_name(value)}")
                return
            for i, item in enumerate(value):
                walk(item, s.item, f"{where}{_item_name(s, item, i)}")
            return
        if not isinstance(value, dict):
            add("wrong_type", where, f"expected {s.name}, found {_type_name(value)}")
            return
        for key, f in s.fields.items():
            if key not in value:
                if f.required:
                    what = f" ({f.doc})" if f.doc else ""
                    code = f.missing_code or ("missing_label" if key in ("da", "en") else "missing_key")
                    add(code, _join(where, key), f"missing: expected {_describe(f.spec)}{what}")
                continue
            walk(value[key], f.spec, _join(where, key))
        for key in value:
            if key not in s.fields:
                close = difflib.get_close_matches(key, list(s.fields), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                add(
                    "unknown_key",
                    _join(where, key),
                    f"unknown key in {s.name}: expected one of {', '.join(s.fields)}{hint}",
                )

    walk(data, spec, path)
    return problems


def _describe(spec: Scalar | Array | Table | OneOf) -> str:
    if isinstance(spec, Scalar):
        return spec.name
    if isinstance(spec, Array):
        return spec.name or "a list"
    return spec.name


def json_schema(spec: Scalar | Array | Table | OneOf = DEFINITION) -> dict[str, Any]:
    """The schema as a JSON Schema (draft 2020-12), for editors that complete TOML from one."""
    if isinstance(spec, OneOf):
        return {"description": spec.name, "anyOf": [json_schema(o) for o in spec.options]}
    if isinstance(spec, Scalar):
        out: dict[str, Any] = {"description": spec.name}
        if spec.types == (bool,):
            out["type"] = "boolean"
        elif spec.types == (int,):
            out["type"] = "integer"
            if spec.minimum is not None:
                out["minimum"] = spec.minimum
        else:
            out["type"] = "string"
            if spec.nonempty:
                out["minLength"] = 1
            if spec.enum is not None:
                out["enum"] = list(spec.enum)
        return out
    if isinstance(spec, Array):
        return {"type": "array", "items": json_schema(spec.item)}
    properties = {}
    for key, f in spec.fields.items():
        prop = json_schema(f.spec)
        if f.doc:
            prop["description"] = f.doc
        properties[key] = prop
    out = {
        "type": "object",
        "description": spec.name,
        "properties": properties,
        "additionalProperties": False,
    }
    required = [k for k, f in spec.fields.items() if f.required]
    if required:
        out["required"] = required
    if spec is DEFINITION:
        out = {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "forloeb method", **out}
    return out


__all__ = ["ALL_ACTIVE", "DEFINITION", "RETURNS", "json_schema", "validate"]
