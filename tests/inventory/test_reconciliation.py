"""Each day's dispenses reconcile when dose + witnessed waste = dispensed, within the measuring
precision; the ones that do not are flagged until the waste is recorded."""

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from ketacare.audit.models import AuditEvent
from ketacare.inventory import actions
from ketacare.inventory.reports.reconciliation import (
    Status,
    daily_reconciliation,
    tolerance_mg,
)
from tests.inventory.conftest import as_admin, as_nurse, dispense, receive, witness

RECONCILIATION = reverse("inventory-reconciliation")


def today_of(registration):
    today = timezone.localdate()
    return daily_reconciliation([registration], today, today)


def waste(nurse, clinic, registration, out, units, prescriber):
    return actions.waste(
        as_nurse(nurse, clinic),
        registration.pk,
        dispense_id=out.pk,
        units=units,
        reason="Remainder of single-dose vial",
        witness=witness(prescriber),
    )


@pytest.fixture
def nasal(clinic, clinic_admin):
    """Esketamine 28 mg nasal devices: quantities in devices."""
    return actions.add_product(
        as_admin(clinic_admin, clinic),
        ndc="00000-0002-01",
        name="Esketamine 28 mg nasal spray device (demo NDC)",
        drug="esketamine",
        form="nasal_device",
        mg_per_unit=Decimal("28"),
        unit="device",
        units_per_package=Decimal("1"),
    )


def test_the_precision_is_one_syringe_step_or_the_device_tolerance(vial, nasal):
    assert tolerance_mg(vial) == Decimal("5.00")  # 0.1 mL × 50 mg/mL
    assert tolerance_mg(nasal) == Decimal("0.50")


def test_a_dispense_without_its_waste_is_flagged_until_the_waste_is_recorded(
    registration, lot, safe, patient, nurse, prescriber, clinic
):
    out = dispense(as_nurse(nurse, clinic), registration, lot, safe, patient, "10", "35")
    [line] = today_of(registration).lines
    assert (line.dispensed_mg, line.dose_mg, line.wasted_mg) == (500, 35, 0)
    assert line.unaccounted_mg == 465
    assert line.status == Status.WASTE_MISSING and line.flagged
    waste(nurse, clinic, registration, out, "9.3", prescriber)
    [line] = today_of(registration).lines
    assert (line.wasted_mg, line.unaccounted_mg, line.status) == (465, 0, Status.RECONCILED)
    assert not line.flagged and today_of(registration).flagged == []


def test_a_difference_within_one_syringe_step_reconciles(
    registration, lot, safe, patient, nurse, prescriber, clinic
):
    out = dispense(as_nurse(nurse, clinic), registration, lot, safe, patient, "10", "35")
    waste(nurse, clinic, registration, out, "9.2", prescriber)  # 460 mg: 5 mg short
    [line] = today_of(registration).lines
    assert (line.unaccounted_mg, line.tolerance_mg, line.status) == (5, 5, Status.RECONCILED)


def test_a_difference_beyond_one_step_does_not_reconcile(
    registration, lot, safe, patient, nurse, prescriber, clinic
):
    out = dispense(as_nurse(nurse, clinic), registration, lot, safe, patient, "10", "35")
    waste(nurse, clinic, registration, out, "9.1", prescriber)  # 455 mg: 10 mg short
    [line] = today_of(registration).lines
    assert (line.unaccounted_mg, line.status) == (10, Status.MISMATCH)
    assert line.flagged


def test_a_reversed_waste_no_longer_counts(
    registration, lot, safe, patient, nurse, prescriber, clinic
):
    out = dispense(as_nurse(nurse, clinic), registration, lot, safe, patient, "10", "35")
    wasted = waste(nurse, clinic, registration, out, "9.3", prescriber)
    actions.reverse(
        as_nurse(nurse, clinic),
        registration.pk,
        entry_id=wasted.pk,
        reason="Typo",
        witness=witness(prescriber),
    )
    [line] = today_of(registration).lines
    assert (line.wasted_mg, line.status) == (0, Status.WASTE_MISSING)


def test_a_reversed_dispense_has_nothing_to_reconcile(
    registration, lot, safe, patient, nurse, clinic
):
    out = dispense(as_nurse(nurse, clinic), registration, lot, safe, patient, "10", "35")
    actions.reverse(as_nurse(nurse, clinic), registration.pk, entry_id=out.pk, reason="Wrong")
    [line] = today_of(registration).lines
    assert line.status == Status.REVERSED and not line.flagged


def test_nasal_devices_reconcile_within_their_tolerance(
    registration, nasal, safe, patient, nurse, clinic
):
    who = as_nurse(nurse, clinic)
    lot = receive(who, registration, nasal, safe, "10", "ES1").lot
    dispense(who, registration, lot, safe, patient, units="2", dose_mg="56")
    dispense(who, registration, lot, safe, patient, units="3", dose_mg="56")
    whole, extra = today_of(registration).lines
    assert (whole.tolerance_mg, whole.status) == (Decimal("0.50"), Status.RECONCILED)
    assert (extra.unaccounted_mg, extra.status) == (28, Status.WASTE_MISSING)


def test_only_the_day_s_dispenses_are_reconciled(registration, lot, safe, patient, nurse, clinic):
    yesterday = timezone.localdate() - timedelta(days=1)
    with time_machine.travel(
        timezone.make_aware(datetime.combine(yesterday, time(23, 30))), tick=False
    ):
        early = dispense(as_nurse(nurse, clinic), registration, lot, safe, patient)
    late = dispense(as_nurse(nurse, clinic), registration, lot, safe, patient)
    assert [line.dispense.id for line in today_of(registration).lines] == [late.pk]
    past = daily_reconciliation([registration], yesterday, timezone.localdate())
    assert [line.dispense.id for line in past.lines] == [early.pk]


def test_lots_expiring_within_the_warning_window_are_listed(
    registration, lot, vial, safe, nurse, clinic
):
    today = timezone.localdate()
    who = as_nurse(nurse, clinic)
    receive(who, registration, vial, safe, "10", "SOON", today + timedelta(days=30))
    receive(who, registration, vial, safe, "10", "EDGE", today + timedelta(days=60))
    receive(who, registration, vial, safe, "10", "LATER", today + timedelta(days=61))
    with time_machine.travel(timezone.now() - timedelta(days=30), tick=False):
        receive(who, registration, vial, safe, "10", "GONE", today - timedelta(days=2))
    result = today_of(registration)
    assert result.warning_days == 60
    expiring = [(lot.lot_number, lot.days_left, lot.expired) for lot in result.expiring]
    assert expiring == [("GONE", -2, True), ("SOON", 30, False), ("EDGE", 60, False)]


# --- the page ---------------------------------------------------------------------------------


def test_the_page_flags_an_unreconciled_dispense_and_clears_it(
    registration, lot, safe, patient, nurse, prescriber, clinic, as_user
):
    out = dispense(as_nurse(nurse, clinic), registration, lot, safe, patient, "10", "35")
    client = as_user(nurse)
    page = client.get(RECONCILIATION).content.decode()
    assert "1 of 1 dispense does not reconcile" in page
    assert "Waste not recorded" in page and patient.mrn in page
    waste(nurse, clinic, registration, out, "9.3", prescriber)
    page = client.get(RECONCILIATION).content.decode()
    assert "All 1 dispense reconcile" in page and "Waste not recorded" not in page
    viewed = AuditEvent.objects.filter(action="view", object_type="inventory_report")
    assert viewed.first().changes == {
        "report": "reconciliation",
        "date": f"{timezone.localdate():%Y-%m-%d}",
    }


def test_a_chosen_day_is_shown(registration, lot, safe, patient, nurse, clinic, as_user):
    dispense(as_nurse(nurse, clinic), registration, lot, safe, patient)
    tomorrow = timezone.localdate() + timedelta(days=1)
    response = as_user(nurse).get(RECONCILIATION, {"date": f"{tomorrow:%Y-%m-%d}"})
    assert response.context["result"].lines == []
    assert "No dispenses on this day." in response.content.decode()


def test_a_bad_date_is_a_message(registration, nurse, as_user):
    response = as_user(nurse).get(RECONCILIATION, {"date": "31/12/2026"})
    assert response.status_code == 400
    assert "The reconciliation date must be a date written YYYY-MM-DD" in (
        response.content.decode()
    )


def test_another_clinic_sees_none_of_the_dispenses(
    registration, lot, safe, patient, nurse, clinic, outsider, as_user
):
    dispense(as_nurse(nurse, clinic), registration, lot, safe, patient)
    response = as_user(outsider).get(RECONCILIATION)
    assert response.context["result"].lines == []
    assert response.context["result"].expiring == []
    assert patient.mrn not in response.content.decode()
