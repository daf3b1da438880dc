"""What lint and the loader report: one problem per mistake, all of them at once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from forloeb.engine import DefinitionError

Severity = Literal["error", "warning"]


@dataclass(frozen=True, kw_only=True)
class Problem:
    """One mistake in a definition.

    ``where`` is the key path inside the file or definition
    (``stages[first_contact].questions[who_are_you].kind``); ``message`` says
    what is wrong and what was expected. ``code`` is stable, for tests and
    tools (``unknown_stage``, ``unreachable_stage`` …). Warnings do not stop a
    definition from loading; errors do.
    """

    code: str
    where: str
    message: str
    file: str | None = None
    severity: Severity = "error"

    def __str__(self) -> str:
        prefix = f"{self.file}: " if self.file else ""
        tag = "" if self.severity == "error" else f" ({self.severity})"
        return f"{prefix}{self.where}: {self.message}{tag}"

    def as_dict(self) -> dict[str, str | None]:
        return {
            "code": self.code,
            "file": self.file,
            "where": self.where,
            "message": self.message,
            "severity": self.severity,
        }


def errors(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


# The attribute of a DefinitionError that holds a loader's problems.
_PROBLEMS = "problems"


def definition_error(workflow: str, problems: Iterable[Problem]) -> DefinitionError:
    """One DefinitionError listing every problem, each with file, key path and what was expected.

    The problems ride on the error (``problems_of(error)``). They are attached
    rather than declared by a subclass because forloeb keeps one exception
    tree, exported from ``forloeb`` (tests/test_public_api.py), in a module
    this package does not own; ``DefinitionError`` taking ``problems`` itself
    is the better home (docs/methods.md, "What phase 1 needs from others").
    """
    found = tuple(problems)
    count = len(found)
    lines = "\n".join(f"  - {p}" for p in found)
    error = DefinitionError(workflow, f"{count} problem{'s' if count != 1 else ''}:\n{lines}")
    setattr(error, _PROBLEMS, found)  # see the docstring
    return error


def problems_of(error: DefinitionError) -> tuple[Problem, ...]:
    """The problems a loader's DefinitionError lists (empty for one raised elsewhere)."""
    found = getattr(error, _PROBLEMS, ())
    return tuple(p for p in found if isinstance(p, Problem))


__all__ = ["Problem", "Severity", "definition_error", "errors", "problems_of"]
