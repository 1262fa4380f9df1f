"""The CSV shapes of the analytics exports, in one place: the ticket drill-down (``GET /api/analytics/export``)
and the KPI rows of ``api.kpi`` (the BI endpoint and the scheduled reports). Headers are fixed lists, never
derived from the data, so spreadsheets and BI imports keep working when a value is missing."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

TICKET_COLUMNS = (
    "ticket_id", "ticket_number", "branch_id", "service_id", "counter_id", "priority_class", "channel", "timezone",
    "status", "outcome", "transferred", "created_at", "first_called_at", "served_at", "completed_at",
    "wait_seconds", "service_seconds", "sla_met",
)  # fmt: skip
KPI_COLUMNS = (
    "bucket", "branch_id", "service_id", "tickets", "served", "no_shows", "cancelled", "transferred",
    "avg_wait_seconds", "median_wait_seconds", "p90_wait_seconds", "avg_service_seconds", "sla_met_ratio",
)  # fmt: skip


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def csv_text(columns: Sequence[str], rows: Iterable[dict[str, Any]], header: bool = True) -> str:
    """CSV (RFC 4180 line ends) of ``rows`` in ``columns`` order; missing or null values are empty."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    if header:
        writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return buf.getvalue()
