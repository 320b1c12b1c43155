"""The DEA report pages: the dispensing log, the receipt log, stock on hand, the record of a
physical count, and the daily reconciliation. Each parses and authorizes; the rows come from
``inventory.reports``, the format (screen, print, CSV) from ``report_formats``."""

from typing import Any

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from ketacare.accounts.access import KetacareRequest, requires
from ketacare.audit.record import Action, record
from ketacare.inventory.reports import balances as on_hand
from ketacare.inventory.reports import columns, counts
from ketacare.inventory.reports.dispensing import dispensing_log
from ketacare.inventory.reports.receipts import receipt_log
from ketacare.inventory.reports.reconciliation import daily_reconciliation
from ketacare.inventory.reports.scope import RangeError, parse_day, registrations_of
from ketacare.inventory.views.report_formats import (
    CSV,
    SCREEN,
    ScopeError,
    audit_export,
    csv_response,
    format_of,
    format_queries,
    print_page,
    ranged_report,
    registrations_in,
)


@requires("inventory.view")
def dispensing(request: KetacareRequest) -> HttpResponse:
    return ranged_report(
        request,
        report="dispensing",
        title="Dispensing log",
        table_template="inventory/reports/_dispensing_table.html",
        fetch=dispensing_log,
        header=columns.DISPENSING_HEADER,
        row=columns.dispensing_row,
        audit_screen=True,
    )


@requires("inventory.view")
def receipts(request: KetacareRequest) -> HttpResponse:
    return ranged_report(
        request,
        report="receipts",
        title="Receipt log",
        table_template="inventory/reports/_receipts_table.html",
        fetch=receipt_log,
        header=columns.RECEIPT_HEADER,
        row=columns.receipt_row,
    )


@requires("inventory.view")
def balances(request: KetacareRequest) -> HttpResponse:
    fmt = format_of(request)
    context: dict[str, Any] = {
        "report": "balances",
        "title": "Stock on hand",
        "table_template": "inventory/reports/_balances_table.html",
        "chosen_registration": request.GET.get("registration", ""),
        "queries": format_queries(request),
    }
    try:
        every, registrations = registrations_in(request)
    except ScopeError as problem:
        context.update(error=str(problem), rows=[], registrations=[], all_registrations=[])
        return render(request, "inventory/reports/screen.html", context, status=400)
    today = timezone.localdate()
    stock = on_hand.balances(registrations, today)
    context.update(
        all_registrations=every,
        registrations=registrations,
        several=len(registrations) > 1,
        rows=stock.lines,
        totals=stock.totals,
        as_of=timezone.now(),
    )
    if fmt == SCREEN:
        context["counts"] = counts.recent_counts(registrations)
        return render(request, "inventory/reports/screen.html", context)
    scope = {"as_of": f"{today:%Y-%m-%d}", "registrations": [r.dea_number for r in registrations]}
    audit_export(request, "balances", fmt, len(stock.lines), **scope)
    if fmt == CSV:
        rows = (columns.balance_row(line) for line in stock.lines)
        return csv_response(f"balances-{today:%Y%m%d}.csv", columns.BALANCE_HEADER, rows)
    return print_page(request, context)


@requires("inventory.view")
def count(request: KetacareRequest, count_id: int) -> HttpResponse:
    """The record of one physical count: for an initial or biennial count, the inventory
    the DEA requires."""
    physical = counts.count_for(registrations_of(request.actor.clinic), count_id)
    if physical is None:
        raise Http404("No such count at this clinic.")
    sheet = counts.count_sheet(physical)
    fmt = format_of(request)
    registration = physical.registration
    context: dict[str, Any] = {
        "report": "count",
        "title": f"{sheet.kind}: physical count",
        "table_template": "inventory/reports/_count_table.html",
        "facts_template": "inventory/reports/_count_facts.html",
        "sheet": sheet,
        "rows": sheet.lines,
        "registrations": [registration],
        "queries": format_queries(request),
    }
    if fmt == SCREEN:
        return render(request, "inventory/reports/screen.html", context)
    audit_export(
        request,
        "count",
        fmt,
        len(sheet.lines),
        count=physical.pk,
        kind=physical.kind,
        counted_at=physical.counted_at.isoformat(),
        registrations=[registration.dea_number],
    )
    if fmt == CSV:
        stamp = timezone.localtime(physical.counted_at)
        filename = f"count-{physical.pk}-{stamp:%Y%m%d}.csv"
        return csv_response(filename, columns.COUNT_HEADER, columns.count_rows(sheet))
    return print_page(request, context)


@requires("inventory.view")
def reconciliation(request: KetacareRequest) -> HttpResponse:
    """Each dispense of the day against its dose and witnessed waste, and the lots about to
    expire."""
    today = timezone.localdate()
    context: dict[str, Any] = {"day_text": request.GET.get("date", "")}
    try:
        day = parse_day(request.GET.get("date"), "reconciliation", today)
    except RangeError as problem:
        context["error"] = str(problem)
        return render(request, "inventory/reports/reconciliation.html", context, status=400)
    registrations = list(registrations_of(request.actor.clinic))
    result = daily_reconciliation(registrations, day, today)
    # The table names patients: reading it is logged like opening a chart.
    record(
        request.actor,
        Action.VIEW,
        object_type="inventory_report",
        changes={"report": "reconciliation", "date": f"{day:%Y-%m-%d}"},
    )
    context.update(
        day_text=f"{day:%Y-%m-%d}",
        result=result,
        registrations=registrations,
        several=len(registrations) > 1,
    )
    return render(request, "inventory/reports/reconciliation.html", context)
