"""The workflow registry: every (workflow, version) the engine knows, compiled once.

Features look workflows up here (a fire by the engagement's own version, the
sweep tolerating a version this process does not know, erasure asking which
stages are final) instead of reaching into the facade.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from ._definition import WorkflowDefinition
from ._errors import UnknownWorkflow
from ._machine import CompiledWorkflow, compile_workflow


class Registry:
    """Compiled workflows by name and version. Registration is at start-up; reads are lock-free."""

    def __init__(self) -> None:
        self._workflows: dict[str, dict[int, CompiledWorkflow]] = {}
        self._latest: dict[str, int] = {}

    def register(self, definition: WorkflowDefinition) -> CompiledWorkflow:
        """Check and compile ``definition`` (DefinitionError on a mistake) and add it."""
        compiled = compile_workflow(definition)
        self._workflows.setdefault(definition.name, {})[definition.version] = compiled
        self._latest[definition.name] = max(self._latest.get(definition.name, 0), definition.version)
        return compiled

    def compiled(self, name: str, version: int | None = None) -> CompiledWorkflow:
        """The workflow at ``version`` (default: the latest), or UnknownWorkflow."""
        versions = self._workflows.get(name)
        if versions is None:
            raise UnknownWorkflow(name, self._workflows)
        try:
            return versions[version if version is not None else self._latest[name]]
        except KeyError:
            raise UnknownWorkflow(f"{name} v{version}", self._workflows) from None

    def find(self, name: str, version: int) -> CompiledWorkflow | None:
        """The workflow at exactly ``version``, or None (for work another process may know)."""
        return self._workflows.get(name, {}).get(version)

    def stage_kinds(self, name: str, version: int) -> Mapping[str, str] | None:
        """Stage -> kind of the workflow at ``version``, or None when unknown (verify's replay)."""
        found = self.find(name, version)
        return found.kind_of if found is not None else None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._workflows))

    def __iter__(self) -> Iterator[CompiledWorkflow]:
        """Every compiled (workflow, version)."""
        for versions in self._workflows.values():
            yield from versions.values()

    def final_stages(self) -> dict[tuple[str, int], frozenset[str]]:
        """Per (workflow, version): its final stages (closed, handed over …)."""
        return {
            (c.definition.name, c.definition.version): frozenset(
                k for k, kind in c.kind_of.items() if kind == "final"
            )
            for c in self
        }
