"""One DEA report in the format asked for: on screen, as a printable page, or as CSV. Each
report page (``report_pages``) names its rows and columns; this module parses the scope it
covers, renders it, and audits every printable page and CSV as an export of
controlled-substance records."""

import csv
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from ketacare.accounts.access import KetacareRequest
from ketacare.audit.record import Action, record
from ketacare.inventory.models import Registration
from ketacare.inventory.reports.columns import Row
from ketacare.inventory.reports.entries import staff_name, stamp
from ketacare.inventory.reports.scope import Period, RangeError, parse_period, registrations_of

SCREEN_ROWS = 1000  # the printable page and the CSV always hold the whole range
SCREEN, CSV, PRINT = "screen", "csv", "print"


class ScopeError(ValueError):
    pass


def format_of(request: HttpRequest) -> str:
    chosen = request.GET.get("format", SCREEN)
    return chosen if chosen in (CSV, PRINT) else SCREEN


def registrations_in(request: KetacareRequest) -> tuple[list[Registration], list[Registration]]:
    """(the clinic's registrations, the ones reported on: all, or the one chosen)."""
    every = list(registrations_of(request.actor.clinic))
    chosen = request.GET.get("registration", "").strip()
    if not chosen:
        return every, every
    picked = [r for r in every if str(r.pk) == chosen]
    if not picked:
        raise ScopeError("Unknown DEA registration for this clinic.")
    return every, picked


def format_queries(request: HttpRequest) -> dict[str, str]:
    """The current query string with each export format, for the screen's links."""
    queries = {}
    for fmt in (CSV, PRINT):
        params = request.GET.copy()
        params["format"] = fmt
        queries[fmt] = params.urlencode()
    return queries


def _cell(value: Any) -> str:
    """A CSV cell. Text that a spreadsheet would run as a formula is quoted with '."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return stamp(value)
    if isinstance(value, date | Decimal | int):
        return str(value)
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_response(filename: str, header: Row, rows: Iterable[Row]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return response


def print_page(request: KetacareRequest, context: dict[str, Any]) -> HttpResponse:
    context.update(
        printed_at=timezone.now(),
        printed_by=staff_name(request.actor.user),
        time_zone=settings.TIME_ZONE,
    )
    return render(request, "inventory/reports/print.html", context)


def audit_export(request: KetacareRequest, report: str, fmt: str, rows: int, **facts: Any) -> None:
    record(
        request.actor,
        Action.EXPORT,
        object_type="inventory_report",
        changes={"report": report, "format": fmt, "rows": rows, **facts},
    )


def ranged_report(
    request: KetacareRequest,
    *,
    report: str,
    title: str,
    table_template: str,
    fetch: Callable[[list[Registration], Period, int | None], list[Any]],
    header: Row,
    row: Callable[[Any], Row],
    audit_screen: bool = False,
) -> HttpResponse:
    """A report over a date range, in the format asked for. A bad range or registration
    shows the form again with the message and exports nothing."""
    fmt = format_of(request)
    context: dict[str, Any] = {
        "report": report,
        "title": title,
        "table_template": table_template,
        "uses_range": True,
        "start": request.GET.get("start", ""),
        "end": request.GET.get("end", ""),
        "chosen_registration": request.GET.get("registration", ""),
        "queries": format_queries(request),
    }
    try:
        every, registrations = registrations_in(request)
        context["all_registrations"] = every
        period = parse_period(
            request.GET.get("start"), request.GET.get("end"), timezone.localdate()
        )
    except (RangeError, ScopeError) as problem:
        context.update(error=str(problem), rows=[], registrations=[])
        context.setdefault("all_registrations", [])
        return render(request, "inventory/reports/screen.html", context, status=400)
    context.update(
        period=period,
        start=f"{period.start:%Y-%m-%d}",
        end=f"{period.end:%Y-%m-%d}",
        registrations=registrations,
        several=len(registrations) > 1,
    )
    scope = {
        "start": context["start"],
        "end": context["end"],
        "registrations": [r.dea_number for r in registrations],
    }
    if fmt == SCREEN:
        rows = fetch(registrations, period, SCREEN_ROWS + 1)
        context.update(rows=rows[:SCREEN_ROWS], truncated=len(rows) > SCREEN_ROWS)
        if audit_screen:
            # The log names patients: reading it is logged like opening a chart.
            record(
                request.actor,
                Action.VIEW,
                object_type="inventory_report",
                changes={"report": report, **scope},
            )
        return render(request, "inventory/reports/screen.html", context)
    rows = fetch(registrations, period, None)
    audit_export(request, report, fmt, len(rows), **scope)
    if fmt == CSV:
        filename = f"{report}-{period.start:%Y%m%d}-{period.end:%Y%m%d}.csv"
        return csv_response(filename, header, (row(line) for line in rows))
    return print_page(request, {**context, "rows": rows})
