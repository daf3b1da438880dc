"""The two Vollsmose methods as workflow definitions, and the tools for definition files.

Version 1 of each method is built in Python (``_method.py``) and is what the
engine registers by default (``BUILTIN``). Version 2, faithful to the
secretariat's own material, ships as TOML files in ``definitions/``
(``FAITHFUL``, ``shipped()``); docs/methods.md describes the format and the
differences. ``load_definition``/``load_folder`` read files, ``lint`` finds
mistakes, ``diff`` compares two definitions, ``mermaid`` draws one.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from forloeb.engine import WorkflowDefinition

from ._diagram import mermaid
from ._diff import Change, diff
from ._lint import lint_definition, lint_migration, migration_map
from ._loader import GUARDS, check_file, lint, load_definition, load_folder, parse_definition
from ._problems import Problem, problems_of
from ._schema import json_schema
from .civil_society import CIVIL_SOCIETY
from .individual_course import INDIVIDUAL_COURSE

# What ``Engine.open`` registers unless told otherwise: version 1, built in
# Python. Phase 2 of the definition-files work switches this to the files.
BUILTIN = (INDIVIDUAL_COURSE, CIVIL_SOCIETY)

# The folder of definition files shipped in the package.
DEFINITIONS = Path(__file__).parent / "definitions"


@cache
def shipped() -> tuple[WorkflowDefinition, ...]:
    """Every definition file shipped in the package (loaded once; sorted by name, version)."""
    return load_folder(DEFINITIONS)


def faithful() -> tuple[WorkflowDefinition, ...]:
    """Version 2 of both methods: the definitions faithful to the secretariat's material."""
    return tuple(d for d in shipped() if d.version == 2)


def __getattr__(name: str) -> object:
    # FAITHFUL reads files: only when asked for, so importing forloeb stays cheap.
    if name == "FAITHFUL":
        return faithful()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BUILTIN",
    "CIVIL_SOCIETY",
    "DEFINITIONS",
    "FAITHFUL",
    "GUARDS",
    "INDIVIDUAL_COURSE",
    "Change",
    "Problem",
    "check_file",
    "diff",
    "faithful",
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
