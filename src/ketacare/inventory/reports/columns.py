"""The CSV columns of each report: a header and, for each line the report computed, the row's
values in that order. The printable page and the screen show the same lines through their
templates; these are what a spreadsheet gets."""

from collections.abc import Iterator, Sequence
from typing import Any

from django.conf import settings

from ketacare.inventory.reports.balances import BalanceLine
from ketacare.inventory.reports.counts import CountSheet
from ketacare.inventory.reports.dispensing import DispenseLine
from ketacare.inventory.reports.entries import Reversal, stamp
from ketacare.inventory.reports.receipts import ReceiptLine

Row = Sequence[Any]
TIME_HEADER = f"Date/time ({settings.TIME_ZONE})"


def reversal_text(reversal: Reversal | None) -> str:
    if reversal is None:
        return ""
    return (
        f"Reversed by entry #{reversal.sequence} on {stamp(reversal.occurred_at)} "
        f"({reversal.staff}): {reversal.reason}"
    )


# --- dispensing log ---------------------------------------------------------------------------

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


def waste_text(line: DispenseLine) -> str:
    texts = []
    for w in line.wastes:
        text = (
            f"#{w.sequence} {stamp(w.occurred_at)}: {w.units} {line.unit} ({w.mg} mg) by "
            f"{w.staff}, witness {w.witness}; {w.reason}"
        )
        if w.reversal is not None:
            text += f" [{reversal_text(w.reversal)}]"
        texts.append(text)
    return " | ".join(texts)


def dispensing_row(line: DispenseLine) -> Row:
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
        waste_text(line),
        reversal_text(line.reversal),
    ]


# --- receipts ---------------------------------------------------------------------------------

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


def receipt_row(line: ReceiptLine) -> Row:
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
        reversal_text(line.reversal),
    ]


# --- balances ---------------------------------------------------------------------------------

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


def balance_row(line: BalanceLine) -> Row:
    return [
        line.dea_number,
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
        "yes" if line.expired else "",
    ]


# --- physical counts --------------------------------------------------------------------------

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


def count_rows(sheet: CountSheet) -> Iterator[Row]:
    """One row per line, each starting with the count's own facts."""
    count = sheet.count
    head = [count.registration.dea_number, count.pk, sheet.kind, sheet.counted_at, sheet.counted_by]
    for line in sheet.lines:
        yield [
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
