"""What reports count by (issue 13): effort areas per plan period, teams, and the
reporting attributes' lists (age bands, genders, boligafdelinger).

Effort areas (indsatsområder) are a taxonomy, not free text: each has a key,
a Danish and an English label and the plan period it is valid in. An
engagement's areas are stored as keys (in its ``tags``), set and changed by
events, and a report matches them by key, never by spelling. Shipped: the
areas of Landsbyggefonden's 2019-2026 plan period, and the three earlier areas
the secretariat's own material names (valid until the end of 2018). A
configuration file (``[[areas]]``, ``[[teams]]``, ``[reporting]``) replaces
them (see ``_config``).

Older engagements carry free-text tags (``start --tag``). They are kept as
they were written; a report reads a tag as an area when it *is* an area's key,
or when it is spelled exactly as one of the area's labels apart from case
(the way the tags were written before the taxonomy); any other tag counts
under "other / free text". Setting an engagement's areas replaces its tags
with keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ._errors import InvalidData


@dataclass(frozen=True)
class Term:
    """One entry of a configured list: key, labels and (areas) the period it is valid in."""

    key: str
    da: str
    en: str
    valid_from: date | None = None
    valid_to: date | None = None

    def label(self, lang: str) -> str:
        return self.da if lang == "da" else self.en

    def valid_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )


LBF_2019 = (date(2019, 1, 1), date(2026, 12, 31))
SEED_AREAS_UNTIL = date(2018, 12, 31)

DEFAULT_AREAS: tuple[Term, ...] = (
    # Landsbyggefonden's effort areas of the 2019-2026 plan period.
    Term("uddannelse_livschancer", "Uddannelse og livschancer", "Education and life chances", *LBF_2019),
    Term("beskaeftigelse", "Beskæftigelse", "Employment", *LBF_2019),
    Term("kriminalitetsforebyggelse", "Kriminalitetsforebyggelse", "Crime prevention", *LBF_2019),
    Term(
        "sammenhaengskraft_medborgerskab",
        "Sammenhængskraft og medborgerskab",
        "Cohesion and citizenship",
        *LBF_2019,
    ),
    # The areas of the secretariat's own material (../shared/seed), the earlier period.
    Term("tryghed_trivsel", "Tryghed og trivsel", "Safety and well-being", None, SEED_AREAS_UNTIL),
    Term(
        "uddannelse_beskaeftigelse",
        "Uddannelse og beskæftigelse",
        "Education and employment",
        None,
        SEED_AREAS_UNTIL,
    ),
    Term(
        "forebyggelse_foraeldreansvar",
        "Forebyggelse og forældreansvar",
        "Prevention and parental responsibility",
        None,
        SEED_AREAS_UNTIL,
    ),
)

DEFAULT_AGE_BANDS: tuple[Term, ...] = (
    Term("0-5", "0-5 år", "0-5 years"),
    Term("6-12", "6-12 år", "6-12 years"),
    Term("13-17", "13-17 år", "13-17 years"),
    Term("18-24", "18-24 år", "18-24 years"),
    Term("25-39", "25-39 år", "25-39 years"),
    Term("40-64", "40-64 år", "40-64 years"),
    Term("65+", "65 år og derover", "65 years and over"),
)

DEFAULT_GENDERS: tuple[Term, ...] = (
    Term("kvinde", "Kvinde", "Woman"),
    Term("mand", "Mand", "Man"),
    Term("andet", "Andet", "Other"),
    Term("uoplyst", "Ønsker ikke at oplyse", "Prefers not to say"),
)


@dataclass(frozen=True)
class Taxonomy:
    """The configured lists. ``teams`` empty: any team name is accepted (as before);
    ``afdelinger`` empty: no afdeling can be recorded until the list is configured."""

    areas: tuple[Term, ...] = DEFAULT_AREAS
    teams: tuple[Term, ...] = ()
    afdelinger: tuple[Term, ...] = ()
    age_bands: tuple[Term, ...] = DEFAULT_AGE_BANDS
    genders: tuple[Term, ...] = DEFAULT_GENDERS
    _by_label: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for term in self.areas:
            for text in (term.key, term.da, term.en):
                self._by_label.setdefault(text.casefold(), term.key)

    def area(self, key: str) -> Term | None:
        return next((a for a in self.areas if a.key == key), None)

    def area_of_tag(self, tag: str) -> str | None:
        """The area a stored tag stands for: its key, or (a free-text tag from before
        the taxonomy) an area whose label it spells apart from case; else None."""
        if self.area(tag) is not None:
            return tag
        return self._by_label.get(tag.casefold())

    def check_areas(self, keys: Iterable[str], on: date) -> list[str]:
        """``keys`` as a list without repeats, each an area valid on ``on``; else InvalidData
        naming the areas that are."""
        result: list[str] = []
        for key in [keys] if isinstance(keys, str) else keys:
            term = self.area(key) if isinstance(key, str) else None
            if term is None or not term.valid_on(on):
                valid = [a for a in self.areas if a.valid_on(on)]
                listed = ", ".join(f"{a.key} ({a.da})" for a in valid) or "-"
                raise InvalidData(
                    f"unknown effort area {key!r} on {on.isoformat()}; the areas are: {listed}",
                    detail_da=f"ukendt indsatsområde {key!r} pr. {on.isoformat()}; "
                    f"indsatsområderne er: {listed}",
                )
            if key not in result:
                result.append(key)
        return result

    def check_team(self, team: str) -> str:
        return _check_in("team", "team", self.teams, team, open_when_empty=True)

    def check_afdeling(self, afdeling: str) -> str:
        return _check_in("afdeling", "boligafdeling", self.afdelinger, afdeling, open_when_empty=False)

    def check_age_band(self, band: str) -> str:
        return _check_in("age band", "aldersgruppe", self.age_bands, band, open_when_empty=False)

    def check_gender(self, gender: str) -> str:
        return _check_in("gender", "køn", self.genders, gender, open_when_empty=False)


def _check_in(name: str, name_da: str, terms: Sequence[Term], value: str, *, open_when_empty: bool) -> str:
    if not terms and open_when_empty:
        return value
    if any(t.key == value for t in terms):
        return value
    listed = ", ".join(t.key for t in terms) or "-"
    raise InvalidData(
        f"unknown {name} {value!r}; the configured ones are: {listed}",
        detail_da=f"ukendt {name_da} {value!r}; de konfigurerede er: {listed}",
    )


def _terms(what: str, value: object, *, dated: bool) -> tuple[Term, ...]:
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise InvalidData(f"[[{what}]] must be a list of tables", detail_da=f"[[{what}]] skal være tabeller")
    allowed = {"key", "da", "en", *(("valid_from", "valid_to") if dated else ())}
    terms: list[Term] = []
    for item in value:
        unknown = sorted(set(item) - allowed)
        if unknown or not all(isinstance(item.get(k), str) and item[k].strip() for k in ("key", "da", "en")):
            extra = ", ".join(unknown) or "-"
            raise InvalidData(
                f"[[{what}]] needs key, da and en (texts), nothing else (unknown: {extra})",
                detail_da=f"[[{what}]] skal have key, da og en (tekster), intet andet (ukendt: {extra})",
            )
        frm, to = item.get("valid_from"), item.get("valid_to")
        for bound in (frm, to):
            if bound is not None and not isinstance(bound, date):
                raise InvalidData(
                    f"[[{what}]] {item['key']}: valid_from/valid_to must be dates (2019-01-01)",
                    detail_da=f"[[{what}]] {item['key']}: valid_from/valid_to skal være datoer (2019-01-01)",
                )
        if any(t.key == item["key"] for t in terms):
            raise InvalidData(
                f"[[{what}]]: {item['key']} twice", detail_da=f"[[{what}]]: {item['key']} to gange"
            )
        terms.append(Term(item["key"], item["da"], item["en"], frm, to))
    return tuple(terms)


def taxonomy_from_config(areas: object, teams: object, reporting: object) -> Taxonomy:
    """The taxonomy of a configuration file's ``[[areas]]``, ``[[teams]]`` and ``[reporting]``
    (``afdelinger``, ``age_bands``, ``genders``: lists of tables with key, da, en)."""
    options: dict[str, Any] = {}
    if areas is not None:
        options["areas"] = _terms("areas", areas, dated=True)
    if teams is not None:
        options["teams"] = _terms("teams", teams, dated=False)
    if reporting is not None:
        if not isinstance(reporting, Mapping):
            raise InvalidData("[reporting] must be a table", detail_da="[reporting] skal være en tabel")
        unknown = sorted(set(reporting) - {"afdelinger", "age_bands", "genders"})
        if unknown:
            raise InvalidData(
                f"[reporting]: unknown keys {', '.join(unknown)}",
                detail_da=f"[reporting]: ukendte nøgler {', '.join(unknown)}",
            )
        for key in ("afdelinger", "age_bands", "genders"):
            if key in reporting:
                options[key] = _terms(f"reporting.{key}", reporting[key], dated=False)
    return Taxonomy(**options)


__all__ = [
    "DEFAULT_AGE_BANDS",
    "DEFAULT_AREAS",
    "DEFAULT_GENDERS",
    "Taxonomy",
    "Term",
    "taxonomy_from_config",
]
