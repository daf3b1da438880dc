"""The report and the caseload as pages, for supervisors, admins and auditors.

The report is ``engine.caseload.report`` (computed from the event log, one
access-log entry per run) shown as one table per section, with the section's
chart beside it as an image: ``/reports/chart.svg`` draws it with the CLI's
HTML report's matplotlib code (:mod:`forloeb.reporting.charts`). Without
matplotlib (the ``forloeb[reports]`` extra) the page shows the tables and says
why there are no charts.

A page's charts come from the report the page computed: it is kept a few
minutes in this process for its viewer, so that a page of ten charts is one
report run and one access-log entry, and its charts show the page's figures.
A chart asked of another worker process computes the report itself.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from typing import Any, cast
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Request
from starlette.responses import Response

from forloeb.engine import COPENHAGEN, Engine, ForloebError, InvalidData, Lang, PermissionDenied
from forloeb.reporting import charts
from forloeb.words import t

from .._http import context
from ._frame import guarded, look
from ._render import page
from ._session import Viewer

router = APIRouter(include_in_schema=False)
READERS = ("supervisor", "admin", "auditor")
# An SVG opened on its own is a document that could run script: this one may
# not (nor load anything); shown as an <img> it cannot anyway.
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'"
KEEP_SECONDS = 300
KEEP_REPORTS = 32


def number(value: Any, lang: str) -> str:
    """A figure as the page shows it: one decimal for a fraction (Danish: a comma)."""
    if isinstance(value, float):
        text = f"{value:.1f}"
        return text.replace(".", ",") if lang == "da" else text
    return str(value)


@dataclass(frozen=True)
class ReportFilters:
    """The report form's values as typed (dates as ISO text; blank: none)."""

    start: str = ""
    end: str = ""
    team: str = ""
    area: str = ""
    method: str = ""

    @classmethod
    def of(cls, request: Request) -> ReportFilters:
        params = request.query_params
        today = datetime.now(UTC).astimezone(COPENHAGEN).date()
        given = {f.name: params.get(f.name, "").strip() for f in fields(cls)}
        # Default: this calendar year up to today.
        given["start"] = given["start"] or today.replace(month=1, day=1).isoformat()
        given["end"] = given["end"] or today.isoformat()
        return cls(**given)

    def dates(self) -> tuple[date, date]:
        try:
            return date.fromisoformat(self.start), date.fromisoformat(self.end)
        except ValueError:
            raise InvalidData(
                "the period's dates must be dates (YYYY-MM-DD)",
                detail_da="periodens datoer skal være datoer (ÅÅÅÅ-MM-DD)",
            ) from None

    def query(self, **extra: str) -> str:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return urlencode({k: v for k, v in {**values, **extra}.items() if v})


class _Recent:
    """The reports pages computed lately, per (viewer, filters, language)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: OrderedDict[tuple[str, ...], tuple[float, dict[str, Any]]] = OrderedDict()

    def get(self, key: tuple[str, ...]) -> dict[str, Any] | None:
        now = time.monotonic()
        with self._lock:
            found = self._kept.get(key)
            if found is None or now - found[0] > KEEP_SECONDS:
                self._kept.pop(key, None)
                return None
            return found[1]

    def put(self, key: tuple[str, ...], report: dict[str, Any]) -> None:
        with self._lock:
            self._kept[key] = (time.monotonic(), report)
            self._kept.move_to_end(key)
            while len(self._kept) > KEEP_REPORTS:
                self._kept.popitem(last=False)


def keep_reports(app: FastAPI) -> None:
    """Give ``app`` its own store of kept reports (two apps in one process, on two
    databases, never see each other's)."""
    app.state.console_reports = _Recent()


def _recent(request: Request) -> _Recent:
    kept: _Recent = request.app.state.console_reports
    return kept


def _key(who: Viewer, filters: ReportFilters) -> tuple[str, ...]:
    return (who.actor.id, who.lang, *(getattr(filters, f.name) for f in fields(filters)))


def _report(request: Request, who: Viewer, filters: ReportFilters) -> dict[str, Any]:
    engine = context(request).engine
    start, end = filters.dates()
    report = engine.caseload.report(
        actor=who.actor,
        start=start,
        end=end,
        team=filters.team or None,
        area=filters.area or None,
        method=filters.method or None,
        lang=who.lang,
    )
    _recent(request).put(_key(who, filters), report)
    return report


def _choices(engine: Engine, lang: Lang) -> dict[str, list[tuple[str, str]]]:
    taxonomy = engine.caseload.taxonomy
    return {
        "teams": [(term.key, term.label(lang)) for term in taxonomy.teams],
        "areas": [(term.key, term.label(lang)) for term in taxonomy.areas],
        "methods": [(n, engine.workflow(n).labels.get(lang)) for n in engine.workflow_names],
    }


@router.get("/reports")
@guarded
def reports(request: Request) -> Response:
    who = look(request, *READERS)
    engine = context(request).engine
    lang = cast(Lang, who.lang)
    filters = ReportFilters.of(request)
    report = error = None
    status = 200
    try:
        report = _report(request, who, filters)
    except PermissionDenied:
        raise
    except ForloebError as exc:  # a bad period or filter: the form again, with why
        error, status = exc.message(lang), 422
    sections: list[dict[str, Any]] = []
    drawn = charts.available()
    for index, sec in enumerate(report["sections"] if report else []):
        numeric = [
            all(isinstance(r[i], int | float) for r in sec["rows"]) for i in range(len(sec["columns"]))
        ]
        sections.append(
            {
                "key": sec["key"],
                "title": sec["title"],
                "columns": list(zip(sec["columns"], numeric, strict=True)),
                "rows": [[(number(c, lang), numeric[i]) for i, c in enumerate(row)] for row in sec["rows"]],
                "chart": "/reports/chart.svg?" + filters.query(section=str(index))
                if drawn and charts.has_chart(sec)
                else None,
            }
        )
    scope = report["scope"] if report else "all"
    return page(
        request,
        who,
        "report_page.html",
        lang=who.lang,
        status=status,
        filters=filters,
        report=report,
        sections=sections,
        scope=None if scope == "all" else ", ".join(scope),
        report_filters=", ".join(f"{k}: {v}" for k, v in (report or {}).get("filters", {}).items()),
        charts_missing=not drawn,
        error=error,
        **_choices(engine, lang),
    )


@router.get("/reports/chart.svg")
@guarded
def chart(request: Request, section: int = 0) -> Response:
    """One section's chart, with the filters of the page it is on."""
    who = look(request, *READERS)
    filters = ReportFilters.of(request)
    report = _recent(request).get(_key(who, filters)) or _report(request, who, filters)
    sections = report["sections"]
    drawable = 0 <= section < len(sections) and charts.available()
    svg = charts.section_svg(sections[section]) if drawable else None
    if svg is None:  # no such section, no chart in it, or no matplotlib
        missing = t(cast(Lang, who.lang), "w_not_found")
        return Response(missing, status_code=404, media_type="text/plain; charset=utf-8")
    return Response(
        svg,
        media_type="image/svg+xml",
        headers={"Content-Security-Policy": SVG_POLICY, "Cache-Control": "no-store"},
    )


@router.get("/caseload")
@guarded
def caseload(request: Request) -> Response:
    """Per worker and team: open engagements, overdue, the oldest, the longest quiet."""
    who = look(request, *READERS)
    rows = context(request).engine.caseload.overview(actor=who.actor)
    shown = [
        {
            "assignee": r["assignee"],
            "team": r["team"],
            "open": r["open"],
            "overdue": r["overdue"],
            "oldest_days": number(float(r["oldest_days"]), who.lang),
            "quiet_days": number(float(r["quiet_days"]), who.lang),
        }
        for r in rows
    ]
    totals = {"open": sum(r["open"] for r in rows), "overdue": sum(r["overdue"] for r in rows)}
    return page(request, who, "report_caseload.html", lang=who.lang, rows=shown, totals=totals)


__all__ = ["ReportFilters", "number", "router"]
