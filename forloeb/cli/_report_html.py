"""The report as one self-contained Danish HTML page with inline SVG charts.

Charts are drawn by :mod:`forloeb.reporting.charts` (matplotlib, the
``forloeb[reports]`` extra; the console draws the same charts), as paths, so
the page needs no fonts, no scripts and no network when it is viewed. This
module is imported only for ``--format html``. Every text from the report is
escaped; the SVGs' comments (which repeat the labels) are dropped, and a
Content-Security-Policy forbids any script or request.
"""

from __future__ import annotations

import html
from typing import Any

from forloeb.reporting.charts import section_svg


def _chart(sec: dict[str, Any]) -> str:
    svg = section_svg(sec)
    if svg is None:
        return ""
    return f'<figure class="chart" aria-label="{html.escape(sec["title"])}">{svg}</figure>'


def _local(iso: str) -> str:
    """A time of the report as Danish wall-clock time (minutes)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(iso).astimezone(ZoneInfo("Europe/Copenhagen")).strftime("%Y-%m-%d %H:%M")


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return html.escape(f"{value:.1f}".replace(".", ","))
    return html.escape(str(value))


def render(report: dict[str, Any], lang: str = "da") -> str:
    """The page (UTF-8 text)."""
    da = lang == "da"
    esc = html.escape
    period = f"{report['period']['from']} – {report['period']['to']}"
    title = f"{'Rapport' if da else 'Report'} {period}"
    filters = ", ".join(f"{k}: {v}" for k, v in report["filters"].items()) or ("ingen" if da else "none")
    scope = report["scope"]
    scope_text = (
        ("hele sekretariatet" if da else "the whole secretariat") if scope == "all" else ", ".join(scope)
    )
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{"da" if da else "en"}"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;"
        "padding:0 1rem;color:#1d2a33}h1{font-size:1.6rem}"
        "h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ccd}"
        "table{border-collapse:collapse;margin:.5rem 0}"
        "td,th{padding:.2rem .6rem;border-bottom:1px solid #e3e6ea;text-align:left}"
        "td.n,th.n{text-align:right}figure.chart{margin:.5rem 0}"
        "figure.chart svg{max-width:100%;height:auto}.meta{color:#4a5a66}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        '<p class="meta">'
        + (
            f"Opgjort pr. {esc(_local(report['as_of']))} ud fra hændelsesloggen. Filtre: {esc(filters)}. "
            f"Omfang: {esc(scope_text)}. Forløb i perioden: {int(report['served'])}."
            if da
            else f"As of {esc(_local(report['as_of']))}, from the event log. Filters: {esc(filters)}. "
            f"Scope: {esc(scope_text)}. Engagements in the period: {int(report['served'])}."
        )
        + "</p>",
    ]
    for sec in report["sections"]:
        parts.append(f'<section id="{esc(sec["key"])}"><h2>{esc(sec["title"])}</h2>')
        parts.append(_chart(sec))
        if sec["rows"]:
            width = len(sec["columns"])
            numeric = [all(isinstance(r[i], int | float) for r in sec["rows"]) for i in range(width)]
            head = "".join(
                f"<th{' class=n' if numeric[i] else ''}>{esc(str(c))}</th>"
                for i, c in enumerate(sec["columns"])
            )
            body = "".join(
                "<tr>"
                + "".join(f"<td{' class=n' if numeric[i] else ''}>{_cell(c)}</td>" for i, c in enumerate(row))
                + "</tr>"
                for row in sec["rows"]
            )
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        else:
            parts.append(f"<p>{'Ingen i perioden.' if da else 'None in the period.'}</p>")
        parts.append("</section>")
    parts.append(
        '<p class="meta">'
        + (
            "Lavet med forloeb. Hvert tal kan genskabes med samme kommando og spores til hændelserne."
            if da
            else "Made with forloeb. Every figure can be re-run and traced to the events."
        )
        + "</p></body></html>"
    )
    return "\n".join(p for p in parts if p) + "\n"
