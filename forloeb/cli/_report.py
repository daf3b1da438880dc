"""``forloeb report`` and ``forloeb caseload`` (issue 13): the figures a secretariat's
leader sends to the board, the municipality and Landsbyggefonden.

The engine computes them from the event log (``engine.caseload.report``); this
module only renders: a terminal table, CSV (every cell through ``csv_cell``),
JSON, or one self-contained Danish HTML page with inline SVG charts
(``_report_html``, which imports matplotlib only when asked for HTML: the
``forloeb[reports]`` extra).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import click

from ._caseload import configured
from ._context import ForloebCommand, Settings, config_option, global_options_again, open_engine
from ._output import out_options, output
from ._render import csv_cell, echo, echo_json, table, to_json

_DATE = click.DateTime(formats=["%Y-%m-%d"])
_COPENHAGEN = ZoneInfo("Europe/Copenhagen")


def _day(value: datetime | None) -> date | None:
    return value.date() if value is not None else None


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.1f}".replace(".", ",")
    return str(value)


def as_table(report: dict[str, Any], lang: str) -> str:
    """The report as text tables, one per section."""
    head = "Rapport" if lang == "da" else "Report"
    as_of = datetime.fromisoformat(report["as_of"]).astimezone(_COPENHAGEN).strftime("%Y-%m-%d %H:%M")
    lines = [f"{head} {report['period']['from']} – {report['period']['to']} ({as_of})"]
    for sec in report["sections"]:
        lines += ["", sec["title"]]
        rows = [[_cell(c) for c in row] for row in sec["rows"]]
        lines.append(table(rows, sec["columns"]) if rows else "  -")
    return "\n".join(lines) + "\n"


def as_csv(report: dict[str, Any]) -> str:
    """The report as CSV: per section a header row and its rows, each led by the section's
    key; every cell through ``csv_cell`` (a formula stays text in a spreadsheet)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    for sec in report["sections"]:
        writer.writerow([csv_cell(c) for c in [sec["key"], *sec["columns"]]])
        for row in sec["rows"]:
            writer.writerow([csv_cell(c) for c in [sec["key"], *row]])
    return buf.getvalue()


@click.command(cls=ForloebCommand)
@click.option("--from", "start", type=_DATE, required=True, metavar="DATE", help="First day (YYYY-MM-DD).")
@click.option("--to", "end", type=_DATE, required=True, metavar="DATE", help="Last day (YYYY-MM-DD).")
@click.option(
    "--as-of", "as_of", type=_DATE, metavar="DATE", help="The report as it stood at the end of DATE."
)
@click.option("--area", metavar="KEY", help="Only this effort area (see `forloeb areas list`).")
@click.option("--team", help="Only this team.")
@click.option("--worker", metavar="STAFF", help="Only this worker's engagements.")
@click.option("--method", metavar="WORKFLOW", help="Only this method (individual_course, civil_society …).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json", "html"]),
    default="table",
    show_default=True,
)
@out_options
@config_option
@global_options_again
@click.pass_obj
def report(
    settings: Settings,
    start: datetime,
    end: datetime,
    as_of: datetime | None,
    area: str | None,
    team: str | None,
    worker: str | None,
    method: str | None,
    fmt: str,
    out: str | None,
    force: bool,
    config_path: str | None,
) -> None:
    """The report for a period, computed from the event log: new referrals, active and
    ended engagements, residents, groups, stage times, funnels, self-help, activities,
    handovers (`--format html --out rapport.html` for the board)."""
    lang = settings.lang
    if settings.as_json:
        fmt = "json"
    render_html: Callable[[dict[str, Any], str], str] | None = None
    if fmt == "html":
        from ._report_html import render  # matplotlib: only now

        render_html = render

    with output(settings, out, force) as dest:
        with configured(settings, config_path) as engine:
            figures = engine.caseload.report(
                actor=settings.actor,
                start=start.date(),
                end=end.date(),
                as_of=_day(as_of),
                area=area,
                team=team,
                worker=worker,
                method=method,
                lang=lang,
            )
        if render_html is not None:
            text = render_html(figures, lang)
        elif fmt == "json":
            text = to_json(figures, indent=2) + "\n"
        elif fmt == "csv":
            text = as_csv(figures)
        else:
            text = as_table(figures, lang)
        dest.write(text)
    if out is not None and not settings.as_json:
        echo(f"{'Skrevet' if lang == 'da' else 'Written'}: {out}")


@click.command(cls=ForloebCommand)
@global_options_again
@click.pass_obj
def caseload(settings: Settings) -> None:
    """Per worker and team: open engagements, overdue ones, the oldest, and the longest
    time since an event (days)."""
    lang = settings.lang
    with open_engine(settings) as engine:
        rows = engine.caseload.overview(actor=settings.actor)
    if settings.as_json:
        echo_json(rows)
        return
    none = "(indbakke)" if lang == "da" else "(intake)"
    header = (
        ["Medarbejder", "Team", "Åbne", "Over frist", "Ældste (dage)", "Længst uden hændelse (dage)"]
        if lang == "da"
        else ["Worker", "Team", "Open", "Overdue", "Oldest (days)", "Longest without an event (days)"]
    )
    body = [
        [r["assignee"] or none, r["team"] or "-", str(r["open"]), str(r["overdue"]),
         _cell(r["oldest_days"]), _cell(r["quiet_days"])]
        for r in rows
    ]  # fmt: skip
    echo(table(body, header) if body else "-")
