"""Booking one dose from a page in a real browser: from the chart's link, a quick pick of the
day's free slots fills the form, the REMS gate refuses the booking beside the form, and once
the patient is enrolled the same form books it and shows the appointment's page."""

import pytest
from playwright.sync_api import Page, expect

from ketacare.scheduling.models import Appointment
from tests.browser.test_book_induction import book_set_up  # noqa: F401 (a fixture)
from tests.browser.test_every_page import axe_violations
from tests.browser.test_register_and_find_patient import sign_in
from tests.conftest import make_patient
from tests.planning.conftest import give_consent
from tests.scheduling.conftest import MONDAY
from tests.scheduling.plans import signed_plan_from

pytestmark = pytest.mark.browser


def test_book_one_dose_from_a_quick_pick_through_the_rems_gate(
    page: Page,
    live_server,
    console,
    book_set_up,  # noqa: F811 (the fixture imported above)
    coordinator,
    prescriber,
    nurse,
    clinic,
):
    patient = make_patient(nurse, clinic, given_name="Rosalind", family_name="Franklin")
    plan = signed_plan_from(prescriber, clinic, patient, MONDAY, esketamine=True, rems=False)
    sign_in(page, coordinator)
    page.goto(f"/patients/{patient.pk}/")
    page.get_by_role("link", name="Book an appointment").click()
    expect(page.get_by_role("heading", name="Book an appointment")).to_be_visible()

    page.goto(f"/schedule/new/?patient={patient.pk}&day={MONDAY.isoformat()}")
    expect(page.locator('[data-gate="rems_enrolment"]')).to_contain_text("Blocks booking")
    assert axe_violations(page) == []
    slots = page.locator("[data-slot]")
    expect(slots.first).to_be_visible()
    slots.first.click()
    expect(page.get_by_label("Starts at")).not_to_have_value("")
    page.get_by_label("Transport home is arranged (a dose)").check()
    page.get_by_role("button", name="Book", exact=True).click()
    expect(page.locator("#book .errors")).to_contain_text("not enrolled in the esketamine REMS")
    assert not Appointment.objects.exists()

    give_consent(prescriber, clinic, patient, "rems_enrollment")
    page.get_by_role("button", name="Book", exact=True).click()
    expect(page.get_by_text("Booked.")).to_be_visible()
    dose = Appointment.objects.get()
    assert (dose.kind, dose.planned.plan, dose.transport_arranged) == ("dosing", plan, True)
    expect(page).to_have_url(f"{live_server.url}/schedule/appointments/{dose.pk}/")
