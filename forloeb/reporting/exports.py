"""The audit log's export rows (CSV and JSON Lines) and the one rule that keeps a
CSV cell data in a spreadsheet: ``forloeb audit query --format csv|jsonl`` and
the console's ``/audit/export.csv|.jsonl`` both write through here, so a file
from either has the same columns and the same escaping."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final

# The columns of an audit export, in order (an AuditRecord's ``to_dict`` keys).
AUDIT_CSV_COLUMNS: Final[tuple[str, ...]] = (
    "engagement_id",
    "seq",
    "occurred_at",
    "actor",
    "role",
    "type",
    "trigger",
    "from_state",
    "to_state",
    "workflow",
    "subject",
    "team",
    "data",
    "hash",
)

# What a spreadsheet reads as the start of a formula (and tab/CR, which some
# programs strip before looking).
_FORMULA_START: Final[tuple[str, ...]] = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A spreadsheet cell that stays data: text starting with = + - @, a tab or a
    carriage return is a formula to Excel and LibreOffice, so it is prefixed
    with ' (OWASP's rule for CSV injection). Numbers stay numbers."""
    if isinstance(value, str) and value[:1] in _FORMULA_START:
        return "'" + value
    return value


def to_json(value: Any, *, indent: int | None = None) -> str:
    """``value`` as JSON text, letters kept as they are (æ, ø, å)."""
    import json  # here, not above: the CLI imports this module for its help too (start-up time)

    return json.dumps(value, ensure_ascii=False, indent=indent)


def audit_csv_row(record: Mapping[str, Any]) -> list[Any]:
    """One record (``AuditRecord.to_dict()``) as the cells of its CSV row: the
    payload as JSON text, a missing value as an empty cell, every cell escaped."""
    return [
        csv_cell(to_json(record[c]) if c == "data" else ("" if record[c] is None else record[c]))
        for c in AUDIT_CSV_COLUMNS
    ]


def audit_csv_lines(records: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """The CSV file line by line (the header first; lines end with CRLF, as the
    csv module writes them): streamed, so an export is never held twice."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(cells: Iterable[Any]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(cells)
        return buffer.getvalue()

    yield line(AUDIT_CSV_COLUMNS)
    for record in records:
        yield line(audit_csv_row(record))


def audit_jsonl_lines(records: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """The JSON Lines file: one record per line."""
    for record in records:
        yield to_json(record) + "\n"


__all__ = [
    "AUDIT_CSV_COLUMNS",
    "audit_csv_lines",
    "audit_csv_row",
    "audit_jsonl_lines",
    "csv_cell",
    "to_json",
]
