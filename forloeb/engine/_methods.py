"""The methods an engine runs: which definitions it loads, the partner register, and
moving running engagements between versions (``engine.methods``).

By default an engine registers versions 1 and 2 of both methods
(``forloeb.workflows.builtin``) and the definition files of a secretariat's
own folder (``FORLOEB_WORKFLOWS`` or ``[workflows] folder`` in the
configuration), linted as they load: a broken file is one DefinitionError at
start. The engine names the loader by a string, so the engine package never
imports ``forloeb.workflows`` (which builds on it).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterable, Mapping

from ._consent import DEFAULT_RECEIVERS
from ._definition import Label, WorkflowDefinition
from ._kernel import Kernel
from ._migration import DEFAULT_BATCH, MigrationReport, migrate
from ._types import Actor

# ``module:function``: called with the folder of a secretariat's own definitions (or None).
DEFAULT_WORKFLOWS = "forloeb.workflows:installed"


def load_workflows(
    spec: str = DEFAULT_WORKFLOWS, folder: str | os.PathLike[str] | None = None
) -> list[WorkflowDefinition]:
    """The definitions ``spec`` gives for ``folder`` (None: ``FORLOEB_WORKFLOWS``, if set)."""
    module, _, attr = spec.partition(":")
    load: Callable[[str | os.PathLike[str] | None], Iterable[WorkflowDefinition]] = getattr(
        importlib.import_module(module), attr
    )
    return list(load(folder))


def receivers_with_partners(definitions: Iterable[WorkflowDefinition]) -> dict[str, Label]:
    """The register a handover or a consent may name: the engine's receivers and
    every method's partners (a method's register is where its files keep them)."""
    register: dict[str, Label] = dict(DEFAULT_RECEIVERS)
    for definition in definitions:
        for partner in definition.partners:
            register.setdefault(partner.key, partner.labels)
    return register


class Methods:
    """The methods (workflow definitions) of an engine, and their versions: ``engine.methods``.

    Apart from the facade because these are operations on a method as a whole,
    not on one engagement (as ``engine.audit`` groups the audit's).
    """

    def __init__(self, kernel: Kernel) -> None:
        self._kernel = kernel

    def versions(self, name: str) -> tuple[int, ...]:
        """The registered versions of method ``name``, oldest first (UnknownWorkflow if none)."""
        latest = self._kernel.registry.compiled(name).definition.version
        return tuple(v for v in range(1, latest + 1) if self._kernel.registry.find(name, v) is not None)

    def migrate(
        self,
        name: str,
        from_version: int,
        to_version: int,
        mapping: Mapping[str, str] | None = None,
        *,
        actor: Actor,
        dry_run: bool = False,
        batch: int = DEFAULT_BATCH,
        progress: Callable[[int], None] | None = None,
    ) -> MigrationReport:
        """Move every running engagement of ``name`` at ``from_version`` to ``to_version``.

        Supervisors only. ``mapping`` maps stages of the old version to stages
        of the new (a stage that keeps its key needs no entry); a stage a
        running engagement may be in that the new version lacks, unmapped, or
        mapped to a stage of another kind, refuses the whole migration before
        anything is written. Each engagement gets one ``migration`` event on
        its chain (who, from which version and stage to which); closed ones
        stay where they ended. ``dry_run``: count what would move, write
        nothing. ``progress(moved)`` is called after each batch.
        """
        return migrate(
            self._kernel,
            name,
            from_version,
            to_version,
            mapping,
            actor=actor,
            dry_run=dry_run,
            batch=batch,
            progress=progress,
        )


__all__ = ["DEFAULT_WORKFLOWS", "Methods", "load_workflows", "receivers_with_partners"]
