"""The DEA records: dispensing, receipts, balances and count sheets list the right entries for
the range and the clinic, in three formats, and every export is audited."""

import csv
import io
from datetime import datetime, time, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ketacare.audit.models import AuditEvent
from ketacare.inventory import actions
from ketacare.inventory.actions import Counted
from tests.conftest import make_patient
from tests.inventory.conftest import DEA_NUMBER, as_admin, as_nurse, dispense, receive, witness

DISPENSING = reverse("inventory-report-dispensing")
RECEIPTS = reverse("inventory-report-receipts")
BALANCES = reverse("inventory-report-balances")


def days_ago(days, hour=12):
    """Travel to ``days`` before today, at ``hour`` local time."""
    moment = datetime.combine(timezone.localdate() - timedelta(days=days), time(hour))
    return time_machine.travel(timezone.make_aware(moment), tick=False)


def day(days):
    return f"{timezone.localdate() - timedelta(days=days):%Y-%m-%d}"


def dispensed_with_waste(registration, lot, safe, patient, nurse, prescriber, clinic):
    """10 mL (500 mg) dispensed for a 35 mg dose, 9.3 mL (465 mg) wasted before a witness."""
    who = as_nurse(nurse, clinic)
    out = dispense(who, registration, lot, safe, patient, units="10", dose_mg="35")
    actions.waste(
        who,
        registration.pk,
        dispense_id=out.pk,
        units="9.3",
        reason="Remainder of single-dose vial",
        witness=witness(prescriber),
    )
    return out


def read_csv(response):
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment; filename=")
    return list(csv.reader(io.StringIO(response.content.decode())))


def exports():
    return AuditEvent.objects.filter(action="export", object_type="inventory_report")


@pytest.fixture
def week(registration, lot, safe, patient, nurse, prescriber, clinic):
    """Dispenses 40, 10 and 5 days ago; the middle one with its witnessed waste."""
    entries = {}
    with days_ago(40):
        entries[40] = dispense(as_nurse(nurse, clinic), registration, lot, safe, patient)
    with days_ago(10):
        entries[10] = dispensed_with_waste(
            registration, lot, safe, patient, nurse, prescriber, clinic
        )
    with days_ago(5):
        entries[5] = dispense(as_nurse(nurse, clinic), registration, lot, safe, patient)
    return entries


# --- dispensing log ---------------------------------------------------------------------------


def test_the_dispensing_log_lists_the_dispenses_of_the_range(week, nurse, patient, as_user):
    response = as_user(nurse).get(DISPENSING, {"start": day(12), "end": day(5)})
    assert response.status_code == 200
    assert [row.sequence for row in response.context["rows"]] == [
        week[10].sequence,
        week[5].sequence,
    ]
    middle = response.context["rows"][0]
    assert (middle.units, middle.mg, middle.dose_mg) == (10, 500, 35)
    assert middle.patient == patient.full_name and middle.mrn == patient.mrn
    assert middle.staff == "Nurse Tester (nurse)"
    [waste] = middle.wastes
    assert (waste.mg, waste.witness) == (465, "Prescriber Tester (prescriber)")
    page = response.content.decode()
    assert patient.mrn in page and "witness Prescriber Tester" in page


def test_by_default_the_log_covers_the_last_30_days(week, nurse, as_user):
    rows = as_user(nurse).get(DISPENSING).context["rows"]
    assert [row.sequence for row in rows] == [week[10].sequence, week[5].sequence]


def test_the_end_day_is_included(week, nurse, as_user):
    rows = as_user(nurse).get(DISPENSING, {"start": day(5), "end": day(5)}).context["rows"]
    assert [row.sequence for row in rows] == [week[5].sequence]


def test_a_reversed_dispense_is_marked(registration, lot, safe, patient, nurse, clinic, as_user):
    out = dispense(as_nurse(nurse, clinic), registration, lot, safe, patient)
    actions.reverse(
        as_nurse(nurse, clinic), registration.pk, entry_id=out.pk, reason="Wrong patient chosen"
    )
    response = as_user(nurse).get(DISPENSING)
    [row] = response.context["rows"]
    assert row.reversal is not None and row.reversal.reason == "Wrong patient chosen"
    assert "reversed" in response.content.decode()
    [_, line] = read_csv(as_user(nurse).get(DISPENSING, {"format": "csv"}))
    assert line[-1].startswith(f"Reversed by entry #{out.sequence + 1}")


def test_the_dispensing_csv_has_a_header_and_one_row_per_dispense(week, nurse, patient, as_user):
    response = as_user(nurse).get(DISPENSING, {"start": day(12), "end": day(5), "format": "csv"})
    header, *rows = read_csv(response)
    assert header[:3] == ["DEA number", "Entry", "Date/time (UTC)"]
    assert len(rows) == 2
    row = dict(zip(header, rows[0], strict=True))
    assert row["DEA number"] == DEA_NUMBER
    assert (row["Quantity"], row["Unit"], row["Quantity (mg)"]) == ("10.00", "mL", "500.00")
    assert (row["Patient"], row["MRN"]) == (patient.full_name, patient.mrn)
    assert row["Wasted (mg)"] == "465.00"
    assert row["Waste witnessed by"] == "Prescriber Tester (prescriber)"
    assert row["Lot"] == "L001" and row["Strength"] == "50 mg/mL"


def test_a_formula_in_a_name_is_not_run_by_a_spreadsheet(
    registration, lot, safe, nurse, clinic, as_user
):
    sly = make_patient(nurse, clinic, given_name="=HYPERLINK(1)")
    dispense(as_nurse(nurse, clinic), registration, lot, safe, sly)
    header, row = read_csv(as_user(nurse).get(DISPENSING, {"format": "csv"}))
    assert row[header.index("Patient")] == "'=HYPERLINK(1) Lovelace"


def test_the_printable_log_names_the_registrant_and_the_range(week, nurse, as_user):
    response = as_user(nurse).get(DISPENSING, {"start": day(12), "end": day(5), "format": "print"})
    page = response.content.decode()
    assert response.status_code == 200
    assert DEA_NUMBER in page and "Riverside Ketamine Clinic" in page
    assert f"{day(12)} to {day(5)}" in page
    assert 'class="topbar"' not in page  # no navigation on paper
    assert f"#{week[10].sequence}" in page and f"#{week[40].sequence}" not in page


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": "2026-13-01"}, "The start date must be a date written YYYY-MM-DD"),
        ({"end": "yesterday"}, "The end date must be a date written YYYY-MM-DD"),
        ({"start": "2026-03-10", "end": "2026-03-01"}, "is before the start date"),
        ({"start": "2020-01-01", "end": "2026-01-01"}, "Choose a shorter range"),
        ({"registration": "999999"}, "Unknown DEA registration"),
    ],
)
def test_a_bad_range_is_a_message_and_exports_nothing(
    params, message, registration, nurse, as_user
):
    for fmt in ("screen", "csv", "print"):
        for url in (DISPENSING, RECEIPTS):
            response = as_user(nurse).get(url, {**params, "format": fmt})
            assert response.status_code == 400
            assert message in response.content.decode()
    assert not exports().exists()


def test_each_export_is_audited(week, nurse, as_user):
    client = as_user(nurse)
    client.get(DISPENSING, {"start": day(12), "end": day(5)})
    assert not exports().exists()  # the screen is a (logged) view, not an export
    client.get(DISPENSING, {"start": day(12), "end": day(5), "format": "csv"})
    client.get(RECEIPTS, {"format": "print"})
    client.get(BALANCES, {"format": "csv"})
    dispensing, receipts, balances = exports().order_by("id")
    assert dispensing.actor == nurse
    assert dispensing.changes == {
        "report": "dispensing",
        "format": "csv",
        "rows": 2,
        "start": day(12),
        "end": day(5),
        "registrations": [DEA_NUMBER],
    }
    assert (receipts.changes["report"], receipts.changes["format"]) == ("receipts", "print")
    assert (balances.changes["report"], balances.changes["format"]) == ("balances", "csv")
    viewed = AuditEvent.objects.get(action="view", object_type="inventory_report")
    assert viewed.changes["report"] == "dispensing"


def test_the_dispensing_log_s_queries_do_not_grow_with_its_entries(
    registration, lot, safe, patient, nurse, prescriber, clinic, as_user
):
    client = as_user(nurse)

    def queries(fmt):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(DISPENSING, {"format": fmt}).status_code == 200
        return len(captured)

    dispensed_with_waste(registration, lot, safe, patient, nurse, prescriber, clinic)
    client.get(DISPENSING)  # the first request of a session reads more (session, devices)
    few = {fmt: queries(fmt) for fmt in ("screen", "csv", "print")}
    other = make_patient(nurse, clinic, given_name="Grace", family_name="Hopper")
    for who in (patient, other, other):
        dispensed_with_waste(registration, lot, safe, who, nurse, prescriber, clinic)
    many = {fmt: queries(fmt) for fmt in ("screen", "csv", "print")}
    assert many == few


# --- receipts ---------------------------------------------------------------------------------


def test_the_receipt_log_lists_the_receipts_of_the_range(
    registration, vial, safe, nurse, clinic, as_user
):
    expiry = timezone.localdate() + timedelta(days=400)
    with days_ago(20):
        receive(as_nurse(nurse, clinic), registration, vial, safe, "50", "OLD1", expiry)
    with days_ago(3):
        receive(as_nurse(nurse, clinic), registration, vial, safe, "100", "NEW1", expiry)
    client = as_user(nurse)
    rows = client.get(RECEIPTS, {"start": day(10), "end": day(0)}).context["rows"]
    assert [(r.lot_number, r.units, r.supplier, r.invoice) for r in rows] == [
        ("NEW1", 100, "Acme Pharma", "INV-1")
    ]
    header, *lines = read_csv(client.get(RECEIPTS, {"start": day(30), "format": "csv"}))
    assert header[3:5] == ["Supplier", "Invoice / Form 222"]
    assert [line[header.index("Lot")] for line in lines] == ["OLD1", "NEW1"]
    assert lines[0][header.index("Lot expiry")] == f"{expiry:%Y-%m-%d}"
    page = client.get(RECEIPTS, {"format": "print"}).content.decode()
    assert DEA_NUMBER in page and "NEW1" in page


# --- balances ---------------------------------------------------------------------------------


def test_balances_list_each_lot_and_place_with_product_totals(
    registration, lot, vial, safe, cabinet, patient, nurse, clinic, as_user
):
    who = as_nurse(nurse, clinic)
    actions.transfer(
        who,
        registration.pk,
        lot_id=lot.pk,
        from_location_id=safe.pk,
        to_location_id=cabinet.pk,
        units="20",
    )
    receive(who, registration, vial, safe, "10", "L002")
    dispense(who, registration, lot, cabinet, patient, units="20", dose_mg="35")  # empties it
    client = as_user(nurse)
    response = client.get(BALANCES)
    lines = [(b.lot_number, b.location, b.units, b.mg) for b in response.context["rows"]]
    assert sorted(lines) == [("L001", "Main safe", 80, 4000), ("L002", "Main safe", 10, 500)]
    [total] = response.context["totals"]
    assert (total.units, total.mg) == (90, 4500)
    header, *rows = read_csv(client.get(BALANCES, {"format": "csv"}))
    assert header[-4:] == ["Quantity", "Unit", "Quantity (mg)", "Expired"]
    assert len(rows) == 2
    page = client.get(BALANCES, {"format": "print"}).content.decode()
    assert DEA_NUMBER in page and "4500.00 mg" in page


# --- count sheet ------------------------------------------------------------------------------


@pytest.fixture
def biennial(registration, lot, safe, clinic_admin, clinic):
    return actions.record_count(
        as_admin(clinic_admin, clinic),
        registration.pk,
        kind="biennial",
        lines=[Counted(lot.pk, safe.pk, "98")],
        note="Close of business",
    )


def test_the_count_sheet_shows_book_counted_and_difference(biennial, nurse, as_user):
    url = reverse("inventory-report-count", kwargs={"count_id": biennial.pk})
    client = as_user(nurse)
    response = client.get(url)
    page = response.content.decode()
    assert response.status_code == 200
    assert "Biennial inventory" in page and "Clinic_Admin Tester" in page
    [line] = response.context["rows"]
    assert (line.book_units, line.counted_units, line.difference_units) == (100, 98, -2)
    assert (line.difference_mg, line.discrepancy) == (-100, "open")
    header, row = read_csv(client.get(url, {"format": "csv"}))
    row = dict(zip(header, row, strict=True))
    assert (row["Kind"], row["Book quantity"], row["Counted quantity"]) == (
        "Biennial inventory",
        "100.00",
        "98.00",
    )
    assert row["Difference"] == "-2.00"  # a number, not quoted as a formula
    page = client.get(url, {"format": "print"}).content.decode()
    assert DEA_NUMBER in page and "Signature" in page and 'class="topbar"' not in page
    assert [e.changes["count"] for e in exports()] == [biennial.pk, biennial.pk]


# --- who may see it ---------------------------------------------------------------------------


def urls(count_id):
    return [
        DISPENSING,
        RECEIPTS,
        BALANCES,
        reverse("inventory-report-count", kwargs={"count_id": count_id}),
        reverse("inventory-reconciliation"),
    ]


@pytest.mark.parametrize("role", ["researcher", "coordinator"])
def test_researchers_and_coordinators_are_refused(role, staff, biennial, as_user):
    client = as_user(staff[role])
    for url in urls(biennial.pk):
        for fmt in ("screen", "csv", "print"):
            assert client.get(url, {"format": fmt}).status_code == 403, (url, fmt)
    assert not exports().exists()


@pytest.mark.parametrize("role", ["prescriber", "nurse", "clinic_admin"])
def test_staff_who_handle_stock_may_read_the_records(role, staff, biennial, as_user):
    for url in urls(biennial.pk):
        assert as_user(staff[role]).get(url).status_code == 200, url


def test_another_clinic_sees_none_of_this_clinic_s_records(
    week, biennial, patient, outsider, as_user
):
    client = as_user(outsider)
    for url in (DISPENSING, RECEIPTS, BALANCES):
        for fmt in ("screen", "print"):
            response = client.get(url, {"start": day(60), "format": fmt})
            page = response.content.decode()
            assert response.status_code == 200
            assert DEA_NUMBER not in page and patient.mrn not in page and "L001" not in page
        assert len(read_csv(client.get(url, {"start": day(60), "format": "csv"}))) == 1
    assert client.get(DISPENSING).context["rows"] == []
    count_url = reverse("inventory-report-count", kwargs={"count_id": biennial.pk})
    assert client.get(count_url).status_code == 404
    assert client.get(count_url, {"format": "csv"}).status_code == 404
    assert not exports().filter(changes__report="count").exists()
