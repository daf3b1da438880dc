"""The one exception tree of forloeb.

Every error carries the data it is about (engagement id, state, trigger, …) as
attributes, builds its message in ``__init__`` and can render it in Danish or
English with :meth:`ForloebError.message`. ``str(error)`` is the English text,
so logs and tracebacks read the same everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ._i18n import DEFAULT_LANG, Lang, field_label, render


class ForloebError(Exception):
    """Root of every error raised by forloeb."""

    code: str = "invalid_data"

    def __init__(self, **params: object) -> None:
        self.params = params
        super().__init__(self.message(DEFAULT_LANG))

    def _params(self, lang: Lang) -> dict[str, object]:
        return dict(self.params)

    def message(self, lang: Lang = DEFAULT_LANG) -> str:
        """The message in ``lang`` ("da" or "en")."""
        return render(self.code, lang, self._params(lang))


class DefinitionError(ForloebError):
    """A workflow definition is inconsistent (found when it is registered)."""

    code = "definition_error"

    def __init__(self, workflow: str, detail: str) -> None:
        self.workflow = workflow
        self.detail = detail
        super().__init__(workflow=workflow, detail=detail)


class UnknownWorkflow(ForloebError, LookupError):
    code = "unknown_workflow"

    def __init__(self, workflow: str, known: Iterable[str]) -> None:
        self.workflow = workflow
        self.known = tuple(sorted(known))
        super().__init__(workflow=workflow, known=", ".join(self.known) or "-")


class EngagementNotFound(ForloebError, LookupError):
    code = "engagement_not_found"

    def __init__(self, engagement_id: object) -> None:
        self.engagement_id = engagement_id
        super().__init__(engagement_id=engagement_id)


class ReminderNotFound(ForloebError, LookupError):
    code = "reminder_not_found"

    def __init__(self, reminder_id: object) -> None:
        self.reminder_id = reminder_id
        super().__init__(reminder_id=reminder_id)


class UnknownTrigger(ForloebError, LookupError):
    code = "unknown_trigger"

    def __init__(self, workflow: str, trigger: str, known: Iterable[str]) -> None:
        self.workflow = workflow
        self.trigger = trigger
        self.known = tuple(sorted(known))
        super().__init__(workflow=workflow, trigger=trigger, known=", ".join(self.known))


class TransitionNotAllowed(ForloebError):
    """The trigger exists but does not lead anywhere from the current state."""

    code = "transition_not_allowed"

    def __init__(self, engagement_id: int | None, state: str, trigger: str) -> None:
        self.engagement_id = engagement_id
        self.state = state
        self.trigger = trigger
        super().__init__(engagement_id=engagement_id, state=state, trigger=trigger)

    def _params(self, lang: Lang) -> dict[str, object]:
        params = dict(self.params)
        if self.engagement_id is None:  # refused at start: there is no id yet
            params["engagement_id"] = "ny" if lang == "da" else "new"
        return params


class GuardFailed(TransitionNotAllowed):
    """A guard refused the transition: ``missing`` data keys or ``invalid`` values.

    A subclass of :class:`TransitionNotAllowed` because the move is not allowed
    *now*; the message says what to supply to make it allowed.
    """

    def __init__(
        self,
        engagement_id: int | None,
        state: str,
        trigger: str,
        *,
        missing: Sequence[str] = (),
        invalid: Sequence[tuple[str, object, Sequence[str]]] = (),
    ) -> None:
        self.missing = tuple(missing)
        self.invalid = tuple((k, v, tuple(a)) for k, v, a in invalid)
        super().__init__(engagement_id, state, trigger)

    def message(self, lang: Lang = DEFAULT_LANG) -> str:
        parts: list[str] = []
        if self.missing:
            parts.append(
                render(
                    "guard_missing",
                    lang,
                    {
                        **self._params(lang),
                        "missing": ", ".join(field_label(k, lang) for k in self.missing),
                    },
                )
            )
        for key, value, allowed in self.invalid:
            parts.append(
                render(
                    "guard_invalid",
                    lang,
                    {"field": field_label(key, lang), "value": value, "allowed": ", ".join(allowed)},
                )
            )
        return " ".join(parts)


class PermissionDenied(ForloebError):
    code = "permission_denied"

    def __init__(self, actor: str, roles: Iterable[str], action: str, required: Iterable[str]) -> None:
        self.actor = actor
        self.roles = tuple(sorted(roles))
        self.action = action
        self.required = tuple(sorted(required))
        super().__init__(
            actor=actor,
            roles=", ".join(self.roles) or "-",
            action=action,
            required=", ".join(self.required) or "-",
        )


class ConcurrencyError(ForloebError):
    """Someone else changed the engagement first (optimistic concurrency)."""

    code = "concurrency"

    def __init__(self, engagement_id: int | None, expected: int | None, actual: int | None) -> None:
        self.engagement_id = engagement_id
        self.expected = expected
        self.actual = actual
        super().__init__(engagement_id=engagement_id, expected=expected, actual=actual)

    def _params(self, lang: Lang) -> dict[str, object]:
        unknown = "ukendt" if lang == "da" else "unknown"
        return {k: unknown if v is None else v for k, v in self.params.items()}


class InvalidData(ForloebError, ValueError):
    code = "invalid_data"

    def __init__(self, detail: str, *, detail_da: str | None = None) -> None:
        self.detail = detail
        self.detail_da = detail_da or detail
        super().__init__(detail=detail)

    def _params(self, lang: Lang) -> dict[str, object]:
        return {"detail": self.detail_da if lang == "da" else self.detail}


class IdempotencyConflict(InvalidData):
    """An idempotency key was reused for a different command."""

    code = "idempotency_conflict"

    def __init__(self, key: str) -> None:
        self.key = key
        ForloebError.__init__(self, key=key)
        self.detail = self.detail_da = str(self)

    def _params(self, lang: Lang) -> dict[str, object]:
        return {"key": self.key}


class SchemaOutOfDate(ForloebError):
    code = "schema_out_of_date"

    def __init__(self, current: str | None, required: str) -> None:
        self.current = current
        self.required = required
        # A database migrated by a newer release: `forloeb init` cannot help,
        # and must not try (it would fail on the unknown revision).
        self.newer = is_newer_revision(current, required)
        if self.newer:
            self.code = "schema_newer"
        super().__init__(current=current, required=required)

    def _params(self, lang: Lang) -> dict[str, object]:
        empty = "tom" if lang == "da" else "empty"
        return {"current": self.current or empty, "required": self.required}


def is_newer_revision(current: str | None, known: str) -> bool:
    """Revisions are zero-padded numbers ("0001"): anything unknown counts as newer."""
    if current is None:
        return False
    if current.isdigit() and known.isdigit():
        return int(current) > int(known)
    return current != known


class DatabaseUnavailable(ForloebError):
    code = "database_unavailable"

    def __init__(self, url: str, detail: str) -> None:
        self.url = url
        self.detail = detail
        super().__init__(url=url, detail=detail)
