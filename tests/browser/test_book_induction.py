"""The appointment book in a real browser (issue 15's "Done when"): a coordinator books an
esketamine induction from its signed plan, is refused first for want of the patient's REMS
enrolment, books it once enrolled, moves one appointment, and finds its day on the chair
board."""

import re

import pytest
from playwright.sync_api import Page, expect

from ketacare.accounts.permissions import Role
from ketacare.scheduling import actions
from ketacare.scheduling.models import Appointment
from tests.browser.test_register_and_find_patient import sign_in
from tests.conftest import actor, make_patient
from tests.planning.conftest import give_consent
from tests.scheduling.conftest import MONDAY, WEEKDAYS, staff_on_site
from tests.scheduling.plans import signed_plan_from

pytestmark = pytest.mark.browser


@pytest.fixture
def book_set_up(clinic, clinic_admin, nurse, prescriber):
    """Weekday hours, two chairs for nasal spray, and a nurse and a prescriber on site."""
    admin = actor(clinic_admin, clinic, Role.CLINIC_ADMIN)
    actions.set_opening_hours(admin, WEEKDAYS)
    actions.add_chair(admin, "Chair 1", ["iv_pump", "nasal_spray"])
    actions.add_chair(admin, "Chair 2", ["nasal_spray"])
    staff_on_site(clinic, (nurse, Role.NURSE), (prescriber, Role.PRESCRIBER))


def test_book_an_induction_through_the_rems_gate_move_one_and_find_its_day(
    page: Page, console, book_set_up, coordinator, prescriber, nurse, clinic
):
    patient = make_patient(nurse, clinic, given_name="Rosalind", family_name="Franklin")
    plan = signed_plan_from(prescriber, clinic, patient, MONDAY, esketamine=True, rems=False)

    sign_in(page, coordinator)
    page.goto(f"/plans/{plan.pk}/")
    page.get_by_role("link", name="Book the induction").click()
    expect(page.get_by_role("heading", name="Book the induction")).to_be_visible()
    gate = page.locator('[data-gate="rems_enrolment"]')
    expect(gate).to_contain_text("not enrolled in the esketamine REMS")
    expect(gate).to_contain_text("Spravato REMS")
    page.get_by_role("button", name="Book these sessions").click()
    expect(page.locator(".messages .error")).to_contain_text("not enrolled in the esketamine REMS")
    assert not Appointment.objects.exists()

    give_consent(prescriber, clinic, patient, "rems_enrollment")
    page.goto(f"/schedule/plans/{plan.pk}/book/")
    expect(page.locator('[data-gate="rems_enrolment"]')).to_have_count(0)
    expect(page.locator("[data-session]")).to_have_count(8)
    page.get_by_label("Transport home is arranged for every session").check()
    page.get_by_role("button", name="Book these sessions").click()
    expect(page.get_by_text("Booked 8 sessions.")).to_be_visible()
    booked = page.locator("#booked tbody tr")
    expect(booked).to_have_count(8)

    # Move the first session to the afternoon of its day.
    first = Appointment.objects.order_by("start").first()
    booked.first.get_by_role("link").click()
    expect(page.get_by_role("heading", name="Dosing session")).to_be_visible()
    page.get_by_label("Starts at").fill("13:00")
    page.get_by_label("Why").fill("Patient asked for the afternoon")
    page.get_by_role("button", name="Move the appointment").click()
    expect(page.get_by_text("Moved.")).to_be_visible()
    expect(page.locator("[data-when]")).to_contain_text(f"{MONDAY:%Y-%m-%d} 13:00")
    expect(page.locator("#history")).to_contain_text("Patient asked for the afternoon")
    first.refresh_from_db()
    assert first.start.hour == 13

    # The day on the chair board: the session waits there with its booked time and chair.
    page.get_by_role("link", name="The day's chair board").click()
    expect(page).to_have_url(re.compile(rf"date={MONDAY:%Y-%m-%d}"))
    waiting = page.locator("#waiting tr").filter(has_text="Franklin")
    expect(waiting.locator("[data-booked]")).to_contain_text("13:00")
    expect(waiting.locator("[data-booked]")).to_contain_text(first.chair.name)
    assert console.messages == []
