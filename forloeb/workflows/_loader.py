"""Definition files -> ``WorkflowDefinition``: read, check against the schema, build, lint.

Files are TOML, read with the standard library's ``tomllib`` (docs/methods.md
says why). A file is checked against the schema (``_schema.py``) and then,
built leniently so that one pass finds everything, linted (``_lint.py``); a
file with any error raises one ``DefinitionError`` that lists every
problem with the file, the key path and what was expected.

Guards are Python: a file names them (``guards = ["consent"]``) and the
loader resolves the names in a registry (``GUARDS``, or the ``guards`` an
embedding app passes). A file never names a module to import.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from forloeb.engine import (
    STAFF,
    ActivityKind,
    Choice,
    Deadline,
    Escalation,
    Guard,
    Label,
    Outcome,
    Question,
    SelfHelp,
    Stage,
    StageKind,
    Transition,
    WorkflowDefinition,
    consent_guard,
)

from ._lint import lint_definition
from ._problems import Problem, definition_error, errors
from ._schema import ALL_ACTIVE, DEFINITION, validate

# Guards a file may name. Embedding apps pass their own mapping to the loader.
GUARDS: Mapping[str, Guard] = {"consent": consent_guard}

SUFFIX = ".toml"


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _bool(value: object, default: bool) -> bool:
    return value if isinstance(value, bool) else default


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _table(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _keys(value: object) -> tuple[str, ...]:
    return tuple(v for v in _list(value) if isinstance(v, str))


def _label_of(item: Mapping[str, Any]) -> Label:
    """The item's own label: ``da`` and ``en`` at the item's level."""
    return Label(da=_text(item.get("da")), en=_text(item.get("en")))


def _label(value: object) -> Label | None:
    if not isinstance(value, dict):
        return None
    return _label_of(value)


def _choice(item: object) -> Choice:
    t = _table(item)
    return Choice(key=_text(t.get("key")), labels=_label_of(t))


def _choices(value: object) -> tuple[Choice, ...]:
    return tuple(_choice(c) for c in _list(value))


def _question(item: object) -> Question:
    t = _table(item)
    return Question(
        key=_text(t.get("key")),
        labels=_label_of(t),
        kind=_text(t.get("kind")) or "text",
        required=_bool(t.get("required"), False),
        choices=_choices(t.get("choices")),
        multiple=_bool(t.get("multiple"), False),
        help=_label(t.get("help")),
    )


def _questions(value: object) -> tuple[Question, ...]:
    return tuple(_question(q) for q in _list(value))


def _deadline(value: object) -> Deadline | None:
    t = _table(value)
    if not t:
        return None
    escalation: list[Escalation] = []
    for item in _list(t.get("escalation")):
        e = _table(item)
        try:
            to: Any = e.get("to")  # checked by Escalation itself and by the schema
            after: Any = e.get("after")
            escalation.append(Escalation(to=to, after=after, unit=_unit(e.get("unit"))))
        except (TypeError, ValueError):
            continue  # the schema check names what is wrong
    amount = t.get("amount")
    try:
        # A file states its escalations: none unless listed (gentle by default).
        return Deadline(
            amount=amount if isinstance(amount, int) and not isinstance(amount, bool) else 0,
            unit=_unit(t.get("unit")),
            rearm=_bool(t.get("rearm"), False),
            escalation=tuple(escalation),
        )
    except (TypeError, ValueError):
        return None


def _unit(value: object) -> Literal["working_days", "days"]:
    return "days" if value == "days" else "working_days"


def _kind(value: object) -> StageKind:
    if value == "paused":
        return "paused"
    if value == "final":
        return "final"
    return "active"


def _stage(item: object) -> Stage:
    t = _table(item)
    questions = _questions(t.get("questions"))
    activities = _bool(t.get("activities"), False)
    records = _keys(t.get("records")) if "records" in t else ()
    if not records:
        records = tuple(q.key for q in questions) + (("activities",) if activities else ())
    return Stage(
        key=_text(t.get("key")),
        labels=_label_of(t),
        kind=_kind(t.get("kind")),
        deadline=_deadline(t.get("deadline")),
        records=records,
        description=_label(t.get("description")),
        questions=questions,
        extra_keys=_bool(t.get("extra_keys"), False),
    )


def _sources(value: object, active: tuple[str, ...]) -> tuple[str, ...]:
    names = [value] if isinstance(value, str) else [v for v in _list(value) if isinstance(v, str)]
    out: dict[str, None] = {}
    for name in names:
        if name == ALL_ACTIVE:
            out.update(dict.fromkeys(active))
        else:
            out[name] = None
    return tuple(out)


def _transition(
    item: object,
    active: tuple[str, ...],
    guards: Mapping[str, Guard],
    where: str,
    add: Any,
) -> Transition:
    t = _table(item)
    resolved: list[Guard] = []
    for i, name in enumerate(_keys(t.get("guards"))):
        if name in guards:
            resolved.append(guards[name])
        else:
            add(
                "unknown_guard",
                f"{where}.guards[{i}]",
                f"unknown guard {name!r}: expected one of {', '.join(sorted(guards)) or '(none)'}",
            )
    roles = frozenset(_keys(t.get("roles"))) if "roles" in t else STAFF
    default = t.get("default_outcome")
    return Transition(
        trigger=_text(t.get("trigger")),
        source=_sources(t.get("from"), active),
        dest=_text(t.get("to")),
        labels=_label_of(t),
        roles=roles,
        requires=_keys(t.get("requires")),
        guards=tuple(resolved),
        record=_bool(t.get("record"), True),
        new_cycle=_bool(t.get("new_cycle"), False),
        flexible=_bool(t.get("flexible"), False),
        answers_required=_bool(t.get("answers_required"), True),
        questions=_questions(t.get("questions")),
        outcomes=_keys(t.get("outcomes")),
        default_outcome=default if isinstance(default, str) else None,
        description=_label(t.get("description")),
    )


def build(
    raw: Mapping[str, Any], *, file: str | None = None, guards: Mapping[str, Guard] = GUARDS
) -> tuple[WorkflowDefinition, list[Problem]]:
    """A definition from parsed TOML, leniently (wrong values become empty), and the problems met.

    Only what the schema cannot see is reported here (unknown guard names);
    ``validate`` and ``lint`` report the rest. Use ``parse_definition`` unless
    you want the problems without an exception.
    """
    problems: list[Problem] = []

    def add(code: str, where: str, message: str) -> None:
        problems.append(Problem(code=code, where=where, message=message, file=file))

    stages = tuple(_stage(s) for s in _list(raw.get("stages")))
    active = tuple(s.key for s in stages if s.kind == "active")
    transitions = tuple(
        _transition(t, active, guards, f"transitions[{_text(_table(t).get('trigger')) or i}]", add)
        for i, t in enumerate(_list(raw.get("transitions")))
    )
    activity_kinds = tuple(
        ActivityKind(
            key=_text(_table(a).get("key")),
            labels=_label_of(_table(a)),
            fields=_questions(_table(a).get("fields")),
            description=_label(_table(a).get("description")),
        )
        for a in _list(raw.get("activities"))
    )
    self_help = None
    if isinstance(raw.get("self_help"), dict):
        sh = raw["self_help"]
        self_help = SelfHelp(levels=_choices(sh.get("levels")), stages=_keys(sh.get("stages")))
    # The choices today's engine checks wherever the key is given: the
    # activity kind and the self-help level (as in version 1).
    choices: dict[str, tuple[Choice, ...]] = {}
    if activity_kinds:
        choices["kind"] = tuple(Choice(key=a.key, labels=a.labels) for a in activity_kinds)
    if self_help is not None:
        choices["level"] = self_help.levels
    version = raw.get("version")
    definition = WorkflowDefinition(
        name=_text(raw.get("name")),
        version=version if isinstance(version, int) and not isinstance(version, bool) else 0,
        labels=_label_of(raw),
        initial=_text(raw.get("initial")),
        stages=stages,
        transitions=transitions,
        referral_sources=_choices(raw.get("referral_sources")),
        choices=choices,
        description=_label(raw.get("description")),
        subject_label=_label(raw.get("subject_label")),
        outcomes=tuple(
            Outcome(
                key=_text(_table(o).get("key")),
                labels=_label_of(_table(o)),
                requires=_keys(_table(o).get("requires")),
                description=_label(_table(o).get("description")),
            )
            for o in _list(raw.get("outcomes"))
        ),
        partners=_choices(raw.get("partners")),
        activity_kinds=activity_kinds,
        self_help=self_help,
        fields=_questions(raw.get("fields")),
    )
    return definition, problems


def _under(where: str, reported: Iterable[str]) -> bool:
    """Whether ``where`` is a reported path or lies inside one (the schema said it first)."""
    return any(where == r or where.startswith((r + ".", r + "[")) for r in reported)


def check_text(
    text: str, *, file: str | None = None, guards: Mapping[str, Guard] = GUARDS
) -> tuple[WorkflowDefinition | None, list[Problem]]:
    """Every problem of a definition file's text (errors and warnings), and the definition if it parses."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return None, [Problem(code="not_toml", where="(file)", message=f"not valid TOML: {exc}", file=file)]
    problems = validate(raw, DEFINITION, file)
    definition, built = build(raw, file=file, guards=guards)
    problems += built
    reported = [p.where for p in problems]
    problems += [p for p in lint_definition(definition, file=file) if not _under(p.where, reported)]
    if file is not None and definition.name and definition.version:
        expected = f"{definition.name}.v{definition.version}{SUFFIX}"
        if Path(file).name != expected:
            problems.append(
                Problem(
                    code="file_name",
                    where="(file)",
                    message=f"a file holding {definition.name} version {definition.version} "
                    f"is best named {expected}",
                    file=file,
                    severity="warning",
                )
            )
    return definition, problems


def check_file(
    path: str | Path, *, guards: Mapping[str, Guard] = GUARDS
) -> tuple[WorkflowDefinition | None, list[Problem]]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(code="unreadable", where="(file)", message=str(exc), file=str(path))]
    return check_text(text, file=str(path), guards=guards)


def lint(
    definition_or_path: WorkflowDefinition | str | Path, *, guards: Mapping[str, Guard] = GUARDS
) -> list[Problem]:
    """Every problem (errors and warnings) of a definition, or of the definition file at a path.

    A file is checked against the schema as well (unknown keys, wrong types,
    a deadline without a unit …); a Python-built definition only by lint's
    own checks. An empty list means nothing was found.
    """
    if isinstance(definition_or_path, WorkflowDefinition):
        return lint_definition(definition_or_path)
    return check_file(definition_or_path, guards=guards)[1]


def parse_definition(
    text: str, *, file: str | None = None, guards: Mapping[str, Guard] = GUARDS
) -> WorkflowDefinition:
    """The definition in ``text``; one DefinitionError listing every error otherwise."""
    definition, problems = check_text(text, file=file, guards=guards)
    if definition is None or errors(problems):
        raise definition_error(file or "<text>", errors(problems))
    return definition


def load_definition(path: str | Path, *, guards: Mapping[str, Guard] = GUARDS) -> WorkflowDefinition:
    """The definition in the file at ``path``; one DefinitionError listing every error otherwise."""
    definition, problems = check_file(path, guards=guards)
    if definition is None or errors(problems):
        raise definition_error(str(path), errors(problems))
    return definition


def load_folder(path: str | Path, *, guards: Mapping[str, Guard] = GUARDS) -> tuple[WorkflowDefinition, ...]:
    """Every ``*.toml`` definition in the folder at ``path`` (sorted by name, then version).

    All files are checked before anything is returned: one DefinitionError
    lists the problems of every broken file, and two files holding the same
    method and version are a problem too.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise definition_error(
            str(folder),
            [Problem(code="not_a_folder", where="(folder)", message="expected a folder of definition files")],
        )
    found: list[WorkflowDefinition] = []
    problems: list[Problem] = []
    seen: dict[tuple[str, int], str] = {}
    for file in sorted(folder.glob(f"*{SUFFIX}")):
        definition, file_problems = check_file(file, guards=guards)
        problems += errors(file_problems)
        if definition is None or errors(file_problems):
            continue
        key = (definition.name, definition.version)
        if key in seen:
            problems.append(
                Problem(
                    code="duplicate_version",
                    where="version",
                    message=f"{definition.name} version {definition.version} is also in {seen[key]}",
                    file=str(file),
                )
            )
            continue
        seen[key] = str(file)
        found.append(definition)
    if problems:
        raise definition_error(str(folder), problems)
    return tuple(sorted(found, key=lambda d: (d.name, d.version)))


__all__ = [
    "GUARDS",
    "build",
    "check_file",
    "check_text",
    "lint",
    "load_definition",
    "load_folder",
    "parse_definition",
]
