"""Argument and text checks shared by every command: one contract, one clear InvalidData each.

A leaf: imports nothing of the engine but its errors. Every size limit lives
here so that the engine, the CLI's option defaults and the HTTP API agree.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ._calendar import COPENHAGEN
from ._errors import InvalidData

MAX_PAYLOAD_BYTES = 64 * 1024
MAX_TEXT = 200  # subject, assignee, team, ids … (column widths)
MAX_TAG = 100
MAX_REASON = 1000  # a reason or purpose written by a person
MAX_INTERVAL_S = 86400
DEFAULT_PAGE = 50  # a listing's page when the caller names no limit

# A Danish CPR number (DDMMYY-NNNN): the subject must be a reference, never
# the personal identity number itself (data minimisation, GDPR art. 5).
_CPR = re.compile(r"^\s*[0-3]\d[01]\d\d\d-?\d{4}\s*$")


def positive_int(name: str, value: object) -> int:
    """``value`` as a whole number of at least 1 (a bool is not one)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidData(
            f"{name} must be a whole number of at least 1",
            detail_da=f"{name} skal være et helt tal på mindst 1",
        )
    return value


def check_aware(now: object) -> None:
    """A given ``now`` must be an aware datetime (None means "the clock's")."""
    if now is not None and (not isinstance(now, datetime) or now.tzinfo is None):
        raise InvalidData("now must be an aware datetime", detail_da="now skal have en tidszone")


def aware_now(now: datetime | None, clock: Callable[[], datetime]) -> datetime:
    """``now`` checked, or the clock's time when it is None."""
    check_aware(now)
    return clock() if now is None else now


# Characters that act on a terminal or hide text instead of showing: C0/C1
# controls and the invisible and bidirectional formatting marks.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")
_UNPRINTABLE_IN_PROSE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]"
)


def check_text(name: str, value: object, *, limit: int = MAX_TEXT, name_da: str | None = None) -> str:
    """A non-empty text of at most ``limit`` characters, returned stripped of outer spaces.

    Ids and names (``limit`` up to 200) are printable characters only: a
    newline or an escape sequence in an actor id would forge a line of the
    history on a terminal. Longer prose (a reason) may hold line breaks and
    tabs, nothing else unprintable. ``name_da`` names the field in the Danish
    message (default: ``name``)."""
    da = name_da or name
    if not isinstance(value, str) or not value.strip():
        raise InvalidData(f"{name} must be a non-empty text", detail_da=f"{da} skal være en tekst")
    if (_UNPRINTABLE if limit <= MAX_TEXT else _UNPRINTABLE_IN_PROSE).search(value):
        raise InvalidData(
            f"{name} may only hold printable characters",
            detail_da=f"{da} må kun indeholde tegn, der kan vises",
        )
    if len(value) > limit:
        raise InvalidData(
            f"{name} is longer than {limit} characters",
            detail_da=f"{da} er længere end {limit} tegn",
        )
    return value.strip()


def check_note(text: object) -> str:
    """Free text (a note, a description): text of at most 64 KiB encoded."""
    if not isinstance(text, str):
        raise InvalidData("a note must be text", detail_da="et notat skal være tekst")
    if len(text.encode()) > MAX_PAYLOAD_BYTES:
        raise InvalidData(
            f"text is larger than {MAX_PAYLOAD_BYTES // 1024} KiB",
            detail_da=f"teksten er større end {MAX_PAYLOAD_BYTES // 1024} KiB",
        )
    return text


def check_subject(subject: object) -> None:
    """A subject is a case reference: text, and never a CPR number."""
    check_text("subject", subject)
    assert isinstance(subject, str)
    if _CPR.match(subject):
        raise InvalidData(
            "the subject must be a case reference, not a CPR number",
            detail_da="borgerreferencen skal være en sagsreference, ikke et CPR-nummer",
        )


def check_tags(tags: Iterable[str]) -> list[str]:
    """Tags as a list without repeats, each a text of 1-100 characters."""
    if isinstance(tags, str):
        tags = (tags,)
    result: list[str] = []
    for tag in tags:
        if not isinstance(tag, str) or not tag.strip() or len(tag) > MAX_TAG:
            raise InvalidData(
                f"tag {tag!r} must be a text of 1-{MAX_TAG} characters",
                detail_da=f"mærket {tag!r} skal være en tekst på 1-{MAX_TAG} tegn",
            )
        if tag not in result:
            result.append(tag)
    return result


def _text_keys(value: Any) -> bool:
    """True when every object key, at any depth, is text (JSON would coerce others)."""
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and _text_keys(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(_text_keys(v) for v in value)
    return True


_PLAIN_VALUES = (str, int, bool, type(None))


def _plain(data: Mapping[str, Any]) -> bool:
    """True when ``data`` is flat text/int/bool/None under text keys, small enough
    that its JSON is under the size limit whatever its characters."""
    size = 0
    for key, value in data.items():
        if type(key) is not str or type(value) not in _PLAIN_VALUES:
            return False
        size += len(key) + (len(value) if type(value) is str else 20) + 4
    return size * 6 < MAX_PAYLOAD_BYTES


def check_data(data: Mapping[str, Any] | None) -> dict[str, Any]:
    """Data must be a JSON object with text keys, at most 64 KiB encoded.

    Returns the JSON round trip of ``data``: what is hashed is exactly what is
    stored and read back."""
    if not data:
        if data is not None and not isinstance(data, Mapping):
            raise InvalidData(
                "data must be a mapping of keys to values", detail_da="data skal være nøgle/værdi-par"
            )
        return {}
    if not isinstance(data, Mapping):
        raise InvalidData(
            "data must be a mapping of keys to values", detail_da="data skal være nøgle/værdi-par"
        )
    if _plain(data):
        # Text keys and text, whole-number, yes/no or empty values (a form's
        # answers): JSON keeps them exactly, and even escaped (≤ 6 bytes a
        # character) they fit; the round trip below would change nothing.
        return dict(data)
    try:
        encoded = json.dumps(data, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidData(f"data is not JSON: {exc}", detail_da=f"data er ikke JSON: {exc}") from None
    if len(encoded.encode()) > MAX_PAYLOAD_BYTES:
        raise InvalidData(
            f"data is larger than {MAX_PAYLOAD_BYTES // 1024} KiB",
            detail_da=f"data er større end {MAX_PAYLOAD_BYTES // 1024} KiB",
        )
    if not _text_keys(data):
        raise InvalidData("data keys must be text", detail_da="datanøgler skal være tekst")
    loaded: dict[str, Any] = json.loads(encoded)
    return loaded


def check_interval(name: str, value: object) -> float:
    """A number of seconds in (0, 86400]."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= MAX_INTERVAL_S:
        raise InvalidData(
            f"{name} must be a number of seconds between 0 and {MAX_INTERVAL_S}, not {value!r}",
            detail_da=f"{name} skal være et antal sekunder mellem 0 og {MAX_INTERVAL_S}, ikke {value!r}",
        )
    return float(value)


def local_time(naive: datetime) -> datetime:
    """A wall-clock time in Copenhagen as an aware time; refused when the clock skips it.

    At the spring change (last Sunday of March, 02:00-03:00) the time does not
    exist: refused. At the autumn change (02:00-03:00 happens twice) the first
    occurrence (summer time, +02:00) is taken, as ``fold=0`` says.
    """
    aware = naive.replace(tzinfo=COPENHAGEN)
    if aware.astimezone(UTC).astimezone(COPENHAGEN).replace(tzinfo=None) != naive.replace(tzinfo=None):
        raise InvalidData(
            f"{naive:%Y-%m-%d %H:%M} does not exist in Copenhagen (the clocks skip it)",
            detail_da=f"{naive:%Y-%m-%d %H:%M} findes ikke i dansk tid (uret springer det over)",
        )
    return aware


def parse_time(value: str | datetime | date | None, *, end: bool = False) -> datetime | None:
    """An ISO time or date; a date (or a time without zone) is Copenhagen time.

    ``end``: a bare date means the end of that day (an inclusive ``--until``).
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
        if end:
            parsed += timedelta(days=1)
    else:
        text = value.strip()
        try:
            if len(text) == 10:
                d = date.fromisoformat(text)
                parsed = datetime(d.year, d.month, d.day) + (timedelta(days=1) if end else timedelta())
            else:
                parsed = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidData(
                f"not an ISO time or date: {value!r}",
                detail_da=f"ikke et ISO-tidspunkt eller en dato: {value!r}",
            ) from None
    if parsed.tzinfo is None:
        parsed = local_time(parsed)
    return parsed.astimezone(UTC)


_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def parse_digest_time(value: str) -> tuple[int, int]:
    """(hour, minute) of "HH:MM", or InvalidData."""
    match = _HHMM.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise InvalidData(
            f"digest_at must be a time HH:MM (e.g. 07:30), not {value!r}",
            detail_da=f"digest_at skal være et klokkeslæt TT:MM (fx 07:30), ikke {value!r}",
        )
    return int(match.group(1)), int(match.group(2))


def _check_interval(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 86400:
        raise InvalidData(
            f"{name} must be a number of seconds between 0 and 86400, not {value!r}",
            detail_da=f"{name} skal være et antal sekunder mellem 0 og 86400, ikke {value!r}",
        )
    return float(value)
