"""The controlled-substance records on screen, as a printable page and as CSV. Views parse and
authorize; the rows come from ``reports``. Every printable page and CSV is an export of
controlled-substance records and is audited."""

import csv
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from ketacare.accounts.access import requires
from ketacare.audit.record import Action, record
from ketacare.inventory import reports
from ketacare.inventory.models import Registration
from ketacare.inventory.reports import Period, RangeError

SCREEN_ROWS = 1000  # the printable page and the CSV always hold the whole range
SCREEN, CSV, PRINT = "screen", "csv", "print"
Row = Sequence[Any]


class ScopeError(ValueError):
    pass


def _format(request: HttpRequest) -> str:
    chosen = request.GET.get("format", SCREEN)
    return chosen if chosen in (CSV, PRINT) else SCREEN


def _registrations(request: HttpRequest) -> tuple[list[Registration], list[Registration]]:
    """(the clinic's registrations, the ones reported on: all, or the one chosen)."""
    every = list(reports.registrations_of(request.actor.clinic))
    chosen = request.GET.get("registration", "").strip()
    if not chosen:
        return every, every
    picked = [r for r in every if str(r.pk) == chosen]
    if not picked:
        raise ScopeError("Unknown DEA registration for this clinic.")
    return every, picked


def _stamp(value: datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


def _cell(value: Any) -> str:
    """A CSV cell. Text that a spreadsheet would run as a formula is quoted with '."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return _stamp(value)
    if isinstance(value, date | Decimal | int):
        return str(value)
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv(filename: str, header: Row, rows: Iterable[Row]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return response


def _export(request: HttpRequest, report: str, fmt: str, rows: int, **facts: Any) -> None:
    record(
        request.actor,
        Action.EXPORT,
        object_type="inventory_report",
        changes={"report": report, "format": fmt, "rows": rows, **facts},
    )


def _queries(request: HttpRequest) -> dict[str, str]:
    """The current query string with each export format, for the screen's links."""
    queries = {}
    for fmt in (CSV, PRINT):
        params = request.GET.copy()
        params["format"] = fmt
        queries[fmt] = params.urlencode()
    return queries


def _reversal_text(reversal: reports.Reversal | None) -> str:
    if reversal is None:
        return ""
    return (
        f"Reversed by entry #{reversal.sequence} on {_stamp(reversal.occurred_at)} "
        f"({reversal.staff}): {reversal.reason}"
    )


def _ranged_report(
    request: HttpRequest,
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
    fmt = _format(request)
    context: dict[str, Any] = {
        "report": report,
        "title": title,
        "table_template": table_template,
        "uses_range": True,
        "start": request.GET.get("start", ""),
        "end": request.GET.get("end", ""),
        "chosen_registration": request.GET.get("registration", ""),
        "queries": _queries(request),
    }
    try:
        every, registrations = _registrations(request)
        context["all_registrations"] = every
        period = reports.parse_period(
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
    _export(request, report, fmt, len(rows), **scope)
    if fmt == CSV:
        filename = f"{report}-{period.start:%Y%m%d}-{period.end:%Y%m%d}.csv"
        return _csv(filename, header, (row(line) for line in rows))
    return _print(request, {**context, "rows": rows})


def _print(request: HttpRequest, context: dict[str, Any]) -> HttpResponse:
    context.update(
        printed_at=timezone.now(),
        printed_by=reports.staff_name(request.actor.user),
        time_zone=settings.TIME_ZONE,
    )
    return render(request, "inventory/reports/print.html", context)


TIME_HEADER = f"Date/time ({settings.TIME_ZONE})"
DISPENSING_HEADER = [
    "DEA number",
    "Entry",
    TIME_HEADER,
    "Drug",
    "Product",
    "NDC",
    "Strength",
    "Lot",
    "Lot expiry",
    "Location",
    "Quantity",
    "Unit",
    "Quantity (mg)",
    "Dose (mg)",
    "Patient",
    "MRN",
    "Dispensed by",
    "Expired lot released by",
    "Wasted (mg)",
    "Waste witnessed by",
    "Waste records",
    "Reversed",
]


def _waste_text(line: reports.DispenseLine) -> str:
    texts = []
    for w in line.wastes:
        text = (
            f"#{w.sequence} {_stamp(w.occurred_at)}: {w.units} {line.unit} ({w.mg} mg) by "
            f"{w.staff}, witness {w.witness}; {w.reason}"
        )
        if w.reversal is not None:
            text += f" [{_reversal_text(w.reversal)}]"
        texts.append(text)
    return " | ".join(texts)


def _dispensing_row(line: reports.DispenseLine) -> Row:
    witnesses = dict.fromkeys(w.witness for w in line.wastes if w.reversal is None)
    return [
        line.dea_number,
        line.sequence,
        line.occurred_at,
        line.drug,
        line.product,
        line.ndc,
        line.strength,
        line.lot_number,
        line.expires_on,
        line.location,
        line.units,
        line.unit,
        line.mg,
        line.dose_mg,
        line.patient,
        line.mrn,
        line.staff,
        line.expiry_override_by,
        line.wasted_mg,
        "; ".join(witnesses),
        _waste_text(line),
        _reversal_text(line.reversal),
    ]


@requires("inventory.view")
def dispensing(request: HttpRequest) -> HttpResponse:
    return _ranged_report(
        request,
        report="dispensing",
        title="Dispensing log",
        table_template="inventory/reports/_dispensing_table.html",
        fetch=reports.dispensing_log,
        header=DISPENSING_HEADER,
        row=_dispensing_row,
        audit_screen=True,
    )


RECEIPT_HEADER = [
    "DEA number",
    "Entry",
    TIME_HEADER,
    "Supplier",
    "Invoice / Form 222",
    "Drug",
    "Product",
    "NDC",
    "Strength",
    "Lot",
    "Lot expiry",
    "Location",
    "Quantity",
    "Unit",
    "Quantity (mg)",
    "Received by",
    "Reversed",
]


def _receipt_row(line: reports.ReceiptLine) -> Row:
    return [
        line.dea_number,
        line.sequence,
        line.occurred_at,
        line.supplier,
        line.invoice,
        line.drug,
        line.product,
        line.ndc,
        line.strength,
        line.lot_number,
        line.expires_on,
        line.location,
        line.units,
        line.unit,
        line.mg,
        line.staff,
        _reversal_text(line.reversal),
    ]


@requires("inventory.view")
def receipts(request: HttpRequest) -> HttpResponse:
    return _ranged_report(
        request,
        report="receipts",
        title="Receipt log",
        table_template="inventory/reports/_receipts_table.html",
        fetch=reports.receipt_log,
        header=RECEIPT_HEADER,
        row=_receipt_row,
    )


BALANCE_HEADER = [
    "DEA number",
    "Drug",
    "Product",
    "NDC",
    "Strength",
    "Lot",
    "Lot expiry",
    "Location",
    "Quantity",
    "Unit",
    "Quantity (mg)",
    "Expired",
]


@requires("inventory.view")
def balances(request: HttpRequest) -> HttpResponse:
    fmt = _format(request)
    context: dict[str, Any] = {
        "report": "balances",
        "title": "Stock on hand",
        "table_template": "inventory/reports/_balances_table.html",
        "chosen_registration": request.GET.get("registration", ""),
        "queries": _queries(request),
    }
    try:
        every, registrations = _registrations(request)
    except ScopeError as problem:
        context.update(error=str(problem), rows=[], registrations=[], all_registrations=[])
        return render(request, "inventory/reports/screen.html", context, status=400)
    today = timezone.localdate()
    on_hand = reports.balances(registrations, today)
    context.update(
        all_registrations=every,
        registrations=registrations,
        several=len(registrations) > 1,
        rows=on_hand.lines,
        totals=on_hand.totals,
        as_of=timezone.now(),
    )
    if fmt == SCREEN:
        context["counts"] = reports.recent_counts(registrations)
        return render(request, "inventory/reports/screen.html", context)
    scope = {"as_of": f"{today:%Y-%m-%d}", "registrations": [r.dea_number for r in registrations]}
    _export(request, "balances", fmt, len(on_hand.lines), **scope)
    if fmt == CSV:
        rows = (
            [
                b.dea_number,
                b.drug,
                b.product,
                b.ndc,
                b.strength,
                b.lot_number,
                b.expires_on,
                b.location,
                b.units,
                b.unit,
                b.mg,
                "yes" if b.expired else "",
            ]
            for b in on_hand.lines
        )
        return _csv(f"balances-{today:%Y%m%d}.csv", BALANCE_HEADER, rows)
    return _print(request, context)


COUNT_HEADER = [
    "DEA number",
    "Count",
    "Kind",
    TIME_HEADER,
    "Counted by",
    "Product",
    "NDC",
    "Strength",
    "Lot",
    "Lot expiry",
    "Location",
    "Unit",
    "Book quantity",
    "Counted quantity",
    "Difference",
    "Book (mg)",
    "Counted (mg)",
    "Difference (mg)",
    "Discrepancy",
]


@requires("inventory.view")
def count(request: HttpRequest, count_id: int) -> HttpResponse:
    """The record of one physical count: for an initial or biennial count, the inventory
    the DEA requires."""
    physical = reports.count_for(reports.registrations_of(request.actor.clinic), count_id)
    if physical is None:
        raise Http404("No such count at this clinic.")
    sheet = reports.count_sheet(physical)
    fmt = _format(request)
    registration = physical.registration
    context: dict[str, Any] = {
        "report": "count",
        "title": f"{sheet.kind}: physical count",
        "table_template": "inventory/reports/_count_table.html",
        "facts_template": "inventory/reports/_count_facts.html",
        "sheet": sheet,
        "rows": sheet.lines,
        "registrations": [registration],
        "queries": _queries(request),
    }
    if fmt == SCREEN:
        return render(request, "inventory/reports/screen.html", context)
    _export(
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
        head = [
            registration.dea_number,
            physical.pk,
            sheet.kind,
            sheet.counted_at,
            sheet.counted_by,
        ]
        rows = (
            [
                *head,
                line.product,
                line.ndc,
                line.strength,
                line.lot_number,
                line.expires_on,
                line.location,
                line.unit,
                line.book_units,
                line.counted_units,
                line.difference_units,
                line.book_mg,
                line.counted_mg,
                line.difference_mg,
                line.discrepancy,
            ]
            for line in sheet.lines
        )
        stamp = timezone.localtime(physical.counted_at)
        return _csv(f"count-{physical.pk}-{stamp:%Y%m%d}.csv", COUNT_HEADER, rows)
    return _print(request, context)


@requires("inventory.view")
def reconciliation(request: HttpRequest) -> HttpResponse:
    """Each dispense of the day against its dose and witnessed waste, and the lots about to
    expire."""
    today = timezone.localdate()
    context: dict[str, Any] = {"day_text": request.GET.get("date", "")}
    try:
        day = reports.parse_day(request.GET.get("date"), "reconciliation", today)
    except RangeError as problem:
        context["error"] = str(problem)
        return render(request, "inventory/reports/reconciliation.html", context, status=400)
    registrations = list(reports.registrations_of(request.actor.clinic))
    result = reports.daily_reconciliation(registrations, day, today)
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
