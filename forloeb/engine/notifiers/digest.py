"""A daily digest: one message listing a person's open reminders.

Staff who own many engagements prefer one mail a morning to one per reminder.
The message id is derived from channel, recipient and the local date, so the
outbox (unique on ``message_id``) takes a day's digest once, however many
sweeps or nodes build it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, tzinfo
from typing import Any, Final

from .._calendar import COPENHAGEN
from .._errors import InvalidData
from .._i18n import Lang
from .base import Notification

# Fixed forever: changing it would change every digest id and resend a day's digest.
_NAMESPACE: Final = uuid.uuid5(uuid.NAMESPACE_URL, "urn:forloeb:digest")

_TEXTS: Final[Mapping[Lang, Mapping[str, str]]] = {
    "da": {
        "subject_one": "Påmindelser {day}: 1 åben",
        "subject_many": "Påmindelser {day}: {count} åbne",
        "intro": "Åbne påmindelser pr. {day}:",
        "none": "Ingen åbne påmindelser pr. {day}.",
        "line": "- Forløb {engagement_id}: {stage}, niveau {level}, frist {due}",
        "no_due": "ingen",
        "outro": "Venlig hilsen\nforloeb",
    },
    "en": {
        "subject_one": "Reminders {day}: 1 open",
        "subject_many": "Reminders {day}: {count} open",
        "intro": "Open reminders as of {day}:",
        "none": "No open reminders as of {day}.",
        "line": "- Engagement {engagement_id}: {stage}, level {level}, due {due}",
        "no_due": "none",
        "outro": "Kind regards\nforloeb",
    },
}


def digest_message_id(recipient: str, day: date, *, channel: str = "email") -> str:
    """The stable id of ``recipient``'s digest for ``day`` (a UUID, 36 characters).

    Case and surrounding space of the address do not count: ``Hanne@…`` and
    ``hanne@…`` are one mailbox and get one digest.
    """
    return str(uuid.uuid5(_NAMESPACE, f"{channel}\x00{recipient.strip().lower()}\x00{day.isoformat()}"))


def _label(reminder: Mapping[str, Any], lang: Lang) -> str:
    """The stage as people read it: a given label (text, {"da", "en"} or a Label), else the key."""
    label = reminder.get("label", reminder.get("stage_label"))
    if isinstance(label, str) and label:
        return label
    if isinstance(label, Mapping) and label.get(lang):
        return str(label[lang])
    getter = getattr(label, "get", None)  # forloeb.engine.Label has get(lang)
    if label is not None and callable(getter):
        text = getter(lang)
        if text:
            return str(text)
    return str(reminder.get("stage", "?"))


def _due(value: object, lang: Lang, tz: tzinfo) -> str | None:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)  # stored times are UTC (UTCDateTime columns)
        local = value.astimezone(tz)
        return local.strftime("%d.%m.%Y kl. %H.%M" if lang == "da" else "%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y" if lang == "da" else "%Y-%m-%d")
    return str(value) if value else None


def build_digest(
    recipient: str,
    reminders: Sequence[Mapping[str, Any]],
    lang: Lang = "da",
    *,
    channel: str = "email",
    now: datetime | None = None,
    tz: tzinfo = COPENHAGEN,
) -> Notification:
    """One notification listing ``reminders`` for ``recipient``, in Danish or English.

    Each reminder is a mapping with ``engagement_id`` and ``stage``, and
    optionally ``label`` (text, ``{"da", "en"}`` or a Label), ``level``,
    ``due_at`` (datetime or text) and ``workflow``. They are listed in the
    order given (the sweep's query orders them). The day is ``now``'s date in
    ``tz`` — Danish time, so a digest built at 00:30 belongs to that day.

    Nothing about the resident is included (only the engagement number): an
    e-mail leaves the system and may be forwarded.
    """
    if lang not in _TEXTS:
        raise InvalidData(f"unknown language {lang!r}", detail_da=f"ukendt sprog {lang!r}")
    moment = now if now is not None else datetime.now(UTC)
    if moment.tzinfo is None:
        raise InvalidData("now must be timezone-aware", detail_da="now skal have en tidszone")
    day = moment.astimezone(tz).date()
    texts = _TEXTS[lang]
    day_text = day.strftime("%d.%m.%Y" if lang == "da" else "%Y-%m-%d")

    lines: list[str] = []
    items: list[dict[str, Any]] = []
    for index, reminder in enumerate(reminders):
        if reminder.get("engagement_id") is None:
            raise InvalidData(
                f"reminders[{index}] has no engagement_id",
                detail_da=f"reminders[{index}] mangler engagement_id",
            )
        stage = _label(reminder, lang)
        level = reminder.get("level")
        due = _due(reminder.get("due_at"), lang, tz)
        lines.append(
            texts["line"].format(
                engagement_id=reminder["engagement_id"],
                stage=stage,
                level="-" if level is None else level,
                due=due or texts["no_due"],
            )
        )
        raw_due = reminder.get("due_at")
        items.append(
            {
                "engagement_id": reminder["engagement_id"],
                "workflow": reminder.get("workflow"),
                "stage": reminder.get("stage"),
                "label": stage,
                "level": level,
                "due_at": raw_due.isoformat() if isinstance(raw_due, date) else raw_due,
            }
        )

    count = len(items)
    if count:
        subject = texts["subject_one" if count == 1 else "subject_many"].format(day=day_text, count=count)
        body = "\n".join([texts["intro"].format(day=day_text), "", *lines, "", texts["outro"], ""])
    else:
        subject = texts["subject_many"].format(day=day_text, count=0)
        body = "\n".join([texts["none"].format(day=day_text), "", texts["outro"], ""])
    return Notification(
        message_id=digest_message_id(recipient, day, channel=channel),
        channel=channel,
        recipient=recipient,
        subject=subject,
        body=body,
        payload={
            "kind": "digest",
            "date": day.isoformat(),
            "recipient": recipient,
            "count": count,
            "reminders": items,
        },
        created_at=moment,
    )
