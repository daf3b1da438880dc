"""The roles staff act in, and the two return destinations of a move: a leaf.

Apart from the definition model so that what the CLI's help and option
choices need (the role names) imports nothing else of the engine.
"""

from __future__ import annotations

WORKER = "worker"
SUPERVISOR = "supervisor"
AUDITOR = "auditor"
ROLES: tuple[str, ...] = (WORKER, SUPERVISOR, AUDITOR)
STAFF: frozenset[str] = frozenset({WORKER, SUPERVISOR})

# A transition whose destination is one of these goes back to where the
# engagement came from (resume after pause, reopen after close).
RETURN_TO_PAUSED = "@paused_from"
RETURN_TO_CLOSED = "@closed_from"
