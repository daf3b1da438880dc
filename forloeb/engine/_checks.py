"""Argument and text checks shared by every command: one contract, one clear InvalidData each.

A leaf: imports nothing of the engine but its errors. Every size limit lives
here so that the engine, the CLI's option defaults and the HTTP API agree.
"""

from __future__ import annotations

import json
import re
import unicodedata
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

MAX_DEPTH = 32  # nesting of lists and objects in data (a form's answers need two or three)

# A Danish CPR number (DDMMYY-NNNN) anywhere in a text, however it is written:
# with or without a hyphen (also the Unicode dashes and the minus sign), with
# spaces around it, in full-width digits (NFKC makes them ASCII first). Ten
# digits that stand alone (no digit right before or after) and whose first six
# are a date that exists. The subject must be a reference, and free text has
# no use for the personal identity number either (data minimisation, GDPR art. 5).
_DASHES = "\\-\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
_CPR = re.compile(rf"(?<!\d)(\d\d)(\d\d)(\d\d)\s{{0,3}}(?:[{_DASHES}]\s{{0,3}})?\d{{4}}(?!\d)")
# Invisible characters that could hide a number from the pattern (0101\u200b90-1234).
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u2060-\u206f\ufeff]")
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
# Text that cannot be stored: NUL (PostgreSQL refuses it) and lone surrogates,
# which is what undecodable bytes on a command line become (not valid UTF-8).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def contains_cpr(text: str) -> bool:
    """True when ``text`` holds something written like a CPR number whose date exists."""
    plain = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text))
    for match in _CPR.finditer(plain):
        day, month, year = (int(g) for g in match.groups())
        if 1 <= month <= 12 and 1 <= day <= _DAYS_IN_MONTH[month - 1]:
            if month == 2 and day == 29 and year % 4:
                continue  # 29 February in a year that has none
            return True
    return False


def check_storable(name: str, value: str, *, name_da: str | None = None) -> str:
    """``value`` unless it holds a character no database can keep: NUL, or a lone
    surrogate (bytes that were not valid UTF-8)."""
    found = _UNSTORABLE.search(value)
    if found is None:
        return value
    da = name_da or name
    if found.group() == "\x00":
        raise InvalidData(
            f"{name} holds a NUL character (\\x00), which cannot be stored",
            detail_da=f"{da} indeholder et NUL-tegn (\\x00), som ikke kan gemmes",
        )
    raise InvalidData(
        f"{name} is not valid UTF-8 text (undecodable bytes)",
        detail_da=f"{da} er ikke gyldig UTF-8-tekst (bytes, der ikke kan læses som tegn)",
    )


def positive_int(name: str, value: object, most: int | None = None) -> int:
    """``value`` as a whole number of at least 1 (a bool is not one), and at most ``most``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidData(
            f"{name} must be a whole number of at least 1",
            detail_da=f"{name} skal være et helt tal på mindst 1",
        )
    if most is not None and value > most:
        raise InvalidData(f"{name} must be at most {most}", detail_da=f"{name} må højst være {most}")
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
    check_storable(name, value, name_da=da)
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
    """Free text (a note, a description, a reason): text of at most 64 KiB encoded,
    storable (:func:`check_storable`), and with no CPR number (:func:`check_free_text`)."""
    if not isinstance(text, str):
        raise InvalidData("a note must be text", detail_da="et notat skal være tekst")
    check_storable("the text", text, name_da="teksten")
    if len(text.encode()) > MAX_PAYLOAD_BYTES:
        raise InvalidData(
            f"text is larger than {MAX_PAYLOAD_BYTES // 1024} KiB",
            detail_da=f"teksten er større end {MAX_PAYLOAD_BYTES // 1024} KiB",
        )
    return check_free_text(text)


def check_free_text(text: str) -> str:
    """``text`` unless it holds a CPR number (:func:`contains_cpr`): refused, and the
    number is not repeated in the message (messages end up in logs)."""
    if contains_cpr(text):
        raise InvalidData(
            "the text contains what looks like a CPR number; write a case reference instead "
            "(a CPR number is not kept in forloeb)",
            detail_da="teksten ser ud til at indeholde et CPR-nummer; skriv en sagsreference i stedet "
            "(forloeb gemmer ikke CPR-numre)",
        )
    return text


def check_subject(subject: object) -> None:
    """A subject is a case reference: text, and never a CPR number, however written."""
    check_text("subject", subject)
    assert isinstance(subject, str)
    if contains_cpr(subject):
        raise InvalidData(
            "the subject must be a case reference, not a CPR number",
            detail_da="sagsnr. skal være en sagsreference, ikke et CPR-nummer",
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
        check_storable("tag", tag, name_da="mærket")
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
    that its JSON is under the size limit whatever its characters, with nothing
    a database cannot store (NUL, undecodable bytes; those take the long way)."""
    size = 0
    for key, value in data.items():
        if type(key) is not str or type(value) not in _PLAIN_VALUES:
            return False
        if type(value) is str:
            size += len(value)
            if _UNSTORABLE.search(value):
                return False
        elif type(value) is int and not -(10**18) < value < 10**18:
            return False  # a huge number: the long way checks its size and what JSON can hold
        else:
            size += 20
        size += len(key) + 4
        if _UNSTORABLE.search(key):
            return False
    return size * 6 < MAX_PAYLOAD_BYTES


def _check_shape(data: Mapping[str, Any]) -> None:
    """Nesting at most MAX_DEPTH deep and only storable text, keys and values alike
    (walked without recursion: a deeply nested value must not crash the check)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            check_storable("data", value)
        elif isinstance(value, Mapping | list | tuple):
            if depth > MAX_DEPTH:
                raise InvalidData(
                    f"data is nested deeper than {MAX_DEPTH} levels",
                    detail_da=f"data er indlejret dybere end {MAX_DEPTH} niveauer",
                )
            items = value.items() if isinstance(value, Mapping) else ((None, v) for v in value)
            for key, item in items:
                if isinstance(key, str):
                    check_storable("data", key)
                stack.append((item, depth + 1))


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
    _check_shape(data)
    try:
        encoded = json.dumps(data, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidData(f"data is not JSON: {exc}", detail_da=f"data er ikke JSON: {exc}") from None
    except RecursionError:  # past the depth check: only a structure that contains itself
        raise InvalidData(
            "data is nested too deeply or contains itself",
            detail_da="data er indlejret for dybt eller indeholder sig selv",
        ) from None
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


MAX_RETENTION_DAYS = 100 * 366  # a century: beyond it a retention is a typo


def env_days(name: str, value: str | None, default: timedelta) -> timedelta:
    """A retention in days from the environment variable ``name`` (``value`` as read):
    ``default`` when unset or empty, else a whole number of days (0 up to a century),
    or InvalidData naming the variable (one line, before anything is done)."""
    if value is None or not value.strip():
        return default
    text = value.strip()
    if not text.isdigit() or int(text) > MAX_RETENTION_DAYS:
        raise InvalidData(
            f"{name} must be a whole number of days (0 to {MAX_RETENTION_DAYS}), not {value!r}",
            detail_da=f"{name} skal være et helt antal dage (0 til {MAX_RETENTION_DAYS}), ikke {value!r}",
        )
    return timedelta(days=int(text))


def env_years(name: str, value: str | None, default: timedelta) -> timedelta:
    """A retention in years (a decimal number allowed) from the environment variable
    ``name``: ``default`` when unset or empty, else 0 up to a century, or InvalidData."""
    if value is None or not value.strip():
        return default
    try:
        years = float(value.strip())
    except ValueError:
        years = -1.0
    if not 0 <= years <= 100:  # also NaN
        raise InvalidData(
            f"{name} must be a number of years (0 to 100), not {value!r}",
            detail_da=f"{name} skal være et antal år (0 til 100), ikke {value!r}",
        )
    return timedelta(days=round(years * 365.25))
