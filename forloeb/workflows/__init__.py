"""The two Vollsmose methods as workflow definitions, and the tools for definition files.

Version 1 of each method is built in Python (``_method.py``, ``VERSION_1``);
version 2, faithful to the secretariat's own material, ships as TOML files in
``definitions/`` (``FAITHFUL``, ``shipped()``). The engine registers both
(``BUILTIN``): new engagements start on version 2, running ones keep the
version they started with until they are migrated. docs/methods.md describes
the format and the differences. ``load_definition``/``load_folder`` read
files, ``lint`` finds mistakes, ``diff`` compares two definitions,
``mermaid`` draws one, ``installed`` adds a secretariat's own folder.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from forloeb.engine import WorkflowDefinition

from ._diagram import mermaid
from ._diff import Change, diff
from ._export import definition_dict
from ._lint import lint_definition, lint_migration, migration_map
from ._loader import GUARDS, check_file, lint, load_definition, load_folder, parse_definition
from ._problems import Problem, definition_error, problems_of
from ._schema import json_schema
from .civil_society import CIVIL_SOCIETY
from .individual_course import INDIVIDUAL_COURSE

# Version 1 of both methods, built in Python: what engagements started before
# the definition files were started with.
VERSION_1 = (INDIVIDUAL_COURSE, CIVIL_SOCIETY)

# The folder of definition files shipped in the package.
DEFINITIONS = Path(__file__).parent / "definitions"

# A folder of a secretariat's own definition files, loaded beside the shipped ones.
WORKFLOWS_ENV = "FORLOEB_WORKFLOWS"


@cache
def shipped() -> tuple[WorkflowDefinition, ...]:
    """Every definition file shipped in the package (loaded once; sorted by name, version)."""
    return load_folder(DEFINITIONS)


def faithful() -> tuple[WorkflowDefinition, ...]:
    """Version 2 of both methods: the definitions faithful to the secretariat's material."""
    return tuple(d for d in shipped() if d.version == 2)


def builtin() -> tuple[WorkflowDefinition, ...]:
    """What ``Engine.open`` registers unless told otherwise: versions 1 and 2 of both methods."""
    return (*VERSION_1, *faithful())


def installed(folder: str | os.PathLike[str] | None = None) -> tuple[WorkflowDefinition, ...]:
    """The built-in definitions and those of a secretariat's own ``folder``
    (default: ``FORLOEB_WORKFLOWS``; neither: the built-in ones alone).

    Every file of the folder is linted as it is loaded: a broken file, or a
    file holding a method and version forloeb already ships, is one
    DefinitionError that lists every problem.
    """
    chosen = os.fspath(folder) if folder is not None else os.environ.get(WORKFLOWS_ENV) or None
    known = builtin()
    if chosen is None:
        return known
    own = load_folder(chosen)
    taken = {(d.name, d.version) for d in known}
    clashes = [
        Problem(
            code="duplicate_version",
            where="version",
            message=f"{d.name} version {d.version} ships with forloeb: give yours another version "
            f"(e.g. {max(v for n, v in taken if n == d.name) + 1})",
            file=chosen,
        )
        for d in own
        if (d.name, d.version) in taken
    ]
    if clashes:
        raise definition_error(chosen, clashes)
    return (*known, *own)


def __getattr__(name: str) -> tuple[WorkflowDefinition, ...]:
    # BUILTIN and FAITHFUL read files: only when asked for, so importing
    # forloeb.workflows (for version 1 or the loader) stays cheap.
    if name == "FAITHFUL":
        return faithful()
    if name == "BUILTIN":
        return builtin()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BUILTIN",
    "CIVIL_SOCIETY",
    "DEFINITIONS",
    "FAITHFUL",
    "GUARDS",
    "INDIVIDUAL_COURSE",
    "VERSION_1",
    "WORKFLOWS_ENV",
    "Change",
    "Problem",
    "builtin",
    "check_file",
    "definition_dict",
    "diff",
    "faithful",
    "installed",
    "json_schema",
    "lint",
    "lint_definition",
    "lint_migration",
    "load_definition",
    "load_folder",
    "mermaid",
    "migration_map",
    "parse_definition",
    "problems_of",
    "shipped",
]
