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


class DefinitionFileError(DefinitionError):
    """A definition file (or folder of files) is broken: every problem found, in one error.

    ``problems`` holds them all (errors only; warnings do not raise), each
    naming the file, the key path and what was expected.
    """

    def __init__(self, workflow: str, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        detail = f"{count} problem{'s' if count != 1 else ''}:\n{lines}"
        super().__init__(workflow, detail)


__all__ = ["DefinitionFileError", "Problem", "Severity", "errors"]
