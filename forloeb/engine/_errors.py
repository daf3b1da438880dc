"""The one exception tree of forloeb.

Every error carries the data it is about (engagement id, state, trigger, …) as
attributes, builds its message in ``__init__`` and can render it in Danish or
English with :meth:`ForloebError.message`. ``str(error)`` is the English text,
so logs and tracebacks read the same everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from ._i18n import DEFAULT_LANG, Lang, action_label, action_phrase, field_label, render
from ._secrets import mask_secrets

if TYPE_CHECKING:
    from ..persistence.base import StoreError
    from ._definition import Label, Labels


def _trigger_text(key: str, label: Label | None, lang: Lang) -> str:
    """A trigger (or action) in a message: its label in Danish, key and label in English.

    Without a label from the workflow, the engine's own actions (start,
    record_activity …) have built-in labels; anything else is shown by its key.
    """
    text = label.get(lang) if label is not None else action_label(key, lang)
    if lang == "da":
        return f"»{text or key}«"
    return f"{key!r} ({text})" if text and text != key else repr(key)


def _stage_text(key: str, label: Label | None, lang: Lang) -> str:
    """A stage in a message: its label (the key when there is none)."""
    text = label.get(lang) if label is not None else key
    return f"»{text}«" if lang == "da" else f"'{text}'"


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


class OutboxMessageNotFound(ForloebError, LookupError):
    code = "outbox_not_found"

    def __init__(self, outbox_id: object) -> None:
        self.outbox_id = outbox_id
        super().__init__(outbox_id=outbox_id)


class UnknownTrigger(ForloebError, LookupError):
    """The trigger is not one of the workflow's; the known ones are listed by key
    (what a caller types), the workflow by its label."""

    code = "unknown_trigger"

    def __init__(
        self, workflow: str, trigger: str, known: Iterable[str], *, labels: Labels | None = None
    ) -> None:
        self.workflow = workflow
        self.trigger = trigger
        self.known = tuple(sorted(known))
        self.workflow_labels = labels.workflow if labels is not None else None
        super().__init__(workflow=workflow, trigger=trigger, known=", ".join(self.known))

    def _params(self, lang: Lang) -> dict[str, object]:
        params = dict(self.params)
        label = self.workflow_labels
        if label is None:
            params["workflow"] = repr(self.workflow)
        elif lang == "da":
            params["workflow"] = f"»{label.da}«"
        else:
            params["workflow"] = f"{self.workflow!r} ({label.en})"
        return params


class TransitionNotAllowed(ForloebError):
    """The trigger exists but does not lead anywhere from the current state."""

    code = "transition_not_allowed"

    def __init__(
        self,
        engagement_id: int | None,
        state: str,
        trigger: str,
        *,
        labels: Labels | None = None,
        state_labels: Label | None = None,
        trigger_labels: Label | None = None,
    ) -> None:
        """``state`` and ``trigger`` are keys (kept as attributes, for machines);
        the message shows their labels, from ``labels`` (the workflow's lookup)
        or given one by one, and falls back to the keys."""
        self.engagement_id = engagement_id
        self.state = state
        self.trigger = trigger
        self.labels = labels
        if state_labels is None and labels is not None:
            state_labels = labels.stage(state)
        if trigger_labels is None and labels is not None:
            trigger_labels = labels.trigger(trigger, state)
        self.state_labels = state_labels
        self.trigger_labels = trigger_labels
        super().__init__(engagement_id=engagement_id, state=state, trigger=trigger)

    def _params(self, lang: Lang) -> dict[str, object]:
        params = dict(self.params)
        if self.engagement_id is None:  # refused at start: there is no id yet
            params["engagement_id"] = "ny" if lang == "da" else "new"
        params["state"] = _stage_text(self.state, self.state_labels, lang)
        params["trigger"] = _trigger_text(self.trigger, self.trigger_labels, lang)
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
        labels: Labels | None = None,
        state_labels: Label | None = None,
        trigger_labels: Label | None = None,
    ) -> None:
        self.missing = tuple(missing)
        self.invalid = tuple((k, v, tuple(a)) for k, v, a in invalid)
        super().__init__(
            engagement_id,
            state,
            trigger,
            labels=labels,
            state_labels=state_labels,
            trigger_labels=trigger_labels,
        )

    def _allowed(self, key: str, allowed: Sequence[str], lang: Lang) -> str:
        """The allowed values: keys, each after its label when the workflow has one."""
        texts: list[str] = []
        for value in allowed:
            label = self.labels.choice(key, value) if self.labels is not None else None
            text = label.get(lang) if label is not None else None
            texts.append(f"{text} ({value})" if text and text != value else str(value))
        return ", ".join(texts)

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
                    {
                        "field": field_label(key, lang),
                        "value": value,
                        "allowed": self._allowed(key, allowed, lang),
                    },
                )
            )
        return " ".join(parts)


class PermissionDenied(ForloebError):
    code = "permission_denied"

    def __init__(
        self,
        actor: str,
        roles: Iterable[str],
        action: str,
        required: Iterable[str],
        *,
        action_labels: Label | None = None,
    ) -> None:
        """``action`` is a key (a trigger) or a phrase; ``action_labels`` its label, if any."""
        self.actor = actor
        self.roles = tuple(sorted(roles))
        self.action = action
        self.required = tuple(sorted(required))
        self.action_labels = action_labels
        super().__init__(
            actor=actor,
            roles=", ".join(self.roles) or "-",
            action=action,
            required=", ".join(self.required) or "-",
        )

    def message(self, lang: Lang = DEFAULT_LANG) -> str:
        if self.action_labels is None and action_label(self.action, lang) is None:
            # A phrase ("query the audit log"), in the message's language.
            phrase = action_phrase(self.action, lang)
            return render("permission_denied", lang, {**self.params, "action": phrase})
        params = {**self.params, "action": _trigger_text(self.action, self.action_labels, lang)}
        return render("permission_denied_action", lang, params)


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


class AuditKeyError(ForloebError):
    """The process's audit key does not fit the database (issue 12, M7): a keyed
    database and no key, another key, or a key for an unkeyed database.
    ``kind``: "missing", "mismatch" or "unexpected"; ``action``: "write" (nothing
    was written) or "verify" (the chains cannot be verified). Never names the key."""

    http_status = 503

    def __init__(self, kind: str, action: str = "write") -> None:
        self.kind = kind
        self.action = action
        self.code = f"audit_key_{kind}"
        super().__init__(kind=kind, action=action)

    def _params(self, lang: Lang) -> dict[str, object]:
        consequence = {
            ("write", "da"): "Intet er skrevet.",
            ("write", "en"): "Nothing was written.",
            ("verify", "da"): "Kæderne kan ikke kontrolleres uden den rette nøgle.",
            ("verify", "en"): "The chains cannot be verified without the right key.",
        }[(self.action, lang)]
        return {"consequence": consequence}


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


class DatabaseError(ForloebError):
    """The database could not do what was asked, for a reason outside the data
    (gone, busy, full, read-only). Nothing was written: the command's
    transaction was rolled back whole. ``url`` (password hidden) and the
    driver's ``detail`` are attributes; the CLI prints the message on one line.
    ``http_status`` is what an HTTP API answers with."""

    code = "database_unavailable"
    http_status = 503

    def __init__(self, url: str, detail: str) -> None:
        # A password in the URL's query, or one a driver repeats: never shown (L3).
        url, detail = mask_secrets(url), mask_secrets(detail)
        self.url = url
        self.detail = detail
        super().__init__(url=url, detail=detail)

    def _params(self, lang: Lang) -> dict[str, object]:
        if lang != "da":
            return dict(self.params)
        # The drivers' and the store's common texts in Danish; anything else as the driver said it.
        detail = self.detail
        for english, danish in _OWN_DETAILS_DA:  # forloeb's own words: translated
            detail = detail.replace(english, danish)
        for english, danish in _DETAILS_DA:
            if english in detail:
                # The driver's own words stay beside, quoted: what an operator searches for.
                detail = f"{danish}: »{detail}«"
                break
        return {**self.params, "detail": detail}

    def message(self, lang: Lang = DEFAULT_LANG) -> str:
        own = _DATABASE_TEXTS.get(self.code)
        if own is None:
            return super().message(lang)
        return own[lang].format(**self._params(lang))


class DatabaseUnavailable(DatabaseError):
    """The database cannot be reached (or opened)."""

    code = "database_unavailable"


class DatabaseBusy(DatabaseError):
    """Another writer held the database longer than the busy timeout (SQLite),
    or a statement or lock wait ran past its timeout (PostgreSQL): try again."""

    code = "database_busy"


class StorageFull(DatabaseError):
    """No room to write: the disk (or the database's size limit) is full."""

    code = "storage_full"
    http_status = 507


class DatabaseReadOnly(DatabaseError):
    """The database can only be read: a read-only file, folder or disk, or a
    read-only server."""

    code = "database_read_only"


class DatabaseRejected(DatabaseError):
    """A value the database cannot hold or compare: a whole number beyond its
    integer range (an id of 20 digits), a NUL character in text (PostgreSQL),
    text that is not valid Unicode. About the input, so an HTTP API answers 422."""

    code = "database_rejected"
    http_status = 422


# The texts of the database errors added with the store's faults (issue 9).
# Kept here, beside the classes, until the engine's text catalog takes them.
_DATABASE_TEXTS: dict[str, dict[Lang, str]] = {
    "database_busy": {
        "da": (
            "Databasen {url} er optaget og nåede ikke at svare; intet er gemt. Prøv igen om lidt. ({detail})"
        ),
        "en": (
            "The database {url} is busy and did not answer in time; nothing was saved. "
            "Try again shortly. ({detail})"
        ),
    },
    "storage_full": {
        "da": (
            "Der er ikke mere plads til databasen {url}; intet er gemt. "
            "Frigør plads på disken, og prøv igen. ({detail})"
        ),
        "en": (
            "The database {url} is out of space; nothing was saved. Free disk space and try again. ({detail})"
        ),
    },
    "database_rejected": {
        "da": (
            "Databasen {url} kan ikke gemme eller søge efter en af værdierne (et tal uden for "
            "databasens talområde eller tegn, den ikke kan rumme); intet er gemt. ({detail})"
        ),
        "en": (
            "The database {url} cannot store or look up one of the values (a number beyond its "
            "integer range, or characters it cannot hold); nothing was saved. ({detail})"
        ),
    },
    "database_read_only": {
        "da": (
            "Databasen {url} kan kun læses; intet er gemt. Tjek rettighederne til filen og mappen, "
            "og om disken er monteret skrivebeskyttet. ({detail})"
        ),
        "en": (
            "The database {url} is read-only; nothing was saved. Check the permissions of the file "
            "and its folder, and whether the disk is mounted read-only. ({detail})"
        ),
    },
}

# What SQLite, psycopg and the store say most often, in Danish (issue 12, L8).
_DETAILS_DA: tuple[tuple[str, str], ...] = (
    ("file is not a database", "filen er ikke en database"),
    ("unable to open database file", "databasefilen kan ikke åbnes"),
    ("database is locked", "databasen er låst af en anden"),
    ("attempt to write a readonly database", "databasen kan kun læses"),
    ("database or disk is full", "databasen eller disken er fuld"),
    ("Python int too large to convert to SQLite INTEGER", "et tal er for stort til databasen"),
    ("integer out of range", "et tal er uden for databasens talområde"),
    ("PostgreSQL text fields cannot contain NUL (0x00) bytes", "tekst kan ikke indeholde NUL-tegn (0x00)"),
)

# The store's own texts (persistence/_sql.py), in Danish.
_OWN_DETAILS_DA: tuple[tuple[str, str], ...] = (
    ("not a usable database URL (it cannot be parsed)", "ikke en brugbar database-URL (den kan ikke læses)"),
    (
        "not a usable database URL: unknown database or driver",
        "ikke en brugbar database-URL: ukendt database eller driver",
    ),
)

# StoreFault.reason -> the error it is reported as (see database_error).
_BY_REASON: dict[str, type[DatabaseError]] = {
    "unavailable": DatabaseUnavailable,
    "busy": DatabaseBusy,
    "full": StorageFull,
    "read_only": DatabaseReadOnly,
    "rejected": DatabaseRejected,
}


def database_error(url: str, exc: StoreError) -> DatabaseError:
    """The :class:`DatabaseError` a store exception stands for: raise it ``from exc``.

    ``url`` is the store's URL as it may be shown (``store.url`` already hides
    the password). Dispatches on the fault's ``reason``, so this leaf needs no
    import of ``persistence`` at run time; a store error without one (not a
    fault) is reported as unavailable.
    """
    kind = _BY_REASON.get(getattr(exc, "reason", "unavailable"), DatabaseUnavailable)
    return kind(url, str(exc))
