"""The report as one self-contained Danish HTML page with inline SVG charts.

Charts are drawn by matplotlib (the ``forloeb[reports]`` extra): well kept,
renders SVG without a browser or a server, and draws text as paths, so the
page needs no fonts, no scripts and no network when it is viewed. Imported
only for ``--format html`` (``forloeb --help`` and the base install never
load it). Every text from the report is escaped; the SVGs' comments (which
repeat the labels) are dropped, and a Content-Security-Policy forbids any
script or request.
"""

from __future__ import annotations

import html
import io
import re
from typing import Any

_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_PROLOGUE = re.compile(r"^.*?(?=<svg)", re.DOTALL)
_COLOR = "#2b6a8f"


def _svg(labels: list[str], values: list[float], title: str) -> str:
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    height = 0.9 + 0.32 * len(labels)
    fig = Figure(figsize=(7.5, height), dpi=96)
    ax = fig.add_subplot()
    positions = list(range(len(labels)))[::-1]
    ax.barh(positions, values, color=_COLOR)
    ax.set_yticks(positions, labels=labels, fontsize=8)
    ax.tick_params(axis="x", labelsize=8)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # counts, not fractions
    for pos, value in zip(positions, values, strict=True):
        ax.text(value, pos, f" {value:g}", va="center", fontsize=8)
    ax.set_title(title, fontsize=10, loc="left")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    svg = _COMMENT.sub("", _PROLOGUE.sub("", buf.getvalue(), count=1))
    return f'<figure class="chart" aria-label="{html.escape(title)}">{svg}</figure>'


def _chart(sec: dict[str, Any]) -> str:
    if not sec.get("chart") or not sec["rows"]:
        return ""
    labels = [" · ".join(str(c) for c in row[:-1]) for row in sec["rows"]]
    values = [float(row[-1]) for row in sec["rows"]]
    return _svg(labels, values, sec["title"])


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
