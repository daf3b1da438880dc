"""The report's bar charts as SVG, drawn by matplotlib (the ``forloeb[reports]``
extra): well kept, renders SVG without a browser or a server, and draws text as
paths, so a chart needs no fonts, no scripts and no network when it is viewed.
``forloeb report --format html`` inlines them in its page; the console serves
each as an image (``/reports/chart.svg``).

matplotlib is imported only when a chart is drawn (``forloeb --help`` and the
base install never load it); :func:`available` says whether it is installed.
The SVG's comments (which repeat the labels) and its XML prologue are dropped.
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Mapping, Sequence
from typing import Any

_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_PROLOGUE = re.compile(r"^.*?(?=<svg)", re.DOTALL)
COLOR = "#2b6a8f"


def available() -> bool:
    """Whether charts can be drawn (matplotlib is installed and imports)."""
    try:
        import matplotlib  # noqa: F401  (imported once per process; a chart needs it anyway)
    except ImportError:
        return False
    return True


def bar_svg(labels: Sequence[str], values: Sequence[float], title: str) -> str:
    """Horizontal bars, one per label, top to bottom, each with its value: an
    ``<svg>`` element (no prologue, no comments)."""
    return _drawn(tuple(labels), tuple(values), title)


# The same figures draw the same SVG: a chart viewed again (the console's report
# page, its ten charts each a request) costs a lookup instead of 0.1–0.5 s of
# matplotlib. Bounded: a few dozen charts of some kilobytes each.
@functools.lru_cache(maxsize=64)
def _drawn(labels: tuple[str, ...], values: tuple[float, ...], title: str) -> str:
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    height = 0.9 + 0.32 * len(labels)
    fig = Figure(figsize=(7.5, height), dpi=96)
    ax = fig.add_subplot()
    positions = list(range(len(labels)))[::-1]
    ax.barh(positions, values, color=COLOR)
    ax.set_yticks(positions, labels=list(labels), fontsize=8)
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
    return _COMMENT.sub("", _PROLOGUE.sub("", buf.getvalue(), count=1))


def has_chart(section: Mapping[str, Any]) -> bool:
    """Whether a report section has a chart to draw (it asks for one and has rows)."""
    return bool(section.get("chart")) and bool(section.get("rows"))


def section_svg(section: Mapping[str, Any]) -> str | None:
    """A report section's chart (its rows' last column as bars, the other columns
    as each bar's label), or None when the section has none."""
    if not has_chart(section):
        return None
    rows = section["rows"]
    labels = [" · ".join(str(c) for c in row[:-1]) for row in rows]
    values = [float(row[-1]) for row in rows]
    return bar_svg(labels, values, str(section["title"]))


__all__ = ["COLOR", "available", "bar_svg", "has_chart", "section_svg"]
